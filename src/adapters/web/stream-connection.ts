/**
 * Binds a Sans-I/O `Connection` — client or server, opening handshake included — to a WHATWG
 * byte stream pair: a `ReadableStream<Uint8Array>` the peer's bytes come from and a
 * `WritableStream<Uint8Array>` ours go to. That is the shape TCP sockets take in several
 * JavaScript runtimes (`{ readable, writable }` of a connected socket) and the shape a tunnel,
 * or a pair of `TransformStream`s between two workers, gives.
 *
 * Theory of operation
 * -------------------
 * The loop of `src/protocol/connection.ts`:
 *
 *   read a chunk → `receiveData` → pump
 *   the readable ends → `receiveEof` → pump
 *   pump = deliver `eventsReceived()` to the sink, queue `dataToSend()` for the writer, then
 *          apply what the core asks: close the transport (`shouldCloseTransport()`), arm the
 *          close timeout (`closeExpected()`), stop or restart reading (`shouldPauseReading()`).
 *
 * Backpressure runs both ways:
 * - reading: a read is started only while the application takes messages (`pause()` stops
 *   reading) and the core does not ask to pause; a stream that is not read fills up and
 *   pushes back on whatever feeds it — the peer, through TCP's window or a tunnel's own flow
 *   control;
 * - writing: a batch is handed to the writer only while its `desiredSize` is positive, else
 *   after `writer.ready`. `bufferedAmount` counts message bytes accepted by `send` and not yet
 *   written (a write is done when the writer's promise for it resolves); `send` returns false
 *   from `highWaterMark` on and the sink's `onDrain` follows when everything is written.
 *
 * Sends are batched: they queue bytes in the core, and one flush per microtask turns
 * everything queued into one write (small chunks merged into one buffer; large payloads
 * written as they are, never copied), so a burst of small messages is one stream chunk.
 *
 * Closing: when the core asks (RFC 6455 §7.1.1, the server closes the TCP connection first),
 * reading stops, the queued bytes are written, the writable is closed, and the core is told
 * the transport ended. When the readable ends, the core is told, and our writable is closed
 * too. A stream that errors, a deadline, or `terminate()` aborts both streams: the close is
 * reported with 1006.
 *
 * Rules: no protocol logic here (the core decides everything about bytes); timers exist only
 * here; every timer is cleared when the connection closes.
 */
import type { Connection } from '../../protocol/connection.js';
import type { ConnectionEvent } from '../../protocol/events.js';
import { concatBytes } from '../../shared/bytes.js';
import { CloseCode, ReadyState } from '../../shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, WebSocketError } from '../../shared/errors.js';
import { type ConnectionSink, resolveTransportOptions, type TransportOptions } from '../types.js';

