/**
 * A WHATWG byte stream pair — a `ReadableStream<Uint8Array>` the peer's bytes come from and a
 * `WritableStream<Uint8Array>` ours go to — as the `ByteTransport` of a `ConnectionDriver`, and
 * the web's scheduler (microtasks, timers). That is the shape TCP sockets take in several
 * JavaScript runtimes (`{ readable, writable }` of a connected socket) and the shape a tunnel,
 * or a pair of `TransformStream`s between two workers, gives.
 *
 * Reading: one read at a time while the driver wants to read; a read already under way when it
 * stops holds its chunk until reading resumes. A stream that is not read fills up and pushes
 * back on whatever feeds it (the peer, through TCP's window or a tunnel's flow control).
 * Writing: a batch is handed to the writer while its `desiredSize` is positive, else after
 * `writer.ready`; a batch is written when the writer's promise for its last chunk resolves
 * (writes complete in order). Aborting fails, in order, every batch not written by then.
 *
 * Ending: `end()` stops reading, closes the writable once the queued batches are written, and
 * then reports the transport closed; the readable ending reports `peerEnded`. A stream that
 * errors, or `abort()`, aborts both streams.
 */
import { ErrorCode, WebSocketError } from '../../shared/errors.js';
import type { ByteTransport, ConnectionDriver, Scheduler, Timer, WriteCallback } from '../driver.js';

