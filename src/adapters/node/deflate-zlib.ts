/**
 * The `node:zlib` engine of permessage-deflate (RFC 7692): raw DEFLATE streams that flush every
 * write with Z_SYNC_FLUSH (one write per piece of a message), each operation taking a turn in a
 * `ZlibQueue`. What RFC 7692 §7.2 does to the ends of messages, permessage-deflate does
 * (src/protocol/extensions/permessage-deflate.ts).
 *
 * Memory per connection
 * ---------------------
 * - A direction with context takeover keeps its zlib stream for the connection's life, made on
 *   its first compressed message: a compressor costs about `2^(windowBits+2) + 2^(memLevel+9)`
 *   bytes of zlib state, a decompressor about `2^windowBits` + 7 KiB, plus the stream's output
 *   buffer (`chunkSize`).
 * - A direction without context takeover holds no stream between messages: it borrows one
 *   from a small pool shared by all connections and returns it, reset, when the message ends.
 *   Idle connections then cost nothing here.
 *
 * The 8-bit window
 * ----------------
 * zlib cannot make a raw DEFLATE stream with a 256-byte window: `deflateInit2` refuses
 * `windowBits` 8 without the zlib wrapper (madler/zlib#171), and Node raises 8 to 9 on its own
 * (nodejs/node#16511), as `ws` relies on. That is safe: zlib's deflate never reaches back
 * further than its window less `MIN_LOOKAHEAD` (262 bytes; `MAX_DIST` in deflate.c), which for
 * a 512-byte window is 250 bytes, within the 256 a peer agreed to. The Python interop suite
 * checks it against a true 8-bit inflater. A decompressor needs no such care: Node raises its
 * 8 to 9 as well, and a larger window reads a smaller one's output.
 */
import * as zlib from 'node:zlib';
import { InvalidArgumentError } from '../../shared/errors.js';
import type { DecodeOutput } from '../../protocol/extension.js';
import {
  invalidDeflateData,
  type DeflateEngine,
  type DeflateStreamParameters,
  type RawDeflater,
  type RawInflater,
} from '../../protocol/extensions/deflate-engine.js';
import { sharedZlibQueue, type ZlibQueue } from './deflate-queue.js';

/** Options of the zlib engine. */
export interface ZlibEngineOptions {
  /** Compression level 0–9 (zlib's default, -1, is 6); default `DEFAULT_ZLIB_LEVEL`. */
  readonly level?: number;
  /** zlib's memLevel 1–9 for the compressor's hash table; default `DEFAULT_ZLIB_MEM_LEVEL`. */
  readonly memLevel?: number;
  /**
   * The largest window the compressor uses (8–15 bits), even when the peer allows a larger
   * one: an agreed window is a maximum (RFC 7692 §7.1.2), so this needs no negotiation.
   * Default `DEFAULT_ZLIB_WINDOW_BITS`. The decompressor always uses the window the peer may use.
   */
  readonly windowBits?: number;
  /** Size of a zlib stream's output buffer; default `DEFAULT_ZLIB_CHUNK_SIZE`. */
  readonly chunkSize?: number;
  /** The queue bounding concurrent zlib work; default the process's `sharedZlibQueue`. */
  readonly queue?: ZlibQueue;
  /** Reset streams kept for directions without context takeover, per kind and window; default 10. */
  readonly poolSize?: number;
}

/**
 * Compression level: 6, zlib's own default (what `ws` uses); levels above it cost much more
 * CPU for little gain on typical WebSocket payloads.
 */
export const DEFAULT_ZLIB_LEVEL = 6;

/**
 * The compressor's memLevel: 6 (a 16 KiB hash table and 16 KiB of pending output), not zlib's 8.
 * See `DEFAULT_ZLIB_WINDOW_BITS` for the measurements.
 */
export const DEFAULT_ZLIB_MEM_LEVEL = 6;

