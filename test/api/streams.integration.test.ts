/**
 * The streams faces over real loopback connections: `messages` (async iteration with a
 * bounded queue), `createWebSocketStream` (a Node Duplex) and `sendMessageStream` (one message
 * fragment by fragment, RFC 6455 §5.4), with backpressure observed on the socket itself.
 */
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketStream, messages, sendMessageStream } from '../../src/api/streams.js';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { Opcode } from '../../src/shared/constants.js';
import { ErrorCode, InvalidArgumentError, ProtocolError } from '../../src/shared/errors.js';
import { closeFrame, frame, readClose } from '../helpers/frames.js';
import { EventQueue, withTimeout } from '../interop/events.js';
import { patternBytes } from '../interop/payloads.js';
import { connectRaw, type RawConnection, type RawServer, startRawServer } from '../interop/raw-peer.js';

const servers: WebSocketServer[] = [];
const sockets: WebSocket[] = [];
const rawServers: RawServer[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((wss) => new Promise((resolve) => wss.close(resolve))));
  await Promise.all(rawServers.splice(0).map((raw) => raw.close()));
});

/** A wasmsocket server on a free port; its server-side sockets arrive in `connections`. */
async function listen(): Promise<{ port: number; connections: EventQueue<WebSocket> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  const connections = new EventQueue<WebSocket>();
  wss.on('connection', (ws: WebSocket) => {
    sockets.push(ws);
    connections.push(ws);
  });
  await withTimeout(new Promise((resolve) => wss.once('listening', resolve)), 'the server to listen');
  return { port: (wss.address() as AddressInfo).port, connections };
}

/** A client connected to a fresh server, and the server's side of it. */
async function pair(): Promise<{ client: WebSocket; server: WebSocket }> {
  const { port, connections } = await listen();
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  sockets.push(client);
  await withTimeout(new Promise((resolve, reject) => client.once('open', resolve).once('error', reject)), 'the client to open');
  return { client, server: await connections.next('the server-side socket') };
}

/** A client connected to a raw, frame-level server, and that server's end. */
async function clientOfRawServer(): Promise<{ client: WebSocket; peer: RawConnection }> {
  const rawServer = await startRawServer();
  rawServers.push(rawServer);
  const client = new WebSocket(`ws://127.0.0.1:${rawServer.port}/`);
  sockets.push(client);
  await withTimeout(new Promise((resolve, reject) => client.once('open', resolve).once('error', reject)), 'the client to open');
  return { client, peer: await rawServer.connections.next('the raw connection') };
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return withTimeout(
    new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))),
    'the connection to close',
  );
}

