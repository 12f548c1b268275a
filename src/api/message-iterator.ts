/**
 * Pulling messages from a socket with `for await`, for any face that offers the socket
 * methods below (it needs only them and a way to be told of each message).
 */
import { ReadyState } from '../shared/constants.js';

/** What the iterator needs of a socket. */
export interface IterableSocket {
  readonly readyState: ReadyState;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  pause(): void;
  resume(): void;
  close(code?: number): void;
}

/**
 * The async iterator of `for await (const message of ws)`: a queue filled by the socket's
 * messages; the socket is paused while `PAUSE_AT` messages wait unread and resumed when half
 * of them are read, so a slow loop pushes back on the peer instead of growing memory.
 */
export class MessageIterator<T> implements AsyncIterator<T> {
  static readonly #PAUSE_AT = 16;
  readonly #socket: IterableSocket;
  readonly #messages: T[] = [];
  readonly #release: () => void;
  #waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  #done = false;
  #error: Error | null = null;
  #pausedByUs = false;
  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  /**
   * @param register called with the function to give each message to (null: the connection
   *   closed), and with null when the iteration ends.
   */
  constructor(socket: IterableSocket, register: (reader: ((data: T | null) => void) | null) => void) {
    this.#socket = socket;
    socket.on('error', this.#onError);
    if (socket.readyState === ReadyState.CLOSED) this.#done = true;
    else register((data) => (data === null ? this.#finish() : this.#push(data)));
    this.#release = () => {
      register(null);
      socket.off('error', this.#onError);
    };
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#messages.length > 0) {
      const value = this.#messages.shift()!;
      if (this.#pausedByUs && this.#messages.length < MessageIterator.#PAUSE_AT / 2) {
        this.#pausedByUs = false;
        this.#socket.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#done) {
      const error = this.#error;
      this.#error = null;
      return error !== null ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#done = true;
    this.#messages.length = 0;
    this.#release();
    if (this.#pausedByUs) this.#socket.resume();
    if (this.#socket.readyState === ReadyState.OPEN) this.#socket.close(1000);
    return Promise.resolve({ value: undefined, done: true });
  }

  #push(value: T): void {
    const waiting = this.#waiting;
    if (waiting !== null) {
      this.#waiting = null;
      waiting.resolve({ value, done: false });
      return;
    }
    this.#messages.push(value);
    if (!this.#pausedByUs && this.#messages.length >= MessageIterator.#PAUSE_AT) {
      this.#pausedByUs = true;
      this.#socket.pause();
    }
  }

  #finish(): void {
    this.#done = true;
    this.#release();
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.#waiting = null;
    const error = this.#error;
    this.#error = null;
    if (error !== null) waiting.reject(error);
    else waiting.resolve({ value: undefined, done: true });
  }
}
