/**
 * Interop with undici's WHATWG `WebSocket` client (Node's built-in `WebSocket` comes from it)
 * against wasmsocket's server over loopback. Its pongs and the handshake response are observed
 * through undici's diagnostics channels, as its API does not expose them.
 */
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { ping, WebSocket as UndiciWebSocket } from 'undici';
import { describe } from 'vitest';
import type { ClientDriver } from './drivers.js';
import { EventQueue, type PeerEvent, withTimeout } from './events.js';
import { WebSocketServer } from '../../src/node.js';
import { startPathServer } from './path-server.js';
import { pathServerDriver } from './drivers.js';
import { describeMessage, pattern } from './payloads.js';
import { defineInteropSuite, SUBPROTOCOL } from './suite.js';

interface OpenMessage {
  readonly websocket: UndiciWebSocket;
  readonly handshakeResponse: { readonly headers: Record<string, string> | Iterable<[string, string]> };
}

interface PongMessage {
  readonly websocket: UndiciWebSocket;
  readonly payload: Buffer;
}

/** An undici client connected to `url`; resolves once open. */
async function connectUndiciClient(url: string, protocols: readonly string[]): Promise<ClientDriver> {
  const socket = new UndiciWebSocket(url, [...protocols]);
  socket.binaryType = 'arraybuffer';
  const events = new EventQueue<PeerEvent>();
  let responseHeaders: Array<readonly [string, string]> = [];
  const onOpen = (message: unknown) => {
    const { websocket, handshakeResponse } = message as OpenMessage;
    if (websocket !== socket) return;
    const headers = handshakeResponse.headers;
    responseHeaders = (Symbol.iterator in headers ? [...headers] : Object.entries(headers)).map(([name, value]) => [name, value] as const);
  };
  const onPong = (message: unknown) => {
    const { websocket, payload } = message as PongMessage;
    if (websocket === socket) events.push({ event: 'pong', data: payload.toString() });
  };
  diagnostics.subscribe('undici:websocket:open', onOpen);
  diagnostics.subscribe('undici:websocket:pong', onPong);
  socket.addEventListener('message', (event) => {
    const data = event.data as string | ArrayBuffer;
    events.push({ event: 'message', ...describeMessage(typeof data === 'string' ? data : new Uint8Array(data)) });
  });
  socket.addEventListener('close', (event) => {
    events.push({ event: 'closed', code: event.code, reason: event.reason, wasClean: event.wasClean });
    diagnostics.unsubscribe('undici:websocket:open', onOpen);
    diagnostics.unsubscribe('undici:websocket:pong', onPong);
  });
  socket.addEventListener('error', () => events.push({ event: 'error' }));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('close', (event) => reject(new Error(`undici could not connect to ${url}: close ${event.code}`)), { once: true });
    }),
    `an undici connection to ${url}`,
  );
  return {
    get protocol() {
      return socket.protocol === '' ? null : socket.protocol;
    },
    get responseHeaders() {
      return responseHeaders;
    },
    events,
    send: (type, size) => socket.send(pattern(type, size)),
    sendText: (text) => socket.send(text),
    sendRandom: (size) => socket.send(randomBytes(size)),
    ping: (data) => ping(socket, Buffer.from(data)),
    close: (code, reason) => socket.close(code, reason),
    stop: async () => {
      if (socket.readyState === UndiciWebSocket.CLOSED) return;
      socket.close();
      await withTimeout(new Promise((resolve) => socket.addEventListener('close', resolve, { once: true })), 'the undici client to close').catch(() => {});
    },
  };
}

describe('undici WebSocket client → wasmsocket server', () => {
  defineInteropSuite({
    ours: 'server',
    connect: connectUndiciClient,
    // undici has no API to fragment a message, and follows the WHATWG rules on subprotocols.
    clientCan: { fragment: false, ping: true, openWithoutOfferedSubprotocol: false },
    startServer: async () => pathServerDriver(await startPathServer(WebSocketServer, [SUBPROTOCOL])),
  });
});
