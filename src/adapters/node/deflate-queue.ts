/**
 * A bound on concurrent zlib operations. Every compression or decompression step of
 * permessage-deflate runs on libuv's thread pool with buffers of its own; thousands of
 * connections each starting one at once fragment the heap badly (the cause of `ws`'s
 * concurrency limiter: nodejs/node#8871, websockets/ws#1202). Work beyond the bound waits here,
 * in order, holding nothing but its closure; connections waiting on it pause reading
 * (`Connection.shouldPauseReading()`), so the wait pushes back on the peers instead of growing.
 */
import { InvalidArgumentError } from '../../shared/errors.js';

/** Concurrent zlib operations per process by default: 10, the value `ws` uses. */
export const DEFAULT_ZLIB_CONCURRENCY = 10;

/** Runs asynchronous tasks with at most `concurrency` at a time, in the order they came. */
export class ZlibQueue {
  /** The most tasks running at once. */
  readonly concurrency: number;
  #running = 0;
  #waiting: Array<() => void> = [];
  #head = 0;

  /** @throws InvalidArgumentError unless `concurrency` is a positive integer. */
  constructor(concurrency: number = DEFAULT_ZLIB_CONCURRENCY) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`concurrency must be a positive integer, got ${String(concurrency)}`);
    }
    this.concurrency = concurrency;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /**
   * Run `task` when fewer than `concurrency` tasks are running; settle as it does. A task that
   * throws synchronously rejects and frees its turn.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        let result: Promise<T>;
        try {
          result = task();
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(
          (value) => {
            this.#finish();
            resolve(value);
          },
          (error: unknown) => {
            this.#finish();
            reject(error);
          },
        );
      };
      if (this.#running < this.concurrency) start();
      else this.#waiting.push(start);
    });
  }

  #finish(): void {
    this.#running--;
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = undefined as unknown as () => void;
      // Compact once the consumed prefix dominates, so the array never grows without bound.
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting = this.#waiting.slice(this.#head);
        this.#head = 0;
      }
      next();
    }
  }
}

/**
 * The queue every zlib engine shares unless given its own: the thread pool it protects is the
 * process's, so one bound per process is the point.
 */
export const sharedZlibQueue: ZlibQueue = new ZlibQueue(DEFAULT_ZLIB_CONCURRENCY);