/** A byte stream pair: what the peer sends arrives on `readable`; what we send goes to `writable`. */
export interface WebStreamPair {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** The transport policies of a stream connection: `TransportOptions` and the handshake deadline. */
export interface StreamTransportOptions extends TransportOptions {
  /**
   * Milliseconds the opening handshake may take before the streams are aborted; 0: no
   * deadline. Bounds what a peer that connects and says nothing can hold.
   */
  readonly handshakeTimeout: number;
}

/** Called once the bytes of a send were written, or with the error that stopped them. */
export type WriteCallback = (error?: Error) => void;

/** The default handshake deadline: 30 s, as the Node client's. */
export const DEFAULT_STREAM_HANDSHAKE_TIMEOUT = 30_000;

/**
 * Chunks smaller than this are copied into one buffer per batch; larger ones are written by
 * reference. Each stream chunk costs the far side a read, while copying 4 KiB costs well
 * under a microsecond.
 */
const COPY_BELOW = 4096;
/** Largest buffer that copied chunks are merged into; a new one starts beyond it. */
const MERGE_LIMIT = 64 * 1024;

/** The timers of a connection (see the module comment); each exists only while armed. */
type TimerName = 'handshake' | 'close' | 'idle' | 'heartbeat';
const TIMER_NAMES: readonly TimerName[] = ['handshake', 'close', 'idle', 'heartbeat'];

/** A batch waiting for the writer: its chunks, its message bytes and its send callbacks. */
interface WriteBatch {
  readonly chunks: Uint8Array[];
  readonly bytes: number;
  readonly callbacks: WriteCallback[] | null;
}

/**
 * Complete stream transport options with the defaults (`DEFAULT_TRANSPORT_OPTIONS`, a 30 s
 * handshake deadline) and check them.
 *
 * @throws InvalidArgumentError for a value out of range.
 */
export function resolveStreamTransportOptions(options: Partial<StreamTransportOptions> = {}): StreamTransportOptions {
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_STREAM_HANDSHAKE_TIMEOUT;
  // 0 (no deadline) up to 2^31 − 1 ms, the largest delay setTimeout honours.
  if (!Number.isInteger(handshakeTimeout) || handshakeTimeout < 0 || handshakeTimeout > 0x7fffffff) {
    throw new InvalidArgumentError(`handshakeTimeout must be an integer number of milliseconds from 0 to 2147483647, got ${String(handshakeTimeout)}`);
  }
  return Object.freeze({ ...resolveTransportOptions(options), handshakeTimeout });
}

/** Any binary chunk a stream may yield, as bytes; null for anything else. */
function chunkBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

/**
 * Two connected stream pairs over `TransformStream`s: what one side writes, the other reads.
 * For a client and a server in one program, or across workers (streams are transferable:
 * post each pair to its worker).
 *
 * @param highWaterMark bytes each direction holds before its writer has to wait (default 64 KiB).
 */
export function createWebStreamPair(highWaterMark = MERGE_LIMIT): [WebStreamPair, WebStreamPair] {
  const forward = new TransformStream<Uint8Array, Uint8Array>(undefined, new ByteLengthQueuingStrategy({ highWaterMark }));
  const backward = new TransformStream<Uint8Array, Uint8Array>(undefined, new ByteLengthQueuingStrategy({ highWaterMark }));
  return [
    { readable: backward.readable, writable: forward.writable },
    { readable: forward.readable, writable: backward.writable },
  ];
}

/** One WebSocket connection over a stream pair. See the module comment. */
export class WebStreamConnection {
  readonly #connection: Connection;
  readonly #sink: ConnectionSink<Uint8Array>;
  readonly #options: StreamTransportOptions;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  #pumping = false;
  #flushScheduled = false;
  /** The connection is CLOSED and its close was delivered. */
  #closed = false;
  /** A fragmented message is being sent (`send` with `fin` false). */
  #fragmenting = false;

  // Reading.
  #reading = false;
  /** The readable ended, failed or was cancelled: no more reads. */
  #readableDone = false;
  #userPaused = false;
  /** A chunk whose read completed after `pause()`: fed to the core on `resume()`. */
  #heldChunk: Uint8Array | null = null;

  // Writing (see the module comment).
  #buffered = 0;
  #batchBytes = 0;
  #batchCallbacks: WriteCallback[] | null = null;
  readonly #queue: WriteBatch[] = [];
  #writing = false;
  #needDrain = false;
  /** `open`, or nothing more is written: `closing` (closed once the writes in flight are done), `closed`, `aborted`. */
  #writable: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  /** The last write handed to the writer (writes complete in order). */
  #lastWrite: Promise<unknown> = Promise.resolve();
  /** The transport is to be closed once the queued batches are written. */
  #closingTransport = false;
  /** The streams were aborted locally (terminate, a deadline, a stream error). */
  #aborted = false;

  // Timers.
  readonly #timers: Record<TimerName, ReturnType<typeof setTimeout> | null> = { handshake: null, close: null, idle: null, heartbeat: null };
  #pingSentAt = 0;
  #awaitingPong = false;

  readonly #flushBound = (): void => this.#flush();

  /**
   * Take the locks of `streams` and drive `connection` (CONNECTING or OPEN) over them. Nothing
   * happens until `start()`, so the caller can finish wiring the sink.
   *
   * @throws TypeError if a stream is already locked.
   */
  constructor(streams: WebStreamPair, connection: Connection, sink: ConnectionSink<Uint8Array>, options: StreamTransportOptions) {
    this.#connection = connection;
    this.#sink = sink;
    this.#options = options;
    this.#reader = streams.readable.getReader();
    this.#writer = streams.writable.getWriter();
    // A stream that errors is noticed where it matters (a read or a write fails).
    this.#writer.closed.catch(() => {});
  }

