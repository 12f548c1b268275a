/**
 * `WebSocketStream`: the WHATWG WebSocketStream proposal's shape (as undici and Chromium ship
 * it), over wasmsocket's client. Instead of events, a connection is a pair of WHATWG streams:
 *
 *     const wss = new WebSocketStream('ws://127.0.0.1:8080/echo', { protocols: ['chat'] });
 *     const { readable, writable, protocol } = await wss.opened;
 *     const writer = writable.getWriter();
 *     await writer.write('hello');                 // text; bytes are sent as binary
 *     for await (const message of readable) …      // strings and Uint8Arrays
 *     wss.close({ closeCode: 1000, reason: 'done' });
 *     const { closeCode, reason } = await wss.closed;
 *
 * Backpressure runs both ways, which is the point of the proposal: a reader that falls behind
 * pauses the socket (the peer's sends slow down as TCP's window closes) and a write resolves
 * only once the socket's buffer has room again.
 *
 * The algorithm steps quoted are the proposal's ("WebSockets Standard", WebSocketStream
 * section, as undici implements it); deviations are marked with "Note:".
 */
import { ReadyState } from '../shared/constants.js';
import { sendWithBackpressure } from './streams.js';
import { WebSocket, type WebSocketOptions } from './websocket.js';

/** A message as the readable side hands it out: text as a string, binary as a `Uint8Array`. */
export type WebSocketStreamMessage = string | Uint8Array;

/** What the writable side takes: a string (sent as text) or bytes (sent as binary). */
export type WebSocketStreamChunk = string | ArrayBuffer | ArrayBufferView;

/** `opened`'s value (the proposal's `WebSocketOpenInfo`). */
export interface WebSocketOpenInfo {
  readonly readable: ReadableStream<WebSocketStreamMessage>;
  readonly writable: WritableStream<WebSocketStreamChunk>;
  /** The agreed subprotocol, or the empty string. */
  readonly protocol: string;
  /** The extensions in use, as the Sec-WebSocket-Extensions response header listed them. */
  readonly extensions: string;
}

/** A close code and reason (the proposal's `WebSocketCloseInfo`). */
export interface WebSocketCloseInfo {
  readonly closeCode?: number;
  readonly reason?: string;
}

/** `closed`'s value: how the connection closed. */
export interface WebSocketClosedInfo {
  readonly closeCode: number;
  readonly reason: string;
}

/**
 * Options of `new WebSocketStream(url, options)`: the proposal's `protocols` and `signal`,
 * and (a Node extension) every option of the `WebSocket` client: headers, origin, TLS,
 * `maxPayload`, the handshake timeout.
 */
export interface WebSocketStreamOptions extends WebSocketOptions {
  /** Subprotocols to offer, in order of preference. */
  readonly protocols?: string | readonly string[];
  /** Aborting it before the connection is established fails the connection. */
  readonly signal?: AbortSignal | null;
}

/**
 * Bytes of unread messages the readable side holds before the socket is paused. 1 MiB keeps
 * a fast reader from ever pausing while bounding what a stalled one pins.
 */
export const READABLE_HIGH_WATER_MARK_BYTES = 1024 * 1024;

/**
 * A `WebSocketStreamError` with the code and reason the connection closed with, unvalidated
 * (they may be 1006, 1011, …), and the failure that caused it, if any. Set by the class's
 * static block, so it stays out of the public surface.
 */
let createUnvalidatedError: (message: string, closeCode: number | null, reason: string, cause?: unknown) => WebSocketStreamError;

/**
 * The proposal's `WebSocketError` (a `DOMException` named "WebSocketError" with a close code
 * and a reason), under another name: wasmsocket's `WebSocketError` is the base class of its
 * own errors. The readable and writable sides error with it, and `closed` rejects with it,
 * after an unclean close; a stream aborted or cancelled with one closes with its code.
 */
export class WebSocketStreamError extends DOMException {
  #closeCode: number | null;
  #reason: string;

  static {
    createUnvalidatedError = (message, closeCode, reason, cause) => {
      const error = new WebSocketStreamError(message);
      error.#closeCode = closeCode;
      error.#reason = reason;
      if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
      return error;
    };
  }

  /**
   * @throws DOMException `InvalidAccessError` for a close code other than 1000 or 3000–4999;
   *   `SyntaxError` for a reason over 123 bytes of UTF-8 (the proposal's "validate close code
   *   and reason").
   */
  constructor(message = '', init: WebSocketCloseInfo = {}) {
    super(message, 'WebSocketError');
    const code = init.closeCode ?? null;
    const reason = init.reason ?? '';
    if (code !== null && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw new DOMException(`invalid close code ${code}: use 1000 or 3000–4999`, 'InvalidAccessError');
    }
    if (Buffer.byteLength(reason, 'utf8') > 123) throw new DOMException('the close reason is longer than 123 bytes of UTF-8', 'SyntaxError');
    // "If reason is non-empty, but code is not set, then set code to 1000."
    this.#closeCode = code ?? (reason !== '' ? 1000 : null);
    this.#reason = reason;
  }

