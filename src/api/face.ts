/**
 * The one face base of every WebSocket here — the Node client and server-side socket
 * (`websocket.ts`), the socket over a WHATWG stream pair (`stream-websocket.ts`) and the page
 * client over the browser's own WebSocket (`browser-websocket.ts`). It holds everything the
 * application sees, over a `FaceEngine` (the `ConnectionDriver`, or the browser's socket):
 *
 * - the `ws` face: `on('message', (data, isBinary) => …)`, `send(data, options, cb)` (false
 *   once `highWaterMark` bytes wait, then `'drain'`), `ping`, `pong`, `close`, `terminate`,
 *   `pause` / `resume`, `binaryType`, the readyState constants;
 * - the WHATWG face (HTML §10.4 "WebSocket"): `onopen`, `onmessage`, `onerror`, `onclose`,
 *   `MessageEvent`, `CloseEvent`, `ErrorEvent`; the algorithm steps are numbered where they
 *   are implemented;
 * - one send queue: sends wait in order behind a `Blob` being read, and so does a `close()`
 *   called meanwhile (WHATWG: the close frame follows the data sent before it);
 * - `for await (const message of ws)` (`messages`, bounded in messages and bytes).
 *
 * Subclasses keep only their construction and how bytes and text are typed: in Node binary
 * data and text reach `ws` listeners as `Buffer`s and the close reason is a `Buffer`; on the
 * web text is a string and bytes are `Uint8Array`s.
 */
import type { WriteCallback } from '../adapters/driver.js';
import { extensionsHeaderOf, type ConnectionSink } from '../adapters/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import type { Extension } from '../protocol/extension.js';
import { STATE_NAMES } from '../protocol/connection.js';
import { concatBytes, utf8Encode } from '../shared/bytes.js';
import { isValidCloseCode, MAX_CLOSE_REASON, ReadyState } from '../shared/constants.js';
import { ErrorCode, WebSocketError } from '../shared/errors.js';
import { CloseEvent, ErrorEvent, EventTargetEmitter, MessageEvent } from './events.js';
import { messages, type MessageIterator } from './message-iterator.js';

/** How binary messages are handed out: `Buffer` / `Uint8Array` (default), `ArrayBuffer`, `Blob`, or a list of chunks. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
const BINARY_TYPES: ReadonlySet<string> = new Set(['nodebuffer', 'arraybuffer', 'fragments', 'blob']);

/** A received message as `'message'` listeners get it: text as a string (a `Buffer` in Node), binary as `binaryType` says. */
export type MessageData = string | Uint8Array | ArrayBuffer | Blob | Uint8Array[];

/**
 * What `send` takes: text as a string (or a number, sent as its decimal text), anything
 * binary, a list of byte chunks (sent as one message), or a `Blob` (sent once read, in order).
 * `undefined` and `null` send an empty binary message, as in `ws`.
 */
export type SendData = string | number | ArrayBufferLike | ArrayBufferView | readonly Uint8Array[] | Blob | null | undefined;

/** Options of one `send` (the `ws` names). */
export interface SendOptions {
  /** Send as binary; default true unless `data` is a string or a number. */
  readonly binary?: boolean;
  /** False: this is a fragment, and later sends continue the message (RFC 6455 §5.4). Default true. */
  readonly fin?: boolean;
  /** Accepted for `ws` compatibility: RFC 6455 §5.1 fixes masking by side. */
  readonly mask?: boolean;
  /**
   * False sends this message (all its fragments) uncompressed where permessage-deflate was
   * negotiated (ws's per-send switch). Default true: the extension's threshold decides.
   */
  readonly compress?: boolean;
}

/**
 * Called once the data of a `send` was written, or with the error that stopped it. On success
 * it gets null, as `ws`'s callbacks do (typed as `ws` types them).
 */
export type SendCallback = (error?: Error) => void;

/** What a face drives: the `ConnectionDriver`, or an engine over the browser's own WebSocket. */
export interface FaceEngine {
  /** The connection's state. */
  readonly state: ReadyState;
  /** Aborted locally; the close is on its way. */
  readonly terminating: boolean;
  readonly bufferedAmount: number;
  readonly highWaterMark: number;
  readonly isPaused: boolean;
  send(data: Uint8Array, binary: boolean, fin: boolean, callback: WriteCallback | undefined, compress: boolean): boolean;
  ping(data: Uint8Array, callback: WriteCallback | undefined): void;
  pong(data: Uint8Array, callback: WriteCallback | undefined): void;
  close(code: number | undefined, reason: string | undefined): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}

