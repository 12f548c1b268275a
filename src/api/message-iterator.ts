/**
 * Pulling messages with `for await`: a bounded queue between a socket's `'message'` events
 * and the consumer's `next()` calls, for every face (it uses only their public `ws` surface:
 * `on`, `off`, `pause`, `resume`, `close`, `readyState`).
 */
import { ReadyState } from '../shared/constants.js';
import { InvalidArgumentError } from '../shared/errors.js';
import type { EmitterListener } from './events.js';

/** What the iterator needs of a socket. */
export interface IterableSocket {
  readonly readyState: ReadyState;
  on(event: string, listener: EmitterListener): unknown;
  off(event: string, listener: EmitterListener): unknown;
  pause(): void;
  resume(): void;
  close(code?: number): void;
}

/** A message as `messages` hands it out: text as a string, binary as `ws.binaryType` says. */
export type Message = string | Uint8Array | ArrayBuffer | Blob | Uint8Array[];

/** Options of `messages`. */
export interface MessagesOptions {
  /** Messages that may wait unread before the socket is paused; default 16. */
  readonly highWaterMark?: number;
  /**
   * Bytes of messages that may wait unread before the socket is paused; default 1 MiB. The
   * socket is resumed once the unread messages are down to half of both marks.
   */
  readonly highWaterMarkBytes?: number;
  /**
   * Close the connection (1000) when the loop stops early (`break`, `return`, a throw in its
   * body), as leaving a `for await` over a Node stream destroys it. Default true; false
   * leaves the connection open for other listeners.
   */
  readonly closeOnReturn?: boolean;
}

/**
 * What `messages` returns: an async iterator of messages that is its own async iterable, with
 * `return()` always there (to stop reading without a loop).
 */
export interface MessageIterator extends AsyncIterableIterator<Message, undefined> {
  /** Stop reading: release the socket's listeners and, unless `closeOnReturn` is false, close it (1000). */
  return(): Promise<IteratorResult<Message, undefined>>;
}

/** The default `MessagesOptions.highWaterMark`. */
export const DEFAULT_MESSAGES_HIGH_WATER_MARK = 16;

/** The default `MessagesOptions.highWaterMarkBytes`. */
export const DEFAULT_MESSAGES_HIGH_WATER_MARK_BYTES = 1024 * 1024;

/** The data of a `'message'` event: text as a string or its UTF-8 bytes, binary as `binaryType` shapes it. */
type MessageData = string | Uint8Array | ArrayBuffer | Blob | Uint8Array[];

const textDecoder = new TextDecoder();

/** The byte length of a message's data. */
function byteLength(data: MessageData): number {
  if (typeof data === 'string') return data.length;
  if (Array.isArray(data)) return data.reduce((total, piece) => total + piece.length, 0);
  if (typeof Blob === 'function' && data instanceof Blob) return data.size;
  return (data as Buffer | ArrayBuffer).byteLength;
}

/** A text message's data (a string, or valid UTF-8 bytes) as a string. */
function decodeText(data: MessageData): string {
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return textDecoder.decode(data);
  return String(data);
}

