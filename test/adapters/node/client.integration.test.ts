/**
 * The client on real sockets: URL validation before any connection (RFC 6455 §3, WHATWG
 * constructor steps), every failure kind reported as one error then a 1006 close, TLS with a
 * self-signed certificate, and the request options — with each codec.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WEBSOCKET_GUID } from '../../../src/shared/constants.js';
import { HandshakeError, WebSocket, WebSocketServer } from '../../../src/node.js';
import { closeOf, nextEvent, nodeCodecs, openClient, portOf, Resources, startHttpServer, startRawServer, startServer } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

const fixtures = new URL('../../fixtures/', import.meta.url);
const certificate = readFileSync(new URL('tls-cert.pem', fixtures));
const privateKey = readFileSync(new URL('tls-key.pem', fixtures));

/** Resolves with the client's error and close once both happened. */
async function failure(ws: WebSocket): Promise<{ error: Error & { code?: string }; code: number; errors: number }> {
  let errors = 0;
  ws.on('error', () => errors++);
  const [[error], { code }] = await Promise.all([nextEvent<[Error & { code?: string }]>(ws, 'error'), closeOf(ws)]);
  return { error, code, errors };
}

/** A fake server that answers every request with `respond(key)` and keeps the socket open. */
async function fakeServer(respond: (key: string) => string): Promise<number> {
  const { port } = await startRawServer(resources, (socket: Socket) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(head)?.[1] ?? '';
      socket.write(respond(key));
    });
  });
  return port;
}

