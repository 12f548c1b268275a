/**
 * The face of every WebSocket here — the Node client and server-side socket
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
 * How it is built
 * ---------------
 * The faces have two event bases: the Node `WebSocket` is an `EventEmitter` (as `ws`'s is),
 * the web faces are `EventTarget`s, and no object can inherit from both. So the face's logic
 * and state live in one helper object per socket, `FaceCore`, which reaches the object's
 * listeners through the port its event base gives (`FaceEvents`), and the public members are
 * defined once (`defineFaceSurface`) on each face class's prototype — `WebSocketFace` for the
 * web faces, the Node `WebSocket` — each forwarding to the socket's core. The accessors are
 * enumerable and the readyState constants read-only, as in `ws`.
 *
 * The classes keep only their construction and how bytes and text are typed (`FaceTyping`):
 * in Node binary data and text reach `ws` listeners as `Buffer`s and the close reason is a
 * `Buffer`; on the web text is a string and bytes are `Uint8Array`s.
 */
import type { WriteCallback } from '../adapters/driver.js';
import { extensionsHeaderOf, type ConnectionSink } from '../adapters/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import type { Extension } from '../protocol/extension.js';
import { STATE_NAMES } from '../protocol/connection.js';
import { concatBytes, utf8Encode } from '../shared/bytes.js';
import { isValidCloseCode, MAX_CLOSE_REASON, ReadyState } from '../shared/constants.js';
import { ErrorCode, WebSocketError, type WsErrorClass } from '../shared/errors.js';
import { CloseEvent, ErrorEvent, EventTargetEmitter, type FaceEvents, MessageEvent } from './events.js';
import { type IterableSocket, messages, type MessageIterator } from './message-iterator.js';

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
  /** Text as a string is encoded by the core, once, into the frame that is written. */
  send(data: string | Uint8Array, binary: boolean, fin: boolean, callback: WriteCallback | undefined, compress: boolean): boolean;
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

/**
 * What a face throws where the WHATWG API throws the DOMException `name` and `ws` an error
 * of class `wsClass`: web faces throw the DOMException; the Node face `dualError` (both).
 */
export type FaceErrorFactory = (message: string, name: string, wsClass: WsErrorClass) => Error;

/** The web faces' errors: the WHATWG API's DOMExceptions. */
export const WEB_ERRORS: FaceErrorFactory = (message, name) => new DOMException(message, name);

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

/** How a face types what its listeners get and what it sends. */
export interface FaceTyping {
  /** Text to send, as UTF-8 bytes. */
  encodeText(text: string): Uint8Array;
  /** Bytes as the `ws` listeners get them (`Buffer` in Node). */
  wrapBytes(bytes: Uint8Array): Uint8Array;
  /** A text message as the `ws` `'message'` listeners get it (a string; Node hands the bytes, as `ws` does). */
  textForListeners(bytes: Uint8Array): string | Uint8Array;
  /** A close reason as the `ws` `'close'` listeners get it (a string; Node: a `Buffer`). */
  reasonForListeners(reason: string): string | Uint8Array;
  /** The errors the methods throw (see `FaceErrorFactory`). */
  readonly error: FaceErrorFactory;
}

/** The web faces' typing: text as strings, bytes as `Uint8Array`s. */
export const WEB_TYPING: FaceTyping = {
  encodeText: utf8Encode,
  wrapBytes: (bytes) => bytes,
  textForListeners: (bytes) => textDecoder.decode(bytes),
  reasonForListeners: (reason) => reason,
  error: WEB_ERRORS,
};

/** What a face class may change in its core's behaviour (the Node client's HTTP exchange). */
export interface FaceHooks {
  /** Abandon a connection that is not established yet (`close()` / `terminate()` while CONNECTING); default: terminate the engine. */
  abortHandshake?(): void;
  /** Whether the face announces `'open'`; default true (a server-side socket is open when the application gets it, and does not). */
  readonly announcesOpen?: boolean;
  /** The connection closed: called before the `close` listeners (a server stops counting the socket). Must not throw. */
  closed?(owner: FaceOwner): void;
}

/** The object a core serves: the face the application holds. */
export interface FaceOwner extends IterableSocket {
  readonly url: string;
}

/** Where a face object keeps its core (not part of the package's surface, nor of its types). */
const FACE: unique symbol = Symbol('wasmsocket.face');

interface FaceHolder {
  [FACE]: FaceCore;
}

