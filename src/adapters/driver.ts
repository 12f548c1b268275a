/**
 * The one `ConnectionDriver`: it runs a Sans-I/O `Connection` over any byte transport. Every
 * binding — a Node socket (`node/socket-binding.ts`), a WHATWG stream pair
 * (`web/stream-binding.ts`), an HTTP/2 stream — is only the two small ports below; none of
 * them holds protocol state or policy.
 *
 * Theory of operation
 * -------------------
 * The loop of `src/protocol/connection.ts`, run on what the transport reports:
 *
 *   bytes arrived      → `receiveData(chunk)` → pump;
 *   the peer ended     → end our side too, after what is queued; arm the close timeout;
 *   the transport closed → `receiveEof()` (or `abort()` after a local abort) → pump;
 *   pump               = take the core's events one by one (`nextEvent()`) and deliver each
 *                        to the sink, then flush: write `dataToSend()`, and apply the
 *                        transport state the core asks for (end the transport,
 *                        `shouldCloseTransport()`; arm the close timeout, `closeExpected()`;
 *                        stop or restart reading, `shouldPauseReading()`).
 *
 * Events are taken one at a time, so each reaches the sink with the connection in the state it
 * had when its frame was read, and what a listener sends in reply goes out before the core's
 * answer to a close frame or a violation read after it.
 *
 * Writing is batched: sends only queue bytes in the core and defer one flush (the scheduler's
 * `defer`: a tick in Node, a microtask on the web), and a pump flushes at its end, so the
 * replies to every message of a chunk, or a broadcast's many sends, leave in one transport
 * write. The core cuts small frames and chunks from one slab, so a batch of small ones is one
 * chunk (`FrameSlab`); large payloads are written as they are, never copied.
 *
 * `bufferedAmount` counts message bytes accepted by `send` and not yet taken by the transport:
 * each written batch is remembered with its byte count until the transport's completion for it
 * runs. A peer that never reads stops the completions and the count grows: past
 * `maxBufferedAmount` the connection is closed (1008) or terminated, so memory stays bounded.
 * While more than a high-water mark of bytes the protocol owes (pongs, close frames) waits for
 * the transport, reading stops — a peer that floods pings and reads no pongs cannot make us
 * queue without bound.
 *
 * Rules: no protocol logic here (the core decides everything about bytes); no closure or
 * promise per message; every timer is cleared when the connection closes.
 */
import type { Connection } from '../protocol/connection.js';
import type { EncodedMessage } from '../protocol/encoded-message.js';
import type { ConnectionEvent } from '../protocol/events.js';
import { CloseCode, ReadyState } from '../shared/constants.js';
import { ErrorCode, HandshakeError, WebSocketError } from '../shared/errors.js';
import type { ConnectionSink, TransportOptions } from './types.js';

/** Called once the bytes of a send were taken by the transport, or with the error that stopped them. */
export type WriteCallback = (error?: Error | null) => void;

/**
 * The byte transport a driver runs over. It starts reading when it is attached, and reports to
 * the driver: `receive` (bytes), `peerEnded` (the peer will send no more), `transportClosed`
 * (the transport is gone, after `end` or `abort` or on its own), `transportFailed` (an error:
 * the driver aborts) and `transportDrained` (written bytes were taken).
 */
export interface ByteTransport {
  /**
   * Write `chunks` after everything written before. `written`, when given, is called exactly
   * once, once the transport has taken all of them (the kernel, the writable), or with the
   * error that stopped them; completions come in the order of the writes.
   */
  write(chunks: readonly Uint8Array[], written: WriteCallback | null): void;
  /** Close our side once what was written has gone; `transportClosed` follows when the transport is closed. */
  end(): void;
  /** Drop the transport now, unwritten bytes with it; `transportClosed` follows (never synchronously). */
  abort(error: Error): void;
  /** Read (true) or stop reading (false); a read under way when told to stop is held until reading resumes. */
  setReading(reading: boolean): void;
  /**
   * Bytes written and not yet taken by the transport (Node's `writableLength`); when it falls,
   * the transport reports `transportDrained`.
   */
  readonly pendingBytes: number;
}

/** A timer handle, as the scheduler made it. */
export type Timer = unknown;

