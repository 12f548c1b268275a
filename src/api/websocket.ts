/**
 * `WebSocket`: one class for both ends of a connection, with two faces on the same object.
 *
 * - The `ws` face: `on('message', (data, isBinary) => …)`, `send(data, options, cb)`,
 *   `ping`, `pong`, `close(code, reason)`, `terminate()`, `pause()` / `resume()`, the
 *   readyState constants, `binaryType` `'nodebuffer'` (default) | `'arraybuffer'` |
 *   `'fragments'` | `'blob'`. Code written for `ws` needs only its import changed.
 * - The WHATWG face (HTML §10.4 "WebSocket"): an `EventTarget` with `onopen`, `onmessage`,
 *   `onerror`, `onclose`, `MessageEvent` (text as a string, binary as `binaryType` says),
 *   `CloseEvent` (`wasClean`, `code`, `reason`) and `ErrorEvent`, so browser code runs as is.
 *   The WHATWG algorithm steps are numbered in comments where they are implemented.
 *
 * Beyond both: `send` returns false once `highWaterMark` bytes wait to be written, and
 * `'drain'` follows when they have all gone; `maxBufferedAmount` bounds the memory a peer
 * that never reads can pin; a heartbeat and an idle timeout are options; `for await (const
 * message of ws)` reads messages.
 *
 * The class holds no protocol logic: the core (`src/protocol`) decides about bytes and the
 * Node adapter (`src/adapters/node`) about sockets, timers and buffers.
 */
import type { Agent, ClientRequest as HttpClientRequest, IncomingMessage } from 'node:http';
import { dialClient, type ClientTlsOptions, type PendingDial } from '../adapters/node/client.js';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../adapters/node/deflate.js';
import { defaultCodec, nodeSha1 } from '../adapters/node/platform.js';
import { NodeConnection, type NodeSocket, type WriteCallback } from '../adapters/node/socket.js';
import { extensionsHeaderOf, resolveTransportOptions, type ConnectionSink, type TransportOptions } from '../adapters/types.js';
import type { Codec } from '../codec/types.js';
import type { ClientExtensionNegotiator, NegotiatedExtension } from '../handshake/extensions.js';
import { ClientConnection } from '../protocol/client-connection.js';
import type { Connection } from '../protocol/connection.js';
import type { Extension } from '../protocol/extension.js';
import type { ConnectionLimits } from '../protocol/limits.js';
import { utf8Encode } from '../shared/bytes.js';
import { isValidCloseCode, MAX_CLOSE_REASON, ReadyState } from '../shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, WebSocketError } from '../shared/errors.js';
import { webCryptoRandom } from '../shared/ports.js';
import { CloseEvent, ErrorEvent, EventTargetEmitter, MessageEvent } from './events.js';
import { messages, type Message } from './streams.js';
import { bytesOf, domException, notOpenError, parseWebSocketUrl, type BinaryType, type SendOptions } from './web-face.js';

export type { BinaryType, SendOptions };

const BINARY_TYPES: ReadonlySet<string> = new Set(['nodebuffer', 'arraybuffer', 'fragments', 'blob']);

/**
 * What `send` takes: text as a string (or a number, sent as its decimal text), anything binary,
 * a list of byte chunks (a `'fragments'` message, sent as one), or a `Blob` (sent once read,
 * in order).
 */
export type SendData = string | number | ArrayBufferLike | ArrayBufferView | readonly Uint8Array[] | Blob;

/** Options common to client and server-side sockets. */
export interface SocketOptions extends Partial<TransportOptions> {
  /** Largest message accepted, in bytes (1009 above it); 0 means no limit. Default 100 MiB. */
  readonly maxPayload?: number;
  /** Answer pings automatically (RFC 6455 §5.5.2); default true. */
  readonly autoPong?: boolean;
  /**
   * Hand each incoming message out piece by piece as it arrives — `'fragment'` events
   * `(data, isBinary, first, last)` — instead of assembling it into one `'message'`, so a
   * large message never has to fit in memory at once. `maxPayload` still bounds each message
   * and text is still checked as UTF-8 as it arrives (RFC 6455 §8.1). Default false.
   */
  readonly streamMessages?: boolean;
  /** The frame codec; default the process's shared one (`createCodecSync()`). */
  readonly codec?: Codec;
}