/** The core of a face object (for the members `defineFaceSurface` puts on its class). */
export function faceOf(face: object): FaceCore {
  return (face as FaceHolder)[FACE];
}

/** Give a face object its core, in its constructor. */
export function attachFace(face: object, core: FaceCore): FaceCore {
  (face as FaceHolder)[FACE] = core;
  return core;
}

/**
 * The logic and state of one socket's face (see the module comment): the WHATWG and `ws`
 * algorithms of every public member, the send queue, the handler attributes, and the sink
 * the engine reports to.
 */
export class FaceCore implements ConnectionSink {
  readonly #owner: FaceOwner;
  readonly #events: FaceEvents;
  readonly #typing: FaceTyping;
  readonly #hooks: FaceHooks | undefined;
  #engine: FaceEngine | null = null;
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
  /** Whether the closing handshake completed, once the connection closed (for a `CloseEvent` built later). */
  #wasClean = false;
  /**
   * The opening handshake failed and its error is being reported: the connection is closing
   * (ws: CLOSING in the `'error'` listener, CLOSED at `'close'`), so a send there is too late
   * rather than too early.
   */
  #handshakeFailed = false;

  constructor(owner: FaceOwner, events: FaceEvents, typing: FaceTyping, hooks?: FaceHooks) {
    this.#owner = owner;
    this.#events = events;
    this.#typing = typing;
    this.#hooks = hooks;
  }

  /** The engine this face drives; given once, right after construction. */
  get engine(): FaceEngine {
    return this.#engine!;
  }
  set engine(engine: FaceEngine) {
    this.#engine = engine;
  }

  /** The sink the engine reports to: the face itself. */
  get sink(): ConnectionSink {
    return this;
  }

  // -------------------------------------------------------------------------------------------
  // Attributes
  // -------------------------------------------------------------------------------------------