/** Deferred work and timers: `process.nextTick` and unref'd timers in Node, microtasks and timers on the web. */
export interface Scheduler {
  /** Run `task(arg)` after the current call stack. */
  defer<T>(task: (arg: T) => void, arg: T): void;
  /** Run `task(arg)` once after `delay` ms; a pending timer must not keep a process alive. */
  setTimer<T>(task: (arg: T) => void, delay: number, arg: T): Timer;
  clearTimer(timer: Timer): void;
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Run `task(arg)` in a later turn of the event loop, after pending I/O (Node's `setImmediate`). */
  later<T>(task: (arg: T) => void, arg: T): void;
}

/** The driver's policies: the transport options and a deadline for the opening handshake. */
export interface DriverOptions extends TransportOptions {
  /**
   * Milliseconds the opening handshake may take once the transport is attached; 0: no deadline
   * here (the Node server and client run their deadlines around the HTTP exchange).
   */
  readonly handshakeTimeout: number;
  /**
   * Whether several `message`, `ping` and `pong` events may be delivered in one turn of the
   * event loop (ws's `allowSynchronousEvents`, default true). False delivers each in a turn of
   * its own (`Scheduler.later`) and reads nothing meanwhile, as ws then does.
   */
  readonly synchronousEvents?: boolean;
}

/**
 * What one message frame may add on the wire to the bytes `send` was given: a header of up to
 * 14 bytes (RFC 6455 §5.2: 2, 8 of length, 4 of mask), and the few a DEFLATE block adds to a
 * short message that does not compress (RFC 7692 §7.2.1). What waits for the transport within
 * this allowance is the application's, not bytes the protocol owes.
 */
const MESSAGE_FRAME_OVERHEAD = 32;

/** Bits of `ConnectionDriver.#flags`. */
/** Inside the loop (`#pump`): a nested call returns at once. */
const PUMPING = 1 << 0;
/** A flush is deferred (`Scheduler.defer`). */
const FLUSH_SCHEDULED = 1 << 1;
/** The turn of the held event has come. */
const HELD_DUE = 1 << 2;
/** We ended or aborted the transport: nothing more may be written. */
const ENDED = 1 << 3;
/** The transport was aborted locally (terminate, a deadline, an overflow): pending work is dropped. */
const ABORTED = 1 << 4;
/** The connection is CLOSED and its close was delivered. */
const CLOSED = 1 << 5;
/** `send` returned false: `onDrain` is due once every buffered byte was taken. */
const NEED_DRAIN = 1 << 6;
/** The application paused reading. */
const USER_PAUSED = 1 << 7;
/** The transport was told to stop reading. */
const READING_PAUSED = 1 << 8;
/** A heartbeat ping is waiting for its pong. */
const AWAITING_PONG = 1 << 9;
/** The handshake deadline passed and was reported: the core's own "closed before the handshake completed" would repeat it. */
const HANDSHAKE_FAILURE_REPORTED = 1 << 10;

/** A batch handed to the transport, waiting for its completion. */
interface WrittenBatch {
  readonly bytes: number;
  /** Message frames (sends) in it. */
  readonly frames: number;
  readonly callbacks: WriteCallback[] | null;
}

/** See the module comment. */
export class ConnectionDriver {
  readonly #connection: Connection;
  readonly #sink: ConnectionSink;
  readonly #options: DriverOptions;
  readonly #scheduler: Scheduler;
  #transport: ByteTransport | null = null;

  /** The driver's yes/no state, as bits (`PUMPING`, `ENDED`, …): one field instead of one each. */
  #flags = 0;
  /** An event taken and held for a later turn (`synchronousEvents` false; `HELD_DUE` once that turn has come). */
  #heldEvent: ConnectionEvent | null = null;

  // Outgoing accounting (see the module comment).
  #buffered = 0;
  /** Message frames accepted by `send` and not yet taken by the transport. */
  #bufferedFrames = 0;
  #batchBytes = 0;
  #batchFrames = 0;
  #batchCallbacks: WriteCallback[] | null = null;
  #written: WrittenBatch[] | null = null;
  /** The completion of batches that carry message bytes or callbacks; made on the first such batch. */
  #onWritten: WriteCallback | null = null;

  // Timers (each exists only while armed).
  #handshakeTimer: Timer | null = null;
  #closeTimer: Timer | null = null;
  #idleTimer: Timer | null = null;
  #heartbeatTimer: Timer | null = null;
  #lastReceived = 0;
  #pingSentAt = 0;

