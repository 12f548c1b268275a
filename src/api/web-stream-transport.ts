/**
 * `WebStreamTransport`: a WebSocket — client or server, opening handshake included — over any
 * WHATWG byte stream pair (`{ readable, writable }`): a runtime's TCP socket, a tunnel, or a
 * `TransformStream` pair between two workers. The protocol is wasmsocket's own core, so
 * everything the Node client does is here too: pings and pongs, any close code RFC 6455
 * allows, fragments, backpressure both ways, the transport timers.
 *
 * Its surface is the Node client's (`WebSocketFace`): `ws` events and methods, the WHATWG
 * `WebSocket` attributes and events, and `for await (const message of ws)`.
 *
 * @example A client over a runtime's TCP socket
 * ```ts
 * const socket = connect({ hostname: 'example.com', port: 80 });   // { readable, writable }
 * const ws = WebStreamTransport.connect(socket, 'ws://example.com/chat', ['chat']);
 * ws.on('open', () => ws.send('hello'));
 * ws.on('message', (data, isBinary) => console.log(isBinary ? data : String(data)));
 * ```
 *
 * @example Both ends in two workers
 * ```ts
 * const [clientEnd, serverEnd] = createWebStreamPair();
 * serverWorker.postMessage(serverEnd, [serverEnd.readable, serverEnd.writable]);
 * clientWorker.postMessage(clientEnd, [clientEnd.readable, clientEnd.writable]);
 * // server worker:  const ws = WebStreamTransport.accept(event.data);
 * // client worker:  const ws = WebStreamTransport.connect(event.data, 'ws://localhost/');
 * ```
 */
import { sharedWebCodec } from '../adapters/web/codec.js';
import {
  resolveStreamTransportOptions,
  type StreamTransportOptions,
  type WebStreamPair,
  WebStreamConnection,
  type WriteCallback,
} from '../adapters/web/stream-connection.js';
import type { ConnectionSink } from '../adapters/types.js';
import type { Codec } from '../codec/types.js';
import type { ClientExtensionNegotiator, NegotiatedExtension } from '../handshake/extensions.js';
import { serializeExtensionList } from '../handshake/headers.js';
import type { HeaderField } from '../handshake/http.js';
import type { ServerHandshakeOptions } from '../handshake/server.js';
import { ClientConnection } from '../protocol/client-connection.js';
import type { Connection } from '../protocol/connection.js';
import type { Extension } from '../protocol/extension.js';
import type { ConnectionLimits } from '../protocol/limits.js';
import { ServerConnection } from '../protocol/server-connection.js';
import { utf8Encode } from '../shared/bytes.js';
import { isValidCloseCode, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD, ReadyState } from '../shared/constants.js';
import { ErrorCode, WebSocketError } from '../shared/errors.js';
import { type RandomSource, webCryptoRandom } from '../shared/ports.js';
import {
  bytesOf,
  domException,
  notOpenError,
  parseWebSocketUrl,
  type SendCallback,
  type SendData,
  type SendOptions,
  WebSocketFace,
} from './web-face.js';

/** Options of both ends: the transport policies (`TransportOptions`, `handshakeTimeout`) and the connection's. */
export interface WebStreamOptions extends Partial<StreamTransportOptions> {
  /** Largest message accepted, in bytes (1009 above it); 0 means no limit. Default 100 MiB. */
  readonly maxPayload?: number;
  /** Finer limits on what is received (`ConnectionLimits`); `maxPayload` sets the message and frame sizes. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Answer pings automatically (RFC 6455 §5.5.2); default true. */
  readonly autoPong?: boolean;
  /** The frame codec; default the thread's shared web codec (portable at once, wasm once loaded). */
  readonly codec?: Codec;
}

/** Options of `WebStreamTransport.connect`. */
export interface WebStreamClientOptions extends WebStreamOptions {
  /** More request header fields (Authorization, Cookie, User-Agent, …). */
  readonly headers?: Readonly<Record<string, string>> | Iterable<HeaderField>;
  /** The Origin header (RFC 6455 §4.1 client requirement 8). */
  readonly origin?: string;
  /** Extensions to offer (RFC 6455 §9.1), as negotiators. */
  readonly extensions?: readonly ClientExtensionNegotiator<Extension>[];
  /** The source of the handshake key and the masking keys; default Web Crypto. Must be cryptographically strong (§10.3). */
  readonly random?: RandomSource;
}

