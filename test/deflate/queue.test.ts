/**
 * The bound on concurrent zlib work (src/adapters/node/deflate-queue.ts): never more than the
 * limit at once, in order, failures freeing their turn; and the zlib engine going through it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ZLIB_CONCURRENCY, sharedZlibQueue, ZlibQueue } from '../../src/adapters/node/deflate-queue.js';
import { createZlibEngine } from '../../src/adapters/node/deflate-zlib.js';
import { createMessageCompressor, createMessageDecompressor } from '../../src/protocol/extensions/permessage-deflate.js';
import { compressible, deflateBomb, inflateMessage } from './helpers.js';

describe('ZlibQueue', () => {
  it('runs at most `concurrency` tasks at once, in the order they came', async () => {
    const queue = new ZlibQueue(3);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const tasks = Array.from({ length: 20 }, (_, index) =>
      queue.run(async () => {
        started.push(index);
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1 + (index % 3)));
        running--;
        return index * 2;
      }),
    );
    expect(queue.running).toBe(3);
    expect(queue.waiting).toBe(17);
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 20 }, (_, index) => index * 2));
    expect(peak).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(queue.running).toBe(0);
    expect(queue.waiting).toBe(0);
  });

  it('frees the turn of a task that rejects or throws', async () => {
    const queue = new ZlibQueue(1);
    const failing = queue.run(() => Promise.reject(new Error('rejected')));
    const throwing = queue.run(() => {
      throw new Error('thrown');
    });
    const after = queue.run(async () => 'ran');
    await expect(failing).rejects.toThrow('rejected');
    await expect(throwing).rejects.toThrow('thrown');
    await expect(after).resolves.toBe('ran');
  });

  it('keeps its memory flat over many queued tasks', async () => {
    const queue = new ZlibQueue(1);
    const results = await Promise.all(Array.from({ length: 5000 }, (_, index) => queue.run(async () => index)));
    expect(results[4999]).toBe(4999);
    expect(queue.waiting).toBe(0);
  });

  it('refuses a concurrency that is not a positive integer', () => {
    expect(() => new ZlibQueue(0)).toThrow(/positive integer/);
    expect(() => new ZlibQueue(1.5)).toThrow(/positive integer/);
    expect(sharedZlibQueue.concurrency).toBe(DEFAULT_ZLIB_CONCURRENCY);
    expect(DEFAULT_ZLIB_CONCURRENCY).toBe(10);
  });

  it('bounds the zlib engine: 200 connections compressing at once never run more than the limit', async () => {
    const queue = new ZlibQueue(4);
    let peak = 0;
    const run = queue.run.bind(queue);
    queue.run = <T>(task: () => Promise<T>): Promise<T> => {
      const result = run(task);
      peak = Math.max(peak, queue.running);
      return result;
    };
    const engine = createZlibEngine({ queue });
    const message = compressible(50_000);
    const compressors = Array.from({ length: 200 }, () => createMessageCompressor(engine, { windowBits: 15, contextTakeover: true }));
    const payloads = await Promise.all(compressors.map((compressor) => compressor.compress(message, true)));
    for (const compressor of compressors) compressor.dispose();
    expect(peak).toBe(4);
    expect(inflateMessage(payloads[199]!).equals(Buffer.from(message))).toBe(true);
  });
});

describe('zlib work of a connection that goes away', () => {
  it('frees its queue turn: disposing in the middle of an operation settles it', async () => {
    const queue = new ZlibQueue(1);
    const engine = createZlibEngine({ queue });
    const big = compressible(8 << 20);
    const compressor = createMessageCompressor(engine, { windowBits: 15, contextTakeover: true });
    const decompressor = createMessageDecompressor(engine, { windowBits: 15, contextTakeover: true });
    const pendingCompress = compressor.compress(big, true);
    const output = { push: () => true, remaining: Number.MAX_SAFE_INTEGER };
    const pendingDecompress = decompressor.decompress(Uint8Array.from(inflateInput()), true, output);
    // Let the compression start on the thread pool, then drop both mid-flight.
    await new Promise((resolve) => setImmediate(resolve));
    compressor.dispose();
    decompressor.dispose();
    await expect(pendingCompress).rejects.toThrow(/disposed/);
    await expect(pendingDecompress).rejects.toThrow(/disposed/);
    // The queue (one turn only) still serves other connections.
    const other = createMessageCompressor(engine, { windowBits: 15, contextTakeover: false });
    const payload = await other.compress(compressible(1000), true);
    expect(inflateMessage(payload).length).toBe(1000);
    expect(queue.running).toBe(0);
  });
});

/** A compressed message of 8 MiB of zeros, for a decompression that takes a while. */
function inflateInput(): Uint8Array {
  return deflateBomb(8);
}
