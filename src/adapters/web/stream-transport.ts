/**
 * The whole WebSocket protocol — opening handshake included, client or server — over any
 * WHATWG byte stream pair: a `ReadableStream<Uint8Array>` the peer's bytes come from and a
 * `WritableStream<Uint8Array>` ours go to. That is the shape TCP sockets take in several
 * JavaScript runtimes (`{ readable, writable }` of a connected socket) and the shape a tunnel
 * or a pair of `TransformStream`s between two workers gives.
 *
 * Theory of operation
 * -------------------
 * The Sans-I/O core (`ClientConnection` / `ServerConnection`) does the protocol; this file is
 * its adapter loop (src/protocol/connection.ts):
 *
 *   read a chunk → `receiveData` → dispatch `eventsReceived()` → queue `dataToSend()` → write
 *
 * with backpressure both ways:
 * - reading: a read is started only while the consumer takes events (`pause()` stops
 *   reading, `resume()` starts again) and the core does not ask to pause
 *   (`shouldPauseReading()`); a stream we do not read fills up and pushes back on its source;
 * - writing: queued bytes go to the writer only while its `desiredSize` is positive (else we
 *   wait for `writer.ready`); `bufferedAmount` counts what is queued or being written. Small
 *   chunks queued behind a busy writer are coalesced into one write.
 *
 * Timers live here, not in the core: the opening handshake must finish within
 * `handshakeTimeout`, and once the core expects the transport to close (`closeExpected()`) the
 * peer has `closeTimeout` to do so; then the streams are aborted.
 *
 * Closing the transport (`shouldCloseTransport()`, RFC 6455 §7.1.1: the server closes the TCP
 * connection first) closes the writable once the queued bytes are written and cancels the
 * readable; when the readable ends, the core is told (`receiveEof`) and the writable is closed
 * too. A stream that errors ends the connection abnormally (close code 1006).
 *
 * The face is the Node client's (`WebSocketFace`): `ws`-style events and `send` / `ping` /
 * `close` / `terminate` / `pause`, and the WHATWG `WebSocket` attributes and events.
 */
import type { Codec } from '../../codec/types.js';
import { serializeExtensionList } from '../../handshake/headers.js';
import type { HeaderField } from '../../handshake/http.js';
import type { ServerHandshakeOptions } from '../../handshake/server.js';
import { ClientConnection } from '../../protocol/client-connection.js';
import { serializeClosePayload } from '../../protocol/close.js';
import type { Connection } from '../../protocol/connection.js';
import type { ConnectionEvent } from '../../protocol/events.js';
import type { Extension } from '../../protocol/extension.js';
import type { ConnectionLimits } from '../../protocol/limits.js';
import { ServerConnection } from '../../protocol/server-connection.js';
import { concatBytes, utf8Encode } from '../../shared/bytes.js';
import { ReadyState } from '../../shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, InvalidStateError, WebSocketError } from '../../shared/errors.js';
import { type RandomSource, webCryptoRandom } from '../../shared/ports.js';
import { sharedWebCodec } from './codec.js';
import { readyStateName, type SendCallback, type SendData, WebSocketFace } from './face.js';

