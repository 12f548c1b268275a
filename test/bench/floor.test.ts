/**
 * The Node floor of the end-to-end benchmark, over real loopback sockets: it answers every
 * client frame of the size and type the request names with one frame of that size and type,
 * however the frames are split across reads, closes cleanly when the client closes, and
 * refuses what it does not serve.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { acceptKey, createFloorServer, type FloorStats, frameHeaderBytes } from '../../bench/e2e/servers/floor.js';
import { maskedFrame } from '../../bench/fixtures.js';

let server: Server;
let port: number;
let stats: FloorStats;

beforeEach(async () => {
  stats = { connections: 0, frames: 0 };
  server = createFloorServer({ size: 4, type: 'text' }, stats);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  server.close();
  await once(server, 'close');
});

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const MASK = new Uint8Array([1, 2, 3, 4]);

function request(path: string, key = KEY): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/** A raw connection: the request written, resolves once `bytes` bytes (at least) have arrived or the peer ended. */
function rawExchange(head: string, frames: readonly Uint8Array[], bytes: number): Promise<{ received: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let length = 0;
    let ended = false;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) socket.destroy();
    });
    socket.on('end', () => (ended = true));
    socket.on('error', reject);
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), ended }));
    socket.on('connect', async () => {
      socket.write(head);
      // One byte per write, each after the last was handed over: the floor must count across reads.
      for (const frame of frames) for (const byte of frame) await new Promise((done) => socket.write(Uint8Array.of(byte), done));
    });
  });
}

function headLength(received: Buffer): number {
  return received.indexOf('\r\n\r\n') + 4;
}

describe('the Node floor', () => {
  it('computes the accept key of RFC 6455 §1.3 and the header sizes of §5.2', () => {
    expect(acceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect([frameHeaderBytes(125, false), frameHeaderBytes(126, false), frameHeaderBytes(65535, true), frameHeaderBytes(65536, true)]).toEqual([2, 4, 8, 14]);
  });

  it.each([
    [0, 'binary'],
    [125, 'text'],
    [126, 'binary'],
    [70_000, 'text'],
  ] as const)('answers each %i-byte %s message with one of the same size and type, for a ws client', async (size, type) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}/echo?size=${size}&type=${type}`);
    await once(client, 'open');
    expect(stats.connections).toBe(1);
    const replies: { length: number; binary: boolean }[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer, binary: boolean) => {
        replies.push({ length: data.length, binary });
        if (replies.length === 5) resolve();
      }),
    );
    for (let i = 0; i < 5; i++) client.send(type === 'text' ? 'x'.repeat(size) : Buffer.alloc(size, i), { binary: type === 'binary' });
    await all;
    expect(replies).toEqual(Array.from({ length: 5 }, () => ({ length: size, binary: type === 'binary' })));
    expect(stats.frames).toBe(5);
    client.close(1000);
    const [code] = (await once(client, 'close')) as [number];
    expect(code).toBe(1000);
  });

  it('counts frames split into single bytes, answers a Close frame with 1000 and ends the connection', async () => {
    const payload = new TextEncoder().encode('idle');
    const frames = [maskedFrame(1, payload, MASK), maskedFrame(1, payload, MASK), maskedFrame(0x8, Uint8Array.of(0x03, 0xe8), MASK)];
    const { received, ended } = await rawExchange(request('/'), frames, Infinity);
    expect(received.subarray(0, 12).toString('latin1')).toBe('HTTP/1.1 101');
    const body = received.subarray(headLength(received));
    // Two 4-byte text replies (the defaults), then Close 1000.
    expect([...body]).toEqual([0x81, 4, ...body.subarray(2, 6), 0x81, 4, ...body.subarray(8, 12), 0x88, 2, 0x03, 0xe8]);
    expect(ended).toBe(true);
    expect(stats.frames).toBe(2);
  });

  it('answers frames that arrive in one read with as many replies when it writes them all at once', async () => {
    const batched = createFloorServer({ size: 16, type: 'binary' }, stats, 'batch');
    batched.listen(0, '127.0.0.1');
    await once(batched, 'listening');
    try {
      const socket = connect({ port: (batched.address() as AddressInfo).port, host: '127.0.0.1' });
      await once(socket, 'connect');
      socket.write(request('/'));
      const [head] = (await once(socket, 'data')) as [Buffer];
      expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
      const frame = maskedFrame(2, new Uint8Array(16), MASK);
      const replies: Buffer[] = [];
      let length = head.length - headLength(head);
      const all = new Promise<void>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          replies.push(chunk);
          if ((length += chunk.length) === 3 * 18) resolve();
        }),
      );
      socket.write(Buffer.concat([frame, frame, frame]));
      await all;
      const body = Buffer.concat([head.subarray(headLength(head)), ...replies]);
      for (let i = 0; i < 3; i++) expect([...body.subarray(i * 18, i * 18 + 2)]).toEqual([0x82, 16]);
      expect(stats.frames).toBe(3);
      socket.destroy();
    } finally {
      batched.close();
    }
  });

  it('closes with 1002 on a frame it does not serve (a ping) rather than miscount', async () => {
    const frames = [maskedFrame(0x9, new Uint8Array(0), MASK)];
    const { received, ended } = await rawExchange(request('/?size=16&type=binary'), frames, Infinity);
    expect([...received.subarray(headLength(received))]).toEqual([0x88, 2, 0x03, 0xea]);
    expect(ended).toBe(true);
    expect(stats.frames).toBe(0);
  });

  it.each([
    ['a key that is not 16 bytes in base64', request('/', 'c2hvcnQ=')],
    ['a size it does not serve', request('/?size=-1')],
    ['a type other than binary and text', request('/?type=ping')],
    ['a request without the upgrade', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ])('refuses %s with 400', async (_what, head) => {
    const { received, ended } = await rawExchange(head, [], Infinity);
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(ended).toBe(true);
    expect(stats.connections).toBe(0);
  });

  it('refuses a request head that never ends with 431', async () => {
    const { received } = await rawExchange(`GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}`, [], Infinity);
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 431 /);
  });
});