/** A `DOMException`, which WHATWG WebSocket methods throw. */
export function domException(message: string, name: string): Error {
  return new DOMException(message, name);
}

/** An `InvalidStateError` for a send that came too late, reported through its callback. */
export function notOpenError(state: ReadyState): WebSocketError {
  return new WebSocketError(`the WebSocket is not open (${STATE_NAMES[state]})`, ErrorCode.INVALID_STATE);
}

/** Binary data as `send` takes it, viewed as bytes without copying (a list of chunks is joined). */
export function bytesOf(data: Exclude<SendData, string | number | Blob | null | undefined>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) {
    const chunks = data as readonly Uint8Array[];
    if (!chunks.every((chunk) => chunk instanceof Uint8Array)) throw new TypeError('a list of chunks must hold only Uint8Arrays (Buffers)');
    return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
  }
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer)) return new Uint8Array(data as ArrayBuffer);
  throw new TypeError('data must be a string, an ArrayBuffer, a typed array, a DataView, a list of Uint8Arrays or a Blob');
}

function isBlob(data: unknown): data is Blob {
  return typeof Blob === 'function' && data instanceof Blob;
}

/** A send, or the close, waiting behind a Blob being read. */
type QueuedSend =
  | { readonly data: Blob | Uint8Array; readonly binary: boolean; readonly fin: boolean; readonly compress: boolean; readonly callback: SendCallback | undefined }
  | { readonly data: null; readonly code: number | undefined; readonly reason: string | undefined };

type HandlerName = 'open' | 'message' | 'error' | 'close';

const textDecoder = new TextDecoder();

/**
 * The face base; see the module comment. Emitter events: `'open'`, `'message'` (data,
 * isBinary), `'fragment'` (data, isBinary, first, last; with `streamMessages`), `'ping'`
 * (data), `'pong'` (data), `'close'` (code, reason), `'error'` (error), `'drain'`.
 */
export abstract class WebSocketFace extends EventTargetEmitter {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;

  #binaryType: BinaryType = 'nodebuffer';
  #protocol = '';
  #extensions = '';
  #handlers: Partial<Record<HandlerName, { handler: ((event: Event) => void) | null; listener: (event: Event) => void }>> | null = null;
  /** The origin of `url`, for MessageEvent (computed once). */
  #originValue: string | undefined;
  #sendQueue: QueuedSend[] | null = null;
  #queuedBytes = 0;
  /** Bytes given to `send`, `ping` or `pong` after the closing handshake started (they still count). */
  #bufferedAfterClose = 0;
  /** `close()` was called while sends wait behind a Blob: the close frame follows them. */
  #closeQueued = false;

  /** The engine this face drives; set by the subclass's constructor. */
  protected abstract get engine(): FaceEngine;

  get CONNECTING(): 0 {
    return ReadyState.CONNECTING;
  }
  get OPEN(): 1 {
    return ReadyState.OPEN;
  }
  get CLOSING(): 2 {
    return ReadyState.CLOSING;
  }
  get CLOSED(): 3 {
    return ReadyState.CLOSED;
  }

