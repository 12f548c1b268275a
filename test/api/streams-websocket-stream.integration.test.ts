/**
 * `WebSocketStream` (the WHATWG WebSocketStream proposal's shape) over real loopback
 * connections: opening, reading and writing with backpressure both ways, the three ways to
 * close (close(), the writable's close/abort, the readable's cancel), clean and unclean ends,
 * connections that never open, and abort signals.
 */
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketStream, WebSocketStreamError } from '../../src/api/websocket-stream.js';
import { type WebSocket, WebSocketServer } from '../../src/node.js';
import { EventQueue, withTimeout } from '../interop/events.js';
import { patternBytes } from '../interop/payloads.js';
import { type RawServer, startRawServer } from '../interop/raw-peer.js';

const servers: WebSocketServer[] = [];
const rawServers: RawServer[] = [];
const netServers: net.Server[] = [];
const streams: WebSocketStream[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) {
    try {
      stream.close();
    } catch {
      // already closed
    }
  }
  for (const wss of servers.splice(0)) for (const client of wss.clients ?? []) client.terminate();
  await Promise.all(servers.splice(0).map((wss) => new Promise((resolve) => wss.close(resolve))));
  await Promise.all(rawServers.splice(0).map((raw) => raw.close()));
  for (const server of netServers.splice(0)) server.close();
});

interface Server {
  readonly url: string;
  readonly connections: EventQueue<WebSocket>;
}

