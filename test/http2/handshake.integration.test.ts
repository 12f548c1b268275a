/**
 * The server's handshake over HTTP/2 with the same options as over HTTP/1.1 (`verifyClient`,
 * `allowedOrigins`, `protocols`, `maxPayload`, `'headers'`, `'wsClientError'`), its limits (the
 * stream cap per session, the handshake deadline per stream), one `'connection'` event for both
 * HTTP versions on one TLS port, and the client's fallback to HTTP/1.1.
 */
import { once } from 'node:events';
import { type IncomingMessage } from 'node:http';
import { type ClientHttp2Session, connect as http2Connect, constants, createSecureServer, createServer as createH2cServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { withTimeout } from '../interop/events.js';
import { closed, connectSession, type H2Fixture, nextConnection, nextMessage, opened, selfSignedCertificate, startH2Server, STEP_MS, type Transport } from './helpers.js';

/** The answer to an extended CONNECT sent by hand: the status and fields, or the reset code. */
async function answerTo(session: ClientHttp2Session, fields: Record<string, string>): Promise<{ status?: number; headers?: IncomingHttpHeaders; body?: string; reset?: number }> {
  const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/', 'sec-websocket-version': '13', ...fields }, { endStream: false });
  stream.on('error', () => {});
  return withTimeout(
    new Promise((resolve) => {
      stream.once('response', (headers) => {
        let body = '';
        stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        stream.once('end', () => resolve({ status: Number(headers[':status']), headers, body }));
      });
      stream.once('close', () => resolve({ reset: stream.rstCode }));
    }),
    'the answer to the extended CONNECT',
    STEP_MS,
  );
}

describe.each(['h2c', 'tls'] as const)('the handshake over HTTP/2 (%s)', (transport: Transport) => {
  const fixtures: H2Fixture[] = [];
  const sessions: ClientHttp2Session[] = [];
  async function start(options: Parameters<typeof startH2Server>[1] = {}): Promise<H2Fixture> {
    const fixture = await startH2Server(transport, options);
    fixtures.push(fixture);
    return fixture;
  }
  async function session(fixture: H2Fixture): Promise<ClientHttp2Session> {
    const made = await connectSession(fixture);
    sessions.push(made);
    return made;
  }
  afterEach(async () => {
    for (const made of sessions.splice(0)) made.destroy();
    for (const fixture of fixtures.splice(0)) await fixture.close();
  });

  it('§5 applies verifyClient, allowedOrigins and protocols as over HTTP/1.1, and answers with the same statuses', async () => {
    const fixture = await start({
      protocols: ['chat'],
      allowedOrigins: ['https://good.example'],
      verifyClient: (info: { req: IncomingMessage; secure: boolean }, callback: (ok: boolean, code?: number, message?: string) => void) => {
        expect(info.secure).toBe(transport === 'tls');
        if (info.req.headers.authorization === 'let me in') callback(true);
        else callback(false, 401, 'who are you');
      },
    });
    const shared = await session(fixture);
    const refused = await answerTo(shared, { origin: 'https://good.example' });
    expect(refused).toMatchObject({ status: 401, body: 'who are you' });
    expect(await answerTo(shared, { origin: 'https://evil.example', authorization: 'let me in' })).toMatchObject({ status: 403 });
    const accepted = await withTimeout(
      new Promise<IncomingHttpHeaders>((resolve) => {
        const stream = shared.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/', 'sec-websocket-version': '13', 'sec-websocket-protocol': 'other, chat', authorization: 'let me in' }, { endStream: false });
        stream.once('response', (headers) => {
          resolve(headers);
          stream.close(constants.NGHTTP2_CANCEL);
        });
      }),
      'the 200',
      STEP_MS,
    );
    expect(accepted[':status']).toBe(200);
    expect(accepted['sec-websocket-protocol']).toBe('chat');
    expect(accepted['sec-websocket-accept']).toBeUndefined();
    // The same session is still serving.
    expect(shared.destroyed).toBe(false);
  });

  it("adds what 'headers' listeners add to the 200, and gives malformed requests to 'wsClientError' listeners", async () => {
    const fixture = await start();
    fixture.wss.on('headers', (lines: string[]) => {
      expect(lines[0]).toBe('HTTP/2 200');
      lines.push('x-served-by: wasmsocket', 'Sec-WebSocket-Accept: not allowed');
    });
    const refusedHeader = withTimeout(once(fixture.wss, 'error'), "the refused 'headers' line", STEP_MS);
    const ws = new WebSocket(`${fixture.url}/`, { ...fixture.trust, http2: true });
    const upgradeHeaders = new Promise<void>((resolve) => fixture.wss.once('connection', () => resolve()));
    await opened(ws);
    await upgradeHeaders;
    expect(String(((await refusedHeader) as [Error])[0].message)).toMatch(/Sec-WebSocket-Accept/);
    ws.terminate();
    const clientErrors: Array<[number, unknown]> = [];
    fixture.wss.on('wsClientError', (error: { status: number }, stream: { respond(headers: object): void; end(body: string): void }) => {
      clientErrors.push([error.status, stream]);
      stream.respond({ ':status': 418 });
      stream.end('answered by the application');
    });
    const shared = await session(fixture);
    expect(await answerTo(shared, { 'sec-websocket-version': '8' })).toMatchObject({ status: 418, body: 'answered by the application' });
    expect(clientErrors.map(([status]) => status)).toEqual([426]);
  });

  it('applies maxPayload: a message above it closes with 1009', async () => {
    const fixture = await start({ maxPayload: 1000 });
    const serverSide = nextConnection(fixture.wss);
    const ws = new WebSocket(`${fixture.url}/`, { ...fixture.trust, http2: true });
    await opened(ws);
    await serverSide;
    const done = closed(ws);
    ws.send(Buffer.alloc(1001));
    expect((await done)[0]).toBe(1009);
  });

  it('advertises the stream cap as SETTINGS_MAX_CONCURRENT_STREAMS and refuses a WebSocket stream beyond it with REFUSED_STREAM', async () => {
    const fixture = await start({ maxStreamsPerSession: 2 });
    const shared = await session(fixture);
    await withTimeout(new Promise((resolve) => shared.ping(resolve)), 'the PING', STEP_MS);
    expect(shared.remoteSettings.maxConcurrentStreams).toBe(2);
    const first = new WebSocket(`${fixture.url}/`, { ...fixture.trust, http2: shared });
    const second = new WebSocket(`${fixture.url}/`, { ...fixture.trust, http2: shared });
    await Promise.all([opened(first), opened(second)]);
    // A server whose SETTINGS allow more streams (other HTTP traffic) still caps WebSockets.
    fixture.server.updateSettings({ maxConcurrentStreams: 10 });
    const roomier = await session(fixture);
    const streams = [0, 1, 2].map(() => new WebSocket(`${fixture.url}/`, { ...fixture.trust, http2: roomier }));
    const outcomes = await Promise.all(
      streams.map((ws) =>
        withTimeout(
          new Promise<string>((resolve) => {
            ws.once('open', () => resolve('open'));
            ws.once('error', (error: Error) => resolve(error.message));
          }),
          'the third stream',
          STEP_MS,
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'open')).toHaveLength(2);
    expect(outcomes.find((outcome) => outcome !== 'open')).toMatch(/REFUSED_STREAM|NGHTTP2_REFUSED_STREAM/);
    for (const ws of [first, second, ...streams]) ws.terminate();
  });

  it('resets a stream whose handshake outlives handshakeTimeout, and only that stream', async () => {
    const fixture = await start({ handshakeTimeout: 200, verifyClient: (info: { req: IncomingMessage }, callback: (ok: boolean) => void) => {
      if (info.req.url !== '/never') callback(true);
    } });
    const shared = await session(fixture);
    expect(await answerTo(shared, { ':path': '/never' })).toEqual({ reset: constants.NGHTTP2_CANCEL });
    const ws = new WebSocket(`${fixture.url}/fine`, { ...fixture.trust, http2: shared });
    await opened(ws);
    ws.terminate();
  });

  it('refuses a path other than the server’s with 400, and a closing server with 503', async () => {
    const fixture = await start({ path: '/ws' });
    const shared = await session(fixture);
    expect(await answerTo(shared, { ':path': '/elsewhere' })).toMatchObject({ status: 400 });
    const ws = new WebSocket(`${fixture.url}/ws`, { ...fixture.trust, http2: shared });
    await opened(ws);
    const done = closed(ws);
    fixture.wss.close();
    expect((await done)[0]).toBe(1001);
  });
});

describe("beside Node's compatibility API", () => {
  it("serves WebSockets on a server with a 'request' handler, which keeps its own requests and an unanswered tunnel CONNECT's 400", async () => {
    const server = createH2cServer((_request, response) => response.end('plain response'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(data)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { http2: session });
      await opened(ws);
      ws.send('beside compat');
      expect((await nextMessage(ws)).data.toString()).toBe('beside compat');
      const plain = await withTimeout(
        new Promise<string>((resolve) => {
          let body = '';
          session.request({ ':path': '/page' }).setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body));
        }),
        'the plain response',
        STEP_MS,
      );
      expect(plain).toBe('plain response');
      const tunnel = await withTimeout(
        new Promise<number>((resolve) => session.request({ ':method': 'CONNECT', ':authority': 'elsewhere.example:443' }).once('response', (headers) => resolve(Number(headers[':status'])))),
        'the answer to the tunnel request',
        STEP_MS,
      );
      expect(tunnel).toBe(400);
      ws.terminate();
    } finally {
      session.destroy();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('noServer mode', () => {
  it("handleStream takes an extended CONNECT from the HTTP/2 server's 'stream' event", async () => {
    const server = createH2cServer({ settings: { enableConnectProtocol: true } });
    const wss = new WebSocketServer({ noServer: true });
    server.on('stream', (stream, headers) => {
      if (headers[':method'] !== 'CONNECT') return;
      wss.handleStream(stream, headers, (ws, request) => {
        expect(request.url).toBe('/by-hand');
        ws.on('message', (data: Buffer) => ws.send(data));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/by-hand`, { http2: true });
      await opened(ws);
      expect(ws.httpVersion).toBe('2');
      ws.send('by hand');
      expect((await nextMessage(ws)).data.toString()).toBe('by hand');
      const done = closed(ws);
      ws.close();
      await done;
    } finally {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('HTTP/1.1 and HTTP/2 on one TLS port', () => {
  it("give the application one 'connection' event, and httpVersion tells them apart", async () => {
    const fixture = await startH2Server('tls');
    try {
      const seen: Array<[string, string]> = [];
      fixture.wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
        seen.push([ws.httpVersion, request.httpVersion]);
        ws.on('message', (data: Buffer) => ws.send(data));
      });
      const overH2 = new WebSocket(`${fixture.url}/`, { ...fixture.trust, http2: true });
      const overH1 = new WebSocket(`${fixture.url}/`, { ...fixture.trust });
      await Promise.all([opened(overH2), opened(overH1)]);
      expect(overH2.httpVersion).toBe('2');
      expect(overH1.httpVersion).toBe('1.1');
      for (const ws of [overH2, overH1]) {
        ws.send(`over ${ws.httpVersion}`);
        expect((await nextMessage(ws)).data.toString()).toBe(`over ${ws.httpVersion}`);
      }
      expect(seen.sort()).toEqual([
        ['1.1', '1.1'],
        ['2', '2.0'],
      ]);
      overH2.terminate();
      overH1.terminate();
    } finally {
      await fixture.close();
    }
  });

  it('§3 a client asking for HTTP/2 opens over HTTP/1.1 when the server does not enable the extended CONNECT', async () => {
    // An HTTP/2 server whose WebSocketServer takes only HTTP/1.1 upgrades: it never sends the setting.
    const server = createSecureServer({ ...selfSignedCertificate(), allowHTTP1: true });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request: IncomingMessage, socket, head) => wss.handleUpgrade(request, socket as never, head, (ws) => wss.emit('connection', ws, request)));
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(data)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const ws = new WebSocket(`wss://localhost:${(server.address() as AddressInfo).port}/`, { ca: selfSignedCertificate().cert, http2: true });
      await opened(ws);
      expect(ws.httpVersion).toBe('1.1');
      ws.send('fell back');
      expect((await nextMessage(ws)).data.toString()).toBe('fell back');
      ws.terminate();
    } finally {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
