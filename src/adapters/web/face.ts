/**
 * The client face shared by the web transports: one object that is both a `ws`-style emitter
 * (`on('message', (data, isBinary) => …)`, `send(data, options, cb)`, `ping`, `terminate`,
 * `pause`) and a WHATWG `WebSocket` (`EventTarget`, `onmessage`, `binaryType`, `readyState`),
 * so that application code written against the Node client runs unchanged in a page or a
 * worker. Subclasses supply the transport: the browser's own `WebSocket`
 * (`api/browser-websocket.ts`) or the protocol core over a stream pair (`stream-transport.ts`).
 *
 * What listeners receive, on both faces:
 * - a text message as a `string` (the Node client's `Buffer` converts with `toString()`;
 *   so does a string, so `JSON.parse(data)` and `String(data)` work in both places);
 * - a binary message per `binaryType`: `'nodebuffer'` (the default, as in `ws`) gives a
 *   `Uint8Array` (a `Buffer` is one, so code that treats it as bytes runs in both places),
 *   `'arraybuffer'` an `ArrayBuffer`, `'blob'` a `Blob`;
 * - `close` with `(code, reason)`, `reason` as a `string`; the WHATWG `CloseEvent` has
 *   `code`, `reason` and `wasClean`.
 */
import type { HttpRequestHead, HttpResponseHead } from '../../handshake/http.js';
import { ReadyState } from '../../shared/constants.js';
import { InvalidStateError } from '../../shared/errors.js';
import { Emitter } from './emitter.js';

/** How binary messages are handed to listeners (see the module comment). */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'blob';

/** What a `message` listener receives. */
export type ReceivedData = string | Uint8Array | ArrayBuffer | Blob;

/** What `send` takes: a string is sent as text, anything else as binary (unless `options.binary` says otherwise). */
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob;

/** Options of `send`, as in `ws`. */
export interface SendOptions {
  /** Send as a binary message (true) or a text message (false); default: binary unless `data` is a string. */
  readonly binary?: boolean;
  /** Whether this is the last fragment of the message (default true; `false` starts or continues a fragmented message). */
  readonly fin?: boolean;
}

/** Called once the data was handed to the transport, or with the error that prevented it. */
export type SendCallback = (error?: Error) => void;

/** The `ws`-style events and their listener arguments. */
export interface WebSocketEvents {
  [event: string]: unknown[];
  /** The opening handshake's response (client) or request (server) head, just before `open`. */
  upgrade: [head: HttpRequestHead | HttpResponseHead];
  open: [];
  message: [data: ReceivedData, isBinary: boolean];
  ping: [data: Uint8Array];
  pong: [data: Uint8Array];
  close: [code: number, reason: string];
  error: [error: Error];
}

type HandlerType = 'open' | 'message' | 'close' | 'error';
/** A WHATWG event handler attribute's value (`onmessage`, …). */
export type EventHandler = ((this: WebSocketFace, event: Event) => unknown) | null;

const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

/** The name of a readyState, for messages. */
export function readyStateName(state: number): string {
  return STATE_NAMES[state] ?? String(state);
}

function closeEvent(code: number, reason: string, wasClean: boolean): Event {
  if (typeof CloseEvent === 'function') return new CloseEvent('close', { code, reason, wasClean });
  // Runtimes without CloseEvent (Node before 23) get an Event with the same fields.
  return Object.defineProperties(new Event('close'), {
    code: { value: code, enumerable: true },
    reason: { value: reason, enumerable: true },
    wasClean: { value: wasClean, enumerable: true },
  });
}

function errorEvent(error: Error): Event {
  if (typeof ErrorEvent === 'function') return new ErrorEvent('error', { error, message: error.message });
  return Object.defineProperties(new Event('error'), {
    error: { value: error, enumerable: true },
    message: { value: error.message, enumerable: true },
  });
}

/** A view of any binary value as a Uint8Array, without copying. */
function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** See the module comment. */
export abstract class WebSocketFace extends EventTarget {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  readonly CONNECTING = ReadyState.CONNECTING;
  readonly OPEN = ReadyState.OPEN;
  readonly CLOSING = ReadyState.CLOSING;
  readonly CLOSED = ReadyState.CLOSED;

  readonly #emitter = new Emitter<WebSocketEvents>(this);
  #binaryType: BinaryType = 'nodebuffer';
  readonly #handlers: Record<HandlerType, EventHandler> = { open: null, message: null, close: null, error: null };
  readonly #handlerListeners: Record<HandlerType, (event: Event) => void>;
  /** Whether a WHATWG listener for `message` was ever added: until then no MessageEvent is built. */
  #messageListened = false;
  #paused = false;
  /** Deliveries held while paused, in order. */
  #held: (() => void)[] = [];

  protected constructor() {
    super();
    const call = (type: HandlerType) => (event: Event) => {
      this.#handlers[type]?.call(this, event);
    };
    this.#handlerListeners = { open: call('open'), message: call('message'), close: call('close'), error: call('error') };
  }