/** A wasmsocket server on a free port accepting subprotocol "chat" when offered. */
async function listen(): Promise<Server> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false) });
  servers.push(wss);
  const connections = new EventQueue<WebSocket>();
  wss.on('connection', (ws: WebSocket) => connections.push(ws));
  await withTimeout(new Promise((resolve) => wss.once('listening', resolve)), 'the server to listen');
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/path?query=1`, connections };
}

function open(url: string, options?: ConstructorParameters<typeof WebSocketStream>[1]): WebSocketStream {
  const stream = new WebSocketStream(url, options);
  streams.push(stream);
  return stream;
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return withTimeout(
    new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))),
    'the server side to close',
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return withTimeout(
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error,
    ),
    'a rejection',
  );
}

describe('WebSocketStream', () => {
  it('opens with a readable, a writable, the agreed subprotocol and the extensions', async () => {
    const server = await listen();
    const stream = open(server.url, { protocols: ['chat'] });
    expect(stream.url).toBe(server.url);
    const info = await withTimeout(stream.opened, 'the stream to open');
    expect(info.readable).toBeInstanceOf(ReadableStream);
    expect(info.writable).toBeInstanceOf(WritableStream);
    expect(info.protocol).toBe('chat');
    expect(info.extensions).toBe('');
  });

  it('writes strings as text and BufferSources as binary (a copy, taken at write time)', async () => {
    const server = await listen();
    const stream = open(server.url);
    const { writable } = await stream.opened;
    const ws = await server.connections.next('the server side');
    const received = new EventQueue<[string, boolean]>();
    ws.on('message', (data: Buffer, isBinary: boolean) => received.push([isBinary ? data.toString('hex') : data.toString(), isBinary]));
    const writer = writable.getWriter();
    const bytes = Uint8Array.of(1, 2, 3);
    await writer.write('text ✓');
    await writer.write(bytes);
    bytes[0] = 99;
    await writer.write(Uint8Array.of(0, 1, 2, 3, 4).buffer.slice(1, 3));
    await writer.write(new DataView(Uint8Array.of(7, 8, 9).buffer, 1));
    expect([await received.next('1'), await received.next('2'), await received.next('3'), await received.next('4')]).toEqual([
      ['text ✓', false],
      ['010203', true],
      ['0102', true],
      ['0809', true],
    ]);
  });

  it('rejects a write of anything else with a TypeError, erroring the writable', async () => {
    const server = await listen();
    const { writable } = await open(server.url).opened;
    const writer = writable.getWriter();
    await expect(writer.write(42 as unknown as string)).rejects.toThrow(TypeError);
    await expect(writer.closed).rejects.toThrow(TypeError);
  });

  it('reads text as strings and binary as plain Uint8Arrays, in order', async () => {
    const server = await listen();
    const { readable } = await open(server.url).opened;
    const ws = await server.connections.next('the server side');
    ws.send('one');
    ws.send(Buffer.from([4, 5]));
    ws.send('');
    const reader = readable.getReader();
    expect((await reader.read()).value).toBe('one');
    const binary = (await reader.read()).value as Uint8Array;
    expect(Object.getPrototypeOf(binary)).toBe(Uint8Array.prototype);
    expect([...binary]).toEqual([4, 5]);
    expect((await reader.read()).value).toBe('');
  });

  it('stops reading from the network while the readable is not read (backpressure in)', async () => {
    const server = await listen();
    const { readable } = await open(server.url).opened;
    const ws = await server.connections.next('the server side');
    // 32 MiB is more than the loopback socket buffers of both ends hold.
    const message = patternBytes(1024 * 1024);
    for (let i = 0; i < 32; i++) ws.send(message);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    let count = 0;
    for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) {
      expect(chunk.byteLength).toBe(message.length);
      if (++count === 32) break;
    }
    expect(ws.bufferedAmount).toBe(0);
  });

  it('resolves a write only once the socket has room (backpressure out)', async () => {
    const rawServer = await startRawServer();
    rawServers.push(rawServer);
    const { writable } = await open(`ws://127.0.0.1:${rawServer.port}/`).opened;
    const peer = await rawServer.connections.next('the raw connection');
    peer.pause();
    const writer = writable.getWriter();
    const chunk = patternBytes(1024 * 1024);
    let pending: Promise<void> | null = null;
    for (let i = 0; i < 64 && pending === null; i++) {
      const write = writer.write(chunk);
      const settled = await Promise.race([write.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 50))]);
      if (!settled) pending = write;
    }
    expect(pending).not.toBeNull();
    expect(writer.desiredSize).toBeLessThanOrEqual(0);
    peer.resume();
    await withTimeout(pending!, 'the write once the peer reads');
  });

  it('close() sends the code and reason; closed resolves with what the server answered', async () => {
    const server = await listen();
    const stream = open(server.url);
    await stream.opened;
    const ws = await server.connections.next('the server side');
    const serverClose = closeOf(ws);
    stream.close({ closeCode: 4000, reason: 'bye ✓' });
    expect(await serverClose).toEqual({ code: 4000, reason: 'bye ✓' });
    expect(await withTimeout(stream.closed, 'closed')).toEqual({ closeCode: 4000, reason: 'bye ✓' });
  });

  it('close() with a reason and no code sends 1000; bad codes and long reasons throw', async () => {
    const server = await listen();
    const stream = open(server.url);
    await stream.opened;
    const ws = await server.connections.next('the server side');
    expect(() => stream.close({ closeCode: 1006 })).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(() => stream.close({ closeCode: 1000, reason: 'x'.repeat(124) })).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    const serverClose = closeOf(ws);
    stream.close({ reason: 'just a reason' });
    expect(await serverClose).toEqual({ code: 1000, reason: 'just a reason' });
  });

  it('after a clean close from the server: the readable ends, the writable errors, closed resolves', async () => {
    const server = await listen();
    const stream = open(server.url);
    const { readable, writable } = await stream.opened;
    const ws = await server.connections.next('the server side');
    ws.send('last words');
    ws.close(4001, 'server done');
    expect(await withTimeout(stream.closed, 'closed')).toEqual({ closeCode: 4001, reason: 'server done' });
    const reader = readable.getReader();
    expect(await reader.read()).toEqual({ value: 'last words', done: false });
    expect(await reader.read()).toEqual({ value: undefined, done: true });
    const writeError = await rejection(writable.getWriter().write('too late'));
    expect(writeError).toMatchObject({ name: 'InvalidStateError' });
  });

  it('after an unclean close: both sides error and closed rejects with a WebSocketStreamError (1006)', async () => {
    const rawServer = await startRawServer();
    rawServers.push(rawServer);
    const stream = open(`ws://127.0.0.1:${rawServer.port}/`);
    const { readable } = await stream.opened;
    (await rawServer.connections.next('the raw connection')).destroy();
    const error = await rejection(stream.closed);
    expect(error).toBeInstanceOf(WebSocketStreamError);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'WebSocketError', closeCode: 1006, reason: '' });
    expect(await rejection(readable.getReader().read())).toBe(error);
  });

  it('a writable close() starts the closing handshake; abort() closes with the reason code', async () => {
    const server = await listen();
    const first = open(server.url);
    const { writable } = await first.opened;
    const ws = await server.connections.next('the server side');
    const serverClose = closeOf(ws);
    await writable.close();
    expect(await serverClose).toMatchObject({ code: 1005 });
    expect(await withTimeout(first.closed, 'closed')).toEqual({ closeCode: 1005, reason: '' });

    const second = open(server.url);
    const opened = await second.opened;
    const secondServerClose = closeOf(await server.connections.next('the second server side'));
    await opened.writable.abort(new WebSocketStreamError('giving up', { closeCode: 4002, reason: 'aborted' }));
    expect(await secondServerClose).toEqual({ code: 4002, reason: 'aborted' });
  });

  it('cancelling the readable closes the connection, with the code of a WebSocketStreamError reason', async () => {
    const server = await listen();
    const stream = open(server.url);
    const { readable } = await stream.opened;
    const serverClose = closeOf(await server.connections.next('the server side'));
    await readable.cancel(new WebSocketStreamError('', { closeCode: 4003, reason: 'not interested' }));
    expect(await serverClose).toEqual({ code: 4003, reason: 'not interested' });
    expect(await withTimeout(stream.closed, 'closed')).toMatchObject({ closeCode: 4003 });
  });

  it('rejects opened and closed when the connection cannot be established, saying why', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const stream = open(`ws://127.0.0.1:${port}/`);
    const error = await rejection(stream.opened);
    expect(error).toBeInstanceOf(WebSocketStreamError);
    expect((error as Error).message).toMatch(/could not be established: .*ECONNREFUSED/);
    expect((error as Error & { cause?: unknown }).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(await rejection(stream.closed)).toMatchObject({ closeCode: 1006 });
  });

  it('with an already aborted signal, rejects with its reason and never connects', async () => {
    const server = await listen();
    const reason = new Error('not today');
    const stream = open(server.url, { signal: AbortSignal.abort(reason) });
    expect(await rejection(stream.opened)).toBe(reason);
    expect(await rejection(stream.closed)).toBe(reason);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.connections.all()).toEqual([]);
  });

  it('aborting while the handshake is pending fails the connection with the reason', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}));
    netServers.push(silent);
    const sockets = new EventQueue<net.Socket>();
    silent.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const controller = new AbortController();
    const stream = open(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { signal: controller.signal });
    const socket = await sockets.next('the connection attempt');
    const reason = new Error('took too long');
    controller.abort(reason);
    expect(await rejection(stream.opened)).toBe(reason);
    expect(await rejection(stream.closed)).toBe(reason);
    await withTimeout(new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve))), 'the socket to be dropped');
  });

  it('throws a SyntaxError DOMException for a bad URL or bad protocols', () => {
    expect(() => new WebSocketStream('not a url')).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(() => new WebSocketStream('ws://127.0.0.1:1/#fragment')).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(() => new WebSocketStream('ws://127.0.0.1:1/', { protocols: ['a', 'a'] })).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
  });
});

describe('WebSocketStreamError', () => {
  it('is a DOMException named WebSocketError with a close code and a reason', () => {
    const error = new WebSocketStreamError('message', { closeCode: 3000, reason: 'why' });
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'WebSocketError', message: 'message', closeCode: 3000, reason: 'why' });
    expect(new WebSocketStreamError()).toMatchObject({ message: '', closeCode: null, reason: '' });
  });

  it('sets 1000 for a reason without a code, and validates both', () => {
    expect(new WebSocketStreamError('', { reason: 'r' }).closeCode).toBe(1000);
    expect(() => new WebSocketStreamError('', { closeCode: 1001 })).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(() => new WebSocketStreamError('', { closeCode: 5000 })).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(() => new WebSocketStreamError('', { closeCode: 1000, reason: 'é'.repeat(62) })).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(new WebSocketStreamError('', { closeCode: 4999, reason: 'é'.repeat(61) }).reason).toHaveLength(61);
  });
});