/**
 * The compressor's largest window: 13 bits (8 KiB), not 15. With memLevel 6, zlib's deflate
 * state is about `2^(13+2) + 2^(6+9)` = 64 KiB instead of the 256 KiB of zlib's defaults (what
 * `ws` uses), for about the same compression: a stream of JSON messages with context takeover
 * shrinks to 8.4% (8.6% with 15/8), log text to 13.4% (13.1%).
 *
 * Measured by `npx tsx bench/deflate-memory.ts` (Node 20, 1000 connections, one 2 KiB message
 * each way, server RSS per connection after GC, the connection itself included):
 *
 * | settings                                    | wasmsocket | ws        |
 * |---------------------------------------------|------------|-----------|
 * | no compression                              | 15.7 KiB   | 12.3 KiB  |
 * | context takeover, each side's defaults      | 163.9 KiB  | 249.2 KiB |
 * | context takeover, 15-bit window, memLevel 8 | 259.3 KiB  | 248.3 KiB |
 * | context takeover, 13-bit window, memLevel 6 | 168.1 KiB  | 153.2 KiB |
 * | no context takeover both ways               | 25.5 KiB   | 247.9 KiB |
 *
 * With context takeover a connection keeps its deflate state (64 KiB), its inflate state
 * (7 KiB and a window as large as the peer's, 32 KiB by default) and each stream's output
 * buffer (`chunkSize`, 16 KiB each); without it, nothing between messages (the pool is shared).
 */
export const DEFAULT_ZLIB_WINDOW_BITS = 13;

/** A zlib stream's output buffer: 16 KiB, zlib's `Z_DEFAULT_CHUNK`; output is produced (and checked against the limit) in steps of this size. */
export const DEFAULT_ZLIB_CHUNK_SIZE = 16 * 1024;

type ZlibStream = zlib.DeflateRaw | zlib.InflateRaw;

/** A zlib stream with its output collector; the owner changes when it is pooled. */
class ZlibHandle<S extends ZlibStream> {
  readonly stream: S;
  onData: ((chunk: Buffer) => void) | null = null;
  onError: ((error: Error) => void) | null = null;
  /**
   * Settles the operation in progress when the stream is closed under it (the connection was
   * disposed of): its queue turn must be freed even if zlib never calls back.
   */
  onAbandon: (() => void) | null = null;
  /** It failed, ended or was closed: it cannot be used again. */
  broken = false;

  constructor(stream: S) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => this.onData?.(chunk));
    stream.on('error', (error: Error) => {
      this.broken = true;
      this.onError?.(error);
    });
    stream.on('end', () => {
      this.broken = true;
    });
  }

  close(): void {
    const abandon = this.onAbandon;
    this.broken = true;
    this.release();
    this.stream.close();
    abandon?.();
  }

  /** The operation in progress is over: its hooks go. */
  release(): void {
    this.onData = null;
    this.onError = null;
    this.onAbandon = null;
  }
}

/** Reset streams waiting for a direction without context takeover, by kind and settings. */
class ZlibPool<S extends ZlibStream> {
  readonly #idle = new Map<number, ZlibHandle<S>[]>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  take(key: number): ZlibHandle<S> | undefined {
    return this.#idle.get(key)?.pop();
  }

  /** Keep `handle` (reset) for the next borrower, or close it if the pool is full. */
  give(key: number, handle: ZlibHandle<S>): void {
    handle.release();
    let idle = this.#idle.get(key);
    if (idle === undefined) this.#idle.set(key, (idle = []));
    if (handle.broken || idle.length >= this.#capacity) {
      if (!handle.broken) handle.close();
      return;
    }
    handle.stream.reset();
    idle.push(handle);
  }
}

interface ZlibSettings {
  readonly level: number;
  readonly memLevel: number;
  readonly windowBits: number;
  readonly chunkSize: number;
  readonly queue: ZlibQueue;
  readonly deflaters: ZlibPool<zlib.DeflateRaw>;
  readonly inflaters: ZlibPool<zlib.InflateRaw>;
}

/**
 * A permessage-deflate engine over `node:zlib`. It honours every negotiable parameter: windows
 * of 8–15 bits and context takeover both ways.
 *
 * @throws InvalidArgumentError for an option out of its range.
 */