  /** The core (for its state, protocol and extensions). */
  get connection(): Connection {
    return this.#connection;
  }

  /** Message bytes accepted by `send` and not yet written. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** `send` returns false from this many buffered bytes on. */
  get highWaterMark(): number {
    return this.#options.highWaterMark;
  }

  /** Whether the application paused reading. */
  get isPaused(): boolean {
    return this.#userPaused;
  }

  /** Whether the streams were aborted locally and the close is on its way. */
  get terminating(): boolean {
    return this.#aborted && !this.#closed;
  }

  /**
   * Start: arm the handshake deadline, write what the core has queued (a client's request),
   * deliver what it has to report (the open of an `established` connection) and read.
   */
  start(): void {
    const options = this.#options;
    if (this.#connection.state === ReadyState.CONNECTING && options.handshakeTimeout > 0) {
      this.#arm('handshake', options.handshakeTimeout, () => this.#handshakeTimedOut());
    }
    if (options.idleTimeout > 0) this.#arm('idle', options.idleTimeout, () => this.#idle());
    this.#pump();
  }

  /** The core's `onWake` port: asynchronous work finished; run the loop. */
  wake(): void {
    if (!this.#closed) this.#pump();
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  /**
   * Send a message or, with `fin` false, a fragment of one (further `send`s continue it until
   * one with `fin` true). Returns false when the bytes waiting to be written reach the
   * high-water mark (the sink's `onDrain` follows once all are written) or the buffer limit
   * was passed.
   *
   * @throws InvalidStateError unless OPEN (the face checks first).
   */
  send(data: Uint8Array, binary: boolean, fin: boolean, callback: WriteCallback | undefined): boolean {
    const connection = this.#connection;
    if (this.#fragmenting) connection.sendContinuation(data, fin);
    else if (binary) connection.sendBinary(data, fin);
    else connection.sendText(data, fin);
    this.#fragmenting = !fin;
    this.#buffered += data.length;
    this.#batchBytes += data.length;
    this.#queued(callback);
    const buffered = this.#buffered;
    const limit = this.#options.maxBufferedAmount;
    if (limit > 0 && buffered > limit) {
      this.#overflow(buffered, limit);
      return false;
    }
    if (buffered >= this.#options.highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Send a ping (≤ 125 bytes). @throws InvalidStateError, InvalidArgumentError */
  ping(data: Uint8Array, callback: WriteCallback | undefined): void {
    this.#connection.sendPing(data);
    this.#queued(callback);
  }

  /** Send a pong (≤ 125 bytes). @throws InvalidStateError, InvalidArgumentError */
  pong(data: Uint8Array, callback: WriteCallback | undefined): void {
    this.#connection.sendPong(data);
    this.#queued(callback);
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2), or, when both close frames have passed,
   * close the transport. @throws InvalidArgumentError for a bad code or reason.
   */
  close(code: number | undefined, reason: string | undefined): void {
    const connection = this.#connection;
    if (connection.state === ReadyState.OPEN) {
      connection.sendClose(code, reason);
      this.#fragmenting = false;
      this.#pump();
    } else if (connection.state === ReadyState.CLOSING && connection.closeSent !== null && connection.closeReceived !== null) {
      this.#closeTransport();
    }
  }

  /**
   * Abort the streams now: no closing handshake; the close (1006) is reported after the
   * call returns, as a socket's close would be.
   */
  terminate(): void {
    this.#abort('the WebSocket was terminated', true);
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  /** Stop reading (the peer's sends back up in the streams behind us). */
  pause(): void {
    this.#userPaused = true;
  }

  /** Read again after `pause()`. */
  resume(): void {
    this.#userPaused = false;
    const held = this.#heldChunk;
    if (held !== null && !this.#closed) {
      this.#heldChunk = null;
      this.#receive(held);
    }
    this.#read();
  }

  #mayRead(): boolean {
    return !this.#readableDone && !this.#userPaused && !this.#closed && !this.#connection.shouldPauseReading();
  }

  #read(): void {
    if (!this.#reading && this.#mayRead()) void this.#readLoop();
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
          const error = new TypeError(`the readable stream yielded ${value === null ? 'null' : typeof value}, not bytes`);
          this.#sink.onError(error);
          this.#abort(error.message, false);
          return;
        }
        // A read already under way when the application paused: keep its bytes for resume().
        if (this.#userPaused) {
          this.#heldChunk = bytes;
          return;
        }
        this.#receive(bytes);
      }
    } catch {
      // The readable errored: the transport is gone (RFC 6455 §7.1.5: 1006).
      this.#abort('the readable stream failed', false);
    } finally {
      this.#reading = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The loop
  // -------------------------------------------------------------------------------------------

  #receive(bytes: Uint8Array): void {
    if (this.#timers.idle !== null) this.#arm('idle', this.#options.idleTimeout, () => this.#idle());
    this.#connection.receiveData(bytes);
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const connection = this.#connection;
      for (let events = connection.eventsReceived(); events.length > 0; events = connection.eventsReceived()) {
        for (let i = 0; i < events.length; i++) this.#deliver(events[i]!);
      }
    } finally {
      this.#pumping = false;
    }
    if (!this.#closed) this.#flush();
  }

  #deliver(event: ConnectionEvent): void {
    const sink = this.#sink;
    switch (event.type) {
      case 'message':
        sink.onMessage(event.data, event.binary);
        break;
      case 'ping':
        sink.onPing(event.data);
        break;
      case 'pong':
        this.#pongReceived();
        sink.onPong(event.data);
        break;
      case 'open':
        this.#disarm('handshake');
        if (this.#options.heartbeat !== null) this.#scheduleHeartbeat(this.#options.heartbeat.interval);
        sink.onOpen(event.protocol, event.extensions);
        break;
      case 'error':
        sink.onError(event.error);
        break;
      case 'close':
        this.#closed = true;
        for (const name of TIMER_NAMES) this.#disarm(name);
        this.#releaseStreams();
        sink.onClose(event.code, event.reason, event.wasClean);
        break;
      default:
        // 'close-received' changes only the state; 'request' and 'fragment' are not enabled here.
        break;
    }
  }

  /** A send queued bytes: flush them with everything else queued in this microtask. */
  #queued(callback: WriteCallback | undefined): void {
    if (callback !== undefined) (this.#batchCallbacks ??= []).push(callback);
    if (!this.#flushScheduled && !this.#pumping) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushBound);
    }
  }

  /** Queue what the core has for the writer, then apply the transport state it asks for. */
  #flush(): void {
    this.#flushScheduled = false;
    const connection = this.#connection;
    const chunks = connection.dataToSend();
    if (chunks.length > 0 || this.#batchCallbacks !== null) {
      const batch: WriteBatch = { chunks: mergeSmallChunks(chunks), bytes: this.#batchBytes, callbacks: this.#batchCallbacks };
      this.#batchBytes = 0;
      this.#batchCallbacks = null;
      if (this.#writable !== 'open') this.#failBatch(batch, 'the transport is closed');
      else {
        this.#queue.push(batch);
        if (!this.#writing) void this.#writeLoop();
      }
    }
    if (connection.state === ReadyState.CLOSED) return;
    if (connection.shouldCloseTransport()) {
      // A client whose handshake failed drops the connection (RFC 6455 §4.1 "_Fail the
      // WebSocket Connection_"); otherwise close our side after the queued bytes.
      if (connection.state === ReadyState.CONNECTING && connection.side === 'client') this.#abort('the opening handshake failed', false);
      else this.#closeTransport();
    } else if (this.#timers.close === null && connection.closeExpected() && !this.#aborted) {
      this.#arm('close', this.#options.closeTimeout, () => this.#closeTimedOut());
    }
    this.#read();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    const writer = this.#writer;
    try {
      while (this.#queue.length > 0 && this.#writable === 'open') {
        // desiredSize: null once the stream errored (then `ready` rejects), ≤ 0 while it is full.
        if (writer.desiredSize === null || writer.desiredSize <= 0) await writer.ready;
        if (this.#writable !== 'open') break;
        const batch = this.#queue.shift()!;
        const chunks = batch.chunks;
        for (let i = 0; i < chunks.length - 1; i++) writer.write(chunks[i]!).catch(() => {});
        // Writes complete in order: the batch is written when its last chunk is (a batch of
        // callbacks only, when the last write before it is).
        const last = chunks.length > 0 ? writer.write(chunks[chunks.length - 1]!) : this.#lastWrite;
        this.#lastWrite = last.catch(() => {});
        last.then(
          () => this.#batchWritten(batch, undefined),
          (error: unknown) => {
            this.#batchWritten(batch, error instanceof Error ? error : new Error(String(error)));
            this.#abort('a write to the writable stream failed', false);
          },
        );
      }
    } catch {
      // `ready` rejected: the writable errored.
      this.#abort('the writable stream failed', false);
    } finally {
      this.#writing = false;
    }
    if (this.#closingTransport && this.#queue.length === 0) this.#endWritable();
  }

  #batchWritten(batch: WriteBatch, error: Error | undefined): void {
    this.#buffered -= batch.bytes;
    if (batch.callbacks !== null) for (const callback of batch.callbacks) callback(error);
    if (this.#needDrain && this.#buffered === 0 && !this.#closed) {
      this.#needDrain = false;
      this.#sink.onDrain();
    }
  }

  #failBatch(batch: WriteBatch, message: string): void {
    this.#buffered -= batch.bytes;
    if (batch.callbacks === null) return;
    const error = new WebSocketError(message, ErrorCode.INVALID_STATE);
    for (const callback of batch.callbacks) callback(error);
  }

  // -------------------------------------------------------------------------------------------
  // Ending the transport
  // -------------------------------------------------------------------------------------------

  /** Close the transport: stop reading, write what is queued, close the writable, then tell the core. */
  #closeTransport(): void {
    if (this.#closingTransport || this.#aborted) return;
    this.#closingTransport = true;
    this.#cancelReadable(undefined);
    if (!this.#writing && this.#queue.length === 0) this.#endWritable();
    // A writable that never drains (a peer that stops reading) is cut off after the close timeout.
    if (this.#timers.close === null) this.#arm('close', this.#options.closeTimeout, () => this.#closeTimedOut());
  }

  #endWritable(): void {
    this.#closeWritable(() => {
      this.#connection.receiveEof();
      this.#pump();
    });
  }

  /** Close the writable (once the writes in flight are done), then run `closed`, whatever the outcome. */
  #closeWritable(closed: () => void): void {
    if (this.#writable !== 'open') return;
    this.#writable = 'closing';
    const settled = (): void => {
      if (this.#writable === 'closing') this.#writable = 'closed';
      closed();
    };
    this.#writer.close().then(settled, settled);
  }

  #cancelReadable(reason: Error | undefined): void {
    if (this.#readableDone) return;
    this.#readableDone = true;
    this.#reader.cancel(reason).catch(() => {});
  }

  /**
   * The connection is CLOSED: let go of the streams. A readable that ended leaves our
   * writable to close; one that cannot finish its writes (nobody reads) within the close
   * timeout is aborted, so the transport is never held open.
   */
  #releaseStreams(): void {
    this.#cancelReadable(undefined);
    for (const batch of this.#queue.splice(0)) this.#failBatch(batch, 'the connection closed before the data was written');
    if (this.#writable !== 'open') return;
    const deadline = setTimeout(() => this.#abortWritable(new WebSocketError('the WebSocket transport was aborted: its last writes did not finish', ErrorCode.TIMEOUT)), this.#options.closeTimeout);
    this.#closeWritable(() => clearTimeout(deadline));
  }

  /** Abort the writable unless it has closed: queued and in-flight writes are dropped. */
  #abortWritable(error: Error): void {
    if (this.#writable === 'closed' || this.#writable === 'aborted') return;
    this.#writable = 'aborted';
    this.#writer.abort(error).catch(() => {});
  }

  /**
   * Abort both streams (the peer sees `reason`); the core is CLOSED (1006). With `deferred`,
   * the close is delivered after the caller's call returns.
   */
  #abort(reason: string, deferred: boolean): void {
    if (this.#closed || this.#aborted) return;
    this.#aborted = true;
    const error = new WebSocketError(`the WebSocket transport was aborted: ${reason}`, ErrorCode.INVALID_STATE);
    this.#cancelReadable(error);
    // Also while closing: a close that cannot complete (a peer that stopped reading) is cut off.
    this.#abortWritable(error);
    const finish = (): void => {
      this.#connection.abort();
      this.#pump();
    };
    if (deferred) queueMicrotask(finish);
    else finish();
  }

  #overflow(buffered: number, limit: number): void {
    if (this.#connection.state !== ReadyState.OPEN) return;
    this.#sink.onError(
      new WebSocketError(
        `${buffered} bytes are waiting for a peer that does not read, more than maxBufferedAmount (${limit})`,
        ErrorCode.BUFFER_OVERFLOW,
        this.#options.onBufferOverflow === 'close' ? CloseCode.POLICY_VIOLATION : undefined,
      ),
    );
    if (this.#options.onBufferOverflow === 'terminate') {
      this.#abort('send buffer overflow', true);
      return;
    }
    // RFC 6455 §7.4.1 1008: "a message that violates its policy". The close frame waits
    // behind the data the peer is not reading; the close timeout then ends the transport.
    this.#connection.fail(CloseCode.POLICY_VIOLATION, 'send buffer overflow');
    this.#fragmenting = false;
  }

  // -------------------------------------------------------------------------------------------
  // Timers
  // -------------------------------------------------------------------------------------------

  /** Start timer `name` (restarting it if it runs); it disarms itself when it fires. */
  #arm(name: TimerName, delay: number, fire: () => void): void {
    this.#disarm(name);
    this.#timers[name] = setTimeout(() => {
      this.#timers[name] = null;
      fire();
    }, delay);
  }

  #disarm(name: TimerName): void {
    const timer = this.#timers[name];
    if (timer === null) return;
    clearTimeout(timer);
    this.#timers[name] = null;
  }

  #handshakeTimedOut(): void {
    if (this.#connection.state !== ReadyState.CONNECTING) return;
    this.#sink.onError(new HandshakeError(`the opening handshake did not complete within ${this.#options.handshakeTimeout} ms`, 408, [], ErrorCode.TIMEOUT));
    this.#abort('the opening handshake timed out', false);
  }

  #closeTimedOut(): void {
    this.#abort(`the peer did not close the connection within ${this.#options.closeTimeout} ms`, false);
  }

  #idle(): void {
    if (this.#connection.state === ReadyState.OPEN) {
      this.#connection.sendClose(CloseCode.GOING_AWAY, 'idle timeout');
      this.#fragmenting = false;
      this.#pump();
    }
  }

  #scheduleHeartbeat(delay: number): void {
    this.#arm('heartbeat', delay, () => this.#heartbeat());
  }

