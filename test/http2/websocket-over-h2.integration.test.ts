/**
 * Our client and our server over HTTP/2 (RFC 8441), on real loopback sockets, over h2c and
 * over TLS with a certificate made at test time: many WebSockets on one session, every size
 * from 0 B to 16 MiB, fragments, ping/pong, closes from either side (END_STREAM), a stream reset
 * mid-message and a destroyed session (1006, the siblings untouched), permessage-deflate, a
 * slow reader beside fast ones, the per-session stream cap, the handshake deadline, both HTTP
 * versions on one port, and the fallback to HTTP/1.1.
 */
import { once } from 'node:events';
import { type ClientHttp2Session, type ClientHttp2Stream, constants, type ServerHttp2Stream } from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { Opcode } from '../../src/shared/constants.js';
import { ErrorCode, type WebSocketError } from '../../src/shared/errors.js';
import { frame } from '../helpers/frames.js';
import { withTimeout } from '../interop/events.js';
import { closed, connectSession, type H2Fixture, nextConnection, nextMessage, opened, startH2Server, STEP_MS } from './helpers.js';

/** Every server-side socket echoes what it receives. */
function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
}

/** A payload of `size` bytes that is not all one value. */
function payloadOf(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 8)) & 0xff;
  return bytes;
}

/** Send `chunk` `count` times to `ws`, as fast as its backpressure allows (`send` false: wait for 'drain'). */
function pump(ws: WebSocket, chunk: Buffer, count: number): void {
  let sent = 0;
  const more = (): void => {
    while (sent < count && ws.readyState === WebSocket.OPEN) {
      sent++;
      if (!ws.send(chunk)) {
        ws.once('drain', more);
        return;
      }
    }
  };
  more();
}

/** The server-side stream under the next extended CONNECT of `fixture`. */
function nextServerStream(fixture: H2Fixture): Promise<ServerHttp2Stream> {
  return withTimeout(
    new Promise((resolve) => {
      const onStream = (stream: ServerHttp2Stream, headers: Record<string, unknown>): void => {
        if (headers[':method'] !== 'CONNECT') return;
        fixture.server.off('stream', onStream);
        resolve(stream);
      };
      fixture.server.on('stream', onStream);
    }),
    'the server-side stream',
    STEP_MS,
  );
}

/** Open an extended CONNECT by hand on `session` and wait for its 200. */
async function rawWebSocketStream(session: ClientHttp2Session, path = '/'): Promise<ClientHttp2Stream> {
  const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': path, 'sec-websocket-version': '13' }, { endStream: false });
  const [headers] = (await withTimeout(once(stream, 'response'), 'the 200 response', STEP_MS)) as [Record<string, unknown>];
  expect(headers[':status']).toBe(200);
  return stream;
}