/** Options of a client (`new WebSocket(url, protocols, options)`). */
export interface WebSocketOptions extends SocketOptions, ClientTlsOptions {
  /** More request header fields (Authorization, Cookie, User-Agent, …). */
  readonly headers?: Readonly<Record<string, string>> | Iterable<HeaderField>;
  /** The Origin header (RFC 6455 §4.1 client requirement 8). */
  readonly origin?: string;
  /** Milliseconds until an unfinished opening handshake fails; 0: none. Default 30 000. */
  readonly handshakeTimeout?: number;
  /** An `http.Agent` that provides the socket (e.g. through a proxy). */
  readonly agent?: Agent;
  /** IP family for the host name lookup (4 or 6). */
  readonly family?: number;
  /** Local address to connect from. */
  readonly localAddress?: string;
  /** Extensions to offer (RFC 6455 §9.1), as negotiators. */
  readonly extensions?: readonly ClientExtensionNegotiator<Extension>[];
  /**
   * Offer permessage-deflate (RFC 7692): true (the default, as in `ws`) with the defaults,
   * options to tune it, or false not to offer it. Clients with the defaults share one pool of
   * zlib streams and the process-wide zlib queue.
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateNodeOptions;
}

/** The default client handshake deadline: generous for slow networks, bounded for dead ones. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/**
 * The connection limits for a `maxPayload` (`ws`'s option name: the largest message).
 *
 * @throws InvalidArgumentError unless `maxPayload` is a non-negative integer.
 */
export function limitsForMaxPayload(maxPayload: number | undefined): Partial<ConnectionLimits> {
  if (maxPayload === undefined) return {};
  if (!Number.isSafeInteger(maxPayload) || maxPayload < 0) throw new InvalidArgumentError(`maxPayload must be a non-negative integer, got ${String(maxPayload)}`);
  const limit = maxPayload === 0 ? Number.MAX_SAFE_INTEGER : maxPayload;
  // A frame must still be able to carry any control frame (RFC 6455 §5.5).
  return { maxMessageSize: limit, maxFrameSize: Math.max(limit, 125) };
}

/** Binary data as `send` takes it, viewed as bytes without copying (chunks are joined). */
function bytesOfSendData(data: Exclude<SendData, Blob | number | string>): Uint8Array {
  if (!Array.isArray(data)) return bytesOf(data as ArrayBufferLike | ArrayBufferView);
  const chunks = data as readonly Uint8Array[];
  if (!chunks.every((chunk) => chunk instanceof Uint8Array)) throw new TypeError('a list of chunks must hold only Uint8Arrays (Buffers)');
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** A Buffer's bytes as an ArrayBuffer: the underlying one when it is exactly that, else a copy. */
function toArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data.buffer;
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

/** A header field: `[name, value]`. */
type HeaderField = readonly [name: string, value: string];

/** A send that waits behind a Blob being read. */
interface QueuedSend {
  readonly data: Blob | Uint8Array;
  readonly binary: boolean;
  readonly fin: boolean;
  readonly compress: boolean;
  readonly callback: WriteCallback | undefined;
}

const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** The permessage-deflate negotiator of clients with the default settings, made on first use. */
let defaultClientDeflate: ClientExtensionNegotiator<Extension> | null = null;

/**
 * The extensions a client offers: its own, then permessage-deflate unless turned off or
 * already among its own (an explicit negotiator wins over the default one).
 */
function clientExtensions(options: WebSocketOptions): readonly ClientExtensionNegotiator<Extension>[] {
  const own = options.extensions ?? [];
  const deflate = options.perMessageDeflate ?? true;
  if (deflate === false || own.some((negotiator) => negotiator.name === PERMESSAGE_DEFLATE)) return own;
  const negotiator =
    deflate === true ? (defaultClientDeflate ??= perMessageDeflateNode().client) : perMessageDeflateNode(deflate).client;
  return [...own, negotiator];
}

/** The construction path of server-side sockets (not exported from the package). */
const SERVER_SIDE: unique symbol = Symbol('server-side');

type HandlerName = 'open' | 'message' | 'error' | 'close';

// Set by the class's static block (it alone can reach the private fields).
let createServerSide: (init: ServerSideInit) => WebSocket;
let attachServerSide: (websocket: WebSocket, socket: NodeSocket) => void;
let wakeServerSide: (websocket: WebSocket) => void;

/**
 * A WebSocket connection: a client (`new WebSocket(url)`) or a server-side socket (from a
 * `WebSocketServer`'s `'connection'` event). See the module comment for its two faces.
 *
 * Emitter events: `'open'`, `'message'` (data, isBinary), `'ping'` (data), `'pong'` (data),
 * `'close'` (code, reason: Buffer), `'error'` (error), `'drain'`, and on clients `'upgrade'`
 * (response) and `'unexpected-response'` (request, response).
 */
export class WebSocket extends EventTargetEmitter {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;

  readonly #driver: NodeConnection;
  readonly #url: string;
  readonly #isServer: boolean;
  #binaryType: BinaryType = 'nodebuffer';
  #protocol = '';
  #extensions = '';
  #pendingDial: PendingDial | null = null;
  /** The application took over a non-101 response (`'unexpected-response'`): no error for it. */
  #responseHandled = false;
  /** Bytes given to `send` after the closing handshake started (WHATWG step: they still count). */
  #bufferedAfterClose = 0;
  #sendQueue: QueuedSend[] | null = null;
  #queuedBytes = 0;
  #handlers: Partial<Record<HandlerName, { handler: ((event: Event) => void) | null; listener: (event: Event) => void }>> | null = null;

  /**
   * Open a connection to `url` (a `ws:` or `wss:` URL; `http:` and `https:` map to them).
   *
   * @param protocols subprotocols to offer, most preferred first (or the options).
   * @throws DOMException `SyntaxError` for an invalid URL, a scheme other than ws/wss/http/https,
   *   a URL with a fragment (RFC 6455 §3), or invalid or repeated subprotocols — before any
   *   connection is made.
   * @throws InvalidArgumentError for an invalid option (a header, a limit).
   */
  constructor(url: string | URL, protocols?: string | readonly string[] | WebSocketOptions, options?: WebSocketOptions);
  constructor(url: string | URL, protocols?: string | readonly string[] | WebSocketOptions, options?: WebSocketOptions, server?: ServerSideInit) {
    super();
    const sink = new WebSocket.#Sink(this);
    if ((url as unknown) === SERVER_SIDE) {
      const init = server!;
      this.#url = '';
      this.#isServer = true;
      this.#driver = new NodeConnection(init.connection, sink, init.transport);
      // The handshake is done: the terms are known before the application gets the socket.
      this.#setTerms(init.connection.protocol, init.connection.extensions);
      return;
    }
    this.#isServer = false;
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as WebSocketOptions;
      protocols = undefined;
    }
    const opts: WebSocketOptions = options ?? {};

    // WHATWG "new WebSocket(url, protocols)" steps 1–9: the URL record and the subprotocols.
    const { url: record, protocols: offered } = parseWebSocketUrl(url, protocols as string | readonly string[] | undefined);
    // 10. Set this's url to urlRecord.
    this.#url = record.href;

    const transport = resolveTransportOptions(opts);
    const handshakeTimeout = opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    let driver: NodeConnection | null = null;
    const connection = new ClientConnection({
      codec: opts.codec ?? defaultCodec(),
      random: webCryptoRandom,
      sha1: nodeSha1,
      host: record.hostname,
      port: record.port === '' ? undefined : Number(record.port),
      secure: record.protocol === 'wss:',
      path: `${record.pathname}${record.search}`,
      origin: opts.origin,
      protocols: offered,
      // WHATWG "establish a WebSocket connection" and ws both fail a response that selects
      // none of the offered subprotocols (RFC 6455 would let it open without one).
      requireProtocol: true,
      extensions: clientExtensions(opts),
      headers: withCredentials(record, opts.headers),
      limits: limitsForMaxPayload(opts.maxPayload),
      autoPong: opts.autoPong,
      streamMessages: opts.streamMessages,
      onWake: () => driver?.wake(),
    });
    driver = this.#driver = new NodeConnection(connection, sink, transport);
    // 12. Establish a WebSocket connection, in parallel.
    this.#pendingDial = dialClient(
      driver,
      connection.request!,
      {
        url: record,
        handshakeTimeout,
        agent: opts.agent,
        family: opts.family,
        localAddress: opts.localAddress,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        passphrase: opts.passphrase,
        rejectUnauthorized: opts.rejectUnauthorized,
        servername: opts.servername,
      },
      {
        onUpgrade: (response) => {
          this.#pendingDial = null;
          this.emit2('upgrade', response);
        },
        onUnexpectedResponse: (request: HttpClientRequest, response: IncomingMessage) => {
          this.#pendingDial = null;
          if (this.listenerCount('unexpected-response') === 0) return false;
          this.#responseHandled = true;
          this.emit2('unexpected-response', request, response);
          return true;
        },
      },
    );
  }