  #heartbeat(): void {
    const heartbeat = this.#options.heartbeat!;
    if (this.#connection.state !== ReadyState.OPEN || this.#closed) return;
    if (this.#awaitingPong) {
      this.#sink.onError(new WebSocketError(`no pong within ${heartbeat.timeout ?? heartbeat.interval} ms of a ping: the peer is unresponsive`, ErrorCode.TIMEOUT));
      this.#abort('the peer stopped answering pings', false);
      return;
    }
    this.#awaitingPong = true;
    this.#pingSentAt = performance.now();
    this.#connection.sendPing();
    this.#queued(undefined);
    this.#scheduleHeartbeat(heartbeat.timeout ?? heartbeat.interval);
  }

  #pongReceived(): void {
    if (!this.#awaitingPong) return;
    this.#awaitingPong = false;
    const heartbeat = this.#options.heartbeat!;
    this.#scheduleHeartbeat(Math.max(1, Math.round(heartbeat.interval - (performance.now() - this.#pingSentAt))));
  }
}

/** Merge runs of small chunks into one buffer each (see COPY_BELOW); large chunks stay as they are. */
function mergeSmallChunks(chunks: readonly Uint8Array[]): Uint8Array[] {
  if (chunks.length <= 1) return chunks as Uint8Array[];
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) out.push(concatBytes(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    if (chunk.length >= COPY_BELOW) {
      endRun();
      out.push(chunk);
      continue;
    }
    if (runBytes + chunk.length > MERGE_LIMIT) endRun();
    run.push(chunk);
    runBytes += chunk.length;
  }
  endRun();
  return out;
}
