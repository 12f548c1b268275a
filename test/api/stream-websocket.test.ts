/**
 * StreamWebSocket in Node, over in-memory stream pairs: handshake, messages, control
 * frames, the closing handshake, backpressure both ways, timeouts and failures. The same code
 * runs in Chromium workers in test/browser/.
 */
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import { createWebCodec } from '../../src/adapters/web/codec.js';
import { createWebStreamPair, type WebStreamPair } from '../../src/adapters/web/stream-binding.js';
import type { MessageData } from '../../src/api/face.js';
import { StreamWebSocket } from '../../src/api/stream-websocket.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { ReadyState } from '../../src/shared/constants.js';

interface Closed {
  code: number;
  reason: string;
  wasClean: boolean;
}

function closed(ws: StreamWebSocket): Promise<Closed> {
  return new Promise((resolve) =>
    ws.addEventListener('close', (event) => {
      const { code, reason, wasClean } = event as CloseEvent;
      resolve({ code, reason, wasClean });
    }),
  );
}

function opened(ws: StreamWebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code: number, reason: string) => reject(new Error(`closed before open: ${code} ${reason}`)));
  });
}

function nextMessage(ws: StreamWebSocket): Promise<[MessageData, boolean]> {
  return new Promise((resolve) => ws.once('message', (data: MessageData, isBinary: boolean) => resolve([data, isBinary])));
}

function errorsOf(ws: StreamWebSocket): Error[] {
  const errors: Error[] = [];
  ws.on('error', (error: Error) => errors.push(error));
  return errors;
}

/** A client and a server over a TransformStream pair; the server must report no error. */
function connectedPair() {
  const [clientStreams, serverStreams] = createWebStreamPair();
  const server = StreamWebSocket.accept(serverStreams, { codec: portableCodec });
  const client = StreamWebSocket.connect(clientStreams, 'ws://example.com/chat?room=1', { codec: portableCodec });
  server.on('error', (error: Error) => {
    throw error;
  });
  return { client, server };
}