/** Poll `condition` every few milliseconds, within the step timeout. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    what,
  );
}

describe('messages(ws)', () => {
  it('yields text as strings and binary as Buffers, in order, and ends when the connection closes', async () => {
    const { client, server } = await pair();
    const received = messages(client);
    server.send('first');
    server.send(Buffer.from([1, 2, 3]));
    server.send('');
    server.send('ünïcödé ✓');
    server.close(1000, 'done');
    const all: unknown[] = [];
    for await (const message of received) all.push(message);
    expect(all).toEqual(['first', Buffer.from([1, 2, 3]), '', 'ünïcödé ✓']);
    expect(client.readyState).toBe(WebSocket.CLOSED);
  });

  it('hands binary out as binaryType says', async () => {
    const { client, server } = await pair();
    client.binaryType = 'arraybuffer';
    const received = messages(client);
    server.send(Buffer.from([9, 8, 7]));
    const { value } = await received.next();
    expect(value).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(value as ArrayBuffer)]).toEqual([9, 8, 7]);
  });

  it('misses nothing sent before the loop starts', async () => {
    const { client, server } = await pair();
    const received = messages(client);
    for (let i = 0; i < 5; i++) server.send(`early ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.close();
    const all: unknown[] = [];
    for await (const message of received) all.push(message);
    expect(all).toEqual(['early 0', 'early 1', 'early 2', 'early 3', 'early 4']);
  });

  it('pauses the socket while the loop falls behind and resumes it when it catches up', async () => {
    const { client, server } = await pair();
    const received = messages(client, { highWaterMark: 4, highWaterMarkBytes: 1 << 30 });
    for (let i = 0; i < 200; i++) server.send(`message ${i}`);
    await eventually(() => client.isPaused, 'the reader to pause the socket');
    const all: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      const { value } = await withTimeout(received.next(), `message ${i}`);
      all.push(value);
    }
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => `message ${i}`));
    expect(client.isPaused).toBe(false);
  });

  it('pauses on the byte mark too: one large unread message is enough', async () => {
    const { client, server } = await pair();
    const received = messages(client, { highWaterMarkBytes: 1024 });
    server.send(patternBytes(64 * 1024));
    await eventually(() => client.isPaused, 'the reader to pause the socket');
    expect(((await received.next()).value as Buffer).equals(patternBytes(64 * 1024))).toBe(true);
    expect(client.isPaused).toBe(false);
  });

  it('throws the connection error after the messages that came before it', async () => {
    const { port, connections } = await listen();
    const raw = await connectRaw(port);
    const server = await connections.next('the server-side socket');
    const received = messages(server);
    raw.write(frame(Opcode.TEXT, 'fine', { mask: true }));
    raw.write(frame(Opcode.TEXT, Uint8Array.of(0x68, 0xff, 0x69), { mask: true }));
    expect((await received.next()).value).toBe('fine');
    const failure = await received.next().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ProtocolError);
    expect(failure).toMatchObject({ code: ErrorCode.INVALID_UTF8, closeCode: 1007 });
    expect(await received.next()).toEqual({ value: undefined, done: true });
  });

  it('closes the connection with 1000 when the loop is left early', async () => {
    const { client, server } = await pair();
    const serverClosed = closed(server);
    server.send('one');
    server.send('two');
    for await (const message of messages(client)) {
      expect(message).toBe('one');
      break;
    }
    expect(await serverClosed).toMatchObject({ code: 1000 });
  });

  it('with closeOnReturn false, leaves the connection open, unpaused and to other listeners', async () => {
    const { client, server } = await pair();
    const first = messages(client, { closeOnReturn: false, highWaterMark: 1 });
    server.send('one');
    server.send('two');
    await eventually(() => client.isPaused, 'the reader to pause the socket');
    expect((await first.next()).value).toBe('one');
    await first.return();
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(client.isPaused).toBe(false);
    expect(client.listenerCount('message')).toBe(0);
    const second = messages(client);
    server.send('three');
    expect((await second.next()).value).toBe('three');
  });

  it('is done at once on a closed socket, and answers reads waiting when the socket closes', async () => {
    const { client, server } = await pair();
    const waiting = messages(client).next();
    server.close();
    expect(await withTimeout(waiting, 'the pending read')).toEqual({ value: undefined, done: true });
    expect(await messages(client).next()).toEqual({ value: undefined, done: true });
  });

  it('rejects high-water marks that are not positive integers', async () => {
    const { client } = await pair();
    expect(() => messages(client, { highWaterMark: 0 })).toThrow(InvalidArgumentError);
    expect(() => messages(client, { highWaterMarkBytes: 1.5 })).toThrow(/highWaterMarkBytes must be a positive integer/);
  });
});

describe('createWebSocketStream(ws)', () => {
  it('sends each write as a binary message and reads each message as a chunk', async () => {
    const { client, server } = await pair();
    server.on('message', (data: Buffer, isBinary: boolean) => server.send(Buffer.concat([Buffer.from('echo:'), data]), { binary: isBinary }));
    const duplex = createWebSocketStream(client);
    const chunks: Buffer[] = [];
    duplex.on('data', (chunk: Buffer) => chunks.push(chunk));
    duplex.write('abc');
    duplex.write(Buffer.from([1, 2]));
    await eventually(() => chunks.length === 2, 'two echoes');
    expect(chunks).toEqual([Buffer.from('echo:abc'), Buffer.concat([Buffer.from('echo:'), Buffer.from([1, 2])])]);
  });

  it('sends strings as text with decodeStrings false, and reads text as strings in readableObjectMode', async () => {
    const { client, server } = await pair();
    const kinds = new EventQueue<boolean>();
    server.on('message', (data: Buffer, isBinary: boolean) => {
      kinds.push(isBinary);
      server.send(data, { binary: isBinary });
    });
    const duplex = createWebSocketStream(client, { decodeStrings: false, readableObjectMode: true });
    duplex.write('text ✓');
    expect(await kinds.next('the message kind')).toBe(false);
    const chunk = await withTimeout(new Promise<unknown>((resolve) => duplex.once('data', resolve)), 'the echo');
    expect(chunk).toBe('text ✓');
  });

  it('pipes a byte stream through an echo server and back, ending with the closing handshake', async () => {
    const { client, server } = await pair();
    server.on('message', (data: Buffer, isBinary: boolean) => server.send(data, { binary: isBinary }));
    const serverClosed = closed(server);
    const duplex = createWebSocketStream(client);
    const source = Array.from({ length: 50 }, (_, i) => patternBytes(1000 + i));
    const collected: Buffer[] = [];
    const readAll = pipeline(
      duplex,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          collected.push(chunk);
          if (collected.length === source.length) duplex.end();
          callback();
        },
      }),
    );
    for (const chunk of source) duplex.write(chunk);
    await withTimeout(readAll, 'the echoes to end');
    expect(collected).toEqual(source);
    expect(await serverClosed).toMatchObject({ code: 1005 });
    await withTimeout(new Promise((resolve) => (duplex.destroyed ? resolve(null) : duplex.once('close', resolve))), 'the stream to close');
  });

  it('waits for the socket to open before writing, and sends what was written before', async () => {
    const { port, connections } = await listen();
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    sockets.push(client);
    const duplex = createWebSocketStream(client);
    duplex.write('written while connecting');
    const server = await connections.next('the server-side socket');
    const message = await withTimeout(new Promise<Buffer>((resolve) => server.once('message', resolve)), 'the first message');
    expect(message.toString()).toBe('written while connecting');
  });

  it('pauses the socket while nobody reads and resumes it when the reader comes', async () => {
    const { client, server } = await pair();
    const duplex = createWebSocketStream(client, { readableHighWaterMark: 1024 });
    for (let i = 0; i < 100; i++) server.send(patternBytes(512));
    await eventually(() => client.isPaused, 'the stream to pause the socket');
    let bytes = 0;
    duplex.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await eventually(() => bytes === 100 * 512, 'all the data');
    expect(client.isPaused).toBe(false);
  });

  it('holds writes back while the socket buffer is full, until the peer reads', async () => {
    const { client, peer } = await clientOfRawServer();
    peer.pause();
    const duplex = createWebSocketStream(client, { writableHighWaterMark: 64 * 1024 });
    const chunk = patternBytes(256 * 1024);
    // Keep writing: the kernel takes a few MB, then writes must wait on 'drain'.
    const writer = setInterval(() => {
      while (duplex.write(chunk));
    }, 5);
    await eventually(() => duplex.writableNeedDrain && client.bufferedAmount > 0, 'the stream to need a drain');
    const drained = new Promise((resolve) => duplex.once('drain', resolve));
    let drainedEarly = false;
    void drained.then(() => (drainedEarly = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(drainedEarly).toBe(false);
    peer.resume();
    clearInterval(writer);
    await withTimeout(drained, 'the stream to drain once the peer reads');
  });

  it('terminates the connection when destroyed', async () => {
    const { client, server } = await pair();
    const serverClosed = closed(server);
    createWebSocketStream(client).destroy();
    expect(await serverClosed).toMatchObject({ code: 1006 });
  });

  it('is destroyed with the connection error when the peer breaks the protocol', async () => {
    const { client, peer } = await clientOfRawServer();
    const duplex = createWebSocketStream(client);
    const failure = new Promise((resolve) => duplex.once('error', resolve));
    peer.write(frame(0x3, 'reserved opcode'));
    // The client fails the connection with 1002 (RFC 6455 §7.1.7); the peer completes the close.
    const close = await peer.nextFrame('the close frame');
    expect(readClose(close.payload).code).toBe(1002);
    peer.write(closeFrame(1002));
    peer.destroy();
    expect(await withTimeout(failure, 'the stream error')).toMatchObject({ code: ErrorCode.RESERVED_OPCODE, closeCode: 1002 });
    expect(duplex.destroyed).toBe(true);
  });
});

describe('sendMessageStream(ws, chunks)', () => {
  it('sends one message as a first frame, continuations and a final frame, never assembled', async () => {
    const { client, peer } = await clientOfRawServer();
    async function* pieces(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('one,');
      yield new Uint8Array(0);
      yield Buffer.from('two,');
      await new Promise((resolve) => setTimeout(resolve, 10));
      yield Buffer.from('three');
    }
    await withTimeout(sendMessageStream(client, pieces()), 'the message to be sent');
    const frames = [await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame()];
    expect(frames.map(({ fin, opcode, payload }) => ({ fin, opcode, data: Buffer.from(payload).toString() }))).toEqual([
      { fin: false, opcode: Opcode.BINARY, data: 'one,' },
      { fin: false, opcode: Opcode.CONTINUATION, data: 'two,' },
      { fin: true, opcode: Opcode.CONTINUATION, data: 'three' },
    ]);
  });

  it('sends string chunks as a text message, and a server can stream too', async () => {
    const { port, connections } = await listen();
    const peer = await connectRaw(port);
    const server = await connections.next('the server-side socket');
    await sendMessageStream(server, ['grüße ', 'aus ', 'Wien']);
    const frames = [await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame()];
    expect(frames.map(({ fin, opcode, masked }) => ({ fin, opcode, masked }))).toEqual([
      { fin: false, opcode: Opcode.TEXT, masked: false },
      { fin: false, opcode: Opcode.CONTINUATION, masked: false },
      { fin: true, opcode: Opcode.CONTINUATION, masked: false },
    ]);
    expect(Buffer.concat(frames.map((received) => received.payload)).toString()).toBe('grüße aus Wien');
  });

  it('sends an empty source as one empty message, of the kind asked for', async () => {
    const { port, connections } = await listen();
    const peer = await connectRaw(port);
    const server = await connections.next('the server-side socket');
    await sendMessageStream(server, [], { binary: true });
    const received = await peer.nextFrame();
    expect(received).toMatchObject({ fin: true, opcode: Opcode.BINARY });
    expect(received.payload.length).toBe(0);
  });

  it('reads a WHATWG ReadableStream', async () => {
    const { client, server } = await pair();
    const received = new Promise<[Buffer, boolean]>((resolve) => server.once('message', (data: Buffer, isBinary: boolean) => resolve([data, isBinary])));
    const source = Readable.toWeb(Readable.from([Buffer.from('web '), Buffer.from('stream')])) as ReadableStream<Uint8Array>;
    await sendMessageStream(client, source);
    expect(await withTimeout(received, 'the message')).toEqual([Buffer.from('web stream'), true]);
  });

  it('streams 16 MiB through a slow reader without running ahead of it', async () => {
    const { client, server } = await pair();
    const total = 16 * 1024 * 1024;
    const piece = patternBytes(256 * 1024);
    let produced = 0;
    let maxAhead = 0;
    async function* produce(): AsyncGenerator<Uint8Array> {
      while (produced < total) {
        maxAhead = Math.max(maxAhead, client.bufferedAmount);
        produced += piece.length;
        yield piece;
      }
    }
    server.pause();
    const sending = sendMessageStream(client, produce());
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The reader is paused: the producer stops once the buffers are full, far short of 16 MiB.
    expect(produced).toBeLessThan(total);
    const received = new Promise<Buffer>((resolve) => server.once('message', resolve));
    server.resume();
    await withTimeout(sending, 'the message to be sent');
    const message = await withTimeout(received, 'the message');
    expect(message.length).toBe(total);
    expect(message.subarray(0, piece.length).equals(piece)).toBe(true);
    expect(maxAhead).toBeLessThan(total / 2);
  });

  it('closes the connection with 1011 when the source fails midway, and rejects', async () => {
    const { client, server } = await pair();
    const serverClosed = closed(server);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial');
      yield Buffer.from('more');
      throw new Error('disk on fire');
    }
    await expect(sendMessageStream(client, failing())).rejects.toThrow('disk on fire');
    expect(await serverClosed).toMatchObject({ code: 1011 });
  });

  it('closes the connection with 1000 when aborted midway, and rejects with the reason', async () => {
    const { client, server } = await pair();
    const serverClosed = closed(server);
    const controller = new AbortController();
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        yield Buffer.from('tick');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const sending = sendMessageStream(client, endless(), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 30);
    await expect(sending).rejects.toThrow('user cancelled');
    expect(await serverClosed).toMatchObject({ code: 1000, reason: 'message aborted' });
  });

  it('rejects when the socket is not open, and on chunks that are neither strings nor bytes', async () => {
    const { client, server } = await pair();
    await expect(sendMessageStream(client, [42 as unknown as Uint8Array])).rejects.toThrow(/must be a string or a Uint8Array/);
    const serverClosed = closed(server);
    client.close();
    await serverClosed;
    await expect(sendMessageStream(client, ['late'])).rejects.toThrow(/not open/);
  });

  it('a peer receiving it sees the close frame only after the fragments', async () => {
    const { client, peer } = await clientOfRawServer();
    await sendMessageStream(client, ['a', 'b']);
    client.close(1000);
    const opcodes = [await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame()].map((received) => received.opcode);
    expect(opcodes).toEqual([Opcode.TEXT, Opcode.CONTINUATION, Opcode.CLOSE]);
    peer.write(closeFrame(1000));
  });
});
