/**
 * The face of the WebSocket clients for pages and workers, shared by the one over the
 * browser's own `WebSocket` (`browser-websocket.ts`) and the one over a WHATWG stream pair
 * (`web-stream-transport.ts`). It is the Node client's surface (`websocket.ts`), so
 * application code is the same in Node and in the browser:
 *
 * - the `ws` face: `on('message', (data, isBinary) => …)`, `send(data, options, cb)` (false
 *   once `highWaterMark` bytes wait, then `'drain'`), `close`, `terminate`, `pause` /
 *   `resume`, `binaryType`, the readyState constants;
 * - the WHATWG face: an `EventTarget` with `onopen`, `onmessage`, `onerror`, `onclose`,
 *   `MessageEvent`, `CloseEvent`, `ErrorEvent`;
 * - `for await (const message of ws)`, which pauses the socket while messages wait unread.
 *
 * Where pages and Node differ, by necessity:
 * - a text message reaches `'message'` listeners as a `string` (Node hands `ws`'s `Buffer`;
 *   both convert with `String(data)` / `data.toString()`, and `JSON.parse(data)` takes both);
 * - binary messages with `binaryType` `'nodebuffer'` (the default, as in `ws`) are
 *   `Uint8Array`s — a `Buffer` is one, so code that treats the data as bytes runs in both;
 * - the `'close'` listener's reason is a `string` (Node: a `Buffer`).
 */
import { isToken } from '../handshake/chars.js';
import { ReadyState } from '../shared/constants.js';
import { ErrorCode, WebSocketError } from '../shared/errors.js';
import { CloseEvent, ErrorEvent, EventTargetEmitter, MessageEvent } from './events.js';
import { MessageIterator } from './message-iterator.js';

/** How binary messages are handed out (the Node client's values; see the module comment). */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
const BINARY_TYPES: ReadonlySet<string> = new Set(['nodebuffer', 'arraybuffer', 'fragments', 'blob']);

/** A received message as listeners get it: text as a string, binary as `binaryType` says. */
export type MessageData = string | Uint8Array | ArrayBuffer | Blob | Uint8Array[];

/** What `send` takes: text as a string (or a number), anything binary, or a `Blob`. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob | number;

/** Options of one `send` (the `ws` names). */
export interface SendOptions {
  /** Send as binary; default true unless `data` is a string or a number. */
  readonly binary?: boolean;
  /** False: this is a fragment, and later sends continue the message (RFC 6455 §5.4). Default true. */
  readonly fin?: boolean;
  /** Accepted for `ws` compatibility: RFC 6455 §5.1 fixes masking by side. */
  readonly mask?: boolean;
  /** Accepted for `ws` compatibility: no compression extension is negotiated here. */
  readonly compress?: boolean;
}

/** Called once the data of a `send` was written, or with the error that stopped it. */
export type SendCallback = (error?: Error) => void;

type HandlerName = 'open' | 'message' | 'error' | 'close';

/** A `DOMException`, which WHATWG WebSocket methods throw. */
export function domException(message: string, name: string): Error {
  return new DOMException(message, name);
}

/** The name of a ready state, for messages. */
export function readyStateName(state: ReadyState): string {
  return ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][state]!;
}

/** An `InvalidStateError` for a `send` that came too late, reported through its callback. */
export function notOpenError(state: ReadyState): WebSocketError {
  return new WebSocketError(`the WebSocket is not open (${readyStateName(state)})`, ErrorCode.INVALID_STATE);
}

/** Binary data as `send` takes it, viewed as bytes without copying. */
export function bytesOf(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  throw new TypeError('data must be a string, an ArrayBuffer, a typed array, a DataView or a Blob');
}

/**
 * WHATWG "new WebSocket(url, protocols)" steps 1–9: the URL record and the subprotocols to
 * offer. The base URL is the page's or worker's location where there is one.
 *
 * @throws DOMException `SyntaxError` for an invalid URL, a scheme other than ws, wss, http or
 *   https, a URL with a fragment (RFC 6455 §3), or invalid or repeated subprotocols.
 */
export function parseWebSocketUrl(url: string | URL, protocols: string | readonly string[] | undefined): { url: URL; protocols: string[] } {
  // 1–3. Parse url against the base URL; failure → "SyntaxError".
  let record: URL;
  try {
    record = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw domException(`invalid URL: ${String(url)}`, 'SyntaxError');
  }
  // 4–5. http → ws, https → wss.
  if (record.protocol === 'http:') record.protocol = 'ws:';
  else if (record.protocol === 'https:') record.protocol = 'wss:';
  // 6. Any other scheme → "SyntaxError".
  if (record.protocol !== 'ws:' && record.protocol !== 'wss:') {
    throw domException(`the URL's scheme must be ws, wss, http or https, not ${record.protocol.slice(0, -1)}`, 'SyntaxError');
  }
  // 7. A fragment → "SyntaxError" (RFC 6455 §3: "Fragment identifiers are meaningless ... MUST NOT be used").
  if (record.hash !== '' || String(url).includes('#')) throw domException('a WebSocket URL cannot have a fragment', 'SyntaxError');
  // 8. A single protocol string is a list of one.
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  // 9. Repeated values or values that are not tokens (RFC 6455 §4.1 requirement 10) → "SyntaxError".
  const seen = new Set<string>();
  for (const protocol of offered) {
    if (typeof protocol !== 'string' || !isToken(protocol)) throw domException(`invalid subprotocol ${JSON.stringify(protocol)}`, 'SyntaxError');
    if (seen.has(protocol)) throw domException(`subprotocol ${JSON.stringify(protocol)} is listed twice`, 'SyntaxError');
    seen.add(protocol);
  }
  return { url: record, protocols: offered };
}

