/**
 * The client's ws options on real servers on 127.0.0.1 (and a Unix socket): auth,
 * finishRequest, createConnection, lookup, generateMask, TLS options passed through, ws+unix:
 * URLs, Host and Origin in headers, and redirects (followRedirects, maxRedirects, 'redirect',
 * credentials and cookies dropped across origins) — next to ws where they should agree.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type ClientRequest, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { HandshakeError, WebSocket, WebSocketServer } from '../../../src/node.js';
import { closeOf, nextEvent, openClient, portOf, readUntil, Resources, startHttpServer, startRawServer, startServer } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

const fixtures = new URL('../../fixtures/', import.meta.url);
const certificate = readFileSync(new URL('tls-cert.pem', fixtures));
const privateKey = readFileSync(new URL('tls-key.pem', fixtures));

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

/** A server that records the request of each connection. */
async function recordingServer(): Promise<{ url: string; port: number; requests: IncomingMessage[] }> {
  const { wss, url, port } = await startServer(resources);
  const requests: IncomingMessage[] = [];
  wss.on('connection', (_ws, request) => requests.push(request));
  return { url, port, requests };
}

describe('credentials and request hooks', () => {
  it('auth sends Basic credentials; the URL\'s user info wins over it, and an Authorization header over both', async () => {
    const { url, requests } = await recordingServer();
    await openClient(resources, url, undefined, { auth: 'alice:secret' });
    await openClient(resources, url.replace('ws://', 'ws://bob:pw@'), undefined, { auth: 'alice:secret' });
    await openClient(resources, url, undefined, { auth: 'alice:secret', headers: { Authorization: 'Bearer token' } });
    expect(requests.map((request) => request.headers.authorization)).toEqual([basic('alice:secret'), basic('bob:pw'), 'Bearer token']);
  });

  it('finishRequest gets the request and the socket, and sends the request itself', async () => {
    const { url, requests } = await recordingServer();
    const seen: unknown[] = [];
    const ws = await openClient(resources, url, undefined, {
      finishRequest: (request: ClientRequest, websocket: WebSocket) => {
        seen.push(websocket);
        request.setHeader('X-Late', 'added');
        request.end();
      },
    });
    expect(seen).toEqual([ws]);
    expect(requests[0]!.headers['x-late']).toBe('added');
  });

  it('createConnection makes the connection, with the request options', async () => {
    const { url, port } = await recordingServer();
    const calls: Array<{ host: unknown; port: unknown }> = [];
    await openClient(resources, url, undefined, {
      createConnection: (options: Record<string, unknown>) => {
        calls.push({ host: options.host, port: options.port });
        return netConnect(port, '127.0.0.1');
      },
    });
    expect(calls).toEqual([{ host: '127.0.0.1', port }]);
  });

  it('lookup resolves the host name', async () => {
    const { port, requests } = await recordingServer();
    const looked: string[] = [];
    const lookup = (hostname: string, options: object, callback: (error: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void): void => {
      looked.push(hostname);
      if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    await openClient(resources, `ws://wasmsocket.invalid:${port}/`, undefined, { lookup: lookup as never });
    expect(looked).toEqual(['wasmsocket.invalid']);
    expect(requests[0]!.headers.host).toBe(`wasmsocket.invalid:${port}`);
  });

  it('Host and Origin may be set in headers, as ws lets a client', async () => {
    const { url, requests } = await recordingServer();
    await openClient(resources, url, undefined, { headers: { Host: 'chat.example:8443', Origin: 'https://app.example' } });
    await openClient(resources, url, undefined, { headers: { host: 'chat.example' }, origin: 'https://wins.example' });
    expect(requests.map((request) => [request.headers.host, request.headers.origin])).toEqual([
      ['chat.example:8443', 'https://app.example'],
      ['chat.example', 'https://wins.example'],
    ]);
  });
});

describe('masking', () => {
  /** A raw server that accepts the handshake and hands over the first client frame. */
  async function firstFrame(make: (url: string) => WebSocket | WsClient, send: (ws: WebSocket | WsClient) => void): Promise<{ key: string; frame: Buffer }> {
    let resolve!: (value: { key: string; frame: Buffer }) => void;
    const result = new Promise<{ key: string; frame: Buffer }>((done) => (resolve = done));
    const { port } = await startRawServer(resources, (socket: Socket) => {
      void (async () => {
        const head = (await readUntil(socket, (received) => received.includes('\r\n\r\n'))).toString('latin1');
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(head)![1]!;
        const { createHash } = await import('node:crypto');
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        const frame = readUntil(socket, (received) => received.length >= 6);
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        resolve({ key, frame: await frame });
      })();
    });
    const ws = resources.track(make(`ws://127.0.0.1:${port}/`));
    ws.on('error', () => {});
    ws.once('open', () => send(ws));
    return result;
  }

  it.each([
    ['wasmsocket', (url: string) => new WebSocket(url, { perMessageDeflate: false, generateMask: (mask: Buffer) => mask.fill(0) })],
    ['ws', (url: string) => new WsClient(url, { perMessageDeflate: false, generateMask: (mask: Buffer) => mask.fill(0) })],
  ] as const)('%s: generateMask fills the masking keys; the handshake key stays random', async (_name, make) => {
    const { key, frame } = await firstFrame(make, (ws) => ws.send('hi'));
    expect(frame[1]! & 0x80).toBe(0x80);
    expect([...frame.subarray(2, 6)]).toEqual([0, 0, 0, 0]);
    expect(frame.subarray(6, 8).toString()).toBe('hi');
    expect(Buffer.from(key, 'base64')).not.toEqual(Buffer.alloc(16));
  });

  it('mask: false on send or ping does not unmask a client frame (RFC 6455 §5.1: a client masks every frame)', async () => {
    const { frame } = await firstFrame(
      (url) => new WebSocket(url, { perMessageDeflate: false }),
      (ws) => (ws as WebSocket).ping(Buffer.from('p'), false),
    );
    expect(frame[0]).toBe(0x89);
    expect(frame[1]! & 0x80).toBe(0x80);
  });
});

describe('TLS and ws+unix:', () => {
  it('TLS options are passed through: maxVersion caps the version, as for ws', async () => {
    const server = resources.track(createHttpsServer({ cert: certificate, key: privateKey }));
    const wss = resources.track(new WebSocketServer({ server }));
    const versions: string[] = [];
    wss.on('connection', (_ws, request) => versions.push((request.socket as TLSSocket).getProtocol() ?? ''));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `wss://127.0.0.1:${portOf(server)}/`;
    await openClient(resources, url, undefined, { rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    await openClient(resources, url, undefined, { rejectUnauthorized: false });
    expect(versions).toEqual(['TLSv1.2', 'TLSv1.3']);
  });

  it.each([
    ['wasmsocket', (url: string) => new WebSocket(url)],
    ['ws', (url: string) => new WsClient(url)],
  ] as const)('%s: a ws+unix: URL connects to the socket and requests the path after the colon', async (_name, make) => {
    const directory = mkdtempSync(join(tmpdir(), 'wasmsocket-'));
    resources.track({ close: () => rmSync(directory, { recursive: true, force: true }) });
    const socketPath = join(directory, 'ws.sock');
    const server = resources.track(createHttpServer());
    const wss = resources.track(new WebSocketServer({ server }));
    const requests: IncomingMessage[] = [];
    wss.on('connection', (ws, request) => {
      requests.push(request);
      ws.send('over a unix socket');
    });
    server.listen(socketPath);
    await once(server, 'listening');
    const ws = resources.track(make(`ws+unix:${socketPath}:/chat?room=1`));
    const [data] = await nextEvent<[Buffer]>(ws, 'message');
    expect(data.toString()).toBe('over a unix socket');
    expect(requests[0]!.url).toBe('/chat?room=1');
    expect(requests[0]!.headers.host).toBe('localhost');
    expect(ws.url).toBe(`ws+unix:${socketPath}:/chat?room=1`);
  });

  it('a ws+unix: URL without a socket path throws a SyntaxError', () => {
    expect(() => new WebSocket('ws+unix:')).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
  });
});

describe('redirects', () => {
  /** An HTTP server that answers every upgrade with `status` and a Location (a function of the request). */
  async function redirecting(status: number, location: (request: IncomingMessage) => string): Promise<{ port: number; requests: IncomingMessage[] }> {
    const requests: IncomingMessage[] = [];
    const { server, port } = await startHttpServer(resources);
    server.on('upgrade', (request: IncomingMessage, socket: Socket) => {
      requests.push(request);
      socket.end(`HTTP/1.1 ${status} Moved\r\nLocation: ${location(request)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    return { port, requests };
  }

  const clients = [
    ['wasmsocket', (url: string, options: object) => new WebSocket(url, options)],
    ['ws', (url: string, options: object) => new WsClient(url, options)],
  ] as const;

  it.each(clients)('%s: without followRedirects a 3xx fails the connection', async (name, make) => {
    const { port } = await redirecting(302, () => '/elsewhere');
    const ws = resources.track(make(`ws://127.0.0.1:${port}/`, {}));
    const [[error], [code]] = await Promise.all([nextEvent<[Error]>(ws, 'error'), nextEvent<[number]>(ws, 'close')]);
    if (name === 'wasmsocket') expect((error as HandshakeError).status).toBe(302);
    expect(code).toBe(1006);
  });

  it.each(clients)('%s: followRedirects follows to another origin, reports the new url, and drops Authorization and Cookie there', async (_name, make) => {
    const target = await recordingServer();
    const first = await redirecting(301, (request) => `${target.url}/landed${request.url}`);
    const ws = resources.track(make(`ws://user:pw@127.0.0.1:${first.port}/start`, { followRedirects: true, headers: { Cookie: 'session=1', 'X-Keep': 'yes' } }));
    await nextEvent(ws, 'open');
    expect(ws.url).toBe(`${target.url}/landed/start`);
    expect(first.requests[0]!.headers.authorization).toBe(basic('user:pw'));
    expect(first.requests[0]!.headers.cookie).toBe('session=1');
    const landed = target.requests[0]!;
    expect(landed.url).toBe('/landed/start');
    expect(landed.headers.authorization).toBeUndefined();
    expect(landed.headers.cookie).toBeUndefined();
    expect(landed.headers['x-keep']).toBe('yes');
  });

  it.each(clients)('%s: within the origin the credentials and cookies go along', async (_name, make) => {
    const { wss, server, port } = await (async () => {
      const { server, port } = await startHttpServer(resources);
      const wss = resources.track(new WebSocketServer({ noServer: true }));
      return { wss, server, port };
    })();
    const requests: IncomingMessage[] = [];
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      requests.push(request);
      if (request.url === '/old') socket.end('HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n');
      else wss.handleUpgrade(request, socket, head, (ws) => resources.track(ws));
    });
    const ws = resources.track(make(`ws://127.0.0.1:${port}/old`, { followRedirects: true, auth: 'user:pw', headers: { Cookie: 'session=1' } }));
    await nextEvent(ws, 'open');
    expect(requests.map((request) => [request.url, request.headers.authorization, request.headers.cookie])).toEqual([
      ['/old', basic('user:pw'), 'session=1'],
      ['/new', basic('user:pw'), 'session=1'],
    ]);
  });

  it.each(clients)("%s: 'redirect' reports the url and the request, which a listener may change before it is sent", async (_name, make) => {
    const target = await recordingServer();
    const first = await redirecting(302, () => `${target.url}/next`);
    const ws = resources.track(make(`ws://127.0.0.1:${first.port}/`, { followRedirects: true, headers: { Cookie: 'a=1' } }));
    const redirects: string[] = [];
    ws.on('redirect', (url: string, request: ClientRequest) => {
      redirects.push(url);
      request.setHeader('X-Hop', String(redirects.length));
    });
    await nextEvent(ws, 'open');
    expect(redirects).toEqual([`${target.url}/next`]);
    expect(target.requests[0]!.headers['x-hop']).toBe('1');
    // With a listener the headers are the listener's business: nothing is dropped.
    expect(target.requests[0]!.headers.cookie).toBe('a=1');
  });

  it.each(clients)('%s: more than maxRedirects fails the connection with an error, then 1006', async (_name, make) => {
    const loop = await redirecting(302, (request) => `/hop${Number(/\d+/.exec(request.url ?? '')?.[0] ?? 0) + 1}`);
    const ws = resources.track(make(`ws://127.0.0.1:${loop.port}/hop0`, { followRedirects: true, maxRedirects: 2 }));
    const [[error], [code]] = await Promise.all([nextEvent<[Error]>(ws, 'error'), nextEvent<[number]>(ws, 'close')]);
    expect(error.message).toMatch(/redirects/i);
    expect(code).toBe(1006);
    expect(loop.requests.map((request) => request.url)).toEqual(['/hop0', '/hop1', '/hop2']);
  });
});

it('a client with every ws option still echoes', async () => {
  const { wss, url } = await startServer(resources);
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
  const ws = await openClient(resources, url, undefined, { followRedirects: true, maxRedirects: 3, protocolVersion: 13, auth: 'a:b', family: 4 });
  const closed = closeOf(ws);
  ws.send('echo');
  const [data] = await nextEvent<[Buffer]>(ws, 'message');
  expect(data.toString()).toBe('echo');
  ws.close();
  expect((await closed).code).toBe(1005);
  expect(() => new WebSocket(url, { protocolVersion: 8 })).toThrow(RangeError);
});