function acceptFor(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

describe('WebSocket constructor: URL and subprotocol validation', () => {
  it.each([
    ['not a url', 'invalid URL'],
    ['ftp://127.0.0.1/', 'scheme'],
    ['ws://127.0.0.1/#frag', 'fragment'],
    ['ws://127.0.0.1/#', 'fragment'],
  ])('%s throws a SyntaxError, as ws does, named as the DOMException is (%s), before connecting', async (url, message) => {
    let connections = 0;
    await startRawServer(resources, () => connections++);
    let thrown: unknown;
    try {
      new WebSocket(url);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SyntaxError);
    expect((thrown as DOMException).name).toBe('SyntaxError');
    expect((thrown as DOMException).code).toBe(DOMException.SYNTAX_ERR);
    expect((thrown as DOMException).message).toContain(message);
    expect(connections).toBe(0);
  });

  it.each([[['a', 'a']], [['not a token']], [['']]])('subprotocols %j throw a SyntaxError', (protocols) => {
    expect(() => new WebSocket('ws://127.0.0.1:1/', protocols)).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
  });

  it('maps http: and https: to ws: and wss:', async () => {
    const { port } = await startServer(resources);
    const ws = await openClient(resources, `http://127.0.0.1:${port}/path?q=1`);
    expect(ws.url).toBe(`ws://127.0.0.1:${port}/path?q=1`);
    const secure = resources.track(new WebSocket('https://127.0.0.1:1/', { handshakeTimeout: 1000 }));
    expect(secure.url).toBe('wss://127.0.0.1:1/');
    await failure(secure);
  });
});

describe.each(nodeCodecs)('WebSocket client (%s codec)', (_name, codec) => {
  describe('failures: one error, then close 1006', () => {
    it('unreachable host: ECONNREFUSED', async () => {
      const { server, port } = await startHttpServer(resources);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      expect(ws.readyState).toBe(WebSocket.CONNECTING);
      const { error, code, errors } = await failure(ws);
      expect(error.code).toBe('ECONNREFUSED');
      expect(code).toBe(1006);
      expect(errors).toBe(1);
      expect(ws.readyState).toBe(WebSocket.CLOSED);
    });

    it('a non-101 response: a HandshakeError with the status and the headers', async () => {
      const { port } = await startHttpServer(resources, (_request, response) => {
        response.writeHead(403, { 'X-Why': 'no' }).end('forbidden');
      });
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      const { error, code } = await failure(ws);
      expect(error).toBeInstanceOf(HandshakeError);
      expect((error as HandshakeError).status).toBe(403);
      expect((error as HandshakeError).headers).toContainEqual(['X-Why', 'no']);
      expect(code).toBe(1006);
    });

    it("with an 'unexpected-response' listener, the application gets the response instead of an error, and closing reports the close", async () => {
      const { port } = await startHttpServer(resources, (_request, response) => response.writeHead(302, { Location: '/elsewhere' }).end());
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      const errors: Error[] = [];
      ws.on('error', (error) => errors.push(error));
      const closed = closeOf(ws);
      const [request, response] = await nextEvent<[unknown, IncomingMessage]>(ws, 'unexpected-response');
      expect(request).toBeDefined();
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toBe('/elsewhere');
      response.resume();
      expect(errors).toEqual([]);
      ws.close();
      expect((await closed).code).toBe(1006);
      expect(errors.map((error) => error.message)).toEqual(['the WebSocket was closed before the connection was established']);
    });

    it('a wrong Sec-WebSocket-Accept (raw fake server)', async () => {
      const port = await fakeServer(
        () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n',
      );
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      const { error, code } = await failure(ws);
      expect(error).toBeInstanceOf(HandshakeError);
      expect(error.message).toMatch(/Sec-WebSocket-Accept/);
      expect((error as HandshakeError).status).toBe(101);
      expect(code).toBe(1006);
    });

    it('a subprotocol that was not offered', async () => {
      const port = await fakeServer(
        (key) =>
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Protocol: evil\r\n\r\n`,
      );
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, ['good'], { codec }));
      const { error, code } = await failure(ws);
      expect(error.message).toMatch(/not offered/);
      expect(code).toBe(1006);
    });

    it('handshake timeout: a server that never answers', async () => {
      const port = await fakeServer(() => '');
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec, handshakeTimeout: 100 }));
      const { error, code } = await failure(ws);
      expect(error.code).toBe('WSX_ERR_TIMEOUT');
      expect(code).toBe(1006);
    });

    it("close() in an 'upgrade' listener drops the connection before it opens", async () => {
      const { url } = await startServer(resources, { codec });
      const ws = resources.track(new WebSocket(url, { codec }));
      let opened = false;
      ws.on('open', () => (opened = true));
      ws.on('upgrade', () => ws.close());
      expect((await closeOf(ws)).code).toBe(1006);
      expect(opened).toBe(false);
    });

    it('close() while CONNECTING fails the handshake', async () => {
      const port = await fakeServer(() => '');
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      const result = failure(ws);
      ws.close();
      const { error, code } = await result;
      expect(error.message).toMatch(/closed before the connection was established/);
      expect(code).toBe(1006);
      expect(() => new WebSocket(`ws://127.0.0.1:${port}/`, { codec }).send('x')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    });
  });

  describe('TLS (wss:)', () => {
    async function startTlsServer(): Promise<number> {
      const server = resources.track(createHttpsServer({ cert: certificate, key: privateKey }));
      const wss = resources.track(new WebSocketServer({ server, codec }));
      wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return portOf(server);
    }

    it('a self-signed certificate is refused by default: a TLS error, then 1006', async () => {
      const port = await startTlsServer();
      const ws = resources.track(new WebSocket(`wss://127.0.0.1:${port}/`, { codec }));
      const { error, code } = await failure(ws);
      expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      expect(code).toBe(1006);
    });

    it('with the certificate as ca (and SNI servername) it connects and echoes', async () => {
      const port = await startTlsServer();
      const ws = await openClient(resources, `wss://localhost:${port}/`, undefined, { codec, ca: certificate, servername: 'localhost' });
      ws.send('over tls');
      const [data] = await nextEvent<[Buffer]>(ws, 'message');
      expect(data.toString()).toBe('over tls');
    });

    it('rejectUnauthorized: false connects to the self-signed server', async () => {
      const port = await startTlsServer();
      await openClient(resources, `wss://127.0.0.1:${port}/`, undefined, { codec, rejectUnauthorized: false });
    });
  });

  describe('request options', () => {
    it('headers, origin and URL credentials reach the server; upgrade reports the response', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const requests = nextEvent<[WebSocket, IncomingMessage]>(wss, 'connection');
      const ws = resources.track(new WebSocket(url.replace('ws://', 'ws://user:p%40ss@'), { codec, headers: { 'X-Token': 'abc' }, origin: 'https://app.example' }));
      const [response] = await nextEvent<[IncomingMessage]>(ws, 'upgrade');
      expect(response.statusCode).toBe(101);
      const [, request] = await requests;
      expect(request.headers['x-token']).toBe('abc');
      expect(request.headers.origin).toBe('https://app.example');
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    });

    it('an http.Agent provides the socket', async () => {
      const { url } = await startServer(resources, { codec });
      let created = 0;
      class CountingAgent extends Agent {
        override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
          created++;
          return super.createConnection(...args);
        }
      }
      const agent = new CountingAgent();
      resources.track(agent);
      await openClient(resources, url, undefined, { codec, agent });
      expect(created).toBe(1);
    });

    it('maxPayload: a message bigger than the limit fails the connection with 1009', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const serverClose = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => {
        ws.send(Buffer.alloc(2048));
        return closeOf(ws);
      });
      const ws = resources.track(new WebSocket(url, { codec, maxPayload: 1024 }));
      const [[error], { code }] = await Promise.all([nextEvent<[Error & { closeCode?: number }]>(ws, 'error'), closeOf(ws)]);
      expect(error.closeCode).toBe(1009);
      // The server received our 1009; we stopped reading when we failed (RFC 6455 §7.1.7), so
      // we never saw its echo: 1006 on our side.
      expect((await serverClose).code).toBe(1009);
      expect(code).toBe(1006);
    });

    it('perMessageDeflate: offered by default as in ws, with options, or not at all with false', async () => {
      const { url } = await startServer(resources, { codec, perMessageDeflate: true });
      const byDefault = await openClient(resources, url, undefined, { codec });
      expect(byDefault.extensions).toBe('permessage-deflate');
      const tuned = await openClient(resources, url, undefined, { codec, perMessageDeflate: { clientNoContextTakeover: true } });
      expect(tuned.extensions).toBe('permessage-deflate; client_no_context_takeover');
      const off = await openClient(resources, url, undefined, { codec, perMessageDeflate: false });
      expect(off.extensions).toBe('');
      // A server that does not enable it declines every offer.
      const { url: plainUrl } = await startServer(resources, { codec });
      expect((await openClient(resources, plainUrl, undefined, { codec })).extensions).toBe('');
    });

    it('family and localAddress are passed to the connection', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const requests = nextEvent<[WebSocket, IncomingMessage]>(wss, 'connection');
      await openClient(resources, url.replace('127.0.0.1', 'localhost'), undefined, { codec, family: 4, localAddress: '127.0.0.1' });
      const [, request] = await requests;
      expect(request.socket.remoteAddress).toMatch(/127\.0\.0\.1$/);
    });
  });
});
