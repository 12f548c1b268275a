/**
 * The Node adapter's transport work on real sockets: outgoing backpressure (send's return
 * value, bufferedAmount, 'drain', the buffer limit with a peer that never reads), batched and
 * zero-copy writes, fragmented sends, and pausing input — with each codec.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type ServerOptions } from '../../../src/node.js';
import { clientFrame, closeOf, nextEvent, nodeCodecs, openClient, rawConnect, readUntil, Resources, startServer, upgradeRequest } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** A server whose one client is a raw socket that completed the handshake. */
async function serverWithRawPeer(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>): Promise<{ serverSide: WebSocket; peer: Socket }> {
  const { wss, port } = await startServer(resources, options);
  const connected = nextEvent<[WebSocket]>(wss, 'connection');
  const peer = await rawConnect(resources, port);
  peer.write(upgradeRequest('/'));
  await readUntil(peer, (received) => received.includes('\r\n\r\n'));
  const [serverSide] = await connected;
  return { serverSide, peer };
}

/** A server whose one client is a raw socket that completed the handshake and reads nothing more. */
async function serverWithStalledPeer(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>): Promise<{ serverSide: WebSocket; peer: Socket }> {
  const pair = await serverWithRawPeer(options);
  pair.peer.pause();
  return pair;
}

/** Send `chunk` until `send` returns false `times` times in a row across ticks (bounded). */
async function fillUntilRefused(ws: WebSocket, chunk: Buffer, maxSends: number): Promise<number> {
  let sends = 0;
  for (; sends < maxSends && ws.readyState === WebSocket.OPEN; sends++) {
    const accepted = ws.send(chunk);
    await tick();
    if (!accepted && ws.bufferedAmount > 1024 * 1024) return sends + 1;
  }
  return sends;
}

/** Count the server socket's write calls and the vectored writes that reach libuv. */
function countWrites(socket: Socket): { writes: unknown[][]; syscalls: () => number } {
  const writes: unknown[][] = [];
  let syscalls = 0;
  const write = socket.write.bind(socket);
  socket.write = ((...args: Parameters<Socket['write']>) => {
    writes.push(args);
    return write(...args);
  }) as Socket['write'];
  const internal = socket as unknown as { _writev: (...args: unknown[]) => unknown; _write: (...args: unknown[]) => unknown };
  const writev = internal._writev.bind(socket);
  const writeOne = internal._write.bind(socket);
  internal._writev = (...args: unknown[]) => {
    syscalls++;
    return writev(...args);
  };
  internal._write = (...args: unknown[]) => {
    syscalls++;
    return writeOne(...args);
  };
  return { writes, syscalls: () => syscalls };
}