/** Options of `WebStreamTransport.accept`: the handshake hooks (subprotocol, origin, extensions) and more. */
export interface WebStreamServerOptions extends WebStreamOptions, ServerHandshakeOptions<Extension> {
  /** More header fields for the 101 response (e.g. Set-Cookie). */
  readonly responseHeaders?: Readonly<Record<string, string>> | Iterable<HeaderField>;
}

/** A send, or the close, waiting behind a Blob being read. */
type QueuedSend =
  | { readonly data: Blob | Uint8Array; readonly binary: boolean; readonly fin: boolean; readonly callback: SendCallback | undefined }
  | { readonly data: null; readonly code: number | undefined; readonly reason: string | undefined };

function limitsFor(options: WebStreamOptions): Partial<ConnectionLimits> | undefined {
  const maxPayload = options.maxPayload;
  if (maxPayload === undefined) return options.limits;
  if (!Number.isSafeInteger(maxPayload) || maxPayload < 0) throw new RangeError(`maxPayload must be a non-negative integer, got ${String(maxPayload)}`);
  const limit = maxPayload === 0 ? Number.MAX_SAFE_INTEGER : maxPayload;
  // A frame must still be able to carry any control frame (RFC 6455 §5.5).
  return { ...options.limits, maxMessageSize: limit, maxFrameSize: Math.max(limit, MAX_CONTROL_PAYLOAD) };
}

/** A control frame's payload as bytes. */
function controlBytes(kind: 'ping' | 'pong', data: SendData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === 'string' || typeof data === 'number') return utf8Encode(String(data));
  if (typeof Blob === 'function' && data instanceof Blob) throw new TypeError(`a ${kind} cannot carry a Blob; pass its bytes`);
  return bytesOf(data as ArrayBufferLike | ArrayBufferView);
}

/** See the module comment. */
export class WebStreamTransport extends WebSocketFace {
  readonly #driver: WebStreamConnection;
  readonly #url: string;
  #protocol = '';
  #extensions = '';
  #sendQueue: QueuedSend[] | null = null;
  #queuedBytes = 0;
  /** Bytes given to `send` after the closing handshake started (WHATWG: they still count). */
  #bufferedAfterClose = 0;
  /** `close()` was called while sends wait behind a Blob: the close frame follows them. */
  #closeQueued = false;