  // -------------------------------------------------------------------------------------------
  // State, for subclasses to report
  // -------------------------------------------------------------------------------------------

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  abstract get readyState(): ReadyState;
  /** Bytes handed to `send` (and control frames) not yet taken by the transport. */
  abstract get bufferedAmount(): number;
  /** The agreed subprotocol, or `''`. */
  abstract get protocol(): string;
  /** The agreed extensions as the server's Sec-WebSocket-Extensions value, or `''`. */
  abstract get extensions(): string;
  /** The URL the client connected to (`''` when the transport has none). */
  abstract get url(): string;

  /**
   * How binary messages are handed to listeners: `'nodebuffer'` (a `Uint8Array`, the
   * default), `'arraybuffer'` or `'blob'`. Other values are ignored, as the WHATWG setter does.
   */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(type: BinaryType) {
    if (type === 'nodebuffer' || type === 'arraybuffer' || type === 'blob') this.#binaryType = type;
  }

  // -------------------------------------------------------------------------------------------
  // Sending and closing
  // -------------------------------------------------------------------------------------------

  /**
   * Send a message (`ws` semantics): a string as text, bytes or a Blob as binary, unless
   * `options.binary` says otherwise. `callback` runs once the transport has the data, or with
   * the error that stopped it. While CLOSING or CLOSED nothing is sent and `callback` gets an
   * `InvalidStateError`.
   *
   * @throws InvalidStateError while CONNECTING (wait for `open`).
   */
  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): void {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) throw new InvalidStateError('cannot send: the WebSocket is CONNECTING (wait for open)');
    const payload = typeof data === 'string' || (typeof Blob === 'function' && data instanceof Blob) ? data : toBinary(data);
    if (state !== ReadyState.OPEN) {
      this.failCallback(callback, `cannot send: the WebSocket is ${readyStateName(state)}`);
      return;
    }
    const binary = options?.binary ?? typeof payload !== 'string';
    this.sendMessage(payload, binary, options?.fin ?? true, callback);
  }

  /**
   * Start the closing handshake (while OPEN), or abandon the opening one (while CONNECTING);
   * nothing while CLOSING or CLOSED.
   */
  abstract close(code?: number, reason?: string): void;
  /** Close the transport at once, without a closing handshake (the close event reports 1006). */
  abstract terminate(): void;
  /** Send a ping with up to 125 bytes of payload. */
  abstract ping(data?: SendData, mask?: boolean, callback?: SendCallback): void;
  /** Send a pong with up to 125 bytes of payload. */
  abstract pong(data?: SendData, mask?: boolean, callback?: SendCallback): void;

  /** Transmit a message; the face has checked the state and normalised `data`. */
  protected abstract sendMessage(data: string | Uint8Array | Blob, binary: boolean, fin: boolean, callback: SendCallback | undefined): void;

  /** Run `callback` (if any) later with an `InvalidStateError` saying `message`. */
  protected failCallback(callback: SendCallback | undefined, message: string): void {
    if (callback !== undefined) queueMicrotask(() => callback(new InvalidStateError(message)));
  }

  // -------------------------------------------------------------------------------------------
  // Flow control
  // -------------------------------------------------------------------------------------------

  /**
   * Stop emitting events (`ws`'s `pause()`): they are held, in order, until `resume()`. A
   * transport that can stop reading does so, which pushes back on the peer.
   */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.transportPaused(true);
  }

  /** Emit the held events, then let events and reading flow again. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    while (this.#held.length > 0 && !this.#paused) this.#held.shift()!();
    if (!this.#paused) this.transportPaused(false);
  }

  /** Whether `pause()` is in force. */
  get isPaused(): boolean {
    return this.#paused;
  }

  /** Told when the consumer pauses or resumes; a transport that can stop reading does. */
  protected transportPaused(_paused: boolean): void {}

  // -------------------------------------------------------------------------------------------
  // Delivery, for subclasses
  // -------------------------------------------------------------------------------------------

  protected deliverUpgrade(head: HttpRequestHead | HttpResponseHead): void {
    this.#deliver(() => this.#emitter.emit('upgrade', head));
  }

  protected deliverOpen(): void {
    this.#deliver(() => {
      this.#emitter.emit('open');
      this.dispatchEvent(new Event('open'));
    });
  }

  /** A message: `data` is a string or UTF-8 bytes for text, bytes for binary. */
  protected deliverMessage(data: string | Uint8Array | ArrayBuffer, isBinary: boolean): void {
    this.#deliver(() => {
      const value = isBinary ? this.#binaryValue(data as Uint8Array | ArrayBuffer) : typeof data === 'string' ? data : decodeText(data);
      this.#emitter.emit('message', value, isBinary);
      if (this.#messageListened) this.dispatchEvent(new MessageEvent('message', { data: value }));
    });
  }

  protected deliverPing(data: Uint8Array): void {
    this.#deliver(() => this.#emitter.emit('ping', data));
  }

  protected deliverPong(data: Uint8Array): void {
    this.#deliver(() => this.#emitter.emit('pong', data));
  }

  protected deliverError(error: Error): void {
    this.#deliver(() => {
      this.#emitter.emit('error', error);
      this.dispatchEvent(errorEvent(error));
    });
  }

  protected deliverClose(code: number, reason: string, wasClean: boolean): void {
    this.#deliver(() => {
      this.#emitter.emit('close', code, reason);
      this.dispatchEvent(closeEvent(code, reason, wasClean));
    });
  }

  #deliver(delivery: () => void): void {
    if (this.#paused) this.#held.push(delivery);
    else delivery();
  }

  #binaryValue(data: Uint8Array | ArrayBuffer): Uint8Array | ArrayBuffer | Blob {
    switch (this.#binaryType) {
      case 'arraybuffer':
        if (data instanceof ArrayBuffer) return data;
        return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
          ? data.buffer
          : data.slice().buffer;
      case 'blob':
        return new Blob([data as Uint8Array<ArrayBuffer> | ArrayBuffer]);
      default:
        return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The WHATWG face: event handler attributes and listeners
  // -------------------------------------------------------------------------------------------

  get onopen(): EventHandler {
    return this.#handlers.open;
  }
  set onopen(handler: EventHandler) {
    this.#setHandler('open', handler);
  }
  get onmessage(): EventHandler {
    return this.#handlers.message;
  }
  set onmessage(handler: EventHandler) {
    this.#setHandler('message', handler);
  }
  get onclose(): EventHandler {
    return this.#handlers.close;
  }
  set onclose(handler: EventHandler) {
    this.#setHandler('close', handler);
  }
  get onerror(): EventHandler {
    return this.#handlers.error;
  }
  set onerror(handler: EventHandler) {
    this.#setHandler('error', handler);
  }

  /** HTML §8.1.8.1: setting a handler adds one listener (where it was first set); null removes it. */
  #setHandler(type: HandlerType, handler: EventHandler): void {
    const next = typeof handler === 'function' ? handler : null;
    const previous = this.#handlers[type];
    this.#handlers[type] = next;
    if (previous === null && next !== null) this.addEventListener(type, this.#handlerListeners[type]);
    else if (previous !== null && next === null) this.removeEventListener(type, this.#handlerListeners[type]);
  }

  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    if (type === 'message') this.#messageListened = true;
    super.addEventListener(type, listener, options);
  }

  // -------------------------------------------------------------------------------------------
  // The ws face: EventEmitter methods
  // -------------------------------------------------------------------------------------------

  /** Call `listener` on every `event` (`ws` / Node `EventEmitter` style). */
  on<E extends keyof WebSocketEvents & string>(event: E, listener: (...args: WebSocketEvents[E]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }
  /** Same as `on`. */
  addListener<E extends keyof WebSocketEvents & string>(event: E, listener: (...args: WebSocketEvents[E]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }
  /** Call `listener` on the next `event` only. */
  once<E extends keyof WebSocketEvents & string>(event: E, listener: (...args: WebSocketEvents[E]) => void): this {
    this.#emitter.once(event, listener);
    return this;
  }
  /** Remove a listener added with `on` or `once`. */
  off<E extends keyof WebSocketEvents & string>(event: E, listener: (...args: WebSocketEvents[E]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }
  /** Same as `off`. */
  removeListener<E extends keyof WebSocketEvents & string>(event: E, listener: (...args: WebSocketEvents[E]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }
  /** Remove every `ws`-style listener of `event`, or of every event. */
  removeAllListeners(event?: keyof WebSocketEvents & string): this {
    this.#emitter.removeAllListeners(event);
    return this;
  }
  /** How many `ws`-style listeners `event` has. */
  listenerCount(event: keyof WebSocketEvents & string): number {
    return this.#emitter.listenerCount(event);
  }
  /** The `ws`-style listeners of `event`. */
  listeners<E extends keyof WebSocketEvents & string>(event: E): ((...args: WebSocketEvents[E]) => void)[] {
    return this.#emitter.listeners(event);
  }
  /** Call the `ws`-style listeners of `event` with `args`; whether there were any. */
  emit<E extends keyof WebSocketEvents & string>(event: E, ...args: WebSocketEvents[E]): boolean {
    return this.#emitter.emit(event, ...args);
  }
}

const textDecoder = new TextDecoder();

/** Decode text the protocol already validated as UTF-8. */
function decodeText(data: Uint8Array | ArrayBuffer): string {
  return textDecoder.decode(data);
}

/** Normalise a binary `send` argument to a Uint8Array view (no copy); other values are sent as their string. */
function toBinary(data: ArrayBuffer | ArrayBufferView | unknown): string | Uint8Array {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return bytesOf(data);
  // The WHATWG send() converts anything else to a string (WebIDL USVString); ws does for numbers.
  return String(data);
}