describe.each(nodeCodecs)('Node transport (%s codec)', (_name, codec) => {
  describe('backpressure', () => {
    it('a peer that never reads: send returns false, bufferedAmount grows, the limit terminates', async () => {
      const limit = 8 * 1024 * 1024;
      const { serverSide } = await serverWithStalledPeer({ codec, maxBufferedAmount: limit, onBufferOverflow: 'terminate' });
      const errors: Array<Error & { code?: string }> = [];
      serverSide.on('error', (error) => errors.push(error));
      const closed = closeOf(serverSide, 10_000);
      const chunk = Buffer.alloc(256 * 1024, 7);
      let refused = 0;
      let peak = 0;
      for (let i = 0; i < 400 && serverSide.readyState === WebSocket.OPEN; i++) {
        if (!serverSide.send(chunk)) refused++;
        peak = Math.max(peak, serverSide.bufferedAmount);
        await tick();
      }
      expect(refused).toBeGreaterThan(0);
      expect(peak).toBeGreaterThan(1024 * 1024);
      // Bounded: never more than the limit plus the one send that crossed it.
      expect(peak).toBeLessThanOrEqual(limit + chunk.length);
      expect(errors.map((error) => error.code)).toEqual(['WSX_ERR_BUFFER_OVERFLOW']);
      expect((await closed).code).toBe(1006);
      expect(serverSide.send(chunk)).toBe(false);
    });

    it("onBufferOverflow 'close' fails with 1008 and the close timeout ends the connection", async () => {
      const limit = 4 * 1024 * 1024;
      const { serverSide } = await serverWithStalledPeer({ codec, maxBufferedAmount: limit, onBufferOverflow: 'close', closeTimeout: 200 });
      const errors: Array<Error & { code?: string; closeCode?: number }> = [];
      serverSide.on('error', (error) => errors.push(error));
      const closed = closeOf(serverSide, 10_000);
      const chunk = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 400 && serverSide.readyState === WebSocket.OPEN; i++) {
        serverSide.send(chunk);
        await tick();
      }
      expect(serverSide.readyState).toBe(WebSocket.CLOSING);
      expect(errors[0]?.code).toBe('WSX_ERR_BUFFER_OVERFLOW');
      expect(errors[0]?.closeCode).toBe(1008);
      expect((await closed).code).toBe(1006);
    });

    it("drain fires once a slow peer has read everything", async () => {
      const { serverSide, peer } = await serverWithStalledPeer({ codec, highWaterMark: 64 * 1024 });
      const sends = await fillUntilRefused(serverSide, Buffer.alloc(128 * 1024, 1), 200);
      expect(sends).toBeLessThan(200);
      const bufferedBefore = serverSide.bufferedAmount;
      expect(bufferedBefore).toBeGreaterThan(1024 * 1024);
      const drained = nextEvent(serverSide, 'drain', 10_000);
      peer.on('data', () => {});
      peer.resume();
      await drained;
      expect(serverSide.bufferedAmount).toBe(0);
    });

    it('send returns false at the high-water mark even within one tick, and the callback runs when written', async () => {
      const { wss, url } = await startServer(resources, { codec, highWaterMark: 1024 });
      const connected = nextEvent<[WebSocket]>(wss, 'connection');
      const client = await openClient(resources, url, undefined, { codec });
      const [serverSide] = await connected;
      expect(serverSide.send(Buffer.alloc(512))).toBe(true);
      expect(serverSide.bufferedAmount).toBe(512);
      let written: Error | undefined | null | 'not called' = 'not called';
      expect(serverSide.send(Buffer.alloc(600), (error) => (written = error))).toBe(false);
      expect(serverSide.bufferedAmount).toBe(1112);
      const received: number[] = [];
      client.on('message', (data: Buffer) => received.push(data.length));
      await nextEvent(serverSide, 'drain');
      expect(written).toBeNull();
      expect(serverSide.bufferedAmount).toBe(0);
      await expect.poll(() => received).toEqual([512, 600]);
    });
  });

  describe('batched, zero-copy writes', () => {
    it('a hundred small sends in one tick leave in one socket write', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const connected = nextEvent<[WebSocket, IncomingMessage]>(wss, 'connection');
      const client = await openClient(resources, url, undefined, { codec });
      const [serverSide, request] = await connected;
      await tick();
      const counter = countWrites(request.socket);
      const received: string[] = [];
      client.on('message', (data: Buffer) => received.push(data.toString()));
      for (let i = 0; i < 100; i++) serverSide.send(`message ${i}`);
      await expect.poll(() => received.length).toBe(100);
      expect(received[99]).toBe('message 99');
      expect(counter.writes.length).toBe(1);
      expect(counter.syscalls()).toBe(1);
    });

    it('large payloads are written as they are (header chunk + payload chunk), in one vectored write', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const connected = nextEvent<[WebSocket, IncomingMessage]>(wss, 'connection');
      const client = await openClient(resources, url, undefined, { codec });
      const [serverSide, request] = await connected;
      await tick();
      const counter = countWrites(request.socket);
      const payloads = [0, 1, 2].map((i) => Buffer.alloc(64 * 1024, i));
      const received: Buffer[] = [];
      client.on('message', (data: Buffer) => received.push(data));
      for (const payload of payloads) serverSide.send(payload);
      await expect.poll(() => received.length).toBe(3);
      for (let i = 0; i < 3; i++) expect(received[i]!.equals(payloads[i]!)).toBe(true);
      const written = counter.writes.map(([chunk]) => chunk);
      for (const payload of payloads) expect(written).toContain(payload);
      expect(counter.syscalls()).toBe(1);
    });

    it('a client batches its masked frames too', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const received: string[] = [];
      wss.on('connection', (ws) => ws.on('message', (data: Buffer) => received.push(data.toString())));
      const client = resources.track(new WebSocket(url, { codec }));
      const [[response]] = await Promise.all([nextEvent<[IncomingMessage]>(client, 'upgrade'), nextEvent(client, 'open')]);
      const counter = countWrites(response.socket);
      for (let i = 0; i < 50; i++) client.send(`c${i}`);
      await expect.poll(() => received.length).toBe(50);
      expect(received.slice(0, 3)).toEqual(['c0', 'c1', 'c2']);
      expect(counter.writes.length).toBe(1);
    });
  });

  describe('fragmented sends (fin: false)', () => {
    it('first, continuation and last frames arrive as one message, with a ping between them', async () => {
      const { serverSide, peer } = await serverWithRawPeer({ codec });
      serverSide.send('ab', { fin: false });
      serverSide.ping('p');
      serverSide.send('cd', { fin: false });
      serverSide.send('ef');
      const frames = await readUntil(peer, (received) => received.length >= 4 + 3 + 4 + 4);
      // [FIN=0 TEXT "ab"] [PING "p"] [FIN=0 CONT "cd"] [FIN=1 CONT "ef"] (RFC 6455 §5.4).
      expect([...frames.subarray(0, 15)]).toEqual([0x01, 2, 0x61, 0x62, 0x89, 1, 0x70, 0x00, 2, 0x63, 0x64, 0x80, 2, 0x65, 0x66]);
    });

    it('a client sends a binary message in fragments; the server assembles it', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const message = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => nextEvent<[Buffer, boolean]>(ws, 'message'));
      const client = await openClient(resources, url, undefined, { codec });
      client.send(Buffer.from([1, 2]), { fin: false });
      client.send(Buffer.from([3]), { fin: false });
      client.send(Buffer.from([4, 5]), { fin: true });
      const [data, isBinary] = await message;
      expect([...data]).toEqual([1, 2, 3, 4, 5]);
      expect(isBinary).toBe(true);
    });
  });

  describe('incoming backpressure', () => {
    it('pause() stops reading; resume() delivers what waited', async () => {
      const { serverSide, peer } = await serverWithRawPeer({ codec });
      const received: string[] = [];
      serverSide.on('message', (data: Buffer) => received.push(data.toString()));
      serverSide.pause();
      expect(serverSide.isPaused).toBe(true);
      peer.write(clientFrame(1, Buffer.from('one')));
      peer.write(clientFrame(1, Buffer.from('two')));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([]);
      serverSide.resume();
      expect(serverSide.isPaused).toBe(false);
      await expect.poll(() => received).toEqual(['one', 'two']);
    });
  });
});