/** A byte stream pair: what the peer sends arrives on `readable`; what we send goes to `writable`. */
export interface WebStreamPair {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** Options of every stream transport. */
export interface WebStreamTransportOptions {
  /**
   * Milliseconds the opening handshake may take before the streams are aborted (default
   * 30,000). Bounds what a peer that connects and says nothing can hold.
   */
  readonly handshakeTimeout?: number;
  /**
   * Milliseconds the peer has to close the transport once a close frame was sent or the
   * connection failed (default 30,000, as `ws`); then the streams are aborted.
   */
  readonly closeTimeout?: number;
  /** The frame codec; default the thread's shared web codec (portable at once, wasm when loaded). */
  readonly codec?: Codec;
  /** Limits on what is received (`ConnectionLimits`). */
  readonly limits?: Partial<ConnectionLimits>;
  /** Answer pings automatically (default true). */
  readonly autoPong?: boolean;
}

/** Options of `WebStreamTransport.connect`. */
export interface WebStreamClientOptions extends WebStreamTransportOptions {
  /** Subprotocols to offer, most preferred first. */
  readonly protocols?: string | readonly string[];
  /** The Origin header, if the client has one (RFC 6455 §10.2). */
  readonly origin?: string;
  /** More request header fields (Authorization, Cookie, …). */
  readonly headers?: Iterable<HeaderField> | Readonly<Record<string, string>>;
  /** A cryptographically strong random source for the key and the masks; default Web Crypto. */
  readonly random?: RandomSource;
}

/** Options of `WebStreamTransport.accept`. */
export interface WebStreamServerOptions extends WebStreamTransportOptions, ServerHandshakeOptions<Extension> {
  /** More header fields for the 101 response. */
  readonly responseHeaders?: Iterable<HeaderField> | Readonly<Record<string, string>>;
}

/** Default `handshakeTimeout` and `closeTimeout`: 30 s, `ws`'s close timeout. */
export const DEFAULT_STREAM_TIMEOUT = 30_000;

/**
 * Queued chunks smaller than this are merged into one write while the writer is busy: a
 * stream chunk costs a read on the far side, and 64 KiB is a socket read in Node.
 */
const COALESCE_LIMIT = 64 * 1024;

/** One write: its parts (merged when written) and the send callbacks to run once written. */
interface WriteEntry {
  readonly parts: Uint8Array[];
  size: number;
  callbacks: SendCallback[] | null;
}

function timeoutOption(name: string, value: number | undefined): number {
  if (value === undefined) return DEFAULT_STREAM_TIMEOUT;
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${name} must be a non-negative number of milliseconds, got ${String(value)}`);
  return value;
}

/** What a connection needs of the WebSocket URL (WHATWG WebSockets §3.1 "new WebSocket(url)" steps 1–6). */
function parseWebSocketUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw new InvalidArgumentError(`invalid WebSocket URL: ${String(url)}`);
  }
  // Step 3–4: http and https map to ws and wss.
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new InvalidArgumentError(`a WebSocket URL must use ws: or wss:, got ${parsed.protocol}`);
  }
  // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and
  // MUST NOT be used on these URIs."
  if (parsed.hash !== '' || String(url).includes('#')) throw new InvalidArgumentError('a WebSocket URL must not have a fragment');
  return parsed;
}

/** Any binary chunk a stream may yield, as bytes; null for anything else. */
function chunkBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

/** A control frame payload (`ping`, `pong`) as bytes or text. */
function controlPayload(data: SendData | undefined): string | Uint8Array | null {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === 'string') return data;
  if (typeof Blob === 'function' && data instanceof Blob) return null;
  return chunkBytes(data) ?? String(data);
}

/**
 * A WebSocket over a WHATWG stream pair: see the module comment. Create one with
 * `WebStreamTransport.connect` (the client side) or `WebStreamTransport.accept` (the server
 * side), or from any connection with the constructor.
 *
 * @example A client over a runtime's TCP socket
 * ```ts
 * const socket = connect({ hostname: 'example.com', port: 80 });   // { readable, writable }
 * const ws = WebStreamTransport.connect(socket, 'ws://example.com/chat', { protocols: ['chat'] });
 * ws.on('open', () => ws.send('hello'));
 * ws.on('message', (data, isBinary) => console.log(isBinary ? data : String(data)));
 * ```
 *
 * @example The server side, in a worker handed the streams of an accepted connection
 * ```ts
 * const ws = WebStreamTransport.accept({ readable, writable }, { handleProtocols: (offered) => offered.has('chat') ? 'chat' : false });
 * ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
 * ```
 */
export class WebStreamTransport extends WebSocketFace {
  readonly #connection: Connection;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #url: string;
  readonly #closeTimeout: number;

  #readyState: ReadyState = ReadyState.CONNECTING;
  #pumping = false;
  #pumpAgain = false;

  #reading = false;
  /** The readable ended, failed or was cancelled. */
  #readableDone = false;

  readonly #queue: WriteEntry[] = [];
  #queuedBytes = 0;
  #inFlightBytes = 0;
  /** The last write handed to the writer (writes complete in order); rejects with its error. */
  #lastWrite: Promise<void> = Promise.resolve();
  #writing = false;
  /** The writable is closed, closing or aborted: nothing more is written. */
  #writableDone = false;
  /** The transport is being closed (after the queued bytes are written). */
  #closingTransport = false;

  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The handshake timed out (and that was reported). */
  #handshakeTimedOut = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Operations waiting behind a Blob being read, in order; null when none is. */
  #deferred: (() => void)[] | null = null;
  /** A fragmented message is being sent (`send` with `fin: false`). */
  #sendingFragments = false;

  /**
   * Connect as a client: send the opening request for `url` on `streams` and run the
   * protocol once the server accepts. The streams must already reach the server (TCP, and
   * TLS for `wss:`); the URL gives the Host header, the resource name and the default port.
   *
   * @throws InvalidArgumentError for a URL that is not ws:, wss:, http: or https:, has a
   *   fragment, or for invalid protocols, headers, origin or options.
   */
  static connect(streams: WebStreamPair, url: string | URL, options: WebStreamClientOptions = {}): WebStreamTransport {
    const target = parseWebSocketUrl(url);
    const protocols = typeof options.protocols === 'string' ? [options.protocols] : options.protocols;
    const secure = target.protocol === 'wss:';
    return new WebStreamTransport(
      streams,
      (onWake) =>
        new ClientConnection({
          codec: options.codec ?? sharedWebCodec(),
          random: options.random ?? webCryptoRandom,
          limits: options.limits,
          autoPong: options.autoPong,
          onWake,
          host: target.hostname,
          port: target.port === '' ? undefined : Number(target.port),
          secure,
          path: `${target.pathname}${target.search}`,
          protocols,
          origin: options.origin,
          headers: options.headers,
        }),
      { ...options, url: target.href },
    );
  }

  /**
   * Serve one connection: read the client's opening request from `streams`, answer it (101,
   * or an HTTP error response and close), and run the protocol.
   *
   * @throws InvalidArgumentError for invalid options.
   */
  static accept(streams: WebStreamPair, options: WebStreamServerOptions = {}): WebStreamTransport {
    return new WebStreamTransport(
      streams,
      (onWake) =>
        new ServerConnection({
          codec: options.codec ?? sharedWebCodec(),
          limits: options.limits,
          autoPong: options.autoPong,
          onWake,
          handleProtocols: options.handleProtocols,
          verifyOrigin: options.verifyOrigin,
          extensions: options.extensions,
          responseHeaders: options.responseHeaders,
        }),
      options,
    );
  }

  /**
   * Drive the connection `createConnection` builds (pass `onWake` to it) over `streams`,
   * whose locks this takes. The opening handshake, if the connection has one, starts at once.
   *
   * @throws InvalidArgumentError for invalid timeouts. @throws TypeError if a stream is locked.
   */
  constructor(
    streams: WebStreamPair,
    createConnection: (onWake: () => void) => Connection,
    options: WebStreamTransportOptions & { readonly url?: string } = {},
  ) {
    super();
    const handshakeTimeout = timeoutOption('handshakeTimeout', options.handshakeTimeout);
    this.#closeTimeout = timeoutOption('closeTimeout', options.closeTimeout);
    this.#url = options.url ?? '';
    this.#connection = createConnection(() => this.#pump());
    this.#reader = streams.readable.getReader();
    this.#writer = streams.writable.getWriter();
    if (this.#connection.state === ReadyState.CONNECTING) {
      this.#handshakeTimer = setTimeout(() => this.#onHandshakeTimeout(handshakeTimeout), handshakeTimeout);
    }
    // The writer's `closed` rejects when the stream errors; that is seen where it matters
    // (a failed write), so the rejection itself needs no handler beyond this one.
    this.#writer.closed.catch(() => {});
    // Events (an `open` of an established connection) are dispatched after the caller could
    // add listeners, as a WHATWG WebSocket fires its events from tasks.
    queueMicrotask(() => this.#pump());
  }

  // -------------------------------------------------------------------------------------------
  // The face's state
  // -------------------------------------------------------------------------------------------

  get readyState(): ReadyState {
    return this.#readyState;
  }

  get bufferedAmount(): number {
    return this.#queuedBytes + this.#inFlightBytes;
  }

  get protocol(): string {
    return this.#connection.protocol ?? '';
  }

  get extensions(): string {
    return serializeExtensionList(this.#connection.extensions);
  }

  get url(): string {
    return this.#url;
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  protected sendMessage(data: string | Uint8Array | Blob, binary: boolean, fin: boolean, callback: SendCallback | undefined): void {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      this.#sendBlob(data, binary, fin, callback);
      return;
    }
    this.#whenReady(() => this.#sendNow(data, binary, fin, callback));
  }

  #sendNow(data: string | Uint8Array, binary: boolean, fin: boolean, callback: SendCallback | undefined): void {
    const connection = this.#connection;
    if (connection.state !== ReadyState.OPEN) {
      this.failCallback(callback, `cannot send: the connection is ${readyStateName(connection.state)}`);
      return;
    }
    const payload = binary && typeof data === 'string' ? utf8Encode(data) : data;
    if (this.#sendingFragments) connection.sendContinuation(payload, fin);
    else if (binary) connection.sendBinary(payload as Uint8Array, fin);
    else connection.sendText(payload, fin);
    this.#sendingFragments = !fin;
    this.#takeOutput(callback);
    this.#pump();
  }

  /** A Blob is read first; everything sent after it waits, so order is kept (as `ws` does). */
  #sendBlob(blob: Blob, binary: boolean, fin: boolean, callback: SendCallback | undefined): void {
    this.#whenReady(() => {
      this.#deferred = [];
      blob.arrayBuffer().then(
        (buffer) => this.#sendNow(new Uint8Array(buffer), binary, fin, callback),
        (error: unknown) => callback?.(error instanceof Error ? error : new Error(String(error))),
      ).finally(() => {
        const waiting = this.#deferred ?? [];
        this.#deferred = null;
        while (waiting.length > 0) {
          const operation = waiting.shift()!;
          // An operation may have started another Blob read, which makes the rest wait again.
          const blocked = this.#deferred as (() => void)[] | null;
          if (blocked !== null) blocked.push(operation);
          else operation();
        }
      });
    });
  }

  #whenReady(operation: () => void): void {
    if (this.#deferred !== null) this.#deferred.push(operation);
    else operation();
  }

  /**
   * Send a ping (RFC 6455 §5.5.2). `mask` is accepted for `ws` compatibility: a client
   * always masks and a server never does (§5.1).
   *
   * @throws InvalidStateError while CONNECTING. @throws InvalidArgumentError for a payload over 125 bytes.
   */
  ping(data?: SendData, mask?: boolean | SendCallback, callback?: SendCallback): void {
    this.#sendControl('ping', data, typeof mask === 'function' ? mask : callback);
  }

  /**
   * Send a pong (RFC 6455 §5.5.3), e.g. an unsolicited one as a heartbeat.
   *
   * @throws InvalidStateError while CONNECTING. @throws InvalidArgumentError for a payload over 125 bytes.
   */
  pong(data?: SendData, mask?: boolean | SendCallback, callback?: SendCallback): void {
    this.#sendControl('pong', data, typeof mask === 'function' ? mask : callback);
  }

  #sendControl(kind: 'ping' | 'pong', data: SendData | undefined, callback: SendCallback | undefined): void {
    if (this.#readyState === ReadyState.CONNECTING) throw new InvalidStateError(`cannot send a ${kind}: the WebSocket is CONNECTING (wait for open)`);
    const payload = controlPayload(data);
    if (payload === null) throw new InvalidArgumentError(`a ${kind} payload must be a string or bytes, not a Blob`);
    if ((typeof payload === 'string' ? utf8Encode(payload).length : payload.length) > 125) {
      throw new InvalidArgumentError(`a ${kind} payload must be at most 125 bytes (RFC 6455 §5.5)`);
    }
    this.#whenReady(() => {
      if (this.#connection.state !== ReadyState.OPEN) {
        this.failCallback(callback, `cannot send a ${kind}: the connection is ${readyStateName(this.#connection.state)}`);
        return;
      }
      if (kind === 'ping') this.#connection.sendPing(payload);
      else this.#connection.sendPong(payload);
      this.#takeOutput(callback);
      this.#pump();
    });
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2) with `code` and `reason`; while
   * CONNECTING, abandon the connection (an `error`, then `close` with 1006).
   *
   * @throws InvalidArgumentError for a code that may not be sent (RFC 6455 §7.4) or a reason
   *   over 123 bytes of UTF-8.
   */
  close(code?: number, reason?: string): void {
    if (this.#readyState === ReadyState.CONNECTING) {
      this.#abandon();
      return;
    }
    if (this.#readyState !== ReadyState.OPEN) return;
    // Check the arguments now, so a bad code throws here even if a Blob send is pending.
    serializeClosePayload(code, reason);
    this.#readyState = ReadyState.CLOSING;
    this.#whenReady(() => {
      // The peer's close may have arrived meanwhile: the closing handshake is then under way.
      if (this.#connection.state !== ReadyState.OPEN) return;
      this.#connection.sendClose(code, reason);
      this.#pump();
    });
  }

  /** Abort the streams at once: no closing handshake; `close` reports 1006. */
  terminate(): void {
    if (this.#readyState === ReadyState.CLOSED) return;
    if (this.#readyState === ReadyState.CONNECTING) {
      this.#abandon();
      return;
    }
    this.#readyState = ReadyState.CLOSING;
    this.#abortTransport('it was terminated', true);
  }

  /**
   * close() or terminate() while CONNECTING: as a browser does, a client reports `error` (the
   * core's: the connection closed before the opening handshake completed), then `close`
   * (1006), both after the call returns.
   */
  #abandon(): void {
    this.#readyState = ReadyState.CLOSING;
    this.#abortTransport('it was closed before the connection was established', true);
  }

  // -------------------------------------------------------------------------------------------
  // The adapter loop
  // -------------------------------------------------------------------------------------------

  /** Dispatch the core's events and queue its bytes until both are drained; then act on its requests. */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#takeOutput(undefined);
        for (const event of this.#connection.eventsReceived()) this.#handle(event);
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
    const connection = this.#connection;
    if (connection.state === ReadyState.CLOSED) return;
    if (connection.shouldCloseTransport()) this.#closeTransport();
    else if (connection.closeExpected() && this.#closeTimer === undefined) {
      this.#closeTimer = setTimeout(() => this.#abortTransport(`the peer did not close it within ${this.#closeTimeout} ms`), this.#closeTimeout);
    }
    this.#read();
  }

  #handle(event: ConnectionEvent): void {
    switch (event.type) {
      case 'open':
        clearTimeout(this.#handshakeTimer);
        this.#readyState = ReadyState.OPEN;
        if (event.head !== null) this.deliverUpgrade(event.head);
        this.deliverOpen();
        break;
      case 'message':
        this.deliverMessage(event.data, event.binary);
        break;
      case 'ping':
        this.deliverPing(event.data);
        break;
      case 'pong':
        this.deliverPong(event.data);
        break;
      case 'close-received':
        if (this.#readyState === ReadyState.OPEN) this.#readyState = ReadyState.CLOSING;
        break;
      case 'error':
        // After a handshake timeout, the core's own report of the same end says less.
        if (!(this.#handshakeTimedOut && event.error instanceof HandshakeError)) this.deliverError(event.error);
        break;
      case 'close':
        this.#readyState = ReadyState.CLOSED;
        clearTimeout(this.#handshakeTimer);
        clearTimeout(this.#closeTimer);
        this.#endStreams();
        this.deliverClose(event.code, event.reason, event.wasClean);
        break;
      // 'request' needs `autoAccept: false` and 'fragment' needs `streamMessages`; this adapter sets neither.
    }
  }

  protected override transportPaused(paused: boolean): void {
    if (!paused) this.#read();
  }

  /** Start the read loop if it is not running and reading is allowed. */
  #read(): void {
    if (!this.#reading && this.#mayRead()) void this.#readLoop();
  }

  #mayRead(): boolean {
    return !this.#readableDone && !this.isPaused && !this.#connection.shouldPauseReading() && this.#connection.state !== ReadyState.CLOSED;
  }

  async #readLoop(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#mayRead()) {
        const { done, value } = await this.#reader.read();
        // Cancelled by us meanwhile (closing or aborting the transport): nothing more to do.
        if (this.#readableDone) return;
        if (done) {
          this.#readableDone = true;
          this.#connection.receiveEof();
          this.#pump();
          return;
        }
        const bytes = chunkBytes(value);
        if (bytes === null) {
          const error = new TypeError(`the readable stream yielded a ${typeof value}, not bytes`);
          this.deliverError(error);
          this.#abortTransport(error.message);
          return;
        }
        this.#connection.receiveData(bytes);
        this.#pump();
      }
    } catch {
      // The readable errored: the transport is gone (RFC 6455 §7.1.5: 1006).
      if (this.#connection.state !== ReadyState.CLOSED) this.#abortTransport('the readable stream failed');
    } finally {
      this.#reading = false;
    }
  }

  /** Move the core's output to the write queue; `callback` runs once the last of it is written. */
  #takeOutput(callback: SendCallback | undefined): void {
    const chunks = this.#connection.dataToSend();
    if (this.#writableDone) {
      this.failCallback(callback, 'cannot send: the transport is closed');
      return;
    }
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      const tail = this.#queue[this.#queue.length - 1];
      if (tail !== undefined && tail.size + chunk.length <= COALESCE_LIMIT) {
        tail.parts.push(chunk);
        tail.size += chunk.length;
      } else {
        this.#queue.push({ parts: [chunk], size: chunk.length, callbacks: null });
      }
      this.#queuedBytes += chunk.length;
    }
    if (callback !== undefined) {
      const tail = this.#queue[this.#queue.length - 1];
      if (tail !== undefined) (tail.callbacks ??= []).push(callback);
      else this.#lastWrite.then(() => callback(), (error: Error) => callback(error));
    }
    if (this.#queue.length > 0 && !this.#writing) void this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    const writer = this.#writer;
    try {
      while (this.#queue.length > 0 && !this.#writableDone) {
        // desiredSize: null once the stream errored (then `ready` rejects), ≤ 0 while it is full.
        if (writer.desiredSize === null || writer.desiredSize <= 0) await writer.ready;
        if (this.#writableDone) break;
        const entry = this.#queue.shift()!;
        this.#queuedBytes -= entry.size;
        this.#inFlightBytes += entry.size;
        const chunk = entry.parts.length === 1 ? entry.parts[0]! : concatBytes(entry.parts, entry.size);
        this.#lastWrite = writer.write(chunk).then(
          () => {
            this.#inFlightBytes -= entry.size;
            if (entry.callbacks !== null) for (const callback of entry.callbacks) callback();
          },
          (error: unknown) => {
            this.#inFlightBytes -= entry.size;
            const reason = error instanceof Error ? error : new Error(String(error));
            if (entry.callbacks !== null) for (const callback of entry.callbacks) callback(reason);
            if (this.#connection.state !== ReadyState.CLOSED) this.#abortTransport('a write to the writable stream failed');
            throw reason;
          },
        );
        // Observed by the callbacks chained to it, if any; its failure is handled above.
        this.#lastWrite.catch(() => {});
      }
    } catch {
      // `ready` rejected: the writable errored.
      if (this.#connection.state !== ReadyState.CLOSED) this.#abortTransport('the writable stream failed');
    } finally {
      this.#writing = false;
    }
    if (this.#closingTransport && this.#queue.length === 0) this.#finishClose();
  }

  /**
   * Close the transport (the core asked): stop reading, write what is queued, close the
   * writable, then tell the core the transport ended.
   */
  #closeTransport(): void {
    if (this.#closingTransport) return;
    this.#closingTransport = true;
    if (!this.#readableDone) {
      this.#readableDone = true;
      this.#reader.cancel().catch(() => {});
    }
    if (!this.#writing && this.#queue.length === 0) this.#finishClose();
  }

  #finishClose(): void {
    if (this.#writableDone) return;
    this.#writableDone = true;
    this.#writer.close().then(
      () => this.#transportEnded(),
      () => this.#transportEnded(),
    );
  }

  #transportEnded(): void {
    this.#connection.receiveEof();
    this.#pump();
  }

  /** The streams are done with: close or release what is still open. */
  #endStreams(): void {
    if (!this.#readableDone) {
      this.#readableDone = true;
      this.#reader.cancel().catch(() => {});
    }
    if (!this.#writableDone) {
      // The connection is over: what is still queued can no longer matter to the peer. Writes
      // in flight finish, then the writable closes.
      this.#writableDone = true;
      this.#dropQueue('the connection closed before the data was written');
      this.#writer.close().catch(() => {});
    }
  }

  /**
   * The transport failed, timed out or was terminated: abort both streams (the peer sees
   * `reason`); the core is CLOSED at once.
   */
  #abortTransport(reason: string, deferEvents = false): void {
    clearTimeout(this.#closeTimer);
    const error = new WebSocketError(`the WebSocket transport was aborted: ${reason}`, ErrorCode.INVALID_STATE);
    if (!this.#readableDone) {
      this.#readableDone = true;
      this.#reader.cancel(error).catch(() => {});
    }
    if (!this.#writableDone) {
      this.#writableDone = true;
      this.#writer.abort(error).catch(() => {});
    }
    this.#dropQueue('the transport was closed before the data was written');
    this.#connection.abort();
    // Events a local call caused come after the call returns, as `ws` and browsers emit them.
    if (deferEvents) queueMicrotask(() => this.#pump());
    else this.#pump();
  }

  #dropQueue(message: string): void {
    const dropped = this.#queue.splice(0);
    this.#queuedBytes = 0;
    for (const entry of dropped) {
      if (entry.callbacks !== null) for (const callback of entry.callbacks) this.failCallback(callback, message);
    }
  }

  #onHandshakeTimeout(milliseconds: number): void {
    if (this.#connection.state !== ReadyState.CONNECTING) return;
    this.#handshakeTimedOut = true;
    this.deliverError(new HandshakeError(`the opening handshake did not complete within ${milliseconds} ms`, 408));
    this.#abortTransport('the opening handshake timed out');
  }
}

/**
 * Two connected stream pairs over `TransformStream`s: what one side writes, the other reads.
 * For running a client and a server in one program, or across workers (streams are
 * transferable: post each pair to its worker).
 *
 * @param highWaterMark bytes each direction buffers before its writer waits (default 64 KiB).
 */
export function createWebStreamPair(highWaterMark = COALESCE_LIMIT): [WebStreamPair, WebStreamPair] {
  const strategy = new ByteLengthQueuingStrategy({ highWaterMark });
  const forward = new TransformStream<Uint8Array, Uint8Array>(undefined, strategy);
  const backward = new TransformStream<Uint8Array, Uint8Array>(undefined, strategy);
  return [
    { readable: backward.readable, writable: forward.writable },
    { readable: forward.readable, writable: backward.writable },
  ];
}