  /** The close code, or null. */
  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** The close reason, or the empty string. */
  get reason(): string {
    return this.#reason;
  }
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** A promise and its settlers; marked handled, so an ignored rejection is not an unhandled one. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** A writable chunk as the bytes or the text to send: bytes are copied, as the proposal says. */
function messageOf(chunk: WebSocketStreamChunk): { readonly data: Uint8Array | string; readonly binary: boolean } {
  if (typeof chunk === 'string') return { data: chunk, binary: false };
  // "If chunk is a BufferSource, set data to a copy of the bytes given chunk."
  if (chunk instanceof ArrayBuffer) return { data: new Uint8Array(chunk.slice(0)), binary: true };
  if (ArrayBuffer.isView(chunk)) return { data: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice(), binary: true };
  throw new TypeError(`a WebSocketStream writes strings and BufferSources, not ${chunk === null ? 'null' : typeof chunk}`);
}

/**
 * A WebSocket connection as a readable and a writable stream (the WHATWG WebSocketStream
 * proposal). See the module comment for an example.
 */
export class WebSocketStream {
  readonly #url: string;
  readonly #ws: WebSocket | null = null;
  readonly #opened = deferred<WebSocketOpenInfo>();
  readonly #closed = deferred<WebSocketClosedInfo>();
  #readableController: ReadableStreamDefaultController<WebSocketStreamMessage> | null = null;
  #writableController: WritableStreamDefaultController | null = null;
  /** The readable side can still take messages (not closed, errored or cancelled). */
  #readableOpen = false;
  #pausedByUs = false;
  #handshakeAborted = false;
  #wasEverConnected = false;
  #failure: unknown = undefined;

  /**
   * Start connecting to `url`.
   *
   * @throws DOMException `SyntaxError` for a URL that is not ws:, wss:, http: or https:, has a
   *   fragment, or for invalid or repeated subprotocols (as the `WebSocket` constructor).
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    const { protocols = [], signal = null, ...clientOptions } = options;
    // 8.2. "If signal is aborted, then reject this's opened promise and closed promise with
    //      signal's abort reason and return."
    // Note: the URL and protocols are validated by the WebSocket constructor (steps 1–5), which
    // also starts connecting, so an already-aborted signal skips the protocol checks.
    if (signal?.aborted === true) {
      this.#url = String(url);
      this.#opened.reject(signal.reason);
      this.#closed.reject(signal.reason);
      return;
    }
    const ws = new WebSocket(url, typeof protocols === 'string' ? protocols : [...protocols], clientOptions);
    this.#ws = ws;
    this.#url = ws.url;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => this.#onOpen(ws));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(ws, data, isBinary));
    ws.on('error', (error: Error) => {
      this.#failure ??= error;
    });
    ws.addEventListener('close', (event) => {
      const { code, reason, wasClean } = event as CloseEvent;
      this.#onClose(code, reason, wasClean);
    });
    // 8.3. "Add the following abort steps to signal: if the WebSocket connection is not yet
    //      established, fail the WebSocket connection, reject opened and closed with signal's
    //      abort reason, and set handshake aborted to true."
    signal?.addEventListener(
      'abort',
      () => {
        if (ws.readyState !== ReadyState.CONNECTING) return;
        this.#handshakeAborted = true;
        this.#opened.reject(signal.reason);
        this.#closed.reject(signal.reason);
        ws.terminate();
      },
      { once: true },
    );
  }

  /** The URL, serialized. */
  get url(): string {
    return this.#url;
  }

  /** Resolves when the connection is open, with its streams; rejects if it never opens. */
  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened.promise;
  }

  /** Resolves with the close code and reason after a clean close; rejects (a `WebSocketStreamError`) after an unclean one. */
  get closed(): Promise<WebSocketClosedInfo> {
    return this.#closed.promise;
  }

  /**
   * Start the closing handshake with `closeCode` and `reason` (or fail the connection if it is
   * not established yet). A reason without a code sends 1000.
   *
   * @throws DOMException `InvalidAccessError` for a code that may not be sent; `SyntaxError`
   *   for a reason over 123 bytes of UTF-8.
   */
  close(closeInfo: WebSocketCloseInfo = {}): void {
    // 1.–3. "Close the WebSocket with this, code, and reason."
    this.#ws?.close(closeInfo.closeCode, closeInfo.reason);
  }