  static {
    // Server-side sockets are built by `WebSocketServer` through these, not through the
    // public constructor.
    createServerSide = (init) => new (WebSocket as unknown as new (...args: unknown[]) => WebSocket)(SERVER_SIDE, undefined, undefined, init);
    attachServerSide = (websocket, socket) => websocket.#driver.attach(socket);
    wakeServerSide = (websocket) => websocket.#driver.wake();
  }

  // -------------------------------------------------------------------------------------------
  // Attributes
  // -------------------------------------------------------------------------------------------

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
  get readyState(): ReadyState {
    const state = this.#driver.connection.state;
    return state === ReadyState.OPEN && this.#driver.terminating ? ReadyState.CLOSING : state;
  }

  /** The URL connected to (`''` on a server-side socket). */
  get url(): string {
    return this.#url;
  }

  /** The agreed subprotocol, `''` for none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions in use, as the Sec-WebSocket-Extensions value of the response (`''` for none). */
  get extensions(): string {
    return this.#extensions;
  }

  /**
   * Bytes of message data accepted by `send` and not yet handed to the operating system
   * (WHATWG: it keeps counting what is sent after the closing handshake started).
   */
  get bufferedAmount(): number {
    return this.#driver.bufferedAmount + this.#queuedBytes + this.#bufferedAfterClose;
  }

