/**
 * WebSocketServer on real sockets: the three modes, the path filter, the handshake hooks
 * (verifyClient, origins, handleProtocols), limits (maxPayload, handshake deadline, connection
 * cap), timers (heartbeat, close timeout, idle) and closing the server — with each codec.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandshakeError } from '../../../src/shared/errors.js';
import { WebSocket, WebSocketServer, type ServerExtensionNegotiator, type Extension } from '../../../src/node.js';
import {
  clientFrame,
  closeOf,
  nextEvent,
  nodeCodecs,
  openClient,
  portOf,
  rawConnect,
  readUntil,
  Resources,
  startHttpServer,
  startServer,
  upgradeRequest,
} from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** The status line of a response the server wrote to a raw socket. */
async function responseTo(port: number, request: string): Promise<string> {
  const socket = await rawConnect(resources, port);
  socket.write(request);
  const response = await readUntil(socket, (received) => received.includes('\r\n\r\n'));
  return response.toString('latin1');
}

/** A client that expects to be refused: resolves with its error and close code. */
async function refusedClient(url: string, protocols?: string | string[], options?: ConstructorParameters<typeof WebSocket>[2]): Promise<{ error: Error; code: number }> {
  const ws = resources.track(new WebSocket(url, protocols, options));
  const [[error], { code }] = await Promise.all([nextEvent<[Error]>(ws, 'error'), closeOf(ws)]);
  return { error, code };
}