  // -------------------------------------------------------------------------------------------
  // Attributes
  // -------------------------------------------------------------------------------------------

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): ReadyState {
    const engine = this.engine;
    const state = engine.state;
    return state === ReadyState.OPEN && (engine.terminating || this.#closeQueued) ? ReadyState.CLOSING : state;
  }

  /** The URL connected to, serialized (`''` where there is none: a server-side socket). */
  abstract get url(): string;

  /** The agreed subprotocol, `''` for none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions in use, as the Sec-WebSocket-Extensions value of the response (`''` for none). */
  get extensions(): string {
    return this.#extensions;
  }

  /**
   * Bytes of message data given to `send` and not yet handed to the transport (WHATWG: it
   * keeps counting what is sent after the closing handshake started).
   */
  get bufferedAmount(): number {
    return this.engine.bufferedAmount + this.#queuedBytes + this.#bufferedAfterClose;
  }

  /** How binary messages are handed out. Unknown values are ignored, as the WHATWG setter does. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.has(type)) this.#binaryType = type;
  }

  /** Whether reading is paused (`pause()`). */
  get isPaused(): boolean {
    return this.engine.isPaused;
  }

  get onopen(): ((event: Event) => void) | null {
    return this.#getHandler('open');
  }
  set onopen(handler: ((event: Event) => void) | null) {
    this.#setHandler('open', handler);
  }
  get onmessage(): ((event: MessageEvent) => void) | null {
    return this.#getHandler('message');
  }
  set onmessage(handler: ((event: MessageEvent) => void) | null) {
    this.#setHandler('message', handler as ((event: Event) => void) | null);
  }
  get onerror(): ((event: ErrorEvent) => void) | null {
    return this.#getHandler('error');
  }
  set onerror(handler: ((event: ErrorEvent) => void) | null) {
    this.#setHandler('error', handler as ((event: Event) => void) | null);
  }
  get onclose(): ((event: CloseEvent) => void) | null {
    return this.#getHandler('close');
  }
  set onclose(handler: ((event: CloseEvent) => void) | null) {
    this.#setHandler('close', handler as ((event: Event) => void) | null);
  }

  // -------------------------------------------------------------------------------------------
  // Methods
  // -------------------------------------------------------------------------------------------

  /**
   * Send a message (WHATWG `send(data)`; `ws`'s `send(data, options, cb)`). Strings and
   * numbers are sent as text, everything else as binary unless `options.binary` says
   * otherwise. With `options.fin` false the data is a fragment and later sends continue the
   * message (RFC 6455 §5.4).
   *
   * @returns false when the bytes waiting to be written have reached `highWaterMark` (wait
   *   for `'drain'`) or the connection is not open; true otherwise.
   * @throws DOMException `InvalidStateError` while CONNECTING (WHATWG step 1).
   */
  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const engine = this.engine;
    const state = engine.state;
    // WHATWG send() step 1: "If this's ready state is CONNECTING, then throw an
    // "InvalidStateError" DOMException."
    if (state === ReadyState.CONNECTING) throw domException('the WebSocket is not open yet (CONNECTING)', 'InvalidStateError');
    let bytes: Uint8Array | null = null;
    let blob: Blob | null = null;
    let binary = true;
    if (typeof data === 'string') {
      bytes = this.encodeText(data);
      binary = false;
    } else if (typeof data === 'number') {
      bytes = this.encodeText(String(data));
      binary = false;
    } else if (data === undefined || data === null) {
      bytes = new Uint8Array(0);
    } else if (isBlob(data)) {
      blob = data;
    } else {
      bytes = bytesOf(data);
    }
    if (options?.binary !== undefined) binary = options.binary;
    const fin = options?.fin ?? true;
    const compress = options?.compress ?? true;
    const size = bytes !== null ? bytes.length : blob!.size;
    // Step 2: data that cannot be sent (the closing handshake started) still counts in
    // bufferedAmount; ws reports the failure through the callback.
    if (state !== ReadyState.OPEN || engine.terminating || this.#closeQueued) {
      this.#sentTooLate(size, callback);
      return false;
    }
    if (blob !== null || this.#sendQueue !== null) {
      this.#enqueue({ data: blob ?? bytes!, binary, fin, compress, callback }, size);
      return this.bufferedAmount < engine.highWaterMark;
    }
    return engine.send(bytes!, binary, fin, callback as WriteCallback | undefined, compress);
  }

  /**
   * Send a ping (RFC 6455 §5.5.2) with up to 125 bytes of application data. `mask` is
   * accepted for `ws` compatibility and ignored: a client masks every frame, a server none (§5.1).
   *
   * @throws DOMException `InvalidStateError` while CONNECTING; InvalidArgumentError over 125 bytes.
   */
  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void {
    this.#control('ping', data, mask, callback);
  }

  /** Send a pong (RFC 6455 §5.5.3: unsolicited pongs are a unidirectional heartbeat). See `ping`. */
  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void {
    this.#control('pong', data, mask, callback);
  }

  /**
   * Start the closing handshake (WHATWG `close(code, reason)`; RFC 6455 §7.1.2). Any code RFC
   * 6455 §7.4 allows on the wire may be sent (1000–1003, 1007–1014, 3000–4999), so a server
   * can say 1001 or 1011. A reason without a code sends 1000. While CONNECTING the connection
   * is abandoned: `error`, then `close` with 1006. Sends waiting behind a Blob go first.
   *
   * @throws DOMException `InvalidAccessError` for a code that may not be sent; `SyntaxError`
   *   for a reason longer than 123 bytes of UTF-8.
   */
  close(code?: number, reason?: string | Uint8Array): void {
    // WHATWG close() step 1: a code that cannot be sent → "InvalidAccessError".
    if (code !== undefined && !(Number.isInteger(code) && isValidCloseCode(code))) {
      throw domException(`invalid close code ${String(code)}: use 1000–1003, 1007–1014 or 3000–4999`, 'InvalidAccessError');
    }
    // Step 2: "If reasonBytes is longer than 123 bytes, then throw a "SyntaxError" DOMException."
    const reasonText = reason === undefined ? '' : typeof reason === 'string' ? reason : textDecoder.decode(reason);
    if (utf8Encode(reasonText).length > MAX_CLOSE_REASON) {
      throw domException(`the close reason is longer than ${MAX_CLOSE_REASON} bytes of UTF-8`, 'SyntaxError');
    }
    // "If code is null and reasonBytes is non-empty, set code to 1000."
    const status = code ?? (reasonText !== '' ? 1000 : undefined);
    const closeReason = status === undefined ? undefined : reasonText;
    // Step 3: CLOSING or CLOSED → nothing (but a completed closing handshake may still have
    // its transport to close); not yet established → fail the connection.
    const engine = this.engine;
    if (engine.state === ReadyState.CONNECTING) {
      this.abortHandshake();
      return;
    }
    if (this.#sendQueue !== null) {
      // The messages sent before close() go first (RFC 6455 §5.5.1: no data after the close frame).
      if (this.#closeQueued || engine.state !== ReadyState.OPEN) return;
      this.#closeQueued = true;
      this.#sendQueue.push({ data: null, code: status, reason: closeReason });
      return;
    }
    engine.close(status, closeReason);
  }

  /** Close at once, without a closing handshake; the close event (1006) follows. */
  terminate(): void {
    const state = this.engine.state;
    if (state === ReadyState.CLOSED) return;
    if (state === ReadyState.CONNECTING) {
      this.abortHandshake();
      return;
    }
    this.engine.terminate();
  }

  /** Stop taking messages in: the transport stops reading where it can. */
  pause(): void {
    const state = this.engine.state;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this.engine.pause();
  }

  /** Take messages in again after `pause()`. */
  resume(): void {
    const state = this.engine.state;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this.engine.resume();
  }

  /**
   * Read messages with `for await` (`messages(ws)` with the default options): text as
   * strings, binary as `binaryType` says. Ends when the connection closes; a connection that
   * failed ends the iteration with its error. Reading is paused while unread messages pile
   * up, and leaving the loop early closes the connection.
   */
  [Symbol.asyncIterator](): MessageIterator {
    return messages(this);
  }

  // -------------------------------------------------------------------------------------------
  // For the subclasses
  // -------------------------------------------------------------------------------------------

  /** Text to send, as UTF-8 bytes. */
  protected encodeText(text: string): Uint8Array {
    return utf8Encode(text);
  }

  /** Bytes as the `ws` listeners get them (`Buffer` in Node). */
  protected wrapBytes(bytes: Uint8Array): Uint8Array {
    return bytes;
  }

  /** A text message as the `ws` `'message'` listeners get it (a string; Node hands the bytes, as `ws` does). */
  protected textForListeners(bytes: Uint8Array): string | Uint8Array {
    return textDecoder.decode(bytes);
  }

  /** A close reason as the `ws` `'close'` listeners get it (a string; Node: a `Buffer`). */
  protected reasonForListeners(reason: string): string | Uint8Array {
    return reason;
  }

  /** Abandon a connection that is not established yet (`close()` / `terminate()` while CONNECTING). */
  protected abortHandshake(): void {
    this.engine.terminate();
  }

  /** Whether an error is the application's already (a handshake response it took over): then it is not reported. */
  protected ignoresError(_error: Error): boolean {
    return false;
  }

  /** Whether this face announces `'open'` (a server-side socket is open when the application gets it, and does not). */
  protected announcesOpen(): boolean {
    return true;
  }

  /** The terms of a connection opened elsewhere (a server-side socket's). */
  protected setTerms(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#extensions = extensionsHeaderOf(extensions);
    this.#protocol = protocol ?? '';
  }

  /** The sink the engine reports to (one per face). */
  protected createSink(): ConnectionSink {
    return new WebSocketFace.#Sink(this);
  }

  /** What the engine reports, handed to the face (one small object per connection). */
  static readonly #Sink = class implements ConnectionSink {
    readonly #face: WebSocketFace;
    constructor(face: WebSocketFace) {
      this.#face = face;
    }
    onOpen(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
      this.#face.#deliverOpen(protocol, extensions);
    }
    onMessage(data: Uint8Array, binary: boolean): void {
      this.#face.#deliverMessage(data, binary);
    }
    onFragment(data: Uint8Array, binary: boolean, first: boolean, last: boolean): void {
      this.#face.#deliverFragment(data, binary, first, last);
    }
    onPing(data: Uint8Array): void {
      this.#face.#deliverPing(data);
    }
    onPong(data: Uint8Array): void {
      this.#face.#deliverPong(data);
    }
    onError(error: Error): void {
      this.#face.#deliverError(error);
    }
    onClose(code: number, reason: string, wasClean: boolean): void {
      this.#face.#deliverClose(code, reason, wasClean);
    }
    onDrain(): void {
      this.#face.#deliverDrain();
    }
  };

  // -------------------------------------------------------------------------------------------
  // Delivery
  // -------------------------------------------------------------------------------------------

  #deliverOpen(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    // WHATWG "When the WebSocket connection is established": 1. ready state OPEN (the
    // engine's); 2. extensions in use; 3. the subprotocol in use; 4. fire "open".
    this.setTerms(protocol, extensions);
    if (!this.announcesOpen()) return;
    this.callListeners('open');
    if (this.hasTargetListeners('open')) this.dispatchSafely(new Event('open'));
  }

  /** A message: `data` is valid UTF-8 bytes for text, or binary bytes. */
  #deliverMessage(data: Uint8Array, binary: boolean): void {
    // WHATWG "When a WebSocket message has been received": text → a string; binary → as
    // binaryType says.
    if (binary) {
      const value = this.#binaryValue(data);
      this.callListeners('message', value, true);
      if (this.hasTargetListeners('message')) this.dispatchSafely(new MessageEvent('message', { data: value, origin: this.#origin() }));
      return;
    }
    const value = this.textForListeners(data);
    this.callListeners('message', value, false);
    if (this.hasTargetListeners('message')) {
      this.dispatchSafely(new MessageEvent('message', { data: typeof value === 'string' ? value : textDecoder.decode(data), origin: this.#origin() }));
    }
  }

  #deliverFragment(data: Uint8Array, binary: boolean, first: boolean, last: boolean): void {
    this.emit('fragment', this.wrapBytes(data), binary, first, last);
  }

  #deliverPing(data: Uint8Array): void {
    this.callListeners('ping', this.wrapBytes(data));
  }

  #deliverPong(data: Uint8Array): void {
    this.callListeners('pong', this.wrapBytes(data));
  }

  #deliverDrain(): void {
    this.callListeners('drain');
  }

  #deliverError(error: Error): void {
    if (this.ignoresError(error)) return;
    this.callListeners('error', error);
    if (this.hasTargetListeners('error')) this.dispatchSafely(new ErrorEvent('error', { error, message: error.message }));
  }

  /** The connection is closed (WHATWG: ready state CLOSED, then fire "close"). Always last. */
  #deliverClose(code: number, reason: string, wasClean: boolean): void {
    this.#failQueuedSends();
    this.callListeners('close', code, this.reasonForListeners(reason));
    if (this.hasTargetListeners('close')) this.dispatchSafely(new CloseEvent('close', { wasClean, code, reason }));
  }

  // -------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------

  #binaryValue(data: Uint8Array): Uint8Array | ArrayBuffer | Blob | Uint8Array[] {
    switch (this.#binaryType) {
      case 'arraybuffer': {
        if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data.buffer;
        // A copy of just these bytes (a Buffer's slice() would be a view of the whole chunk).
        const copy = new Uint8Array(data.byteLength);
        copy.set(data);
        return copy.buffer;
      }
      case 'blob':
        return new Blob([data as Uint8Array<ArrayBuffer>]);
      case 'fragments':
        // Messages are assembled before delivery, so a message is one fragment.
        return [this.wrapBytes(data)];
      default:
        return this.wrapBytes(data);
    }
  }

  #origin(): string {
    if (this.#originValue === undefined) {
      try {
        this.#originValue = this.url === '' ? '' : new URL(this.url).origin;
      } catch {
        this.#originValue = '';
      }
    }
    return this.#originValue;
  }

  /** A send after the closing handshake started: counted (WHATWG send() step 2), reported to its callback. */
  #sentTooLate(size: number, callback: SendCallback | undefined): void {
    this.#bufferedAfterClose += size;
    if (callback !== undefined) {
      const error = notOpenError(this.readyState);
      queueMicrotask(() => callback(error));
    }
  }

  #control(kind: 'ping' | 'pong', data: SendData | SendCallback | undefined, mask: boolean | SendCallback | undefined, callback: SendCallback | undefined): void {
    if (typeof data === 'function') {
      callback = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      callback = mask;
    }
    const engine = this.engine;
    const state = engine.state;
    if (state === ReadyState.CONNECTING) throw domException(`cannot send a ${kind}: the WebSocket is not open yet (CONNECTING)`, 'InvalidStateError');
    let bytes: Uint8Array;
    if (data === undefined || data === null) bytes = new Uint8Array(0);
    else if (typeof data === 'string' || typeof data === 'number') bytes = this.encodeText(String(data));
    else if (isBlob(data)) throw new TypeError(`a ${kind} cannot carry a Blob; pass its bytes`);
    else bytes = bytesOf(data);
    if (state !== ReadyState.OPEN || engine.terminating) {
      // As ws does: the bytes count in bufferedAmount, the callback hears why they were not sent.
      this.#sentTooLate(bytes.length, callback);
      return;
    }
    if (kind === 'ping') engine.ping(bytes, callback as WriteCallback | undefined);
    else engine.pong(bytes, callback as WriteCallback | undefined);
  }

  /** Keep sends (and a close) in order behind a Blob being read. */
  #enqueue(item: QueuedSend, size: number): void {
    const queue = (this.#sendQueue ??= []);
    queue.push(item);
    this.#queuedBytes += size;
    if (queue.length === 1) void this.#drainSendQueue(queue);
  }

  async #drainSendQueue(queue: QueuedSend[]): Promise<void> {
    const engine = this.engine;
    while (queue.length > 0) {
      const item = queue[0]!;
      if (item.data === null) {
        queue.shift();
        this.#closeQueued = false;
        engine.close(item.code, item.reason);
        continue;
      }
      const size = item.data instanceof Uint8Array ? item.data.length : item.data.size;
      let bytes: Uint8Array;
      try {
        bytes = item.data instanceof Uint8Array ? item.data : new Uint8Array(await item.data.arrayBuffer());
      } catch (error) {
        if (this.#sendQueue !== queue) return;
        queue.shift();
        this.#queuedBytes -= size;
        item.callback?.(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (this.#sendQueue !== queue) return;
      queue.shift();
      this.#queuedBytes -= size;
      if (engine.state !== ReadyState.OPEN || engine.terminating) {
        this.#bufferedAfterClose += size;
        item.callback?.(notOpenError(this.readyState));
        continue;
      }
      engine.send(bytes, item.binary, item.fin, item.callback as WriteCallback | undefined, item.compress);
    }
    if (this.#sendQueue === queue) this.#sendQueue = null;
  }

  #failQueuedSends(): void {
    const queue = this.#sendQueue;
    if (queue === null) return;
    this.#sendQueue = null;
    this.#closeQueued = false;
    this.#bufferedAfterClose += this.#queuedBytes;
    this.#queuedBytes = 0;
    const error = new WebSocketError('the WebSocket closed before the data was sent', ErrorCode.INVALID_STATE);
    for (const item of queue) if (item.data !== null) item.callback?.(error);
  }

  #getHandler<E extends Event>(type: HandlerName): ((event: E) => void) | null {
    return (this.#handlers?.[type]?.handler ?? null) as ((event: E) => void) | null;
  }

  /** HTML event handler IDL attributes: one listener per type, registered on first set. */
  #setHandler(type: HandlerName, handler: ((event: Event) => void) | null): void {
    const handlers = (this.#handlers ??= {});
    const value = typeof handler === 'function' ? handler : null;
    const existing = handlers[type];
    if (existing !== undefined) {
      existing.handler = value;
      return;
    }
    if (value === null) return;
    const entry = {
      handler: value as ((event: Event) => void) | null,
      listener: (event: Event): void => {
        entry.handler?.call(this, event);
      },
    };
    handlers[type] = entry;
    this.addEventListener(type, entry.listener);
  }
}