  // Scheduler callbacks are shared by every connection: they get the driver as argument.
  static #flushTask(driver: ConnectionDriver): void {
    driver.#flush();
  }
  static #deliverHeld(driver: ConnectionDriver): void {
    if (driver.#heldEvent === null || (driver.#flags & CLOSED) !== 0) return;
    driver.#flags |= HELD_DUE;
    driver.#pump();
  }
  static #handshakeTimedOut(driver: ConnectionDriver): void {
    driver.#handshakeTimer = null;
    if (driver.#connection.state !== ReadyState.CONNECTING) return;
    const timeout = driver.#options.handshakeTimeout;
    driver.#flags |= HANDSHAKE_FAILURE_REPORTED;
    driver.#sink.onError(new HandshakeError(`the opening handshake did not complete within ${timeout} ms`, 408, [], ErrorCode.TIMEOUT));
    driver.#abort('the opening handshake timed out');
  }
  static #closeTimedOut(driver: ConnectionDriver): void {
    driver.#closeTimer = null;
    driver.#abort(`the peer did not close the connection within ${driver.#options.closeTimeout} ms`);
  }
  static #idleDue(driver: ConnectionDriver): void {
    driver.#idleTimer = null;
    driver.#idle();
  }
  static #heartbeatDue(driver: ConnectionDriver): void {
    driver.#heartbeatTimer = null;
    driver.#heartbeat();
  }

  /**
   * @param connection the core, CONNECTING or OPEN; the driver runs it from now on.
   * @param sink where events go; its methods must not throw.
   */
  constructor(connection: Connection, sink: ConnectionSink, options: DriverOptions, scheduler: Scheduler) {
    this.#connection = connection;
    this.#sink = sink;
    this.#options = options;
    this.#scheduler = scheduler;
  }

  /** The core (for its state, protocol and extensions). */
  get connection(): Connection {
    return this.#connection;
  }

  /** The connection's state (the core's). */
  get state(): ReadyState {
    return this.#connection.state;
  }

  /** Message bytes accepted by `send` and not yet taken by the transport. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** `send` returns false from this many buffered bytes on. */
  get highWaterMark(): number {
    return this.#options.highWaterMark;
  }

  /** Whether the application paused reading. */
  get isPaused(): boolean {
    return (this.#flags & USER_PAUSED) !== 0;
  }

  /** Whether the transport was aborted locally and the close is on its way. */
  get terminating(): boolean {
    return (this.#flags & ABORTED) !== 0 && (this.#flags & CLOSED) === 0;
  }

  /** Whether the close has been delivered (the last event). */
  get closed(): boolean {
    return (this.#flags & CLOSED) !== 0;
  }

  /**
   * Run over `transport` and feed `received` (bytes that came with the handshake) to the core,
   * then run the loop once: this writes what is queued (a client's request, a server's 101)
   * and delivers the events so far (the open event, messages that came with the handshake).
   */
  attach(transport: ByteTransport, received: readonly Uint8Array[] = []): void {
    this.#transport = transport;
    if ((this.#flags & ABORTED) !== 0) {
      // Terminated before the transport arrived (an overflow from sends in a 'connection'
      // listener, a client closed between its 101 and the socket): it ends here, 1006.
      this.#flags |= ENDED;
      transport.abort(new WebSocketError('the WebSocket was terminated', ErrorCode.INVALID_STATE));
      return;
    }
    const handshakeTimeout = this.#options.handshakeTimeout;
    if (this.#connection.state === ReadyState.CONNECTING && handshakeTimeout > 0) {
      this.#handshakeTimer = this.#scheduler.setTimer(ConnectionDriver.#handshakeTimedOut, handshakeTimeout, this);
    }
    for (const chunk of received) this.#connection.receiveData(chunk);
    this.#pump();
  }

  /** Deliver what the core reported without a transport (a refused handshake), then nothing more is expected. */
  deliverDetached(): void {
    this.#pump();
  }

  /**
   * The handshake failed before a transport was attached (no route, TLS, a deadline): report
   * `error`, then the close (1006), and nothing else.
   */
  failDetached(error: Error): void {
    if ((this.#flags & CLOSED) !== 0) return;
    this.#sink.onError(error);
    const connection = this.#connection;
    connection.abort();
    // The core's own "closed before the handshake completed" error would repeat this one.
    for (let event = connection.nextEvent(); event !== undefined; event = connection.nextEvent()) {
      if (event.type === 'close') this.#deliver(event);
    }
  }

  // -------------------------------------------------------------------------------------------
  // What the transport reports
  // -------------------------------------------------------------------------------------------

  /** Bytes arrived from the peer; the driver owns them from now on. */
  receive(chunk: Uint8Array): void {
    if (this.#idleTimer !== null) this.#lastReceived = this.#scheduler.now();
    this.#connection.receiveData(chunk);
    this.#pump();
  }

  /** The peer will send nothing more: end our side too once the queued bytes are out. */
  peerEnded(): void {
    this.#endTransport();
  }

  /** The transport is closed: the core is told (`receiveEof`, or `abort` after a local abort). */
  transportClosed(): void {
    const connection = this.#connection;
    this.#flags |= ENDED;
    if ((this.#flags & ABORTED) !== 0) connection.abort();
    else connection.receiveEof();
    this.#pump();
  }

  /**
   * The transport failed (a reset, a stream error): it is aborted without a closing handshake,
   * and the close is reported with 1006 once it has closed (RFC 6455 §7.1.5), as ws does.
   */
  transportFailed(error: Error): void {
    this.#abortTransport(error);
  }

  /** Writes no longer wait: reading may go on. */
  transportDrained(): void {
    this.#updateReading();
  }

  /** The core's `onWake` port: asynchronous work finished; run the loop. */
  wake(): void {
    if ((this.#flags & CLOSED) === 0) this.#pump();
  }

  // -------------------------------------------------------------------------------------------
  // What the application asks
  // -------------------------------------------------------------------------------------------

  /**
   * Send a message or, with `fin` false, a fragment of one (the core continues it with the
   * next sends until one with `fin` true). Returns false when the bytes waiting to be written
   * reach the high-water mark (then the sink's `onDrain` follows once they are all written) or
   * the buffer limit was passed.
   *
   * @throws InvalidStateError unless OPEN (the face checks first).
   */
  send(data: string | Uint8Array, binary: boolean, fin: boolean, callback: WriteCallback | undefined, compress = true): boolean {
    return this.#accepted(this.#connection.send(data, binary, fin, compress), callback);
  }

  /**
   * Send a message framed once for many connections (a server's `publish`): its shared
   * chunks join this tick's batch like any send's, and count in `bufferedAmount` and against
   * `maxBufferedAmount` by the message's size. Returns as `send` does.
   *
   * @throws InvalidStateError unless OPEN (see `Connection.sendEncoded`).
   */
  sendEncoded(message: EncodedMessage, callback: WriteCallback | undefined): boolean {
    this.#connection.sendEncoded(message);
    return this.#accepted(message.payload.length, callback);
  }

  /** A message of `length` bytes was queued: count it, flush it this tick, apply the buffer policy. */
  #accepted(length: number, callback: WriteCallback | undefined): boolean {
    this.#buffered += length;
    this.#batchBytes += length;
    this.#bufferedFrames++;
    this.#batchFrames++;
    this.#queued(callback);
    const buffered = this.#buffered;
    const limit = this.#options.maxBufferedAmount;
    if (limit > 0 && buffered > limit) {
      this.#overflow(buffered, limit);
      return false;
    }
    if (buffered >= this.#options.highWaterMark) {
      this.#flags |= NEED_DRAIN;
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
   * Start the closing handshake (RFC 6455 §7.1.2), or, when it is complete, close the
   * transport (ws's `close()` does the same). @throws InvalidArgumentError for a bad code or reason.
   */
  close(code: number | undefined, reason: string | undefined): void {
    const connection = this.#connection;
    if (connection.state === ReadyState.OPEN) {
      connection.sendClose(code, reason);
      this.#pump();
    } else if (connection.state === ReadyState.CLOSING && connection.closingHandshakeComplete) {
      this.#endTransport();
    }
  }

  /** Fail the connection with `code` (RFC 6455 §7.1.7): send the close frame, discard input. */
  fail(code: number, reason: string): void {
    const connection = this.#connection;
    if (connection.state !== ReadyState.OPEN && connection.state !== ReadyState.CLOSING) return;
    connection.fail(code, reason);
    this.#pump();
  }

  /** Abort the transport now; the close (1006) is reported once it has closed. */
  terminate(): void {
    this.#abort('the WebSocket was terminated');
  }

  /** Stop reading (the peer's sends back up into its own buffers). */
  pause(): void {
    this.#flags |= USER_PAUSED;
    this.#updateReading();
  }

  /** Read again after `pause()`. */
  resume(): void {
    this.#flags &= ~USER_PAUSED;
    this.#updateReading();
  }

  // -------------------------------------------------------------------------------------------
  // The loop
  // -------------------------------------------------------------------------------------------

  #pump(): void {
    if ((this.#flags & PUMPING) !== 0) return;
    this.#flags |= PUMPING;
    try {
      const connection = this.#connection;
      if (this.#options.synchronousEvents === false) {
        // One message, ping or pong per turn: hold the next one for a later turn, and take
        // nothing after it until it is delivered (reading stops meanwhile, `#updateReading`).
        const held = this.#heldEvent;
        if (held !== null && (this.#flags & HELD_DUE) !== 0) {
          this.#heldEvent = null;
          this.#flags &= ~HELD_DUE;
          this.#deliver(held);
        }
        while (this.#heldEvent === null) {
          const event = connection.nextEvent();
          if (event === undefined) break;
          const type = event.type;
          if (type === 'message' || type === 'ping' || type === 'pong') {
            this.#heldEvent = event;
            this.#scheduler.later(ConnectionDriver.#deliverHeld, this);
          } else {
            this.#deliver(event);
          }
        }
      } else {
        for (let event = connection.nextEvent(); event !== undefined; event = connection.nextEvent()) this.#deliver(event);
      }
    } finally {
      this.#flags &= ~PUMPING;
    }
    if ((this.#flags & CLOSED) === 0) this.#flush();
  }

  #deliver(event: ConnectionEvent): void {
    const sink = this.#sink;
    switch (event.type) {
      case 'message':
        sink.onMessage(event.data, event.binary);
        break;
      case 'fragment':
        sink.onFragment(event.data, event.binary, event.first, event.last);
        break;
      case 'ping':
        sink.onPing(event.data);
        break;
      case 'pong':
        this.#pongReceived();
        sink.onPong(event.data);
        break;
      case 'open':
        this.#opened();
        sink.onOpen(event.protocol, event.extensions);
        break;
      case 'error':
        if ((this.#flags & HANDSHAKE_FAILURE_REPORTED) !== 0 && event.error instanceof HandshakeError) break;
        sink.onError(event.error);
        break;
      case 'close':
        this.#flags |= CLOSED;
        this.#clearTimers();
        this.#failPendingWrites(new WebSocketError('the connection closed before the data was written', ErrorCode.INVALID_STATE));
        sink.onClose(event.code, event.reason, event.wasClean);
        break;
      default:
        // 'close-received' changes only the state; 'request' is not enabled here.
        break;
    }
  }

  /** A send queued bytes: flush them with everything else queued before the deferred task runs. */
  #queued(callback: WriteCallback | undefined): void {
    if (callback !== undefined) (this.#batchCallbacks ??= []).push(callback);
    if ((this.#flags & (FLUSH_SCHEDULED | PUMPING)) === 0) {
      this.#flags |= FLUSH_SCHEDULED;
      this.#scheduler.defer(ConnectionDriver.#flushTask, this);
    }
  }

  /** Write what the core queued, then apply the transport state it asks for. */
  #flush(): void {
    this.#flags &= ~FLUSH_SCHEDULED;
    const transport = this.#transport;
    if (transport === null) return;
    const connection = this.#connection;
    const chunks = connection.dataToSend();
    if (chunks.length > 0 || this.#batchCallbacks !== null) {
      if ((this.#flags & ENDED) !== 0) {
        this.#failPendingWrites(new WebSocketError('the transport is closed', ErrorCode.INVALID_STATE));
      } else if (chunks.length > 0) {
        // Only batches with messages or callbacks need to know when they are written.
        let written: WriteCallback | null = null;
        if (this.#batchFrames > 0 || this.#batchCallbacks !== null) {
          const batch: WrittenBatch = { bytes: this.#batchBytes, frames: this.#batchFrames, callbacks: this.#batchCallbacks };
          // A literal of one has room for one; `push` onto an empty array would make room for 16.
          if (this.#written === null) this.#written = [batch];
          else this.#written.push(batch);
          this.#batchBytes = 0;
          this.#batchFrames = 0;
          this.#batchCallbacks = null;
          written = this.#onWritten ??= (error) => this.#batchWritten(error ?? undefined);
        }
        transport.write(chunks, written);
      }
    }
    if (connection.state === ReadyState.CLOSED) return;
    if (connection.shouldCloseTransport()) {
      // A handshake that failed was reported by the core: its deadline is over (the close
      // timeout now bounds how long a server's error response may take to be read).
      if (connection.state === ReadyState.CONNECTING) this.#clearHandshakeTimer();
      // A client whose handshake failed drops the connection (RFC 6455 §4.1 "_Fail the
      // WebSocket Connection_"); otherwise end our side after the queued bytes.
      if (connection.state === ReadyState.CONNECTING && connection.side === 'client') this.#abort('the opening handshake failed');
      else this.#endTransport();
    } else if (this.#closeTimer === null && (this.#flags & ABORTED) === 0 && connection.closeExpected()) {
      this.#closeTimer = this.#scheduler.setTimer(ConnectionDriver.#closeTimedOut, this.#options.closeTimeout, this);
    }
    this.#updateReading();
  }

  #batchWritten(error: Error | undefined): void {
    const written = this.#written;
    const batch = written?.shift();
    if (batch === undefined) return;
    // An array keeps the room it grew to: an idle connection holds none (a new one is made
    // for the next batch).
    if (written!.length === 0) this.#written = null;
    this.#buffered -= batch.bytes;
    this.#bufferedFrames -= batch.frames;
    if (batch.callbacks !== null) for (const callback of batch.callbacks) callback(error ?? null);
    if ((this.#flags & NEED_DRAIN) !== 0 && this.#buffered === 0 && (this.#flags & CLOSED) === 0) {
      this.#flags &= ~NEED_DRAIN;
      this.#sink.onDrain();
    }
  }

  /** Fail the callbacks of sends not yet handed to the transport. */
  #failPendingWrites(error: Error): void {
    const callbacks = this.#batchCallbacks;
    this.#buffered -= this.#batchBytes;
    this.#bufferedFrames -= this.#batchFrames;
    this.#batchBytes = 0;
    this.#batchFrames = 0;
    this.#batchCallbacks = null;
    if (callbacks !== null) for (const callback of callbacks) callback(error);
  }

  #updateReading(): void {
    const transport = this.#transport;
    if (transport === null || (this.#flags & CLOSED) !== 0) return;
    // A peer that does not read what the protocol owes it (pongs, close frames) must not make
    // us queue without bound: stop reading from it while more than a high-water mark of such
    // bytes waits. Message bytes are the application's, bounded by `maxBufferedAmount`; not
    // reading because of them would deadlock two peers that both send more than they read —
    // and so are their frames' headers, which outweigh short messages.
    const owed = transport.pendingBytes - this.#buffered - this.#bufferedFrames * MESSAGE_FRAME_OVERHEAD;
    const pause = (this.#flags & USER_PAUSED) !== 0 || this.#heldEvent !== null || this.#connection.shouldPauseReading() || owed > this.#options.highWaterMark;
    if (pause === ((this.#flags & READING_PAUSED) !== 0)) return;
    this.#flags = pause ? this.#flags | READING_PAUSED : this.#flags & ~READING_PAUSED;
    transport.setReading(!pause);
  }

  // -------------------------------------------------------------------------------------------
  // Ending the transport
  // -------------------------------------------------------------------------------------------

  /** End our side of the transport once what is written has gone (FIN after the data). */
  #endTransport(): void {
    const transport = this.#transport;
    if ((this.#flags & ENDED) !== 0 || transport === null) return;
    this.#flags |= ENDED;
    transport.end();
    // A peer that never closes its side, or never reads our last bytes, is cut off after the close timeout.
    if (this.#closeTimer === null && (this.#flags & ABORTED) === 0) {
      this.#closeTimer = this.#scheduler.setTimer(ConnectionDriver.#closeTimedOut, this.#options.closeTimeout, this);
    }
  }

  /** Abort the transport locally: the core is aborted (1006) once the transport has closed. */
  #abort(reason: string): void {
    this.#abortTransport(new WebSocketError(`the WebSocket transport was aborted: ${reason}`, ErrorCode.INVALID_STATE));
  }

  #abortTransport(error: Error): void {
    if ((this.#flags & (ABORTED | CLOSED)) !== 0) return;
    this.#flags |= ABORTED | ENDED;
    // Before a transport is attached, attach() aborts it as it arrives.
    this.#transport?.abort(error);
  }

  #overflow(buffered: number, limit: number): void {
    const connection = this.#connection;
    if (connection.state !== ReadyState.OPEN) return;
    const terminate = this.#options.onBufferOverflow === 'terminate';
    this.#sink.onError(
      new WebSocketError(
        `${buffered} bytes are waiting for a peer that does not read, more than maxBufferedAmount (${limit})`,
        ErrorCode.BUFFER_OVERFLOW,
        terminate ? undefined : CloseCode.POLICY_VIOLATION,
      ),
    );
    if (terminate) {
      this.#abort('send buffer overflow');
      return;
    }
    // RFC 6455 §7.4.1 1008: "a message that violates its policy". The close frame waits
    // behind the data the peer is not reading; the close timeout then ends the transport.
    connection.fail(CloseCode.POLICY_VIOLATION, 'send buffer overflow');
  }

  // -------------------------------------------------------------------------------------------
  // Timers
  // -------------------------------------------------------------------------------------------

  /**
   * The connection is OPEN: the handshake deadline is over, and the idle timeout and the
   * heartbeat start (a binding attached while CONNECTING has the handshake deadline until now).
   */
  #opened(): void {
    const scheduler = this.#scheduler;
    this.#clearHandshakeTimer();
    const { idleTimeout, heartbeat } = this.#options;
    if (idleTimeout > 0) {
      this.#lastReceived = scheduler.now();
      this.#idleTimer = scheduler.setTimer(ConnectionDriver.#idleDue, idleTimeout, this);
    }
    if (heartbeat !== null) this.#scheduleHeartbeat(heartbeat.interval);
  }

  #clearHandshakeTimer(): void {
    if (this.#handshakeTimer === null) return;
    this.#scheduler.clearTimer(this.#handshakeTimer);
    this.#handshakeTimer = null;
  }

  #idle(): void {
    const connection = this.#connection;
    if ((this.#flags & CLOSED) !== 0 || connection.state !== ReadyState.OPEN) return;
    const timeout = this.#options.idleTimeout;
    const quiet = this.#scheduler.now() - this.#lastReceived;
    if (quiet < timeout) {
      // Something arrived since the timer was armed: wait for the rest of the period.
      this.#idleTimer = this.#scheduler.setTimer(ConnectionDriver.#idleDue, Math.max(1, Math.ceil(timeout - quiet)), this);
      return;
    }
    connection.sendClose(CloseCode.GOING_AWAY, 'idle timeout');
    this.#pump();
  }

  #scheduleHeartbeat(delay: number): void {
    if (this.#heartbeatTimer !== null) this.#scheduler.clearTimer(this.#heartbeatTimer);
    this.#heartbeatTimer = this.#scheduler.setTimer(ConnectionDriver.#heartbeatDue, delay, this);
  }

  #heartbeat(): void {
    const heartbeat = this.#options.heartbeat!;
    const timeout = heartbeat.timeout ?? heartbeat.interval;
    if (this.#connection.state !== ReadyState.OPEN || (this.#flags & CLOSED) !== 0) return;
    if ((this.#flags & AWAITING_PONG) !== 0) {
      this.#sink.onError(new WebSocketError(`no pong within ${timeout} ms of a ping: the peer is unresponsive`, ErrorCode.TIMEOUT));
      this.#abort('the peer stopped answering pings');
      return;
    }
    this.#flags |= AWAITING_PONG;
    this.#pingSentAt = this.#scheduler.now();
    this.#connection.sendPing();
    this.#queued(undefined);
    this.#scheduleHeartbeat(timeout);
  }

  #pongReceived(): void {
    if ((this.#flags & AWAITING_PONG) === 0) return;
    this.#flags &= ~AWAITING_PONG;
    const heartbeat = this.#options.heartbeat!;
    const elapsed = this.#scheduler.now() - this.#pingSentAt;
    this.#scheduleHeartbeat(Math.max(1, Math.round(heartbeat.interval - elapsed)));
  }

  #clearTimers(): void {
    const scheduler = this.#scheduler;
    for (const timer of [this.#handshakeTimer, this.#closeTimer, this.#idleTimer, this.#heartbeatTimer]) {
      if (timer !== null) scheduler.clearTimer(timer);
    }
    this.#handshakeTimer = this.#closeTimer = this.#idleTimer = this.#heartbeatTimer = null;
  }
}