  /** How binary messages are handed out; invalid values are ignored (as WebIDL enums are). */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.has(type)) this.#binaryType = type;
  }

  /** Whether reading is paused (`pause()`). */
  get isPaused(): boolean {
    return this.#driver.isPaused;
  }

  /** Whether this socket is the server's end of the connection. */
  get isServer(): boolean {
    return this.#isServer;
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
   * Send a message (WHATWG `send(data)`; `ws`'s `send(data, options, cb)`). Strings are sent
   * as text, everything else as binary unless `options.binary` says otherwise. With
   * `options.fin` false the data is a fragment and later sends continue the message.
   *
   * @returns false when the bytes waiting to be written have reached `highWaterMark` (wait for
   *   `'drain'`) or the connection is not open; true otherwise.
   * @throws DOMException `InvalidStateError` while CONNECTING (WHATWG step 1).
   */
  send(data: SendData, options?: SendOptions | WriteCallback, callback?: WriteCallback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const driver = this.#driver;
    const state = driver.connection.state;
    // WHATWG send() step 1: "If this's ready state is CONNECTING, then throw an
    // "InvalidStateError" DOMException."
    if (state === ReadyState.CONNECTING) throw domException('the WebSocket is not open yet (CONNECTING)', 'InvalidStateError');
    let bytes: Uint8Array | null = null;
    let blob: Blob | null = null;
    let binary: boolean;
    if (typeof data === 'string') {
      bytes = Buffer.from(data, 'utf8');
      binary = false;
    } else if (typeof data === 'number') {
      bytes = Buffer.from(String(data), 'utf8');
      binary = false;
    } else if (typeof Blob === 'function' && data instanceof Blob) {
      blob = data;
      binary = true;
    } else {
      bytes = bytesOfSendData(data as Exclude<SendData, Blob | number | string>);
      binary = true;
    }
    if (options !== undefined && options.binary !== undefined) binary = options.binary;
    const fin = options?.fin ?? true;
    // ws's per-send switch: false sends this message (all its fragments) uncompressed.
    const compress = options?.compress ?? true;
    const size = bytes !== null ? bytes.length : blob!.size;
    // Step 2: data that cannot be sent (the closing handshake started) still counts in
    // bufferedAmount; ws reports the failure through the callback.
    if (state !== ReadyState.OPEN || driver.terminating) {
      this.#bufferedAfterClose += size;
      if (callback !== undefined) {
        const error = notOpenError(this.readyState);
        queueMicrotask(() => callback!(error));
      }
      return false;
    }
    if (blob !== null || this.#sendQueue !== null) {
      this.#enqueueSend({ data: blob ?? bytes!, binary, fin, compress, callback }, size);
      return this.bufferedAmount < this.#transportHighWaterMark();
    }
    return driver.send(bytes!, binary, fin, callback, compress);
  }

  /**
   * Send a ping (RFC 6455 §5.5.2) with up to 125 bytes of application data. `mask` is
   * accepted for `ws` compatibility and ignored (see `SendOptions.mask`).
   *
   * @throws DOMException `InvalidStateError` while CONNECTING; InvalidArgumentError over 125 bytes.
   */
  ping(data?: SendData | WriteCallback, mask?: boolean | WriteCallback, callback?: WriteCallback): void {
    this.#control('ping', data, mask, callback);
  }

  /** Send a pong (RFC 6455 §5.5.3: unsolicited pongs are a unidirectional heartbeat). See `ping`. */
  pong(data?: SendData | WriteCallback, mask?: boolean | WriteCallback, callback?: WriteCallback): void {
    this.#control('pong', data, mask, callback);
  }

  /**
   * Start the closing handshake (WHATWG `close(code, reason)`; RFC 6455 §7.1.2). A code may
   * be any that RFC 6455 §7.4 allows on the wire (so a server can say 1001 or 1011; the
   * WHATWG API allows only 1000 and 3000–4999 from a browser). A reason without a code sends
   * 1000.
   *
   * @throws DOMException `InvalidAccessError` for a code that may not be sent; `SyntaxError`
   *   for a reason longer than 123 bytes of UTF-8.
   */
  close(code?: number, reason?: string | Uint8Array): void {
    // WHATWG close() step 1: a code that cannot be sent → "InvalidAccessError".
    if (code !== undefined && !(Number.isInteger(code) && isValidCloseCode(code))) {
      throw domException(`invalid close code ${String(code)}: use 1000, 1001–1003, 1007–1014 or 3000–4999`, 'InvalidAccessError');
    }
    // Step 2: "If reasonBytes is longer than 123 bytes, then throw a "SyntaxError" DOMException."
    let reasonText = '';
    if (reason !== undefined) {
      reasonText = typeof reason === 'string' ? reason : Buffer.from(reason.buffer, reason.byteOffset, reason.byteLength).toString('utf8');
      if (utf8Encode(reasonText).length > MAX_CLOSE_REASON) {
        throw domException(`the close reason is longer than ${MAX_CLOSE_REASON} bytes of UTF-8`, 'SyntaxError');
      }
    }
    // "If code is null and reasonBytes is non-empty, set code to 1000."
    const status = code ?? (reasonText !== '' ? 1000 : undefined);
    // Step 3: CLOSING or CLOSED → do nothing (but a completed closing handshake may still
    // have its transport to close); not yet established → fail the connection.
    const state = this.#driver.connection.state;
    if (state === ReadyState.CONNECTING) {
      this.#abortHandshake();
      return;
    }
    this.#driver.close(status, status === undefined ? undefined : reasonText);
  }

  /** Destroy the connection now, without a closing handshake; the close (1006) follows. */
  terminate(): void {
    const state = this.#driver.connection.state;
    if (state === ReadyState.CLOSED) return;
    if (state === ReadyState.CONNECTING) {
      this.#abortHandshake();
      return;
    }
    this.#driver.terminate();
  }

  /** Stop reading from the socket: messages wait in the peer's buffers and the kernel's. */
  pause(): void {
    const state = this.#driver.connection.state;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this.#driver.pause();
  }

  /** Read again after `pause()`. */
  resume(): void {
    const state = this.#driver.connection.state;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this.#driver.resume();
  }

  /**
   * Read messages with `for await` (`messages(ws)` of the streams face, default options): text
   * as strings, binary as `binaryType` says. Ends when the connection closes; a connection
   * that failed ends the iteration with its error. The socket is paused while unread messages
   * pile up, and leaving the loop early closes the connection.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message, undefined> {
    return messages(this);
  }

  // -------------------------------------------------------------------------------------------
  // Events from the adapter
  // -------------------------------------------------------------------------------------------

  static readonly #Sink = class implements ConnectionSink<Buffer> {
    readonly #websocket: WebSocket;
    constructor(websocket: WebSocket) {
      this.#websocket = websocket;
    }
    onOpen(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
      this.#websocket.#open(protocol, extensions);
    }
    onMessage(data: Buffer, binary: boolean): void {
      this.#websocket.#message(data, binary);
    }
    onFragment(data: Buffer, binary: boolean, first: boolean, last: boolean): void {
      this.#websocket.emit('fragment', data, binary, first, last);
    }
    onPing(data: Buffer): void {
      this.#websocket.emit2('ping', data);
    }
    onPong(data: Buffer): void {
      this.#websocket.emit2('pong', data);
    }
    onError(error: Error): void {
      this.#websocket.#error(error);
    }
    onClose(code: number, reason: string, wasClean: boolean): void {
      this.#websocket.#close(code, reason, wasClean);
    }
    onDrain(): void {
      this.#websocket.emit2('drain');
    }
  };

  #open(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#pendingDial = null;
    // WHATWG "When the WebSocket connection is established": 1. ready state OPEN (the
    // core's); 2. extensions in use; 3. the subprotocol in use; 4. fire "open".
    this.#setTerms(protocol, extensions);
    // A server-side socket is open when the application gets it; it reports no open event.
    if (this.#isServer) return;
    this.emit2('open');
    if (this.hasTargetListeners('open')) this.dispatchSafely(new Event('open'));
  }

  #setTerms(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#extensions = extensionsHeaderOf(extensions);
    this.#protocol = protocol ?? '';
  }

  #message(data: Buffer, binary: boolean): void {
    // WHATWG "When a WebSocket message has been received": text → a string; binary → per
    // binaryType. The ws face gets text as a Buffer (isBinary false), as ws hands it out.
    const binaryType = this.#binaryType;
    const value = binary && binaryType !== 'nodebuffer' ? convertBinary(data, binaryType) : data;
    this.emit2('message', value, binary);
    if (this.hasTargetListeners('message')) {
      this.dispatchSafely(new MessageEvent('message', { data: binary ? value : data.toString('utf8'), origin: this.#origin() }));
    }
  }

  #error(error: Error): void {
    if (this.#responseHandled && error instanceof HandshakeError) return;
    this.emit2('error', error);
    if (this.hasTargetListeners('error')) this.dispatchSafely(new ErrorEvent('error', { error, message: error.message }));
  }

  #close(code: number, reason: string, wasClean: boolean): void {
    this.#pendingDial = null;
    this.#failQueuedSends();
    // WHATWG "When the WebSocket connection is closed": ready state CLOSED (the core's), then
    // fire "close" with wasClean, code and reason.
    this.emit2('close', code, Buffer.from(reason, 'utf8'));
    if (this.hasTargetListeners('close')) this.dispatchSafely(new CloseEvent('close', { wasClean, code, reason }));
  }

  // -------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------

  #origin(): string {
    if (this.#isServer) return '';
    try {
      return new URL(this.#url).origin;
    } catch {
      return '';
    }
  }

  #transportHighWaterMark(): number {
    return this.#driver.highWaterMark;
  }

  #abortHandshake(): void {
    const dial = this.#pendingDial;
    this.#pendingDial = null;
    if (dial !== null) dial.abort(new WebSocketError('the WebSocket was closed before the connection was established', ErrorCode.HANDSHAKE));
    // Past the HTTP exchange (an 'upgrade' listener closing): drop the socket; 1006 follows.
    else this.#driver.terminate();
  }

  #control(kind: 'ping' | 'pong', data: SendData | WriteCallback | undefined, mask: boolean | WriteCallback | undefined, callback: WriteCallback | undefined): void {
    if (typeof data === 'function') {
      callback = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      callback = mask;
    }
    const state = this.#driver.connection.state;
    if (state === ReadyState.CONNECTING) throw domException(`cannot send a ${kind}: the WebSocket is not open yet (CONNECTING)`, 'InvalidStateError');
    let bytes: Uint8Array;
    if (data === undefined) bytes = new Uint8Array(0);
    else if (typeof data === 'string' || typeof data === 'number') bytes = Buffer.from(String(data), 'utf8');
    else if (typeof Blob === 'function' && data instanceof Blob) throw new TypeError(`a ${kind} cannot carry a Blob; pass its bytes`);
    else bytes = bytesOfSendData(data as Exclude<SendData, Blob | number | string>);
    if (state !== ReadyState.OPEN || this.#driver.terminating) {
      if (callback !== undefined) {
        const error = notOpenError(this.readyState);
        queueMicrotask(() => callback!(error));
      }
      return;
    }
    if (kind === 'ping') this.#driver.ping(bytes, callback);
    else this.#driver.pong(bytes, callback);
  }

  /** Keep sends in order behind a Blob being read. */
  #enqueueSend(item: QueuedSend, size: number): void {
    const queue = (this.#sendQueue ??= []);
    queue.push(item);
    this.#queuedBytes += size;
    if (queue.length === 1) void this.#drainSendQueue(queue);
  }

  async #drainSendQueue(queue: QueuedSend[]): Promise<void> {
    while (queue.length > 0) {
      const item = queue[0]!;
      let bytes: Uint8Array;
      let size: number;
      if (item.data instanceof Uint8Array) {
        bytes = item.data;
        size = bytes.length;
      } else {
        size = item.data.size;
        try {
          bytes = new Uint8Array(await item.data.arrayBuffer());
        } catch (error) {
          queue.shift();
          this.#queuedBytes -= size;
          item.callback?.(error instanceof Error ? error : new Error(String(error)));
          continue;
        }
      }
      if (this.#sendQueue !== queue) return;
      queue.shift();
      this.#queuedBytes -= size;
      if (this.#driver.connection.state !== ReadyState.OPEN || this.#driver.terminating) {
        this.#bufferedAfterClose += size;
        item.callback?.(notOpenError(this.readyState));
        continue;
      }
      this.#driver.send(bytes, item.binary, item.fin, item.callback, item.compress);
    }
    if (this.#sendQueue === queue) this.#sendQueue = null;
  }

  #failQueuedSends(): void {
    const queue = this.#sendQueue;
    if (queue === null) return;
    this.#sendQueue = null;
    this.#bufferedAfterClose += this.#queuedBytes;
    this.#queuedBytes = 0;
    for (const item of queue) item.callback?.(new WebSocketError('the WebSocket closed before the data was sent', ErrorCode.INVALID_STATE));
  }

  #getHandler<E extends Event>(type: HandlerName): ((event: E) => void) | null {
    return (this.#handlers?.[type]?.handler ?? null) as ((event: E) => void) | null;
  }

  /** WHATWG event handler IDL attributes: one listener per type, registered on first set. */
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

/** The emitter events of a `WebSocket` and their arguments (typed `on` / `once` / `off`). */
export interface WebSocketEvents {
  open: [];
  /** `data`: a Buffer for text; for binary as `binaryType` says. */
  message: [data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean];
  /** With `streamMessages`: a piece of a message as it arrived (text pieces are bytes). */
  fragment: [data: Buffer, isBinary: boolean, first: boolean, last: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  drain: [];
  upgrade: [response: IncomingMessage];
  'unexpected-response': [request: HttpClientRequest, response: IncomingMessage];
}

type WebSocketListener<K extends keyof WebSocketEvents> = (this: WebSocket, ...args: WebSocketEvents[K]) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

// Typed overloads of the emitter methods for the events above (declaration merging: no code).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocket {
  on<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  on(type: string, listener: AnyListener): this;
  once<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  once(type: string, listener: AnyListener): this;
  off<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  off(type: string, listener: AnyListener): this;
  addListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  addListener(type: string, listener: AnyListener): this;
  removeListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  removeListener(type: string, listener: AnyListener): this;
  prependListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  prependListener(type: string, listener: AnyListener): this;
  prependOnceListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  prependOnceListener(type: string, listener: AnyListener): this;
}

/** What a `WebSocketServer` gives a server-side socket. @internal */
export interface ServerSideInit {
  readonly connection: Connection;
  readonly transport: TransportOptions;
}

/** Create a server-side socket over an accepted connection (for `WebSocketServer`). @internal */
export function createServerSideWebSocket(init: ServerSideInit): WebSocket {
  return createServerSide(init);
}

/**
 * Start a server-side socket on its upgraded `socket`: write the 101 response and deliver
 * what came with the request (for `WebSocketServer`). @internal
 */
export function attachServerSideWebSocket(websocket: WebSocket, socket: NodeSocket): void {
  attachServerSide(websocket, socket);
}

/** Run a server-side socket's loop after asynchronous work (the core's `onWake`). @internal */
export function wakeServerSideWebSocket(websocket: WebSocket): void {
  wakeServerSide(websocket);
}

function convertBinary(data: Buffer, binaryType: BinaryType): ArrayBuffer | Blob | Buffer[] | Buffer {
  switch (binaryType) {
    case 'arraybuffer':
      return toArrayBuffer(data);
    case 'blob':
      return new Blob([data as Uint8Array<ArrayBuffer>]);
    case 'fragments':
      // The core assembles each message, so a message is one fragment here.
      return [data];
    default:
      return data;
  }
}

/** Add `Authorization: Basic` for a URL's user info, as browsers and `ws` do. */
function withCredentials(url: URL, headers: WebSocketOptions['headers']): Iterable<HeaderField> | Readonly<Record<string, string>> | undefined {
  if (url.username === '' && url.password === '') return headers;
  const fields: HeaderField[] =
    headers === undefined ? [] : Symbol.iterator in headers ? [...(headers as Iterable<HeaderField>)] : Object.entries(headers as Record<string, string>);
  if (fields.some(([name]) => name.toLowerCase() === 'authorization')) return fields;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  fields.push(['Authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`]);
  return fields;
}
