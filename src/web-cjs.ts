/**
 * The CommonJS face of the web entry (`require('wasmsocket/web')`, and `require('wasmsocket')`
 * under the `browser`, `worker` and `default` conditions): `module.exports` is the `WebSocket`
 * class with every named export of the entry as a static beside its own, as for the Node entry.
 */
import * as api from './web.js';

const WebSocket = api.WebSocket as typeof api.WebSocket & Record<string, unknown>;
for (const [name, value] of Object.entries(api)) {
  if (name !== 'default' && !(name in WebSocket)) WebSocket[name] = value;
}

export default WebSocket;