function checkMark(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

interface PendingRead {
  readonly resolve: (result: IteratorResult<Message, undefined>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The iterator behind `messages`: a bounded queue between the socket's `'message'` events and
 * the consumer's `next()` calls.
 *
 * Theory of operation: messages are queued as they arrive; when the queue reaches either
 * high-water mark the socket is paused (by us, and only resumed by us), and when `next()`
 * has taken it down to half of both marks it is resumed. `'error'` is remembered; `'close'`
 * ends the queue. The consumer sees every queued message, then the error if there was one,
 * then the end.
 */
class MessageQueue implements MessageIterator {
  readonly #ws: IterableSocket;
  readonly #highWaterMark: number;
  readonly #highWaterMarkBytes: number;
  readonly #closeOnReturn: boolean;
  readonly #queue: Array<{ readonly message: Message; readonly size: number }> = [];
  #queueHead = 0;
  #queuedBytes = 0;
  readonly #reads: PendingRead[] = [];
  #pausedByUs = false;
  #ended = false;
  #error: unknown = null;

  readonly #onMessage = (data: MessageData, isBinary: boolean): void => {
    if (this.#ended) return;
    const message = isBinary ? data : decodeText(data);
    const read = this.#reads.shift();
    if (read !== undefined) {
      read.resolve({ value: message, done: false });
      return;
    }
    const size = byteLength(data);
    this.#queue.push({ message, size });
    this.#queuedBytes += size;
    if (!this.#pausedByUs && (this.#queue.length - this.#queueHead >= this.#highWaterMark || this.#queuedBytes >= this.#highWaterMarkBytes)) {
      this.#pausedByUs = true;
      this.#ws.pause();
    }
  };

  readonly #onError = (error: unknown): void => {
    // The first error is the cause; later ones (if any) follow from it.
    if (this.#error === null) this.#error = error;
  };

  readonly #onClose = (): void => {
    this.#end();
    for (const read of this.#reads.splice(0)) this.#settleEnd(read);
  };

  constructor(ws: IterableSocket, options: MessagesOptions) {
    this.#ws = ws;
    this.#highWaterMark = checkMark('highWaterMark', options.highWaterMark, DEFAULT_MESSAGES_HIGH_WATER_MARK);
    this.#highWaterMarkBytes = checkMark('highWaterMarkBytes', options.highWaterMarkBytes, DEFAULT_MESSAGES_HIGH_WATER_MARK_BYTES);
    this.#closeOnReturn = options.closeOnReturn ?? true;
    if (ws.readyState === ReadyState.CLOSED) {
      this.#ended = true;
      return;
    }
    ws.on('message', this.#onMessage);
    ws.on('error', this.#onError);
    ws.on('close', this.#onClose);
  }

  next(): Promise<IteratorResult<Message, undefined>> {
    if (this.#queueHead < this.#queue.length) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#ended) return new Promise((resolve, reject) => this.#settleEnd({ resolve, reject }));
    return new Promise((resolve, reject) => this.#reads.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<Message, undefined>> {
    if (!this.#ended) {
      const ws = this.#ws;
      this.#end();
      if (this.#closeOnReturn && (ws.readyState === ReadyState.OPEN || ws.readyState === ReadyState.CONNECTING)) ws.close(1000);
    }
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#error = null;
    for (const read of this.#reads.splice(0)) read.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Take the oldest queued message, resuming the socket once the queue is down to half. */
  #take(): Message {
    const { message, size } = this.#queue[this.#queueHead]!;
    this.#queue[this.#queueHead++] = undefined!;
    this.#queuedBytes -= size;
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    } else if (this.#queueHead >= 1024 && this.#queueHead * 2 >= this.#queue.length) {
      // Compact now and then instead of shift()ing every time.
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    if (
      this.#pausedByUs &&
      !this.#ended &&
      this.#queue.length - this.#queueHead <= this.#highWaterMark / 2 &&
      this.#queuedBytes <= this.#highWaterMarkBytes / 2
    ) {
      this.#pausedByUs = false;
      this.#ws.resume();
    }
    return message;
  }

  /** Stop listening (the queue keeps what it has). */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const ws = this.#ws;
    ws.off('message', this.#onMessage);
    ws.off('error', this.#onError);
    ws.off('close', this.#onClose);
    if (this.#pausedByUs) {
      this.#pausedByUs = false;
      ws.resume();
    }
  }

  /** Answer a read after the end: the error once, then done. */
  #settleEnd(read: PendingRead): void {
    const error = this.#error;
    if (error === null) {
      read.resolve({ value: undefined, done: true });
      return;
    }
    this.#error = null;
    read.reject(error);
  }
}

/**
 * Read the messages of `ws` with `for await`: text messages as strings, binary ones as the
 * `'message'` event hands them out (`ws.binaryType`: a `Buffer` in Node, a `Uint8Array` on the web, by default). Listening starts
 * at once, so no message is missed between this call and the loop.
 *
 * The iteration ends when the connection closes, after every message received before the
 * close; if the connection failed (an `'error'` event: a protocol violation, a failed
 * handshake), the iteration throws that error instead of ending. Unread messages are bounded
 * (`highWaterMark`, `highWaterMarkBytes`): past them the socket is paused until the loop
 * catches up. Leaving the loop early closes the connection unless `closeOnReturn` is false.
 *
 * Every face's `[Symbol.asyncIterator]` is this function with the default options.
 *
 * @throws InvalidArgumentError if a high-water mark is not a positive integer.
 */
export function messages(ws: IterableSocket, options: MessagesOptions = {}): MessageIterator {
  return new MessageQueue(ws, options);
}