  #onOpen(ws: WebSocket): void {
    this.#wasEverConnected = true;
    // 5.–8. The readable side: pulling resumes a socket paused for backpressure; cancelling
    // closes the connection.
    const readable = new ReadableStream<WebSocketStreamMessage>(
      {
        start: (controller) => {
          this.#readableController = controller;
          this.#readableOpen = true;
        },
        pull: () => {
          if (!this.#pausedByUs) return;
          this.#pausedByUs = false;
          ws.resume();
        },
        cancel: (reason) => {
          this.#readableOpen = false;
          this.#closeUsingReason(ws, reason);
        },
      },
      { highWaterMark: READABLE_HIGH_WATER_MARK_BYTES, size: (chunk) => (typeof chunk === 'string' ? chunk.length : chunk.byteLength) },
    );
    // 9.–13. The writable side: a write resolves once the socket's buffer has room; closing
    // starts the closing handshake; aborting closes with the reason's code.
    const writable = new WritableStream<WebSocketStreamChunk>({
      start: (controller) => {
        this.#writableController = controller;
      },
      write: (chunk) => this.#write(ws, chunk),
      close: () => {
        ws.close();
      },
      abort: (reason) => this.#closeUsingReason(ws, reason),
    });
    // "Resolve stream's opened promise with WebSocketOpenInfo «[ extensions, protocol,
    // readable, writable ]»."
    this.#opened.resolve({ readable, writable, protocol: ws.protocol, extensions: ws.extensions });
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    // 1. "If stream's ready state is not OPEN, then return."
    // Note: the socket reports the messages of a network read after the core has processed
    // the whole read, so one that arrived just before a close frame is reported while the
    // state is already CLOSING; the core delivers nothing that came after the close (RFC 6455
    // §1.4), so such a message is enqueued like any other.
    const controller = this.#readableController;
    if (controller === null || !this.#readableOpen) return;
    // 2. Text → a string; binary → a Uint8Array (a view: the connection never reuses it).
    controller.enqueue(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8'));
    // 4. "Apply backpressure to the WebSocket."
    if (!this.#pausedByUs && (controller.desiredSize ?? 0) <= 0) {
      this.#pausedByUs = true;
      ws.pause();
    }
  }

  #write(ws: WebSocket, chunk: WebSocketStreamChunk): Promise<void> {
    // 1.–5. The data and its opcode (throws TypeError for anything else).
    const { data, binary } = messageOf(chunk);
    // 6.2. "If the closing handshake has not yet started, send a WebSocket message."
    // Note: a write after that is dropped and resolves, as the proposal says; the writable
    // side errors when the connection closes.
    if (ws.readyState !== ReadyState.OPEN) return Promise.resolve();
    // 6.1. "Wait until there is sufficient buffer space in stream to send the message."
    return new Promise((resolve, reject) => sendWithBackpressure(ws, data, binary, true, (error?: Error | null) => (error ? reject(error) : resolve())));
  }

  /** "Close using reason": a `WebSocketStreamError` gives its code and reason; anything else, none. */
  #closeUsingReason(ws: WebSocket, reason: unknown): void {
    if (reason instanceof WebSocketStreamError) {
      try {
        ws.close(reason.closeCode ?? undefined, reason.reason);
        return;
      } catch {
        // "If this throws an exception, discard code and reasonString and close the WebSocket."
      }
    }
    ws.close();
  }

  #onClose(code: number, reason: string, wasClean: boolean): void {
    // 2. "If stream's handshake aborted is true, then return."
    if (this.#handshakeAborted) return;
    // 3. "If stream's was ever connected is false, then reject stream's opened promise with a
    //    new WebSocketError."
    if (!this.#wasEverConnected) {
      const cause = this.#failure;
      const why = cause instanceof Error ? `: ${cause.message}` : '';
      this.#opened.reject(createUnvalidatedError(`the WebSocket connection could not be established${why}`, null, '', cause));
    }
    const readable = this.#readableController;
    const writable = this.#writableController;
    const readableOpen = this.#readableOpen;
    this.#readableOpen = false;
    // 6. "If the connection was closed cleanly": close the readable side, error the writable
    //    side with an InvalidStateError, resolve closed with the code and reason.
    if (wasClean) {
      if (readableOpen) readable?.close();
      writable?.error(new DOMException('a closed WebSocketStream cannot be written to', 'InvalidStateError'));
      this.#closed.resolve({ closeCode: code, reason });
      return;
    }
    // 7. Otherwise error both sides and reject closed with a WebSocketError carrying the code.
    const error = createUnvalidatedError('the WebSocket connection closed uncleanly', code, reason, this.#failure);
    if (readableOpen) readable?.error(error);
    writable?.error(error);
    this.#closed.reject(error);
  }
}