export function createZlibEngine(options: ZlibEngineOptions = {}): DeflateEngine {
  const level = options.level ?? DEFAULT_ZLIB_LEVEL;
  const memLevel = options.memLevel ?? DEFAULT_ZLIB_MEM_LEVEL;
  const windowBits = options.windowBits ?? DEFAULT_ZLIB_WINDOW_BITS;
  const chunkSize = options.chunkSize ?? DEFAULT_ZLIB_CHUNK_SIZE;
  const poolSize = options.poolSize ?? 10;
  checkInteger('level', level, -1, 9);
  checkInteger('memLevel', memLevel, 1, 9);
  checkInteger('windowBits', windowBits, 8, 15);
  checkInteger('chunkSize', chunkSize, zlib.constants.Z_MIN_CHUNK, 64 * 1024 * 1024);
  checkInteger('poolSize', poolSize, 0, 1 << 20);
  const settings: ZlibSettings = {
    level,
    memLevel,
    windowBits,
    chunkSize,
    queue: options.queue ?? sharedZlibQueue,
    deflaters: new ZlibPool(poolSize),
    inflaters: new ZlibPool(poolSize),
  };
  return {
    capabilities: { minCompressWindowBits: 8, compressContextTakeover: true, decompressContextTakeover: true },
    createDeflater: (parameters) => new ZlibDeflater(settings, parameters),
    createInflater: (parameters) => new ZlibInflater(settings, parameters),
  };
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/** The error a piece settles with once its connection is finished (the connection ignores it). */
function disposedError(): Error {
  return new Error('permessage-deflate stream disposed while a message was being processed');
}

/**
 * The zlib stream of one direction of one connection: its own for the connection's life with
 * context takeover, else borrowed from the shared pool for one message and given back reset.
 */
class StreamSlot<S extends ZlibStream> {
  readonly #pool: ZlibPool<S>;
  readonly #key: number;
  readonly #contextTakeover: boolean;
  readonly #create: () => S;
  #handle: ZlibHandle<S> | null = null;
  #disposed = false;

  constructor(pool: ZlibPool<S>, key: number, contextTakeover: boolean, create: () => S) {
    this.#pool = pool;
    this.#key = key;
    this.#contextTakeover = contextTakeover;
    this.#create = create;
  }

  /** The stream for the next piece. @throws Error once disposed. */
  acquire(): ZlibHandle<S> {
    if (this.#disposed) throw disposedError();
    this.#handle ??= (this.#contextTakeover ? undefined : this.#pool.take(this.#key)) ?? new ZlibHandle(this.#create());
    return this.#handle;
  }

  /** Whether `handle` is still the one in use (not disposed of, dropped or failed meanwhile). */
  holds(handle: ZlibHandle<S>): boolean {
    return this.#handle === handle && !handle.broken;
  }

  /** The message ended: without context takeover, the stream goes back to the pool, reset (RFC 7692 §7.1.1). */
  endMessage(handle: ZlibHandle<S>): void {
    if (this.#contextTakeover || this.#handle !== handle) return;
    this.#handle = null;
    this.#pool.give(this.#key, handle);
  }

  /** Close `handle` (it failed, ended or was abandoned): the next piece gets a new stream. */
  drop(handle: ZlibHandle<S>): void {
    if (this.#handle === handle) this.#handle = null;
    handle.close();
  }

  dispose(): void {
    this.#disposed = true;
    const handle = this.#handle;
    this.#handle = null;
    handle?.close();
  }
}

class ZlibDeflater implements RawDeflater {
  // Every piece is written with Z_SYNC_FLUSH, which ends the output with an empty stored block.
  readonly messageEnd = 'sync-flush';
  readonly #queue: ZlibQueue;
  readonly #slot: StreamSlot<zlib.DeflateRaw>;

  constructor(settings: ZlibSettings, parameters: DeflateStreamParameters) {
    const windowBits = Math.min(parameters.windowBits, settings.windowBits);
    this.#queue = settings.queue;
    this.#slot = new StreamSlot(settings.deflaters, windowBits, parameters.contextTakeover, () =>
      zlib.createDeflateRaw({
        level: settings.level,
        memLevel: settings.memLevel,
        chunkSize: settings.chunkSize,
        // Every write ends with a sync flush: one thread-pool round trip per piece, not two.
        flush: zlib.constants.Z_SYNC_FLUSH,
        // 8 bits is kept with a 9-bit window: see the module comment.
        windowBits: Math.max(9, windowBits),
      }),
    );
  }

  deflate(data: Uint8Array, end: boolean): Promise<readonly Uint8Array[]> {
    return this.#queue.run(() => this.#deflate(data, end));
  }

  dispose(): void {
    this.#slot.dispose();
  }

  #deflate(data: Uint8Array, end: boolean): Promise<readonly Uint8Array[]> {
    return new Promise<readonly Uint8Array[]>((resolve, reject) => {
      const slot = this.#slot;
      const handle = slot.acquire();
      const chunks: Buffer[] = [];
      handle.onData = (chunk) => {
        chunks.push(chunk);
      };
      handle.onError = (error) => {
        handle.release();
        slot.drop(handle);
        reject(error);
      };
      handle.onAbandon = () => reject(disposedError());
      // The stream flushes every write (Z_SYNC_FLUSH); an empty one flushes what came before,
      // and gives nothing when that was flushed already.
      handle.stream.write(data, () => {
        if (!slot.holds(handle)) {
          reject(disposedError());
          return;
        }
        handle.release();
        if (end) slot.endMessage(handle);
        resolve(chunks);
      });
    });
  }
}

/** Input up to this size is copied to go with the message's last bytes in one write (one thread-pool round trip): 64 KiB. */
const JOIN_LAST_BELOW = 64 * 1024;

/** `data` followed by `last`, in a new buffer. */
function joined(data: Uint8Array, last: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + last.length);
  out.set(data, 0);
  out.set(last, data.length);
  return out;
}

class ZlibInflater implements RawInflater {
  readonly #queue: ZlibQueue;
  readonly #slot: StreamSlot<zlib.InflateRaw>;

  constructor(settings: ZlibSettings, parameters: DeflateStreamParameters) {
    this.#queue = settings.queue;
    this.#slot = new StreamSlot(settings.inflaters, parameters.windowBits, parameters.contextTakeover, () =>
      zlib.createInflateRaw({ windowBits: parameters.windowBits, chunkSize: settings.chunkSize, flush: zlib.constants.Z_SYNC_FLUSH }),
    );
  }

  inflate(data: Uint8Array, last: Uint8Array | null, output: DecodeOutput): Promise<void> {
    return this.#queue.run(() => this.#inflate(data, last, output));
  }

  dispose(): void {
    this.#slot.dispose();
  }

  #inflate(data: Uint8Array, last: Uint8Array | null, output: DecodeOutput): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const slot = this.#slot;
      const handle = slot.acquire();
      let settled = false;
      handle.onData = (chunk) => {
        if (settled) return;
        if (!output.push(chunk)) {
          // Refused (the message limit, or the connection failed): stop inflating now. Closing
          // the stream ends the work between two output chunks, so a bomb never produces more
          // than the limit plus one chunk.
          settled = true;
          slot.drop(handle);
          resolve();
        }
      };
      handle.onError = (error) => {
        if (settled) return;
        settled = true;
        slot.drop(handle);
        reject(invalidDeflateData(error));
      };
      handle.onAbandon = () => {
        if (settled) return;
        settled = true;
        reject(disposedError());
      };
      // A message's last bytes are small: a small input is copied to go with them in one write.
      let write = data;
      if (last !== null) {
        if (data.length <= JOIN_LAST_BELOW) write = joined(data, last);
        else {
          handle.stream.write(data);
          write = last;
        }
      }
      handle.stream.write(write, () => {
        if (settled) return;
        settled = true;
        handle.release();
        if (handle.broken) {
          // The stream ended at a block with BFINAL set, and zlib ignored what followed: the
          // next message starts a new stream. (A disposed slot closed it: the connection is gone.)
          slot.drop(handle);
        } else if (last !== null) {
          slot.endMessage(handle);
        }
        resolve();
      });
    });
  }
}