const textDecoder = new TextDecoder();

/**
 * The shared face; subclasses bind it to a transport. See the module comment.
 *
 * Emitter events: `'open'`, `'message'` (data, isBinary), `'ping'` (data), `'pong'` (data),
 * `'close'` (code, reason), `'error'` (error), `'drain'`.
 */
export abstract class WebSocketFace extends EventTargetEmitter {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;

  #binaryType: BinaryType = 'nodebuffer';
  #handlers: Partial<Record<HandlerName, { handler: ((event: Event) => void) | null; listener: (event: Event) => void }>> | null = null;
  #messageReader: ((data: MessageData | null) => void) | null = null;
  /** The origin of `url`, for MessageEvent (computed once). */
  #originValue: string | undefined;

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

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  abstract get readyState(): ReadyState;
  /** The URL connected to, serialized (`''` when the transport has none). */
  abstract get url(): string;
  /** The agreed subprotocol, or `''`. */
  abstract get protocol(): string;
  /** The agreed extensions, as the server's Sec-WebSocket-Extensions value, or `''`. */
  abstract get extensions(): string;
  /** Bytes given to `send` and not yet written. */
  abstract get bufferedAmount(): number;
  /** Whether `pause()` is in force. */
  abstract get isPaused(): boolean;

  /** How binary messages are handed out. Unknown values are ignored, as the WHATWG setter does. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.has(type)) this.#binaryType = type;
  }

  /**
   * Send a message (WHATWG `send(data)`; `ws`'s `send(data, options, cb)`). Strings are sent
   * as text, everything else as binary unless `options.binary` says otherwise.
   *
   * @returns false when the bytes waiting to be written have reached the high-water mark (wait
   *   for `'drain'`) or the connection is not open.
   * @throws DOMException `InvalidStateError` while CONNECTING.
   */
  abstract send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): boolean;
  /** Send a ping with up to 125 bytes of data (RFC 6455 §5.5.2). */
  abstract ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void;
  /** Send a pong with up to 125 bytes of data (RFC 6455 §5.5.3). */
  abstract pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void;
  /** Start the closing handshake (RFC 6455 §7.1.2), or abandon a connection not yet open. */
  abstract close(code?: number, reason?: string): void;
  /** Close at once, without a closing handshake; the close event reports 1006. */
  abstract terminate(): void;
  /** Stop taking messages in: the transport stops reading where it can. */
  abstract pause(): void;
  /** Take messages in again after `pause()`. */
  abstract resume(): void;

  // -------------------------------------------------------------------------------------------
  // Event handler attributes
  // -------------------------------------------------------------------------------------------

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

  // -------------------------------------------------------------------------------------------
  // Delivery, for the subclasses
  // -------------------------------------------------------------------------------------------

  /** The connection is established (WHATWG: ready state OPEN, then fire "open"). */
  protected deliverOpen(): void {
    this.emit2('open');
    if (this.hasTargetListeners('open')) this.dispatchSafely(new Event('open'));
  }

  /** A message: `data` is text as a string or valid UTF-8 bytes, or binary bytes. */
  protected deliverMessage(data: string | Uint8Array | ArrayBuffer, binary: boolean): void {
    const value = binary ? this.#binaryValue(data as Uint8Array | ArrayBuffer) : typeof data === 'string' ? data : textDecoder.decode(data);
    this.#messageReader?.(value);
    this.emit2('message', value, binary);
    if (this.hasTargetListeners('message')) this.dispatchSafely(new MessageEvent('message', { data: value, origin: this.#origin() }));
  }

  protected deliverPing(data: Uint8Array): void {
    this.emit2('ping', data);
  }

  protected deliverPong(data: Uint8Array): void {
    this.emit2('pong', data);
  }

  protected deliverDrain(): void {
    this.emit2('drain');
  }

  protected deliverError(error: Error): void {
    this.emit2('error', error);
    if (this.hasTargetListeners('error')) this.dispatchSafely(new ErrorEvent('error', { error, message: error.message }));
  }

  /** The connection is closed (WHATWG: ready state CLOSED, then fire "close"). Always last. */
  protected deliverClose(code: number, reason: string, wasClean: boolean): void {
    this.#messageReader?.(null);
    this.emit2('close', code, reason);
    if (this.hasTargetListeners('close')) this.dispatchSafely(new CloseEvent('close', { wasClean, code, reason }));
  }

  #binaryValue(data: Uint8Array | ArrayBuffer): Uint8Array | ArrayBuffer | Blob | Uint8Array[] {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    switch (this.#binaryType) {
      case 'arraybuffer':
        if (data instanceof ArrayBuffer) return data;
        return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
          ? bytes.buffer
          : (bytes.slice().buffer as ArrayBuffer);
      case 'blob':
        return new Blob([bytes as Uint8Array<ArrayBuffer>]);
      case 'fragments':
        // Messages are assembled before delivery, so a message is one fragment.
        return [bytes];
      default:
        return bytes;
    }
  }

  #origin(): string {
    if (this.#originValue === undefined) {
      try {
        this.#originValue = new URL(this.url).origin;
      } catch {
        this.#originValue = '';
      }
    }
    return this.#originValue;
  }

  // -------------------------------------------------------------------------------------------
  // Pulling messages
  // -------------------------------------------------------------------------------------------

  /**
   * Read messages with `for await`: each value is what the `'message'` event's data is. Ends
   * when the connection closes; one that failed ends the iteration with its error. The
   * socket is paused while 16 messages wait unread, and resumed when half are read.
   */
  [Symbol.asyncIterator](): AsyncIterator<MessageData> {
    return new MessageIterator(this, (reader) => {
      this.#messageReader = reader;
    });
  }
}