  get readyState(): ReadyState {
    const engine = this.#engine!;
    const state = engine.state;
    if (state === ReadyState.CONNECTING) return this.#handshakeFailed ? ReadyState.CLOSING : state;
    return state === ReadyState.OPEN && (engine.terminating || this.#closeQueued) ? ReadyState.CLOSING : state;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get bufferedAmount(): number {
    return this.#engine!.bufferedAmount + this.#queuedBytes + this.#bufferedAfterClose;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.has(type)) this.#binaryType = type;
  }

  get isPaused(): boolean {
    return this.#engine!.isPaused;
  }

  /** The terms of a connection opened elsewhere (a server-side socket's). */
  setTerms(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#extensions = extensionsHeaderOf(extensions);
    this.#protocol = protocol ?? '';
  }

  getHandler<E extends Event>(type: HandlerName): ((event: E) => void) | null {
    return (this.#handlers?.[type]?.handler ?? null) as ((event: E) => void) | null;
  }

  /** HTML event handler IDL attributes: one listener per type, registered on first set. */
  setHandler(type: HandlerName, handler: ((event: Event) => void) | null): void {
    const handlers = (this.#handlers ??= {});
    const value = typeof handler === 'function' ? handler : null;
    const existing = handlers[type];
    if (existing !== undefined) {
      existing.handler = value;
      return;
    }
    if (value === null) return;
    const owner = this.#owner;
    const entry = {
      handler: value as ((event: Event) => void) | null,
      listener: (event: Event): void => {
        entry.handler?.call(owner, event);
      },
    };
    handlers[type] = entry;
    this.#events.addHandlerListener(owner, type, entry.listener);
  }

  // -------------------------------------------------------------------------------------------
  // Methods
  // -------------------------------------------------------------------------------------------

  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const engine = this.#engine!;
    const state = engine.state;
    // WHATWG send() step 1: "If this's ready state is CONNECTING, then throw an
    // "InvalidStateError" DOMException." (Not while a failed handshake is being reported: CLOSING.)
    if (state === ReadyState.CONNECTING && !this.#handshakeFailed) throw this.#typing.error('the WebSocket is not open yet (CONNECTING)', 'InvalidStateError', Error);
    let text: string | null = null;
    let bytes: Uint8Array | null = null;
    let blob: Blob | null = null;
    let binary = true;
    if (typeof data === 'string') {
      text = data;
      binary = false;
    } else if (typeof data === 'number') {
      text = String(data);
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
    // Text goes to the core as a string, encoded once into the frame that is written; it is
    // made bytes here only to be sent as binary, to wait in the queue, or to be counted.
    if (text !== null && (binary || state !== ReadyState.OPEN || engine.terminating || this.#closeQueued || this.#sendQueue !== null)) {
      bytes = this.#typing.encodeText(text);
      text = null;
    }
    // Step 2: data that cannot be sent (the closing handshake started) still counts in
    // bufferedAmount; ws reports the failure through the callback.
    if (state !== ReadyState.OPEN || engine.terminating || this.#closeQueued) {
      this.#sentTooLate(bytes !== null ? bytes.length : blob!.size, callback);
      return false;
    }
    if (blob !== null || this.#sendQueue !== null) {
      this.#enqueue({ data: blob ?? bytes!, binary, fin, compress, callback }, bytes !== null ? bytes.length : blob!.size);
      return this.bufferedAmount < engine.highWaterMark;
    }
    return engine.send(text ?? bytes!, binary, fin, callback as WriteCallback | undefined, compress);
  }

  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void {
    this.#control('ping', data, mask, callback);
  }

  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void {
    this.#control('pong', data, mask, callback);
  }

  close(code?: number, reason?: string | Uint8Array): void {
    // WHATWG close() step 1: a code that cannot be sent → "InvalidAccessError".
    if (code !== undefined && !(Number.isInteger(code) && isValidCloseCode(code))) {
      throw this.#typing.error(`invalid close code ${String(code)}: use 1000–1003, 1007–1014 or 3000–4999`, 'InvalidAccessError', TypeError);
    }
    // Step 2: "If reasonBytes is longer than 123 bytes, then throw a "SyntaxError" DOMException."
    const reasonText = reason === undefined ? '' : typeof reason === 'string' ? reason : textDecoder.decode(reason);
    if (utf8Encode(reasonText).length > MAX_CLOSE_REASON) {
      throw this.#typing.error(`the close reason is longer than ${MAX_CLOSE_REASON} bytes of UTF-8`, 'SyntaxError', RangeError);
    }
    // "If code is null and reasonBytes is non-empty, set code to 1000."
    const status = code ?? (reasonText !== '' ? 1000 : undefined);
    const closeReason = status === undefined ? undefined : reasonText;
    // Step 3: CLOSING or CLOSED → nothing (but a completed closing handshake may still have
    // its transport to close); not yet established → fail the connection.
    const engine = this.#engine!;
    if (engine.state === ReadyState.CONNECTING) {
      if (!this.#handshakeFailed) this.#abortHandshake();
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

  terminate(): void {
    const engine = this.#engine!;
    const state = engine.state;
    if (state === ReadyState.CLOSED) return;
    if (state === ReadyState.CONNECTING) {
      if (!this.#handshakeFailed) this.#abortHandshake();
      return;
    }
    engine.terminate();
  }

  pause(): void {
    const state = this.#engine!.state;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this.#engine!.pause();
  }

  resume(): void {
    const state = this.#engine!.state;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this.#engine!.resume();
  }

  messages(): MessageIterator {
    return messages(this.#owner);
  }

  /**
   * The WHATWG event for an emitter event of `type` and its arguments: `'message'` (data,
   * isBinary) → `MessageEvent` (text as a string, binary as `binaryType` shaped it),
   * `'close'` (code, reason) → `CloseEvent`, `'error'` (error) → `ErrorEvent`, others → `Event`.
   */
  eventFor(type: string, args: readonly unknown[]): Event {
    switch (type) {
      case 'message': {
        const [data, isBinary] = args as [MessageData, boolean];
        const text = isBinary ? data : typeof data === 'string' ? data : textDecoder.decode(data as Uint8Array);
        return new MessageEvent('message', { data: text, origin: this.#origin() });
      }
      case 'close': {
        const [code, reason] = args as [number, string | Uint8Array];
        return new CloseEvent('close', { wasClean: this.#wasClean, code, reason: typeof reason === 'string' ? reason : textDecoder.decode(reason) });
      }
      case 'error': {
        const error = args[0] as Error;
        return new ErrorEvent('error', { error, message: error?.message ?? '' });
      }
      default:
        return new Event(type);
    }
  }

  // -------------------------------------------------------------------------------------------
  // What the engine reports (the face is its own `ConnectionSink`: no object of its own per connection)
  // -------------------------------------------------------------------------------------------

  onOpen(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#deliverOpen(protocol, extensions);
  }
  onMessage(data: Uint8Array, binary: boolean): void {
    this.#deliverMessage(data, binary);
  }
  onFragment(data: Uint8Array, binary: boolean, first: boolean, last: boolean): void {
    this.#events.emit(this.#owner, 'fragment', this.#typing.wrapBytes(data), binary, first, last);
  }
  onPing(data: Uint8Array): void {
    this.#events.call(this.#owner, 'ping', this.#typing.wrapBytes(data));
  }
  onPong(data: Uint8Array): void {
    this.#events.call(this.#owner, 'pong', this.#typing.wrapBytes(data));
  }
  onError(error: Error): void {
    this.#deliverError(error);
  }
  onClose(code: number, reason: string, wasClean: boolean): void {
    this.#deliverClose(code, reason, wasClean);
  }
  onDrain(): void {
    this.#events.call(this.#owner, 'drain');
  }

  // -------------------------------------------------------------------------------------------
  // Delivery
  // -------------------------------------------------------------------------------------------

  #deliverOpen(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    // WHATWG "When the WebSocket connection is established": 1. ready state OPEN (the
    // engine's); 2. extensions in use; 3. the subprotocol in use; 4. fire "open".
    this.setTerms(protocol, extensions);
    if (this.#hooks?.announcesOpen === false) return;
    const events = this.#events;
    events.call(this.#owner, 'open');
    if (events.wants(this.#owner, 'open')) events.dispatch(this.#owner, new Event('open'));
  }

  /** A message: `data` is valid UTF-8 bytes for text, or binary bytes. */
  #deliverMessage(data: Uint8Array, binary: boolean): void {
    // WHATWG "When a WebSocket message has been received": text → a string; binary → as
    // binaryType says.
    const events = this.#events;
    const value = binary ? this.#binaryValue(data) : this.#typing.textForListeners(data);
    events.call(this.#owner, 'message', value, binary);
    if (events.wants(this.#owner, 'message')) events.dispatch(this.#owner, this.eventFor('message', [value, binary]));
  }

  #deliverError(error: Error): void {
    if (this.#engine!.state === ReadyState.CONNECTING) this.#handshakeFailed = true;
    const events = this.#events;
    events.call(this.#owner, 'error', error);
    if (events.wants(this.#owner, 'error')) events.dispatch(this.#owner, this.eventFor('error', [error]));
  }

  /** The connection is closed (WHATWG: ready state CLOSED, then fire "close"). Always last. */
  #deliverClose(code: number, reason: string, wasClean: boolean): void {
    this.#failQueuedSends();
    this.#wasClean = wasClean;
    this.#hooks?.closed?.(this.#owner);
    const events = this.#events;
    events.call(this.#owner, 'close', code, this.#typing.reasonForListeners(reason));
    if (events.wants(this.#owner, 'close')) events.dispatch(this.#owner, new CloseEvent('close', { wasClean, code, reason }));
  }

  // -------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------

  #abortHandshake(): void {
    const hooks = this.#hooks;
    if (hooks?.abortHandshake !== undefined) hooks.abortHandshake();
    else this.#engine!.terminate();
  }

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
        return [this.#typing.wrapBytes(data)];
      default:
        return this.#typing.wrapBytes(data);
    }
  }

  #origin(): string {
    if (this.#originValue === undefined) {
      try {
        const url = this.#owner.url;
        this.#originValue = url === '' ? '' : new URL(url).origin;
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
    const engine = this.#engine!;
    const state = engine.state;
    if (state === ReadyState.CONNECTING && !this.#handshakeFailed) {
      throw this.#typing.error(`cannot send a ${kind}: the WebSocket is not open yet (CONNECTING)`, 'InvalidStateError', Error);
    }
    let bytes: Uint8Array;
    if (data === undefined || data === null) bytes = new Uint8Array(0);
    else if (typeof data === 'string' || typeof data === 'number') bytes = this.#typing.encodeText(String(data));
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
    const engine = this.#engine!;
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
      } catch (thrown) {
        if (this.#sendQueue !== queue) return;
        this.#blobFailed(queue, thrown instanceof Error ? thrown : new Error(String(thrown)));
        return;
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

  /**
   * A Blob could not be read: as ws does, this send's callback and those of every send
   * waiting behind it get the error, `'error'` is emitted, and the connection is dropped (the
   * close, 1006, follows) — the message cannot be sent, and the ones after it must not be
   * sent without it.
   */
  #blobFailed(queue: QueuedSend[], error: Error): void {
    this.#sendQueue = null;
    this.#closeQueued = false;
    this.#bufferedAfterClose += this.#queuedBytes;
    this.#queuedBytes = 0;
    for (const item of queue) if (item.data !== null) item.callback?.(error);
    this.#deliverError(error);
    this.#engine!.terminate();
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
}

/** The WHATWG events of every face, by type (as the DOM's `WebSocketEventMap`). */
export interface FaceEventMap {
  open: Event;
  message: MessageEvent;
  error: ErrorEvent;
  close: CloseEvent;
}

/** A listener of one of those events: a function or an object with `handleEvent`. */
export type FaceEventListener<E extends Event> = ((event: E) => void) | { handleEvent(event: E): void };

/** A listener of an event handler attribute (`this` is the socket). */
type Handler<E extends Event> = ((event: E) => void) | null;

/**
 * The public members every face has. Each forwards to the socket's `FaceCore`;
 * `defineFaceSurface` puts them on a face class's prototype (this class is never
 * instantiated), and the class takes their types by declaration merging.
 */
export abstract class FaceSurface {
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;
  /** The URL connected to, serialized (`''` where there is none: a server-side socket). */
  abstract get url(): string;

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): ReadyState {
    return faceOf(this).readyState;
  }

  /** The agreed subprotocol, `''` for none. */
  get protocol(): string {
    return faceOf(this).protocol;
  }

  /** The extensions in use, as the Sec-WebSocket-Extensions value of the response (`''` for none). */
  get extensions(): string {
    return faceOf(this).extensions;
  }

  /**
   * Bytes of message data given to `send` and not yet handed to the transport (WHATWG: it
   * keeps counting what is sent after the closing handshake started).
   */
  get bufferedAmount(): number {
    return faceOf(this).bufferedAmount;
  }

  /** How binary messages are handed out. Unknown values are ignored, as the WHATWG setter does. */
  get binaryType(): BinaryType {
    return faceOf(this).binaryType;
  }
  set binaryType(type: BinaryType) {
    faceOf(this).binaryType = type;
  }

  /** Whether reading is paused (`pause()`). */
  get isPaused(): boolean {
    return faceOf(this).isPaused;
  }

  /** The `open` event handler. */
  get onopen(): Handler<Event> {
    return faceOf(this).getHandler('open');
  }
  set onopen(handler: Handler<Event>) {
    faceOf(this).setHandler('open', handler);
  }
  /** The `message` event handler (a `MessageEvent`: text as a string, binary as `binaryType` says). */
  get onmessage(): Handler<MessageEvent> {
    return faceOf(this).getHandler('message');
  }
  set onmessage(handler: Handler<MessageEvent>) {
    faceOf(this).setHandler('message', handler as Handler<Event>);
  }
  /** The `error` event handler (an `ErrorEvent` carrying the error). */
  get onerror(): Handler<ErrorEvent> {
    return faceOf(this).getHandler('error');
  }
  set onerror(handler: Handler<ErrorEvent>) {
    faceOf(this).setHandler('error', handler as Handler<Event>);
  }
  /** The `close` event handler (a `CloseEvent`). */
  get onclose(): Handler<CloseEvent> {
    return faceOf(this).getHandler('close');
  }
  set onclose(handler: Handler<CloseEvent>) {
    faceOf(this).setHandler('close', handler as Handler<Event>);
  }

  /**
   * Send a message (WHATWG `send(data)`; `ws`'s `send(data, options, cb)`). Strings and
   * numbers are sent as text, everything else as binary unless `options.binary` says
   * otherwise. With `options.fin` false the data is a fragment and later sends continue the
   * message (RFC 6455 §5.4).
   *
   * @returns false when the bytes waiting to be written have reached `highWaterMark` (wait
   *   for `'drain'`) or the connection is not open; true otherwise.
   * @throws `InvalidStateError` while CONNECTING (WHATWG step 1): a DOMException on the web
   *   faces; in Node an `Error` with that name, as `ws` throws an `Error`.
   */
  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): boolean {
    return faceOf(this).send(data, options, callback);
  }

  /**
   * Send a ping (RFC 6455 §5.5.2) with up to 125 bytes of application data. `mask` is
   * accepted for `ws` compatibility and ignored: a client masks every frame, a server none (§5.1).
   *
   * @throws DOMException `InvalidStateError` while CONNECTING; InvalidArgumentError over 125 bytes.
   */
  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void {
    faceOf(this).ping(data, mask, callback);
  }

  /** Send a pong (RFC 6455 §5.5.3: unsolicited pongs are a unidirectional heartbeat). See `ping`. */
  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void {
    faceOf(this).pong(data, mask, callback);
  }

  /**
   * Start the closing handshake (WHATWG `close(code, reason)`; RFC 6455 §7.1.2). Any code RFC
   * 6455 §7.4 allows on the wire may be sent (1000–1003, 1007–1014, 3000–4999), so a server
   * can say 1001 or 1011. A reason without a code sends 1000. While CONNECTING the connection
   * is abandoned: `error`, then `close` with 1006. Sends waiting behind a Blob go first.
   *
   * @throws `InvalidAccessError` for a code that may not be sent, `SyntaxError` for a reason
   *   longer than 123 bytes of UTF-8: DOMExceptions on the web faces; in Node a `TypeError`
   *   and a `RangeError` with those names, as `ws` throws those classes.
   */
  close(code?: number, reason?: string | Uint8Array): void {
    faceOf(this).close(code, reason);
  }

  /** Close at once, without a closing handshake; the close event (1006) follows. */
  terminate(): void {
    faceOf(this).terminate();
  }

  /** Stop taking messages in: the transport stops reading where it can. */
  pause(): void {
    faceOf(this).pause();
  }

  /** Take messages in again after `pause()`. */
  resume(): void {
    faceOf(this).resume();
  }

  /**
   * Read messages with `for await` (`messages(ws)` with the default options): text as
   * strings, binary as `binaryType` says. Ends when the connection closes; a connection that
   * failed ends the iteration with its error. Reading is paused while unread messages pile
   * up, and leaving the loop early closes the connection.
   */
  [Symbol.asyncIterator](): MessageIterator {
    return faceOf(this).messages();
  }
}

/** The readyState constants, as `ws` defines them: enumerable and read-only, on the class and its prototype. */
const READY_STATE_CONSTANTS = { CONNECTING: ReadyState.CONNECTING, OPEN: ReadyState.OPEN, CLOSING: ReadyState.CLOSING, CLOSED: ReadyState.CLOSED };

/** A face class (its constructor may be private). */
type FaceClass = { readonly prototype: object };

/** The accessors `ws` makes enumerable. */
const ENUMERABLE_ACCESSORS = ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url', 'onopen', 'onmessage', 'onerror', 'onclose'];

/**
 * Give `faceClass` every face's public members (see `FaceSurface`), and the readyState
 * constants; its own accessors among those `ws` makes enumerable (`url`) become so too.
 */
export function defineFaceSurface(faceClass: FaceClass): void {
  const prototype = faceClass.prototype as object;
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(FaceSurface.prototype))) {
    if (name === 'constructor') continue;
    Object.defineProperty(prototype, name, { ...descriptor, enumerable: descriptor.get !== undefined });
  }
  const iterator = Object.getOwnPropertyDescriptor(FaceSurface.prototype, Symbol.asyncIterator)!;
  Object.defineProperty(prototype, Symbol.asyncIterator, iterator);
  for (const [name, value] of Object.entries(READY_STATE_CONSTANTS)) {
    Object.defineProperty(faceClass, name, { value, enumerable: true, writable: false, configurable: false });
    Object.defineProperty(prototype, name, { value, enumerable: true, writable: false, configurable: false });
  }
  makeAccessorsEnumerable(faceClass);
}

/** Make the accessors `ws` has enumerable where `faceClass`'s prototype defines them itself (`url`, overrides). */
export function makeAccessorsEnumerable(faceClass: FaceClass): void {
  const prototype = faceClass.prototype as object;
  for (const name of ENUMERABLE_ACCESSORS) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    if (descriptor !== undefined && !descriptor.enumerable) Object.defineProperty(prototype, name, { ...descriptor, enumerable: true });
  }
}

/**
 * The event base of the web faces (`StreamWebSocket` and the page client): an `EventTarget`
 * that also speaks the `EventEmitter` dialect (`EventTargetEmitter`), with every face's
 * members (`FaceSurface`). Emitter events: `'open'`, `'message'` (data, isBinary),
 * `'fragment'` (data, isBinary, first, last; with `streamMessages`), `'ping'` (data),
 * `'pong'` (data), `'close'` (code, reason), `'error'` (error), `'drain'`.
 */
export abstract class WebSocketFace extends EventTargetEmitter {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  constructor() {
    super();
    attachFace(this, new FaceCore(this, this.faceEvents(), WEB_TYPING));
  }
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocketFace extends FaceSurface {
  addEventListener<K extends keyof FaceEventMap>(type: K, listener: FaceEventListener<FaceEventMap[K]>, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof FaceEventMap>(type: K, listener: FaceEventListener<FaceEventMap[K]>, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
defineFaceSurface(WebSocketFace);
