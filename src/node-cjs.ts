/**
 * The CommonJS face of the Node entry (`require('wasmsocket')`): `module.exports` is the
 * `WebSocket` class, with every named export of the entry as a static beside its own
 * (`WebSocket.WebSocketServer`, `WebSocket.Server`, `WebSocket.WebSocket`,
 * `WebSocket.createWebSocketStream`, …), the shape `ws` gives its users, so both
 * `const WebSocket = require('wasmsocket')` and `const { WebSocketServer } = require('wasmsocket')`
 * work. The ES module entry (src/node.ts) is left as it is.
 */
import * as api from './node.js';

const WebSocket = api.WebSocket as typeof api.WebSocket & Record<string, unknown>;
for (const [name, value] of Object.entries(api)) {
  if (name !== 'default' && !(name in WebSocket)) WebSocket[name] = value;
}
if (!('Server' in WebSocket)) WebSocket.Server = api.WebSocketServer;

export default WebSocket;