describe.each(['h2c', 'tls'] as const)('WebSockets over HTTP/2 (%s)', (transport) => {
  let fixture: H2Fixture;
  let deflateFixture: H2Fixture;
  /** Sends what a test tells it to; a reader that does not read is dropped past 1 MiB. */
  let pushFixture: H2Fixture;
  const sessions: ClientHttp2Session[] = [];
  const sockets: WebSocket[] = [];

  async function session(on = fixture): Promise<ClientHttp2Session> {
    const made = await connectSession(on);
    sessions.push(made);
    return made;
  }

  function client(path: string, options: ConstructorParameters<typeof WebSocket>[1] = {}, on = fixture): WebSocket {
    const ws = new WebSocket(`${on.url}${path}`, { ...on.trust, ...(options as object) });
    sockets.push(ws);
    return ws;
  }

  beforeAll(async () => {
    fixture = await startH2Server(transport);
    echo(fixture.wss);
    deflateFixture = await startH2Server(transport, { perMessageDeflate: { threshold: 0 } });
    echo(deflateFixture.wss);
    pushFixture = await startH2Server(transport, { maxBufferedAmount: 1 << 20, closeTimeout: 300 });
  });
  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
    for (const made of sessions.splice(0)) made.destroy();
  });
  afterAll(async () => {
    await fixture.close();
    await deflateFixture.close();
    await pushFixture.close();
  });

  it('§5 opens with :status 200 and no Sec-WebSocket-Accept, and the server sees the same connection event as for HTTP/1.1', async () => {
    const connected = new Promise<[WebSocket, IncomingMessage]>((resolve) => fixture.wss.once('connection', (ws, request) => resolve([ws, request])));
    const shared = await session();
    const stream = await rawWebSocketStream(shared, '/chat?room=1');
    const [serverSide, request] = await withTimeout(connected, 'the connection event', STEP_MS);
    expect(serverSide.httpVersion).toBe('2');
    expect(serverSide.isServer).toBe(true);
    expect(request.url).toBe('/chat?room=1');
    expect(request.httpVersion).toBe('2.0');
    stream.close(constants.NGHTTP2_CANCEL);
    expect((await closed(serverSide))[0]).toBe(1006);
  });

  it('100 WebSockets on one session exchange messages concurrently', async () => {
    const shared = await session();
    const count = 100;
    const clients = Array.from({ length: count }, () => client('/many', { http2: shared }));
    await Promise.all(clients.map(opened));
    for (const ws of clients) expect(ws.httpVersion).toBe('2');
    const rounds = 10;
    await Promise.all(
      clients.map(async (ws, index) => {
        const received: string[] = [];
        const done = withTimeout(
          new Promise<void>((resolve) =>
            ws.on('message', (data: Buffer) => {
              received.push(data.toString());
              if (received.length === rounds) resolve();
            }),
          ),
          `the echoes of socket ${index}`,
          STEP_MS * 3,
        );
        for (let round = 0; round < rounds; round++) ws.send(`${index}:${round}`);
        await done;
        expect(received).toEqual(Array.from({ length: rounds }, (_, round) => `${index}:${round}`));
      }),
    );
    // One TCP connection carried them all: the server saw one session.
    expect(shared.destroyed).toBe(false);
    await Promise.all(clients.map((ws) => {
      const done = closed(ws);
      ws.close(1000);
      return done;
    }));
    // Closing the last WebSocket leaves the application's session open.
    expect(shared.closed).toBe(false);
    const again = client('/after', { http2: shared });
    await opened(again);
  });

  it('carries text and binary messages from 0 B to 16 MiB, byte for byte', async () => {
    const ws = client('/sizes', { http2: true });
    await opened(ws);
    for (const size of [0, 1, 125, 126, 65_535, 65_536, 1 << 20, 16 << 20]) {
      const binary = payloadOf(size);
      ws.send(binary);
      const back = await withTimeout(nextMessage(ws), `the echo of ${size} bytes`, STEP_MS * 6);
      expect(back.isBinary).toBe(true);
      expect(back.data.equals(binary)).toBe(true);
      const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 === 1 ? 'a' : '');
      ws.send(text);
      const textBack = await withTimeout(nextMessage(ws), `the echo of ${size} bytes of text`, STEP_MS * 6);
      expect(textBack.isBinary).toBe(false);
      expect(textBack.data.toString()).toBe(text);
    }
  });

  it('assembles a fragmented message, and answers pings with pongs both ways', async () => {
    const serverSide = nextConnection(fixture.wss);
    const ws = client('/fragments', { http2: true });
    await opened(ws);
    const server = await serverSide;
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.send('ted', { fin: true });
    expect((await nextMessage(ws)).data.toString()).toBe('fragmented');
    const pong = withTimeout(once(ws, 'pong'), 'the pong', STEP_MS);
    ws.ping('from the client');
    expect(((await pong) as [Buffer])[0].toString()).toBe('from the client');
    const serverPong = withTimeout(once(server, 'pong'), 'the server pong', STEP_MS);
    server.ping('from the server');
    expect(((await serverPong) as [Buffer])[0].toString()).toBe('from the server');
  });

  it('§5 a close from the client ends the stream with END_STREAM both ways, cleanly', async () => {
    const stream = nextServerStream(fixture);
    const serverSide = nextConnection(fixture.wss);
    const ws = client('/close', { http2: true });
    await opened(ws);
    const [server, serverStream] = await Promise.all([serverSide, stream]);
    const serverClosed = closed(server);
    const streamClosed = once(serverStream, 'close');
    ws.close(4001, 'client done');
    expect(await closed(ws)).toEqual([4001, 'client done']);
    expect(await serverClosed).toEqual([4001, 'client done']);
    await withTimeout(streamClosed, 'the stream to close', STEP_MS);
    // END_STREAM from both ends closes the stream without RST_STREAM (RFC 8441 §5).
    expect(serverStream.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('§5 a close from the server ends the stream the same way', async () => {
    const stream = nextServerStream(fixture);
    const serverSide = nextConnection(fixture.wss);
    const ws = client('/close', { http2: true });
    await opened(ws);
    const [server, serverStream] = await Promise.all([serverSide, stream]);
    const clientClosed = closed(ws);
    const streamClosed = once(serverStream, 'close');
    server.close(1001, 'server done');
    expect(await clientClosed).toEqual([1001, 'server done']);
    await withTimeout(streamClosed, 'the stream to close', STEP_MS);
    expect(serverStream.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('§5 a stream reset mid-message is a 1006 closure, and the other WebSockets and the session go on', async () => {
    const shared = await session();
    const sibling = client('/sibling', { http2: shared });
    await opened(sibling);
    const serverSide = nextConnection(fixture.wss);
    const raw = await rawWebSocketStream(shared, '/reset');
    const server = await serverSide;
    const serverClosed = closed(server);
    const whole = frame(Opcode.BINARY, payloadOf(1 << 20), { mask: true });
    raw.write(whole.subarray(0, 10_000));
    raw.close(constants.NGHTTP2_CANCEL);
    expect((await serverClosed)[0]).toBe(1006);
    sibling.send('still here');
    expect((await nextMessage(sibling)).data.toString()).toBe('still here');
    expect(shared.destroyed).toBe(false);
  });

  it('§5 a terminated WebSocket resets only its stream, with RST_STREAM CANCEL', async () => {
    const shared = await session();
    const sibling = client('/sibling', { http2: shared });
    await opened(sibling);
    const serverSide = nextConnection(fixture.wss);
    const raw = await rawWebSocketStream(shared, '/terminated');
    const server = await serverSide;
    const reset = withTimeout(once(raw, 'close'), 'the stream to close', STEP_MS);
    server.terminate();
    await reset;
    expect(raw.rstCode).toBe(constants.NGHTTP2_CANCEL);
    sibling.send('unaffected');
    expect((await nextMessage(sibling)).data.toString()).toBe('unaffected');
  });

  it('a destroyed session closes every WebSocket on it with 1006', async () => {
    const shared = await session();
    const serverSides: Promise<WebSocket>[] = [];
    const clients: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      serverSides.push(nextConnection(fixture.wss));
      const ws = client('/destroyed', { http2: shared });
      clients.push(ws);
      await opened(ws);
    }
    const servers = await Promise.all(serverSides);
    const closes = [...clients, ...servers].map(closed);
    shared.destroy();
    for (const [code] of await Promise.all(closes)) expect(code).toBe(1006);
  });

  it('negotiates permessage-deflate and carries compressed messages', async () => {
    const ws = client('/deflate', { http2: true, perMessageDeflate: { threshold: 0 } }, deflateFixture);
    await opened(ws);
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    const text = 'compressible '.repeat(10_000);
    ws.send(text);
    expect((await nextMessage(ws)).data.toString()).toBe(text);
    const binary = payloadOf(1 << 20);
    ws.send(binary);
    expect((await nextMessage(ws)).data.equals(binary)).toBe(true);
  });

  it('a reader that stops reading backs up its own stream only: the others keep receiving, and its buffer stays bounded', async () => {
    const shared = await session(pushFixture);
    const serverSides = new Map<string, WebSocket>();
    const onConnection = (ws: WebSocket, request: IncomingMessage): void => void serverSides.set(request.url!, ws);
    pushFixture.wss.on('connection', onConnection);
    const slow = client('/slow', { http2: shared }, pushFixture);
    const fast = [0, 1, 2].map((i) => client(`/fast${i}`, { http2: shared }, pushFixture));
    await Promise.all([slow, ...fast].map(opened));
    pushFixture.wss.off('connection', onConnection);
    slow.pause();
    const slowServer = serverSides.get('/slow')!;
    const overflow = withTimeout(once(slowServer, 'error'), 'the overflow of the slow reader', STEP_MS);
    const slowClosed = closed(slowServer);
    const chunk = payloadOf(16 * 1024);
    const messages = 200;
    const received = fast.map(
      (ws) =>
        new Promise<number>((resolve) => {
          let count = 0;
          ws.on('message', (data: Buffer) => {
            if (data.equals(chunk)) count++;
            if (count === messages) resolve(count);
          });
        }),
    );
    // The fast readers get 3.2 MiB each, sent as the backpressure allows ('drain'); the slow
    // one gets it blindly, past what send() said, as a careless publisher would send it.
    let slowAccepted = 0;
    for (let i = 0; i < messages; i++) if (slowServer.readyState === WebSocket.OPEN && slowServer.send(chunk)) slowAccepted++;
    for (const [path, server] of serverSides) if (path !== '/slow') pump(server, chunk, messages);
    // 3.2 MiB to each reader: the fast ones take it all while the slow one reads nothing.
    expect(await withTimeout(Promise.all(received), 'the fast readers to receive everything', STEP_MS * 3)).toEqual([messages, messages, messages]);
    // The slow one's stream window (64 KiB) filled: send said so early, and past
    // maxBufferedAmount the server gave up on it (1008, then the stream reset).
    expect(slowAccepted).toBeLessThan(10);
    const [error] = (await overflow) as [WebSocketError];
    expect(error.code).toBe(ErrorCode.BUFFER_OVERFLOW);
    expect((await slowClosed)[0]).toBe(1006);
    expect(shared.destroyed).toBe(false);
    for (const ws of fast) expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});
