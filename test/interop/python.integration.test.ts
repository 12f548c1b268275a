/**
 * Interop with Python's `websockets` (10.x, an independent Sans-I/O implementation), both ways
 * over loopback: its client against wasmsocket's server, and wasmsocket's client against its
 * server. The peers are test/interop/python/client.py and echo_server.py, run by
 * /usr/bin/python3; without it (or without the package) these tests fail, saying what to install.
 */
import { beforeAll, describe, expect } from 'vitest';
import type { ClientDriver, ServerDriver } from './drivers.js';
import { pathServerDriver, wsApiClients } from './drivers.js';
import type { PeerEvent } from './events.js';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { startPathServer } from './path-server.js';
import { PythonPeer, requirePythonWebsockets } from './python-peer.js';
import { defineInteropSuite, SUBPROTOCOL } from './suite.js';

beforeAll(async () => {
  expect(await requirePythonWebsockets()).toMatch(/^\d+\./);
});

/** client.py connected to `url`, driven over its stdin. */
async function connectPythonClient(url: string, protocols: readonly string[]): Promise<ClientDriver> {
  const peer = new PythonPeer('client.py', [url, ...protocols.flatMap((protocol) => ['--subprotocol', protocol])]);
  const opened = await Promise.race([peer.next('open'), peer.next('error').then(failedToOpen)]);
  const headers = (opened.headers as Array<[string, string]>).map(([name, value]) => [name, value] as const);
  return {
    protocol: (opened.subprotocol as string | null) ?? null,
    responseHeaders: headers,
    events: peer.events,
    send: (type, size) => peer.command({ op: 'send', type, size }),
    sendText: (text) => peer.command({ op: 'send', type: 'text', data: text }),
    sendRandom: (size) => peer.command({ op: 'send', type: 'binary', random: size }),
    sendFragmented: (type, size, pieceSize) => peer.command({ op: 'send', type, size, fragment: pieceSize }),
    ping: (data) => peer.command({ op: 'ping', data }),
    close: (code, reason) => peer.command({ op: 'close', code, reason }),
    stop: () => peer.stop(),
  };
}

function failedToOpen(event: PeerEvent): never {
  throw new Error(`the Python client could not connect: ${String(event.message)}`);
}

/** echo_server.py, accepting `SUBPROTOCOL`. */
async function startPythonServer(): Promise<ServerDriver> {
  const peer = new PythonPeer('echo_server.py', ['--subprotocol', SUBPROTOCOL]);
  const listening = await peer.next('listening');
  return {
    port: listening.port as number,
    next: (name, accepts) => peer.next(name, accepts),
    clientCount: () => null,
    stop: async () => {
      peer.endInput();
      await peer.exited().catch(() => peer.stop());
    },
  };
}

describe('python websockets client → wasmsocket server', () => {
  defineInteropSuite({
    ours: 'server',
    connect: connectPythonClient,
    clientCan: { fragment: true, ping: true, openWithoutOfferedSubprotocol: true },
    startServer: async () => pathServerDriver(await startPathServer(WebSocketServer, [SUBPROTOCOL])),
  });
});

describe('wasmsocket client → python websockets server', () => {
  defineInteropSuite({
    ours: 'client',
    connect: wsApiClients(WebSocket),
    clientCan: { fragment: true, ping: true, openWithoutOfferedSubprotocol: false },
    startServer: startPythonServer,
  });
});