/** A byte stream pair: what the peer sends arrives on `readable`; what we send goes to `writable`. */
export interface WebStreamPair {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** The web's scheduler: a flush per microtask, plain timers. */
export const webScheduler: Scheduler = {
  defer: (task, arg) => queueMicrotask(() => task(arg)),
  setTimer: (task, delay, arg) => setTimeout(task, delay, arg),
  clearTimer: (timer: Timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
  later: (task, arg) => void setTimeout(task, 0, arg),
};

/** A batch waiting for the writer. */
interface QueuedWrite {
  readonly chunks: readonly Uint8Array[];
  readonly bytes: number;
  readonly written: WriteCallback | null;
}

/** Any binary chunk a stream may yield, as bytes; null for anything else. */
function chunkBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

/**
 * Two connected stream pairs over `TransformStream`s: what one side writes, the other reads.
 * For a client and a server in one program, or across workers (streams are transferable:
 * post each pair to its worker).
 *
 * @param highWaterMark bytes each direction holds before its writer has to wait (default 64 KiB).
 */
export function createWebStreamPair(highWaterMark = 64 * 1024): [WebStreamPair, WebStreamPair] {
  const forward = new TransformStream<Uint8Array, Uint8Array>(undefined, new ByteLengthQueuingStrategy({ highWaterMark }));
  const backward = new TransformStream<Uint8Array, Uint8Array>(undefined, new ByteLengthQueuingStrategy({ highWaterMark }));
  return [
    { readable: backward.readable, writable: forward.writable },
    { readable: forward.readable, writable: backward.writable },
  ];
}

/** See the module comment. */
export class StreamBinding implements ByteTransport {
  readonly #driver: ConnectionDriver;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  #wantRead = true;
  #reading = false;
  /** The readable ended, failed or was cancelled: no more reads. */
  #readableDone = false;
  /** A chunk whose read completed after reading stopped: handed over when it resumes. */
  #heldChunk: Uint8Array | null = null;

  readonly #queue: QueuedWrite[] = [];
  /** Batches handed to the writer and not yet settled, oldest first. */
  readonly #inFlight: QueuedWrite[] = [];
  /** Bytes queued here or handed to the writer and not yet written. */
  #pendingBytes = 0;
  #writing = false;
  /** `open`, or nothing more is written: `closing` (closed once the writes in flight are done), `closed`, `aborted`. */
  #writable: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  /** The last write handed to the writer (writes complete in order). */
  #lastWrite: Promise<unknown> = Promise.resolve();
  /** `end()` was called: close the writable once the queue is written. */
  #ending = false;
  #closedReported = false;

  /**
   * Take the locks of `streams` for `driver`. Reading starts with `start()`.
   *
   * @throws TypeError if a stream is already locked.
   */
  constructor(streams: WebStreamPair, driver: ConnectionDriver) {
    this.#driver = driver;
    this.#reader = streams.readable.getReader();
    this.#writer = streams.writable.getWriter();
    // A stream that errors is noticed where it matters (a read or a write fails).
    this.#writer.closed.catch(() => {});
  }

  /** Start reading. */
  start(): void {
    this.#read();
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  write(chunks: readonly Uint8Array[], written: WriteCallback | null): void {
    if (this.#writable !== 'open' || this.#ending) {
      written?.(new WebSocketError('the transport is closed', ErrorCode.INVALID_STATE));
      return;
    }
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    this.#pendingBytes += bytes;
    this.#queue.push({ chunks, bytes, written });
    if (!this.#writing) void this.#writeLoop();
  }

  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#cancelReadable(undefined);
    if (!this.#writing) this.#endWritable();
  }

  abort(error: Error): void {
    this.#cancelReadable(error);
    this.#failQueue(error);
    if (this.#writable !== 'closed' && this.#writable !== 'aborted') {
      this.#writable = 'aborted';
      this.#writer.abort(error).catch(() => {});
    }
    queueMicrotask(() => this.#reportClosed());
  }

  setReading(reading: boolean): void {
    this.#wantRead = reading;
    if (!reading) return;
    const held = this.#heldChunk;
    if (held !== null) {
      this.#heldChunk = null;
      this.#driver.receive(held);
    }
    this.#read();
  }

  // -------------------------------------------------------------------------------------------

  #read(): void {
    if (!this.#reading && this.#wantRead && !this.#readableDone) void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#wantRead && !this.#readableDone) {
        const { done, value } = await this.#reader.read();
        // Cancelled by us meanwhile (ending or aborting): nothing more to do.
        if (this.#readableDone) return;
        if (done) {
          this.#readableDone = true;
          this.#driver.peerEnded();
          return;
        }
        const bytes = chunkBytes(value);
        if (bytes === null) {
          this.#driver.transportFailed(new TypeError(`the readable stream yielded ${value === null ? 'null' : typeof value}, not bytes`));
          return;
        }
        // A read already under way when reading stopped: keep its bytes for setReading(true).
        if (!this.#wantRead) {
          this.#heldChunk = bytes;
          return;
        }
        this.#driver.receive(bytes);
      }
    } catch (error) {
      // The readable errored: the transport is gone (RFC 6455 §7.1.5: 1006).
      this.#driver.transportFailed(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#reading = false;
    }
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    const writer = this.#writer;
    try {
      while (this.#queue.length > 0 && this.#writable === 'open') {
        // desiredSize: null once the stream errored (then `ready` rejects), ≤ 0 while it is full.
        if (writer.desiredSize === null || writer.desiredSize <= 0) await writer.ready;
        if (this.#writable !== 'open') break;
        const batch = this.#queue.shift()!;
        const chunks = batch.chunks;
        this.#inFlight.push(batch);
        for (let i = 0; i < chunks.length - 1; i++) writer.write(chunks[i]!).catch(() => {});
        const last = chunks.length > 0 ? writer.write(chunks[chunks.length - 1]!) : this.#lastWrite;
        this.#lastWrite = last.catch(() => {});
        last.then(
          () => this.#settled(batch, null),
          (error: unknown) => this.#settled(batch, error instanceof Error ? error : new Error(String(error))),
        );
      }
    } catch (error) {
      // `ready` rejected: the writable errored.
      this.#driver.transportFailed(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#writing = false;
    }
    if (this.#queue.length === 0 && this.#ending) this.#endWritable();
  }

  /** A batch handed to the writer settled (writes settle in order); after `abort()` every batch has had its answer already. */
  #settled(batch: QueuedWrite, error: Error | null): void {
    if (this.#inFlight[0] !== batch) return;
    this.#inFlight.shift();
    this.#pendingBytes -= batch.bytes;
    batch.written?.(error);
    if (error === null) this.#driver.transportDrained();
    else this.#driver.transportFailed(new WebSocketError('a write to the writable stream failed', ErrorCode.INVALID_STATE));
  }

  /**
   * Fail every batch not yet written, in the order of the writes — those handed to the writer,
   * which the abort stops, then those waiting here — so the driver hears of each in turn.
   */
  #failQueue(error: Error): void {
    this.#pendingBytes = 0;
    for (const { written } of this.#inFlight.splice(0)) written?.(error);
    for (const { written } of this.#queue.splice(0)) written?.(error);
  }

  /** Close the writable (once the writes in flight are done), then report the transport closed. */
  #endWritable(): void {
    if (this.#writable !== 'open') return;
    this.#writable = 'closing';
    const settled = (): void => {
      if (this.#writable === 'closing') this.#writable = 'closed';
      this.#reportClosed();
    };
    this.#writer.close().then(settled, settled);
  }

  #cancelReadable(reason: Error | undefined): void {
    this.#heldChunk = null;
    if (this.#readableDone) return;
    this.#readableDone = true;
    this.#reader.cancel(reason).catch(() => {});
  }

  #reportClosed(): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    this.#driver.transportClosed();
  }
}