/** A stream pair whose far end we script by hand. */
function manualPeer(): { streams: WebStreamPair; toUs: WritableStreamDefaultWriter<Uint8Array>; fromUs: ReadableStreamDefaultReader<Uint8Array> } {
  const [ours, theirs] = createWebStreamPair();
  return { streams: ours, toUs: theirs.writable.getWriter(), fromUs: theirs.readable.getReader() };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Play the server's part of the opening handshake by hand (a server core), until the client is open. */
async function answerHandshake(peer: ReturnType<typeof manualPeer>, client: StreamWebSocket): Promise<void> {
  const clientOpened = opened(client);
  const serverCore = new ServerConnection({ codec: portableCodec });
  while (serverCore.state === ReadyState.CONNECTING) {
    serverCore.receiveData((await peer.fromUs.read()).value!);
    for (const chunk of serverCore.dataToSend()) await peer.toUs.write(chunk);
  }
  await clientOpened;
}

describe('StreamWebSocket over a TransformStream pair', () => {
  it('§4 completes the opening handshake with a subprotocol', async () => {
    const [clientStreams, serverStreams] = createWebStreamPair();
    const server = StreamWebSocket.accept(serverStreams, {
      codec: portableCodec,
      handleProtocols: (offered) => (offered.has('superchat') ? 'superchat' : false),
    });
    const client = StreamWebSocket.connect(clientStreams, 'ws://example.com/chat?room=1', ['chat', 'superchat'], { codec: portableCodec });
    expect(client.readyState).toBe(ReadyState.CONNECTING);
    expect(() => client.send('too early')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    await Promise.all([opened(client), opened(server)]);
    expect(client.readyState).toBe(ReadyState.OPEN);
    expect(client.protocol).toBe('superchat');
    expect(server.protocol).toBe('superchat');
    expect(client.url).toBe('ws://example.com/chat?room=1');
    expect([client.isServer, server.isServer]).toEqual([false, true]);
  });

  it('exchanges text as strings and binary per binaryType, in both directions', async () => {
    const { client, server } = connectedPair();
    server.on('message', (data: string | Uint8Array, isBinary: boolean) => server.send(data, { binary: isBinary }));
    await opened(client);
    client.send('héllo ✓');
    expect(await nextMessage(client)).toEqual(['héllo ✓', false]);
    client.send(new Uint8Array([1, 2, 3]));
    const [bytes, isBinary] = await nextMessage(client);
    expect(isBinary).toBe(true);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...(bytes as Uint8Array)]).toEqual([1, 2, 3]);
    client.binaryType = 'arraybuffer';
    client.send(new Uint16Array([0x0102]).buffer);
    const [buffer] = await nextMessage(client);
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect((buffer as ArrayBuffer).byteLength).toBe(2);
    client.binaryType = 'blob';
    client.send(new Blob([new Uint8Array([9, 8, 7])]));
    const [blob] = await nextMessage(client);
    expect(blob).toBeInstanceOf(Blob);
    expect([...new Uint8Array(await (blob as Blob).arrayBuffer())]).toEqual([9, 8, 7]);
    // `binary` overrides the type of the data, as in ws.
    client.send('as bytes', { binary: true });
    expect((await nextMessage(client))[1]).toBe(true);
    client.send(new TextEncoder().encode('as text'), { binary: false });
    expect(await nextMessage(client)).toEqual(['as text', false]);
  });

  it('keeps the order of sends behind a Blob that is still being read', async () => {
    const { client, server } = connectedPair();
    const received: string[] = [];
    server.on('message', (data: string | Uint8Array, isBinary: boolean) =>
      received.push(isBinary ? `b:${new TextDecoder().decode(data as Uint8Array)}` : `t:${String(data)}`),
    );
    await opened(client);
    client.send('1');
    client.send(new Blob(['2']));
    client.send('3');
    client.send(new Blob(['4']));
    client.send('5');
    client.send(new Blob(['6']));
    // The close frame follows the messages sent before it; later sends are refused.
    client.close(1000, 'done');
    expect(client.readyState).toBe(ReadyState.CLOSING);
    expect(client.send('7')).toBe(false);
    expect(await closed(server)).toMatchObject({ code: 1000, reason: 'done' });
    expect(received).toEqual(['t:1', 'b:2', 't:3', 'b:4', 't:5', 'b:6']);
  });

  it('fires WHATWG events and handler attributes next to ws-style listeners', async () => {
    const { client, server } = connectedPair();
    const seen: string[] = [];
    client.onopen = (event) => seen.push(`onopen:${event.type}`);
    client.addEventListener('open', () => seen.push('open listener'));
    client.onmessage = (event) => seen.push(`onmessage:${String(event.data)}`);
    client.onclose = (event) => seen.push(`onclose:${event.code}`);
    server.on('open', () => server.send('hi'));
    server.on('message', () => server.close(4000, 'bye'));
    await new Promise((resolve) => client.on('message', resolve));
    client.send('ack');
    await closed(client);
    expect(seen).toEqual(['onopen:open', 'open listener', 'onmessage:hi', 'onclose:4000']);
    expect(client.onmessage).not.toBeNull();
    client.onmessage = null;
    expect(client.onmessage).toBeNull();
  });

  it('§5.5.2 answers pings, reports pongs, and calls send callbacks once written', async () => {
    const { client, server } = connectedPair();
    await Promise.all([opened(client), opened(server)]);
    const pong = new Promise<Uint8Array>((resolve) => client.on('pong', resolve));
    const ping = new Promise<Uint8Array>((resolve) => server.on('ping', resolve));
    await new Promise<void>((resolve, reject) => client.ping('are you there', (error) => (error ? reject(error) : resolve())));
    expect(new TextDecoder().decode(await ping)).toBe('are you there');
    expect(new TextDecoder().decode(await pong)).toBe('are you there');
    expect(() => client.ping(new Uint8Array(126))).toThrow(/126 bytes/);
    const written = await new Promise<Error | undefined>((resolve) => client.send('x', resolve));
    // On success the callback gets null, as ws's does.
    expect(written).toBeNull();
  });

  it('§7 completes the closing handshake with code and reason; both sides report a clean close', async () => {
    const { client, server } = connectedPair();
    await opened(client);
    const [clientClosed, serverClosed] = [closed(client), closed(server)];
    client.close(4321, 'finished ✓');
    expect(client.readyState).toBe(ReadyState.CLOSING);
    expect(await serverClosed).toMatchObject({ code: 4321, reason: 'finished ✓', wasClean: true });
    // §5.5.1: the server echoes the status code, and the reason with it (as ws does).
    expect(await clientClosed).toMatchObject({ code: 4321, reason: 'finished ✓', wasClean: true });
    expect(client.readyState).toBe(ReadyState.CLOSED);
    const late = await new Promise<Error | undefined>((resolve) => client.send('late', resolve));
    expect(late?.message).toMatch(/CLOSED/);
    expect(() => client.close(1000)).not.toThrow();
  });

  it('§7.4 refuses close codes that may not be sent and over-long reasons, and stays open', async () => {
    const { client } = connectedPair();
    await opened(client);
    expect(() => client.close(1005)).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(() => client.close(1000, 'x'.repeat(124))).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(client.readyState).toBe(ReadyState.OPEN);
  });

  it('delivers 1,000 messages of random sizes intact and in order, with the wasm codec switching in', async () => {
    const [clientStreams, serverStreams] = createWebStreamPair();
    const codec = createWebCodec();
    // The handle serves at once with the portable codec; wasm takes over when it has loaded.
    expect(codec.implementation).toBe('portable');
    const server = StreamWebSocket.accept(serverStreams, { codec });
    const client = StreamWebSocket.connect(clientStreams, 'ws://127.0.0.1:9/', { codec: createWebCodec({ implementation: 'portable' }) });
    server.on('message', (data: Uint8Array, isBinary: boolean) => server.send(data, { binary: isBinary }));
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const size = Math.floor(random() ** 3 * 70000);
      const bytes = new Uint8Array(size);
      for (let j = 0; j < size; j += 97) bytes[j] = (i + j) & 0xff;
      sent.push(bytes);
    }
    const echoed: Uint8Array[] = [];
    const done = new Promise<void>((resolve) => client.on('message', (data: Uint8Array) => echoed.push(data) === sent.length && resolve()));
    await opened(client);
    for (const bytes of sent.slice(0, 500)) client.send(bytes);
    expect(await codec.ready).toBe('wasm');
    for (const bytes of sent.slice(500)) client.send(bytes);
    await done;
    expect(codec.implementation).toBe('wasm');
    expect(echoed.length).toBe(1000);
    // (A loop, not toEqual: deep equality on 17 MB of typed arrays takes minutes.)
    const mismatches = sent.filter((bytes, i) => !sameBytes(bytes, echoed[i]!)).length;
    expect(mismatches).toBe(0);
  });
});

