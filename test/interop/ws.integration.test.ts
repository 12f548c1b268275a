/**
 * Interop with the `ws` package, the most used Node implementation, both ways over loopback:
 * a `ws` client against wasmsocket's server, and wasmsocket's client against a `ws` server.
 */
import { describe } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { pathServerDriver, wsApiClients } from './drivers.js';
import { startPathServer } from './path-server.js';
import { defineInteropSuite, SUBPROTOCOL } from './suite.js';

describe('ws client → wasmsocket server', () => {
  defineInteropSuite({
    ours: 'server',
    connect: wsApiClients(WsClient, { perMessageDeflate: false }),
    clientCan: { fragment: true, ping: true, openWithoutOfferedSubprotocol: false },
    startServer: async () => pathServerDriver(await startPathServer(WebSocketServer, [SUBPROTOCOL])),
  });
});

describe('wasmsocket client → ws server', () => {
  defineInteropSuite({
    ours: 'client',
    connect: wsApiClients(WebSocket),
    clientCan: { fragment: true, ping: true, openWithoutOfferedSubprotocol: false },
    startServer: async () => pathServerDriver(await startPathServer(WsServer, [SUBPROTOCOL])),
  });
});