describe.each(nodeCodecs)('WebSocketServer (%s codec)', (_name, codec) => {
  describe('modes', () => {
    it('standalone { port, host }: listens, reports its address, echoes', async () => {
      const { wss, url, port } = await startServer(resources, { codec });
      expect(wss.address()).toMatchObject({ address: '127.0.0.1', port });
      wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      const ws = await openClient(resources, url, undefined, { codec });
      ws.send('ping?');
      const [data, isBinary] = await nextEvent<[Buffer, boolean]>(ws, 'message');
      expect(data.toString()).toBe('ping?');
      expect(isBinary).toBe(false);
    });

    it('a plain HTTP request to a standalone server is answered 426 Upgrade Required', async () => {
      const { port } = await startServer(resources, { codec });
      const response = await responseTo(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(response).toMatch(/^HTTP\/1\.1 426 /);
    });

    it('{ server }: takes the upgrades of an existing HTTP server and leaves its requests alone', async () => {
      const { server, port } = await startHttpServer(resources, (_request, response) => response.end('plain http'));
      const wss = resources.track(new WebSocketServer({ server, codec }));
      const connected = nextEvent<[WebSocket]>(wss, 'connection');
      await openClient(resources, `ws://127.0.0.1:${port}/`, undefined, { codec });
      const [serverSide] = await connected;
      expect(serverSide.readyState).toBe(WebSocket.OPEN);
      expect(wss.address()).toMatchObject({ port });
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(await response.text()).toBe('plain http');
    });

    it('{ noServer }: handleUpgrade hands the socket to the callback; address() throws', async () => {
      const wss = resources.track(new WebSocketServer({ noServer: true, codec }));
      expect(() => wss.address()).toThrow(/noServer/);
      const { server, port } = await startHttpServer(resources);
      server.on('upgrade', (request, socket, head) => {
        wss.handleUpgrade(request, socket, head, (ws, req) => {
          expect(req).toBe(request);
          ws.send('from handleUpgrade');
        });
      });
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      const [data] = await nextEvent<[Buffer]>(ws, 'message');
      expect(data.toString()).toBe('from handleUpgrade');
    });

    it('requires exactly one of port, server and noServer', () => {
      expect(() => new WebSocketServer({})).toThrow(TypeError);
      expect(() => new WebSocketServer({ port: 0, noServer: true })).toThrow(TypeError);
    });

    it('path filter: the matching path connects, another gets 400', async () => {
      const { url, port } = await startServer(resources, { codec, path: '/chat' });
      await openClient(resources, `${url}/chat?room=1`, undefined, { codec });
      const response = await responseTo(port, upgradeRequest('/other'));
      expect(response).toMatch(/^HTTP\/1\.1 400 /);
    });

    it('two path-filtered servers share one HTTP server', async () => {
      const { server, port } = await startHttpServer(resources);
      const a = resources.track(new WebSocketServer({ server, path: '/a', codec }));
      const b = resources.track(new WebSocketServer({ server, path: '/b', codec }));
      a.on('connection', (ws) => ws.send('a'));
      b.on('connection', (ws) => ws.send('b'));
      const wsB = resources.track(new WebSocket(`ws://127.0.0.1:${port}/b`, { codec }));
      const [data] = await nextEvent<[Buffer]>(wsB, 'message');
      expect(data.toString()).toBe('b');
    });

    it('a request the core refuses gets its status (426 for a wrong version)', async () => {
      const { port } = await startServer(resources, { codec });
      const response = await responseTo(port, upgradeRequest('/', {}).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'));
      expect(response).toMatch(/^HTTP\/1\.1 426 /);
      expect(response).toMatch(/Sec-WebSocket-Version: 13/);
    });
  });

  describe('verifyClient', () => {
    it('sync false → 401; sync true → connects', async () => {
      let allow = false;
      const { url } = await startServer(resources, { codec, verifyClient: () => allow });
      const { error, code } = await refusedClient(url, undefined, { codec });
      expect((error as HandshakeError).status).toBe(401);
      expect(code).toBe(1006);
      allow = true;
      await openClient(resources, url, undefined, { codec });
    });

    it('async callback refuses with a status, headers and a body', async () => {
      const { port } = await startServer(resources, {
        codec,
        verifyClient: (info, callback) => {
          expect(info.req.url).toBe('/secret');
          setTimeout(() => callback(false, 403, 'no entry for you', { 'X-Reason': 'test' }), 10);
        },
      });
      const response = await responseTo(port, upgradeRequest('/secret'));
      expect(response).toMatch(/^HTTP\/1\.1 403 /);
      expect(response).toMatch(/X-Reason: test/);
      expect(response).toMatch(/no entry for you/);
    });

    it('a promise resolving true accepts, and info carries origin and secure', async () => {
      const seen: Array<[string | undefined, boolean]> = [];
      const { url } = await startServer(resources, {
        codec,
        verifyClient: async (info) => {
          seen.push([info.origin, info.secure]);
          return true;
        },
      });
      await openClient(resources, url, undefined, { codec, origin: 'https://app.example' });
      expect(seen).toEqual([['https://app.example', false]]);
    });

    it('a verifyClient that throws answers 500 and reports the error on the server', async () => {
      const { wss, port } = await startServer(resources, {
        codec,
        verifyClient: () => {
          throw new Error('database down');
        },
      });
      const reported = nextEvent<[Error]>(wss, 'error');
      const response = await responseTo(port, upgradeRequest('/'));
      expect(response).toMatch(/^HTTP\/1\.1 500 /);
      expect((await reported)[0].message).toBe('database down');
    });
  });

  describe('origins and subprotocols', () => {
    it('allowedOrigins: a listed origin connects, another gets 403, none is allowed', async () => {
      const { url, port } = await startServer(resources, { codec, allowedOrigins: ['https://Good.example'] });
      await openClient(resources, url, undefined, { codec, origin: 'https://good.example' });
      await openClient(resources, url, undefined, { codec });
      const response = await responseTo(port, upgradeRequest('/', { Origin: 'https://evil.example' }));
      expect(response).toMatch(/^HTTP\/1\.1 403 /);
    });

    it('handleProtocols picks one of the offered subprotocols', async () => {
      const { wss, url } = await startServer(resources, {
        codec,
        handleProtocols: (protocols, request) => {
          expect(request.url).toBe('/');
          return protocols.has('chat.v2') ? 'chat.v2' : false;
        },
      });
      const connected = nextEvent<[WebSocket]>(wss, 'connection');
      const ws = await openClient(resources, url, ['chat.v1', 'chat.v2'], { codec });
      expect(ws.protocol).toBe('chat.v2');
      expect((await connected)[0].protocol).toBe('chat.v2');
    });

    it('protocols: the first subprotocol the server speaks (in its order) that the client offered', async () => {
      const { wss, url } = await startServer(resources, { codec, protocols: ['chat.v3', 'chat.v2', 'chat.v1'] });
      const connected = nextEvent<[WebSocket]>(wss, 'connection');
      const ws = await openClient(resources, url, ['chat.v1', 'chat.v2'], { codec });
      expect(ws.protocol).toBe('chat.v2');
      expect((await connected)[0].protocol).toBe('chat.v2');
    });

    it('none agreed: no Sec-WebSocket-Protocol header, protocol is empty', async () => {
      const { wss, port, url } = await startServer(resources, { codec, handleProtocols: () => false });
      const response = await responseTo(port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'x, y' }));
      expect(response).toMatch(/^HTTP\/1\.1 101 /);
      expect(response.toLowerCase()).not.toContain('sec-websocket-protocol');
      // The server-side socket has agreed on nothing; our client (like ws and browsers) then
      // refuses the connection, since it asked for a subprotocol.
      const serverSide = nextEvent<[WebSocket]>(wss, 'connection');
      const client = resources.track(new WebSocket(url, ['x'], { codec }));
      const [error] = await nextEvent<[Error]>(client, 'error');
      expect(error.message).toBe('the server selected none of the subprotocols offered');
      const [ws] = await serverSide;
      expect(ws.protocol).toBe('');
    });

    it("'headers' listeners add lines to the 101 response", async () => {
      const { wss, port } = await startServer(resources, { codec });
      wss.on('headers', (headers: string[], request) => {
        expect(headers[0]).toBe('HTTP/1.1 101 Switching Protocols');
        expect(request.url).toBe('/');
        headers.push('Set-Cookie: session=1');
      });
      const response = await responseTo(port, upgradeRequest('/'));
      expect(response).toMatch(/^HTTP\/1\.1 101 /);
      expect(response).toMatch(/Set-Cookie: session=1\r\n/);
    });
  });

  describe('limits', () => {
    it('maxPayload: a bigger message fails the connection with 1009', async () => {
      const { wss, url } = await startServer(resources, { codec, maxPayload: 1024 });
      const serverError = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => nextEvent<[Error & { closeCode?: number }]>(ws, 'error'));
      const ws = await openClient(resources, url, undefined, { codec });
      ws.send(Buffer.alloc(1025));
      const { code } = await closeOf(ws);
      expect(code).toBe(1009);
      expect((await serverError)[0].closeCode).toBe(1009);
    });

    it('handshake timeout: a client that never finishes its request is dropped', async () => {
      const { port } = await startServer(resources, { codec, handshakeTimeout: 150 });
      const socket = await rawConnect(resources, port);
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // never the empty line
      const started = Date.now();
      await once(socket, 'close');
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('handshake timeout: an async verifyClient that never answers is dropped too', async () => {
      const wss = resources.track(new WebSocketServer({ noServer: true, codec, handshakeTimeout: 150, verifyClient: (_info, _callback) => {} }));
      const { server, port } = await startHttpServer(resources);
      server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, () => {}));
      const socket = await rawConnect(resources, port);
      socket.write(upgradeRequest('/'));
      await once(socket, 'close');
    });

    it('handshakes that were dropped do not count against maxConnections', async () => {
      const wss = resources.track(new WebSocketServer({ noServer: true, codec, handshakeTimeout: 100, maxConnections: 1, verifyClient: (_info, _callback) => {} }));
      const { server, port } = await startHttpServer(resources);
      server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, () => {}));
      for (let i = 0; i < 2; i++) {
        const socket = await rawConnect(resources, port);
        socket.write(upgradeRequest('/'));
        // Dropped by the deadline, not refused with 503 by the cap.
        expect((await readUntil(socket, () => false)).length).toBe(0);
      }
    });

    it('maxConnections: the connection beyond the cap is answered 503', async () => {
      const { url, port } = await startServer(resources, { codec, maxConnections: 2 });
      await openClient(resources, url, undefined, { codec });
      await openClient(resources, url, undefined, { codec });
      const response = await responseTo(port, upgradeRequest('/'));
      expect(response).toMatch(/^HTTP\/1\.1 503 /);
      const { error } = await refusedClient(url, undefined, { codec });
      expect((error as HandshakeError).status).toBe(503);
    });
  });

  describe('timers', () => {
    it('heartbeat: a peer that answers pings stays; one that does not is terminated', async () => {
      const { wss, url } = await startServer(resources, { codec, heartbeat: { interval: 40, timeout: 80 } });
      const serverErrors: Error[] = [];
      const serverCloses: Array<Promise<{ code: number }>> = [];
      wss.on('connection', (ws) => {
        ws.on('error', (error) => serverErrors.push(error));
        serverCloses.push(closeOf(ws, 3000));
      });
      const alive = await openClient(resources, url, undefined, { codec });
      let pings = 0;
      alive.on('ping', () => pings++);
      const silent = await openClient(resources, url, undefined, { codec, autoPong: false });
      const { code } = await closeOf(silent, 3000);
      expect(code).toBe(1006);
      expect((await serverCloses[1]!).code).toBe(1006);
      expect(serverErrors.map((error) => (error as Error & { code?: string }).code)).toEqual(['WSX_ERR_TIMEOUT']);
      expect(pings).toBeGreaterThan(0);
      expect(alive.readyState).toBe(WebSocket.OPEN);
    });

    it('close timeout: a peer that never answers our close is cut off (1006)', async () => {
      const { wss, port } = await startServer(resources, { codec, closeTimeout: 100 });
      const connected = nextEvent<[WebSocket]>(wss, 'connection');
      const socket = await rawConnect(resources, port);
      socket.write(upgradeRequest('/'));
      await readUntil(socket, (received) => received.includes('\r\n\r\n'));
      const [serverSide] = await connected;
      const started = Date.now();
      serverSide.close(1000, 'bye');
      expect(serverSide.readyState).toBe(WebSocket.CLOSING);
      const { code } = await closeOf(serverSide);
      expect(code).toBe(1006);
      expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    });

    it('idle timeout: a connection with no traffic is closed with 1001', async () => {
      const { url } = await startServer(resources, { codec, idleTimeout: 100 });
      const ws = await openClient(resources, url, undefined, { codec });
      const { code, reason } = await closeOf(ws);
      expect(code).toBe(1001);
      expect(reason).toBe('idle timeout');
    });

    it('terminate() destroys at once: the peer sees 1006', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const connected = nextEvent<[WebSocket]>(wss, 'connection');
      const ws = await openClient(resources, url, undefined, { codec });
      const [serverSide] = await connected;
      serverSide.terminate();
      expect(serverSide.readyState).toBe(WebSocket.CLOSING);
      const [{ code }, serverClose] = await Promise.all([closeOf(ws), closeOf(serverSide)]);
      expect(code).toBe(1006);
      expect(serverClose.code).toBe(1006);
    });
  });

  describe('close()', () => {
    it('sends 1001 to every client, waits for them, then emits close', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const clients = await Promise.all([0, 1, 2].map(() => openClient(resources, url, undefined, { codec })));
      expect(wss.clients!.size).toBe(3);
      const closes = clients.map((ws) => closeOf(ws));
      const closed = nextEvent(wss, 'close');
      wss.close();
      for (const { code, reason } of await Promise.all(closes)) {
        expect(code).toBe(1001);
        expect(reason).toBe('server shutting down');
      }
      await closed;
      expect(wss.clients!.size).toBe(0);
      await expect(new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())))).rejects.toThrow(/not running/);
    });

    it('is bounded: a client that never answers is cut off after the close timeout', async () => {
      const { wss, port } = await startServer(resources, { codec, closeTimeout: 100 });
      const socket = await rawConnect(resources, port);
      socket.write(upgradeRequest('/'));
      await readUntil(socket, (received) => received.includes('\r\n\r\n'));
      const started = Date.now();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(socket.destroyed || (await readUntil(socket, () => false, 1000)).length >= 0).toBe(true);
    });

    it('clientTracking false hides clients', async () => {
      const { wss, url } = await startServer(resources, { codec, clientTracking: false });
      await openClient(resources, url, undefined, { codec });
      expect(wss.clients).toBeUndefined();
    });
  });

  describe('extensions', () => {
    /** A toy extension on RSV2 that reverses payloads: proves the negotiation and the wiring. */
    const reverse = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes).reverse();
    const toyExtension = (): Extension => ({
      encode: (data) => reverse(data),
      decode: (data, _fin, output) => {
        output.push(reverse(data));
      },
    });
    const serverNegotiator: ServerExtensionNegotiator<Extension> = {
      name: 'x-reverse',
      rsvBits: 0b010,
      accept: (offers) => ({ response: offers[0]!, extension: toyExtension() }),
    };

    it('negotiates through the option and transforms both ways', async () => {
      const { wss, url } = await startServer(resources, { codec, extensions: [serverNegotiator] });
      let serverReceived = '';
      wss.on('connection', (ws) => {
        expect(ws.extensions).toBe('x-reverse; level=1');
        ws.on('message', (data) => {
          serverReceived = data.toString();
          ws.send(data, { binary: false });
        });
      });
      const ws = await openClient(resources, url, undefined, {
        codec,
        extensions: [{ name: 'x-reverse', rsvBits: 0b010, offer: () => [[['level', '1']]], accept: () => toyExtension() }],
      });
      expect(ws.extensions).toBe('x-reverse; level=1');
      ws.send('abc');
      const [data] = await nextEvent<[Buffer]>(ws, 'message');
      expect(serverReceived).toBe('abc');
      expect(data.toString()).toBe('abc');
    });

    it('a client that offers nothing gets no extension', async () => {
      const { url } = await startServer(resources, { codec, extensions: [serverNegotiator] });
      const ws = await openClient(resources, url, undefined, { codec });
      expect(ws.extensions).toBe('');
    });
  });

  it('a protocol violation (an unmasked client frame) fails the connection with 1002 and a precise error', async () => {
    const { wss, port } = await startServer(resources, { codec });
    const failure = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) =>
      Promise.all([nextEvent<[Error & { code?: string; closeCode?: number }]>(ws, 'error'), closeOf(ws)]),
    );
    const socket = await rawConnect(resources, port);
    socket.write(upgradeRequest('/'));
    await readUntil(socket, (received) => received.includes('\r\n\r\n'));
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", FIN text, not masked
    const frames = await readUntil(socket, (received) => received.length >= 4);
    // The close frame: FIN + opcode 8, then the status code 1002 (RFC 6455 §5.1, §7.4.1).
    expect(frames[0]).toBe(0x88);
    expect(frames.readUInt16BE(2)).toBe(1002);
    const [[error], close] = await failure;
    expect(error.code).toBe('WS_ERR_EXPECTED_MASK');
    expect(error.closeCode).toBe(1002);
    expect(close.code).toBe(1006);
  });

  it('a request that is not HTTP gets 400 and the server keeps serving', async () => {
    const { url, port } = await startServer(resources, { codec });
    const response = await responseTo(port, '\x00\x01garbage\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    await openClient(resources, url, undefined, { codec });
  });

  it('messages that arrive with the request are delivered after the connection event', async () => {
    const { wss, port } = await startServer(resources, { codec });
    const received: string[] = [];
    wss.on('connection', (ws) => ws.on('message', (data) => received.push(data.toString())));
    const socket = await rawConnect(resources, port);
    socket.write(Buffer.concat([Buffer.from(upgradeRequest('/')), clientFrame(1, Buffer.from('early'))]));
    await readUntil(socket, (response) => response.includes('\r\n\r\n'));
    await expect.poll(() => received).toEqual(['early']);
    expect(portOf(wss)).toBeGreaterThan(0);
  });
});