describe('StreamWebSocket backpressure', () => {
  it('does not read while paused, so the peer\'s writer waits; resumes in order', async () => {
    const peer = manualPeer();
    const server = StreamWebSocket.accept(peer.streams, { codec: portableCodec });
    const serverOpened = opened(server);
    const client = new ClientConnection({ codec: portableCodec, random: (t) => t.fill(7), host: 'example.com' });
    for (const chunk of client.dataToSend()) await peer.toUs.write(chunk);
    // Read the 101 response.
    let response = '';
    while (!response.includes('\r\n\r\n')) response += new TextDecoder().decode((await peer.fromUs.read()).value);
    client.receiveData(new TextEncoder().encode(response));
    const messages: number[] = [];
    server.on('message', (data: Uint8Array) => messages.push(data.length));
    await serverOpened;
    server.pause();
    expect(server.isPaused).toBe(true);
    const payload = new Uint8Array(16 * 1024);
    let written = 0;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 32; i++) {
      client.sendBinary(payload);
      for (const chunk of client.dataToSend()) writes.push(peer.toUs.write(chunk).then(() => void written++));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The stream buffers its high-water mark (64 KiB) and one read at most; the rest waits.
    expect(messages.length).toBe(0);
    expect(peer.toUs.desiredSize).toBeLessThanOrEqual(0);
    expect(written).toBeLessThan(64);
    server.resume();
    await Promise.all(writes);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(messages.length).toBe(32);
    expect(messages.every((length) => length === payload.length)).toBe(true);
  });

  it('writes only while the writer has room, and counts the rest in bufferedAmount', async () => {
    const peer = manualPeer();
    const client = StreamWebSocket.connect(peer.streams, 'ws://example.com/', { codec: portableCodec });
    await answerHandshake(peer, client);
    const message = new Uint8Array(32 * 1024);
    for (let i = 0; i < 16; i++) client.send(message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nobody reads: 64 KiB sit in the stream, the rest waits in our queue.
    expect(client.bufferedAmount).toBeGreaterThan(16 * 32 * 1024 - 128 * 1024);
    let received = 0;
    while (received < 16 * (32 * 1024 + 8)) {
      const { value } = await peer.fromUs.read();
      received += value!.length;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(client.bufferedAmount).toBe(0);
  });
});

describe('StreamWebSocket failures and timeouts', () => {
  it('§4.2.1 answers a bad request with 400 and closes the transport', async () => {
    const peer = manualPeer();
    const server = StreamWebSocket.accept(peer.streams, { codec: portableCodec });
    const errors = errorsOf(server);
    const serverClosed = closed(server);
    await peer.toUs.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    let response = '';
    for (;;) {
      const { done, value } = await peer.fromUs.read();
      if (done) break;
      response += new TextDecoder().decode(value);
    }
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(await serverClosed).toMatchObject({ code: 1006, wasClean: false });
    expect(errors[0]?.name).toBe('HandshakeError');
  });

  it('aborts the streams when the opening handshake takes longer than handshakeTimeout', async () => {
    const peer = manualPeer();
    const server = StreamWebSocket.accept(peer.streams, { codec: portableCodec, handshakeTimeout: 30 });
    const errors = errorsOf(server);
    expect(await closed(server)).toMatchObject({ code: 1006, wasClean: false });
    expect(errors.map((error) => error.message)).toEqual(['the opening handshake did not complete within 30 ms']);
    await expect(peer.fromUs.read()).rejects.toThrow(/aborted/);
  });

  it('aborts after closeTimeout when the peer never answers the close', async () => {
    const peer = manualPeer();
    const client = StreamWebSocket.connect(peer.streams, 'ws://example.com/', { codec: portableCodec, closeTimeout: 30 });
    await answerHandshake(peer, client);
    const started = Date.now();
    client.close(1000);
    expect(await closed(client)).toMatchObject({ code: 1006, wasClean: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('a peer that stops reading cannot hold the transport open: the close timeout aborts the writable', async () => {
    const peer = manualPeer();
    const client = StreamWebSocket.connect(peer.streams, 'ws://example.com/', { codec: portableCodec, closeTimeout: 40 });
    await answerHandshake(peer, client);
    // Nobody reads what the client writes: 64 KiB fit in the stream, the rest waits.
    client.send(new Uint8Array(1 << 20));
    const started = Date.now();
    client.close(1000);
    expect(await closed(client)).toMatchObject({ code: 1006, wasClean: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    // The far end sees the abort once it reads past what was buffered.
    let failure: unknown;
    try {
      for (;;) if ((await peer.fromUs.read()).done) break;
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).toMatch(/aborted: the peer did not close the connection within 40 ms/);
  });

  it('terminate() closes at once with 1006; close() while CONNECTING reports an error first', async () => {
    const { client, server } = connectedPair();
    await opened(client);
    const serverClosed = closed(server);
    client.terminate();
    expect(await closed(client)).toMatchObject({ code: 1006, wasClean: false });
    expect((await serverClosed).code).toBe(1006);

    const early = connectedPair();
    const errors = errorsOf(early.client);
    early.client.close();
    expect(await closed(early.client)).toMatchObject({ code: 1006 });
    expect(errors.map((error) => error.message)).toEqual(['the connection closed before the opening handshake completed']);
  });

  it('a readable that errors ends the connection with 1006', async () => {
    const peer = manualPeer();
    const client = StreamWebSocket.connect(peer.streams, 'ws://example.com/', { codec: portableCodec });
    const clientClosed = closed(client);
    await peer.toUs.abort(new Error('connection reset'));
    expect(await clientClosed).toMatchObject({ code: 1006, wasClean: false });
  });

  it('rejects URLs that are not WebSocket URLs, fragments (RFC 6455 §3) and bad subprotocols with SyntaxError', () => {
    const [streams] = createWebStreamPair();
    const syntaxError = (pattern: RegExp) => expect.objectContaining({ name: 'SyntaxError', message: expect.stringMatching(pattern) });
    expect(() => StreamWebSocket.connect(streams, 'ftp://example.com/')).toThrow(syntaxError(/scheme must be ws, wss, http or https, not ftp/));
    expect(() => StreamWebSocket.connect(streams, 'ws://example.com/#frag')).toThrow(syntaxError(/fragment/));
    expect(() => StreamWebSocket.connect(streams, 'not a url')).toThrow(syntaxError(/invalid URL/));
    expect(() => StreamWebSocket.connect(streams, 'ws://example.com/', ['a', 'a'])).toThrow(syntaxError(/listed twice/));
    expect(() => StreamWebSocket.connect(streams, 'ws://example.com/', 'not a token')).toThrow(syntaxError(/invalid subprotocol/));
    // Nothing was locked by the refused calls.
    expect(streams.readable.locked).toBe(false);
  });
});

describe('StreamWebSocket transport policies (TransportOptions)', () => {
  it("send() returns false from highWaterMark on and 'drain' follows once everything is written", async () => {
    const [clientStreams, serverStreams] = createWebStreamPair(16 * 1024);
    const server = StreamWebSocket.accept(serverStreams, { codec: portableCodec });
    const client = StreamWebSocket.connect(clientStreams, 'ws://example.com/', { codec: portableCodec, highWaterMark: 100_000 });
    let received = 0;
    server.on('message', () => received++);
    await opened(client);
    const returned = [client.send(new Uint8Array(60_000)), client.send(new Uint8Array(60_000))];
    expect(returned).toEqual([true, false]);
    expect(client.bufferedAmount).toBe(120_000);
    await new Promise((resolve) => client.once('drain', resolve));
    expect(client.bufferedAmount).toBe(0);
    await expect.poll(() => received).toBe(2);
  });

  it('maxBufferedAmount: a peer that does not read is failed with 1008 (close) or cut off (terminate)', async () => {
    for (const onBufferOverflow of ['close', 'terminate'] as const) {
      const peer = manualPeer();
      const client = StreamWebSocket.connect(peer.streams, 'ws://example.com/', { codec: portableCodec, maxBufferedAmount: 200_000, onBufferOverflow, closeTimeout: 50 });
      const errors = errorsOf(client);
      await answerHandshake(peer, client);
      const clientClosed = closed(client);
      for (let i = 0; i < 4 && client.readyState === ReadyState.OPEN; i++) client.send(new Uint8Array(100_000));
      expect(await clientClosed).toMatchObject({ code: 1006, wasClean: false });
      expect(errors.map((error) => [(error as Error & { code: string }).code, (error as Error & { closeCode?: number }).closeCode])).toEqual([
        ['WSX_ERR_BUFFER_OVERFLOW', onBufferOverflow === 'close' ? 1008 : undefined],
      ]);
    }
  });

  it('heartbeat: pings on the interval, and a peer that stops answering is cut off', async () => {
    const peer = manualPeer();
    const client = StreamWebSocket.connect(peer.streams, 'ws://example.com/', { codec: portableCodec, heartbeat: { interval: 30, timeout: 30 } });
    const errors = errorsOf(client);
    await answerHandshake(peer, client);
    // The far end reads frames but never answers: the first ping arrives, then the cut-off.
    const { value } = await peer.fromUs.read();
    expect(value![0]).toBe(0x89); // FIN + ping
    expect(await closed(client)).toMatchObject({ code: 1006, wasClean: false });
    expect(errors.map((error) => (error as Error & { code: string }).code)).toEqual(['WSX_ERR_TIMEOUT']);
  });

  it('heartbeat: a peer that answers stays connected', async () => {
    const [clientStreams, serverStreams] = createWebStreamPair();
    const server = StreamWebSocket.accept(serverStreams, { codec: portableCodec });
    const client = StreamWebSocket.connect(clientStreams, 'ws://example.com/', { codec: portableCodec, heartbeat: { interval: 20, timeout: 40 } });
    let pings = 0;
    server.on('ping', () => pings++);
    await opened(client);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(client.readyState).toBe(ReadyState.OPEN);
    client.close(1000);
    await closed(client);
  });

  it('idleTimeout: nothing received for that long closes with 1001', async () => {
    const [clientStreams, serverStreams] = createWebStreamPair();
    const server = StreamWebSocket.accept(serverStreams, { codec: portableCodec, idleTimeout: 40 });
    const client = StreamWebSocket.connect(clientStreams, 'ws://example.com/', { codec: portableCodec });
    const serverClosed = closed(server);
    await opened(client);
    const started = Date.now();
    expect(await closed(client)).toMatchObject({ code: 1001, reason: 'idle timeout', wasClean: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    // The server hears the echo of its own close (§5.5.1): 1001, and no reason.
    expect(await serverClosed).toMatchObject({ code: 1001, wasClean: true });
  });

  it('refuses option values out of range', () => {
    const [streams] = createWebStreamPair();
    expect(() => StreamWebSocket.connect(streams, 'ws://example.com/', { closeTimeout: 0 })).toThrow(/closeTimeout must be an integer/);
    expect(() => StreamWebSocket.accept(streams, { highWaterMark: -1 })).toThrow(/highWaterMark must be a non-negative integer/);
    expect(() => StreamWebSocket.accept(streams, { onBufferOverflow: 'drop' as 'close' })).toThrow(/onBufferOverflow/);
    expect(() => StreamWebSocket.accept(streams, { maxPayload: -1 })).toThrow(/maxPayload/);
    expect(streams.readable.locked).toBe(false);
  });
});

describe('StreamWebSocket pulling and limits', () => {
  it('for await reads messages, pausing the transport while 16 wait unread', async () => {
    const { client, server } = connectedPair();
    await opened(client);
    for (let i = 0; i < 100; i++) server.send(`message ${i}`);
    const iterator = client[Symbol.asyncIterator]();
    // Let everything arrive unread: the iterator pauses the socket at 16 waiting messages.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(client.isPaused).toBe(true);
    const read: unknown[] = [];
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
      read.push(result.value);
      if (read.length === 100) break;
    }
    expect(read).toEqual(Array.from({ length: 100 }, (_, i) => `message ${i}`));
    expect(client.isPaused).toBe(false);
    await iterator.return!();
    expect(await closed(server)).toMatchObject({ code: 1000, wasClean: true });
  });

  it('§7.4.1 maxPayload: a message over the limit fails the connection with 1009', async () => {
    const [clientStreams, serverStreams] = createWebStreamPair();
    const server = StreamWebSocket.accept(serverStreams, { codec: portableCodec, maxPayload: 1000 });
    const client = StreamWebSocket.connect(clientStreams, 'ws://example.com/', { codec: portableCodec });
    const errors = errorsOf(server);
    await opened(client);
    client.send(new Uint8Array(1001));
    expect(await closed(client)).toMatchObject({ code: 1009, wasClean: true });
    expect(errors.map((error) => (error as Error & { code: string }).code)).toEqual(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']);
  });

  it('§5.4 sends a message in fragments with fin: false, and the peer gets it whole', async () => {
    const { client, server } = connectedPair();
    await opened(client);
    client.send('hello, ', { fin: false });
    client.send('fragmented ', { fin: false });
    client.send('world', { fin: true });
    expect(await nextMessage(server)).toEqual(['hello, fragmented world', false]);
  });
});