  /**
   * Connect as a client (`new WebSocket(url, protocols, options)` over `streams`): send the
   * opening request for `url` and run the protocol once the server accepts. The streams must
   * already reach the server — through TCP, and TLS for `wss:`; the URL gives the Host
   * header, the resource name and the default port.
   *
   * @throws DOMException `SyntaxError` for an invalid URL, a scheme other than ws, wss, http
   *   or https, a fragment (RFC 6455 §3), or invalid or repeated subprotocols.
   * @throws InvalidArgumentError for an invalid option. @throws TypeError if a stream is locked.
   */
  static connect(
    streams: WebStreamPair,
    url: string | URL,
    protocols?: string | readonly string[] | WebStreamClientOptions,
    options: WebStreamClientOptions = {},
  ): WebStreamTransport {
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as WebStreamClientOptions;
      protocols = undefined;
    }
    const target = parseWebSocketUrl(url, protocols as string | readonly string[] | undefined);
    const record = target.url;
    return new WebStreamTransport(
      streams,
      (onWake) =>
        new ClientConnection({
          codec: options.codec ?? sharedWebCodec(),
          random: options.random ?? webCryptoRandom,
          host: record.hostname,
          port: record.port === '' ? undefined : Number(record.port),
          secure: record.protocol === 'wss:',
          path: `${record.pathname}${record.search}`,
          origin: options.origin,
          protocols: target.protocols,
          // As the WHATWG WebSocket and ws do (see the Node client).
          requireProtocol: true,
          extensions: options.extensions,
          headers: options.headers,
          limits: limitsFor(options),
          autoPong: options.autoPong,
          onWake,
        }),
      options,
      record.href,
    );
  }

  /**
   * Serve one connection over `streams`: read the client's opening request, answer it (101
   * Switching Protocols, or an HTTP error response and close), and run the protocol.
   *
   * @throws InvalidArgumentError for an invalid option. @throws TypeError if a stream is locked.
   */
  static accept(streams: WebStreamPair, options: WebStreamServerOptions = {}): WebStreamTransport {
    return new WebStreamTransport(
      streams,
      (onWake) =>
        new ServerConnection({
          codec: options.codec ?? sharedWebCodec(),
          handleProtocols: options.handleProtocols,
          verifyOrigin: options.verifyOrigin,
          extensions: options.extensions,
          responseHeaders: options.responseHeaders,
          limits: limitsFor(options),
          autoPong: options.autoPong,
          onWake,
        }),
      options,
      '',
    );
  }

  private constructor(streams: WebStreamPair, createConnection: (onWake: () => void) => Connection, options: WebStreamOptions, url: string) {
    super();
    this.#url = url;
    const transport = resolveStreamTransportOptions(options);
    let driver: WebStreamConnection | null = null;
    const connection = createConnection(() => driver?.wake());
    driver = this.#driver = new WebStreamConnection(streams, connection, this.#sink(), transport);
    // Events come after the caller could add listeners, as a browser fires them from tasks.
    queueMicrotask(() => driver.start());
  }

  #sink(): ConnectionSink<Uint8Array> {
    return {
      onOpen: (protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]) => {
        // WHATWG "When the WebSocket connection is established": the extensions and the
        // subprotocol in use, then fire "open".
        this.#extensions = extensions.length === 0 ? '' : serializeExtensionList(extensions.map(({ name, params }) => ({ name, params })));
        this.#protocol = protocol ?? '';
        this.deliverOpen();
      },
      onMessage: (data, binary) => this.deliverMessage(data, binary),
      onPing: (data) => this.deliverPing(data),
      onPong: (data) => this.deliverPong(data),
      onError: (error) => this.deliverError(error),
      onClose: (code, reason, wasClean) => {
        this.#failQueuedSends();
        this.deliverClose(code, reason, wasClean);
      },
      onDrain: () => this.deliverDrain(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Attributes
  // -------------------------------------------------------------------------------------------

  get readyState(): ReadyState {
    const state = this.#driver.connection.state;
    return state === ReadyState.OPEN && (this.#driver.terminating || this.#closeQueued) ? ReadyState.CLOSING : state;
  }

  get url(): string {
    return this.#url;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get bufferedAmount(): number {
    return this.#driver.bufferedAmount + this.#queuedBytes + this.#bufferedAfterClose;
  }

  get isPaused(): boolean {
    return this.#driver.isPaused;
  }

  /** Whether this is the server's end of the connection (`accept`). */
  get isServer(): boolean {
    return this.#driver.connection.side === 'server';
  }

  // -------------------------------------------------------------------------------------------
  // Methods
  // -------------------------------------------------------------------------------------------

  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): boolean {
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
    let binary = true;
    if (typeof data === 'string' || typeof data === 'number') {
      bytes = utf8Encode(String(data));
      binary = false;
    } else if (typeof Blob === 'function' && data instanceof Blob) blob = data;
    else bytes = bytesOf(data as ArrayBufferLike | ArrayBufferView);
    if (options?.binary !== undefined) binary = options.binary;
    const fin = options?.fin ?? true;
    const size = bytes !== null ? bytes.length : blob!.size;
    // Step 2: data that cannot be sent (the closing handshake started) still counts in
    // bufferedAmount; the callback reports the failure, as in ws.
    if (state !== ReadyState.OPEN || driver.terminating || this.#closeQueued) {
      this.#bufferedAfterClose += size;
      if (callback !== undefined) {
        const error = notOpenError(this.readyState);
        queueMicrotask(() => callback!(error));
      }
      return false;
    }
    if (blob !== null || this.#sendQueue !== null) {
      this.#enqueueSend({ data: blob ?? bytes!, binary, fin, callback }, size);
      return this.bufferedAmount < driver.highWaterMark;
    }
    return driver.send(bytes!, binary, fin, callback);
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
   * 6455 §7.4 allows on the wire may be sent (1000–1003, 1007–1014, 3000–4999). A reason
   * without a code sends 1000. While CONNECTING the connection is abandoned: `error`, then
   * `close` with 1006.
   *
   * @throws DOMException `InvalidAccessError` for a code that may not be sent; `SyntaxError`
   *   for a reason longer than 123 bytes of UTF-8.
   */
  close(code?: number, reason?: string): void {
    // WHATWG close() step 1: a code that cannot be sent → "InvalidAccessError".
    if (code !== undefined && !(Number.isInteger(code) && isValidCloseCode(code))) {
      throw domException(`invalid close code ${String(code)}: use 1000–1003, 1007–1014 or 3000–4999`, 'InvalidAccessError');
    }
    // Step 2: "If reasonBytes is longer than 123 bytes, then throw a "SyntaxError" DOMException."
    const reasonText = reason === undefined ? '' : String(reason);
    if (utf8Encode(reasonText).length > MAX_CLOSE_REASON) {
      throw domException(`the close reason is longer than ${MAX_CLOSE_REASON} bytes of UTF-8`, 'SyntaxError');
    }
    // "If code is null and reasonBytes is non-empty, set code to 1000."
    const status = code ?? (reasonText !== '' ? 1000 : undefined);
    // Step 3: CLOSING or CLOSED → nothing; not yet established → fail the connection.
    if (this.#driver.connection.state === ReadyState.CONNECTING) {
      this.#driver.terminate();
      return;
    }
    const closeReason = status === undefined ? undefined : reasonText;
    if (this.#sendQueue !== null) {
      // The messages sent before close() go first (RFC 6455 §5.5.1: no data after the close frame).
      if (this.#closeQueued || this.#driver.connection.state !== ReadyState.OPEN) return;
      this.#closeQueued = true;
      this.#sendQueue.push({ data: null, code: status, reason: closeReason });
      return;
    }
    this.#driver.close(status, closeReason);
  }

  /** Abort the streams now, without a closing handshake; the close (1006) follows. */
  terminate(): void {
    if (this.#driver.connection.state === ReadyState.CLOSED) return;
    this.#driver.terminate();
  }

  /** Stop reading from the readable: the peer's sends back up into the streams behind it. */
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

  // -------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------

  #control(kind: 'ping' | 'pong', data: SendData | SendCallback | undefined, mask: boolean | SendCallback | undefined, callback: SendCallback | undefined): void {
    if (typeof data === 'function') {
      callback = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      callback = mask;
    }
    const state = this.#driver.connection.state;
    if (state === ReadyState.CONNECTING) throw domException(`cannot send a ${kind}: the WebSocket is not open yet (CONNECTING)`, 'InvalidStateError');
    const bytes = controlBytes(kind, data);
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

  /** Keep sends in order behind a Blob being read (as `ws` does). */
  #enqueueSend(item: QueuedSend, size: number): void {
    const queue = (this.#sendQueue ??= []);
    queue.push(item);
    this.#queuedBytes += size;
    if (queue.length === 1) void this.#drainSendQueue(queue);
  }

  async #drainSendQueue(queue: QueuedSend[]): Promise<void> {
    while (queue.length > 0) {
      const item = queue[0]!;
      if (item.data === null) {
        queue.shift();
        this.#closeQueued = false;
        this.#driver.close(item.code, item.reason);
        continue;
      }
      const size = item.data instanceof Uint8Array ? item.data.length : item.data.size;
      let bytes: Uint8Array;
      try {
        bytes = item.data instanceof Uint8Array ? item.data : new Uint8Array(await item.data.arrayBuffer());
      } catch (error) {
        queue.shift();
        this.#queuedBytes -= size;
        item.callback?.(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (this.#sendQueue !== queue) return;
      queue.shift();
      this.#queuedBytes -= size;
      if (this.#driver.connection.state !== ReadyState.OPEN || this.#driver.terminating) {
        this.#bufferedAfterClose += size;
        item.callback?.(notOpenError(this.readyState));
        continue;
      }
      this.#driver.send(bytes, item.binary, item.fin, item.callback as WriteCallback | undefined);
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
}
