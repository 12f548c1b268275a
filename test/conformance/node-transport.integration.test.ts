/**
 * RFC 6455 requirements that only real sockets can show: opening the connection, TLS and SNI,
 * the URI's encoding on the wire, and who closes TCP first. Node adapter and API, over
 * loopback, every codec. One test per requirement of docs/compliance.md.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { buildClientRequest, ResponseHeadParser } from '../../src/handshake/index.js';
import { CloseEvent, WebSocket, WebSocketServer } from '../../src/node.js';
import { CloseCode, Opcode } from '../../src/shared/constants.js';
import { webCryptoRandom } from '../../src/shared/ports.js';
import { buildFrame } from '../codec/frame-builder.js';
import { codecsUnderTest } from '../helpers/codecs.js';
import { readClose, readFrames } from '../helpers/frames.js';
import { closeBody, PEER_MASK_KEY } from './harness.js';

const TLS_CERT = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
const TLS_KEY = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));

/** Every test ends within this, whatever the code under test does. */
const DEADLINE_MS = 5000;

/** Resolves with the first emission of `event`, or rejects after the deadline. */
function waitFor<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    emitter.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A WebSocketServer on an HTTP(S) server of ours on 127.0.0.1, closed after the test. */
async function listen(codec: Codec, secure: boolean) {
  const http = secure ? createHttpsServer({ cert: TLS_CERT, key: TLS_KEY }) : createHttpServer();
  const wss = new WebSocketServer({ server: http, codec });
  wss.on('connection', (socket: WebSocket) => socket.on('message', (data: unknown, isBinary: boolean) => socket.send(data as Buffer, { binary: isBinary })));
  const requests: IncomingMessage[] = [];
  http.on('upgrade', (request: IncomingMessage) => requests.push(request));
  http.listen(0, '127.0.0.1');
  await waitFor(http, 'listening');
  cleanups.push(async () => {
    for (const client of wss.clients ?? []) client.terminate();
    http.closeAllConnections();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { http, wss, requests, port: (http.address() as AddressInfo).port };
}

/** A client WebSocket, terminated after the test. */
function client(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): WebSocket {
  const socket = new WebSocket(url, options);
  cleanups.push(() => socket.terminate());
  return socket;
}

describe.each(codecsUnderTest)('%s codec', (_name, makeCodec) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await makeCodec();
  });

  describe('§3 WebSocket URIs', () => {
    it('§3 new WebSocket refuses a URL with a fragment identifier with a SyntaxError, before connecting', () => {
      for (const url of ['ws://127.0.0.1:1/chat#part', 'ws://127.0.0.1:1/#']) {
        let thrown: unknown;
        try {
          client(url, { codec });
        } catch (error) {
          thrown = error;
        }
        expect((thrown as DOMException).name, url).toBe('SyntaxError');
      }
      const escaped = client('ws://127.0.0.1:1/chat?q=%23', { codec });
      // Port 1 refuses the connection; only the URL matters here.
      escaped.on('error', () => {});
      expect(escaped.url).toBe('ws://127.0.0.1:1/chat?q=%23');
    });
  });

  describe('§4.1 opening the connection', () => {
    it('§4.1 a client opens the connection, sends its handshake, reads the response, and its frames reach the server', async () => {
      const { port, requests } = await listen(codec, false);
      const socket = client(`ws://127.0.0.1:${port}/chat?room=1`, { codec });
      await waitFor(socket, 'open');
      expect(requests).toHaveLength(1);
      expect(requests[0]!.url).toBe('/chat?room=1');
      expect(requests[0]!.headers.upgrade).toBe('websocket');
      socket.send('ping me back');
      const [data, isBinary] = await new Promise<[Buffer, boolean]>((resolve) => socket.once('message', (d: Buffer, b: boolean) => resolve([d, b])));
      expect([data.toString(), isBinary]).toEqual(['ping me back', false]);
    });

    it('§4.1 a connection that cannot be opened fails the WebSocket connection', async () => {
      const probe = createNetServer();
      probe.listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const socket = client(`ws://127.0.0.1:${port}/`, { codec });
      const errors: unknown[] = [];
      socket.addEventListener('error', (event) => errors.push(event));
      const closed = await new Promise<CloseEvent>((resolve) => socket.addEventListener('close', (event) => resolve(event as CloseEvent)));
      expect(errors).toHaveLength(1);
      expect(closed.code).toBe(CloseCode.ABNORMAL_CLOSURE);
      expect(closed.wasClean).toBe(false);
      expect(socket.readyState).toBe(WebSocket.CLOSED);
    });
  });

  describe('§4.1 and §10.6 TLS', () => {
    it('§4.1 wss: the TLS handshake comes first, and a server certificate the client cannot verify fails the connection', async () => {
      const { port, requests } = await listen(codec, true);
      const untrusting = client(`wss://localhost:${port}/`, { codec });
      const closed = await new Promise<CloseEvent>((resolve) => untrusting.addEventListener('close', (event) => resolve(event as CloseEvent)));
      expect(closed.code).toBe(CloseCode.ABNORMAL_CLOSURE);
      expect(requests).toHaveLength(0);

      const trusting = client(`wss://localhost:${port}/secure`, { codec, ca: TLS_CERT });
      await waitFor(trusting, 'open');
      expect(requests).toHaveLength(1);
      expect((requests[0]!.socket as TLSSocket).encrypted).toBe(true);
      trusting.send(Buffer.from([1, 2, 3]));
      const [data] = await new Promise<[Buffer]>((resolve) => trusting.once('message', (d: Buffer) => resolve([d])));
      expect([...data]).toEqual([1, 2, 3]);
    });

    it('§4.1 a wss: client sends the host name in SNI, and no IP address', async () => {
      const { http, port } = await listen(codec, true);
      const names: Array<string | false> = [];
      http.on('secureConnection', (tls: TLSSocket) => names.push((tls as TLSSocket & { servername: string | false }).servername));
      const byName = client(`wss://localhost:${port}/`, { codec, ca: TLS_CERT });
      await waitFor(byName, 'open');
      const byAddress = client(`wss://127.0.0.1:${port}/`, { codec, ca: TLS_CERT });
      await waitFor(byAddress, 'open');
      expect(names).toEqual(['localhost', false]);
    });
  });

  describe('§7.1.1 closing TCP', () => {
    it('§7.1.1 after the closing handshake the server ends the TCP connection first, cleanly', async () => {
      const { port } = await listen(codec, false);
      const raw: Socket = netConnect(port, '127.0.0.1');
      cleanups.push(() => {
        raw.destroy();
      });
      await waitFor(raw, 'connect');
      const request = buildClientRequest({ host: '127.0.0.1', port, path: '/', random: webCryptoRandom });
      raw.write(request.bytes);
      const parser = new ResponseHeadParser();
      const received: Buffer[] = [];
      let head: ReturnType<ResponseHeadParser['push']> = { done: false };
      let opened: () => void = () => {};
      const open = new Promise<void>((resolve) => (opened = resolve));
      raw.on('data', (chunk: Buffer) => {
        if (head.done) {
          received.push(chunk);
          return;
        }
        head = parser.push(new Uint8Array(chunk));
        if (!head.done) return;
        if (head.rest.length > 0) received.push(Buffer.from(head.rest));
        opened();
      });
      const errors: Error[] = [];
      raw.on('error', (error) => errors.push(error));
      const ended = waitFor(raw, 'end');
      await open;
      raw.write(buildFrame({ opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL, 'done'), maskKey: PEER_MASK_KEY }));
      await ended;
      const frames = readFrames(new Uint8Array(Buffer.concat(received)));
      expect(frames.map((frame) => [frame.opcode, readClose(frame.payload).code])).toEqual([[Opcode.CLOSE, CloseCode.NORMAL]]);
      expect(errors).toEqual([]);
    });
  });

  describe('§11.1.1 the URI on the wire', () => {
    it('§11.1.1 a Unicode host is sent in punycode, and other Unicode characters percent-encoded as UTF-8', async () => {
      const { port, requests } = await listen(codec, false);
      // The agent connects to our loopback server whatever the host name: no name is looked up.
      const agent = new Agent();
      (agent as unknown as { createConnection: () => Socket }).createConnection = () => netConnect(port, '127.0.0.1');
      cleanups.push(() => agent.destroy());
      const socket = client(`ws://b\u00fccher.example:${port}/caf\u00e9?q=\u00e9t\u00e9`, { codec, agent });
      expect(socket.url).toBe(`ws://xn--bcher-kva.example:${port}/caf%C3%A9?q=%C3%A9t%C3%A9`);
      await waitFor(socket, 'open');
      expect(requests[0]!.headers.host).toBe(`xn--bcher-kva.example:${port}`);
      expect(requests[0]!.url).toBe('/caf%C3%A9?q=%C3%A9t%C3%A9');
    });
  });
});
