/**
 * Binds a Sans-I/O `Connection` to a Node stream socket (`net.Socket`, `tls.TLSSocket`, or
 * the `Duplex` an HTTP server hands to `'upgrade'`).
 *
 * Theory of operation
 * -------------------
 * The loop of `src/protocol/connection.ts`, run on socket events:
 *
 *   'data'  → `receiveData(chunk)` → pump;
 *   'close' → `receiveEof()` (or `abort()` after a local destroy) → pump;
 *   'end'   → end our side too (the socket may allow half-open connections);
 *   pump    = deliver `eventsReceived()` to the sink, write `dataToSend()`, then apply the
 *             transport state the core asks for: end the socket (`shouldCloseTransport()`),
 *             arm the close timeout (`closeExpected()`), stop or restart reading
 *             (`shouldPauseReading()`).
 *
 * Writing is batched: sends only queue bytes in the core and schedule one flush per tick
 * (`process.nextTick`), and a pump flushes at its end, so the replies to every message of a
 * chunk, or a broadcast's many sends, leave in one socket write. Small chunks of a batch are
 * copied into one buffer (cheaper than one write request, or one iovec, each); large payloads
 * are written as they are, never copied.
 *
 * `bufferedAmount` counts message bytes accepted by `send` and not yet handed to the kernel:
 * each flushed batch is remembered with its byte count until the socket's write callback for
 * it runs, which libuv calls once the kernel took the bytes. A peer that never reads fills the
 * kernel's buffers, the callbacks stop, and the count grows: past `maxBufferedAmount` the
 * connection is closed or terminated, so memory stays bounded.
 *
 * Rules: no protocol logic here (the core decides everything about bytes); no closure or
 * promise is created per message; every timer is unref'd and cleared when the socket closes.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clearTimeout, setTimeout } from 'node:timers';
import type { Connection } from '../../protocol/connection.js';
import type { ConnectionEvent } from '../../protocol/events.js';
import { CloseCode, ReadyState } from '../../shared/constants.js';
import { ErrorCode, WebSocketError } from '../../shared/errors.js';
import type { ConnectionSink, TransportOptions } from '../types.js';
import { toBuffer } from './platform.js';

/** A stream socket as Node hands it out; `setNoDelay` exists on TCP and TLS sockets. */
export type NodeSocket = Duplex & Partial<Pick<Socket, 'setNoDelay' | 'setTimeout'>>;

/** Called once the bytes of a send were handed to the kernel, or with the error that stopped them. */
export type WriteCallback = (error?: Error) => void;

/**
 * Chunks smaller than this are copied into one buffer per batch rather than written as
 * their own entry; larger ones are written by reference. Each `socket.write` costs a
 * Writable entry and an iovec (a few hundred nanoseconds); copying 4 KiB costs less. Measured
 * with a pipelined 1 KiB echo (50 connections, 100 messages in flight each): user CPU per
 * message was lower copying below 4 KiB than copying only below 512 B.
 */
const COPY_BELOW = 4096;
/** Largest buffer that copied chunks are merged into; a new one starts beyond it. */
const MERGE_LIMIT = 64 * 1024;

/** A batch handed to the socket, waiting for its write callback. */
interface WrittenBatch {
  readonly bytes: number;
  readonly callbacks: WriteCallback[] | null;
}

const NOOP = (): void => {};

/** Where a socket keeps the connection that drives it (as `ws` keeps its socket's WebSocket). */
const CONNECTION: unique symbol = Symbol('wasmsocket.connection');
type SocketWithConnection = NodeSocket & { [CONNECTION]?: NodeConnection };

function connectionOf(socket: NodeSocket): NodeConnection {
  return (socket as SocketWithConnection)[CONNECTION]!;
}

/**
 * One WebSocket connection over a Node socket. Created before the socket exists on a client
 * (the opening handshake goes through `http.request`), then `attach`ed.
 */
export class NodeConnection {
  readonly #connection: Connection;
  readonly #sink: ConnectionSink<Buffer>;
  readonly #options: TransportOptions;
  #socket: NodeSocket | null = null;

  #pumping = false;
  #flushScheduled = false;
  /** We ended or destroyed the socket: nothing more may be written. */
  #ended = false;
  /** The socket was destroyed locally (terminate, close timeout): pending input is dropped. */
  #destroyed = false;
  #closed = false;
  /** A fragmented message is being sent (`send` with `fin` false). */
  #fragmenting = false;

  // Outgoing accounting (see the module comment).
  #buffered = 0;
  #batchBytes = 0;
  #batchCallbacks: WriteCallback[] | null = null;
  #written: WrittenBatch[] | null = null;
  #needDrain = false;

  // Reading.
  #userPaused = false;
  #readingPaused = false;

  // Timers.
  #closeTimer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #pingSentAt = 0;
  #awaitingPong = false;

  /** The write callback of batches that carry message bytes; made on the first such batch. */
  #onWritten: ((error?: Error | null) => void) | null = null;

  // Socket and timer callbacks are shared by every connection (a connection costs no closures
  // for them): the socket carries its connection under `CONNECTION`, timers get it as argument.
  static #onData(this: NodeSocket, chunk: Buffer): void {
    connectionOf(this).#receive(chunk);
  }
  static #onEnd(this: NodeSocket): void {
    connectionOf(this).#endTransport();
  }
  static #onClose(this: NodeSocket): void {
    connectionOf(this).#transportClosed();
  }
  static #onDrain(this: NodeSocket): void {
    connectionOf(this).#updateReading();
  }
  static #onError(this: NodeSocket): void {
    // A transport error (ECONNRESET, EPIPE) ends the connection without a closing handshake:
    // the close is reported with 1006 when the socket closes, as `ws` does.
    connectionOf(this).#destroy();
  }
  static #flushTick(connection: NodeConnection): void {
    connection.#flush();
  }
  static #closeTimedOut(connection: NodeConnection): void {
    connection.#closeTimer = null;
    connection.#destroy();
  }
  static #idleTimedOut(connection: NodeConnection): void {
    connection.#idle();
  }
  static #heartbeatDue(connection: NodeConnection): void {
    connection.#heartbeat();
  }

  /**
   * @param connection the core, OPEN or CONNECTING; the adapter drives it from now on.
   * @param sink where events go.
   */
  constructor(connection: Connection, sink: ConnectionSink<Buffer>, options: TransportOptions) {
    this.#connection = connection;
    this.#sink = sink;
    this.#options = options;
  }

  /** The core (for its state, protocol and extensions). */
  get connection(): Connection {
    return this.#connection;
  }

  /** The socket, once attached. */
  get socket(): NodeSocket | null {
    return this.#socket;
  }

  /** Message bytes accepted by `send` and not yet handed to the kernel. */
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

  /** Whether the socket was destroyed locally and the close is on its way. */
  get terminating(): boolean {
    return this.#destroyed && !this.#closed;
  }

  /**
   * Take over `socket` and feed `received` (bytes that came with the handshake) to the core,
   * then run the loop once: this writes what is queued (a server's 101 response) and delivers
   * the events so far (the open event, messages that came with the handshake).
   */
  attach(socket: NodeSocket, received: readonly Uint8Array[] = []): void {
    this.#socket = socket;
    (socket as SocketWithConnection)[CONNECTION] = this;
    // Small frames are latency-bound: send them as they are written (no Nagle delay).
    socket.setNoDelay?.(true);
    socket.setTimeout?.(0);
    socket.on('data', NodeConnection.#onData);
    socket.on('end', NodeConnection.#onEnd);
    socket.on('close', NodeConnection.#onClose);
    socket.on('error', NodeConnection.#onError);
    socket.on('drain', NodeConnection.#onDrain);
    if (this.#options.idleTimeout > 0) {
      this.#idleTimer = setTimeout(NodeConnection.#idleTimedOut, this.#options.idleTimeout, this);
      this.#idleTimer.unref();
    }
    if (this.#destroyed || socket.destroyed) {
      // Terminated before the socket arrived, or a socket destroyed before it was handed over
      // (which will not emit 'close' again): the connection ends here, 1006.
      this.#destroyed = true;
      this.#ended = true;
      socket.destroy();
      this.#connection.abort();
    } else {
      for (const chunk of received) this.#connection.receiveData(chunk);
    }
    this.#pump();
    if (this.#options.heartbeat !== null && this.#connection.state === ReadyState.OPEN) this.#scheduleHeartbeat(this.#options.heartbeat.interval);
  }

  /**
   * Report the events the core produced without a socket (a failed handshake before any
   * upgrade), then nothing more is expected.
   */
  deliverDetached(): void {
    this.#pump();
  }

  /**
   * The handshake failed before a socket was attached (no route, TLS, a deadline): report
   * `error`, then the close (1006), and nothing else.
   */
  failDetached(error: Error): void {
    if (this.#closed) return;
    this.#sink.onError(error);
    const connection = this.#connection;
    connection.abort();
    // The core's own "closed before the handshake completed" error would repeat this one.
    for (const event of connection.eventsReceived()) if (event.type === 'close') this.#deliver(event);
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  /**
   * Send a message or, with `fin` false, a fragment of one (then further `send`s continue it
   * until one with `fin` true). Returns false when the bytes waiting to be written reach the
   * high-water mark (then `onDrain` follows once they are all written) or the buffer limit
   * was passed.
   *
   * @throws InvalidStateError unless OPEN (the face checks first).
   */
  send(data: Uint8Array, binary: boolean, fin: boolean, callback: WriteCallback | undefined, compress = true): boolean {
    const connection = this.#connection;
    if (this.#fragmenting) connection.sendContinuation(data, fin);
    else if (binary) connection.sendBinary(data, fin, compress);
    else connection.sendText(data, fin, compress);
    this.#fragmenting = !fin;
    const length = data.length;
    this.#buffered += length;
    this.#batchBytes += length;
    if (callback !== undefined) (this.#batchCallbacks ??= []).push(callback);
    if (!this.#flushScheduled && !this.#pumping) {
      this.#flushScheduled = true;
      process.nextTick(NodeConnection.#flushTick, this);
    }
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
   * Start the closing handshake (RFC 6455 §7.1.2), or, when it is under way and both close
   * frames have passed, close the transport. @throws InvalidArgumentError for a bad code or reason.
   */
  close(code: number | undefined, reason: string | undefined): void {
    const connection = this.#connection;
    if (connection.state === ReadyState.OPEN) {
      connection.sendClose(code, reason);
      this.#fragmenting = false;
      this.#pump();
    } else if (connection.state === ReadyState.CLOSING && connection.closeSent !== null && connection.closeReceived !== null) {
      // Both close frames have passed; only the transport is left (ws's close() does the same).
      this.#endTransport();
    }
  }

  /** Fail the connection with `code` (RFC 6455 §7.1.7): send the close frame, discard input. */
  fail(code: number, reason: string): void {
    const connection = this.#connection;
    if (connection.state !== ReadyState.OPEN && connection.state !== ReadyState.CLOSING) return;
    connection.fail(code, reason);
    this.#fragmenting = false;
    this.#pump();
  }

  /** Destroy the transport now; the close (1006) is reported when the socket has closed. */
  terminate(): void {
    if (this.#socket === null) {
      // Not attached yet (a client between its 101 and the handshake's validation).
      this.#destroyed = true;
      return;
    }
    this.#destroy();
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  /** Stop reading from the socket (the peer's sends back up into its own buffers). */
  pause(): void {
    this.#userPaused = true;
    this.#updateReading();
  }

  /** Read again after `pause()`. */
  resume(): void {
    this.#userPaused = false;
    this.#updateReading();
  }

  /** The core's `onWake` port: asynchronous work finished; run the loop. */
  wake(): void {
    if (!this.#closed) this.#pump();
  }

  // -------------------------------------------------------------------------------------------
  // The loop
  // -------------------------------------------------------------------------------------------

  #receive(chunk: Buffer): void {
    if (this.#idleTimer !== null) this.#idleTimer.refresh();
    this.#connection.receiveData(chunk);
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
        sink.onMessage(toBuffer(event.data), event.binary);
        break;
      case 'fragment':
        sink.onFragment?.(toBuffer(event.data), event.binary, event.first, event.last);
        break;
      case 'ping':
        sink.onPing(toBuffer(event.data));
        break;
      case 'pong':
        this.#pongReceived();
        sink.onPong(toBuffer(event.data));
        break;
      case 'open':
        sink.onOpen(event.protocol, event.extensions);
        break;
      case 'error':
        sink.onError(event.error);
        break;
      case 'close':
        this.#closed = true;
        this.#clearTimers();
        this.#failPendingWrites(new WebSocketError('the connection closed before the data was written', ErrorCode.INVALID_STATE));
        sink.onClose(event.code, event.reason, event.wasClean);
        break;
      default:
        // 'close-received' changes only the state; 'request' is not enabled here.
        break;
    }
  }

  /** Write what the core queued, then apply the transport state it asks for. */
  #flush(): void {
    this.#flushScheduled = false;
    const connection = this.#connection;
    const socket = this.#socket;
    if (socket === null) return;
    const chunks = connection.dataToSend();
    if (chunks.length > 0 || this.#batchCallbacks !== null) {
      if (this.#ended || socket.destroyed) {
        this.#failPendingWrites(new WebSocketError('the socket is closed', ErrorCode.INVALID_STATE));
      } else if (chunks.length > 0) {
        // Only batches with message bytes or callbacks need to know when they are written.
        let onWritten: ((error?: Error | null) => void) | null = null;
        if (this.#batchBytes > 0 || this.#batchCallbacks !== null) {
          (this.#written ??= []).push({ bytes: this.#batchBytes, callbacks: this.#batchCallbacks });
          this.#batchBytes = 0;
          this.#batchCallbacks = null;
          onWritten = this.#onWritten ??= (error) => this.#batchWritten(error ?? undefined);
        }
        this.#writeChunks(socket, chunks, onWritten ?? NOOP);
      }
    }
    if (connection.shouldCloseTransport()) {
      // A client whose handshake failed drops the connection (RFC 6455 §4.1 "_Fail the
      // WebSocket Connection_"); otherwise end our side after the queued bytes.
      if (connection.state === ReadyState.CONNECTING) this.#destroy();
      else this.#endTransport();
    } else if (this.#closeTimer === null && connection.closeExpected() && !this.#destroyed) {
      this.#closeTimer = setTimeout(NodeConnection.#closeTimedOut, this.#options.closeTimeout, this);
      this.#closeTimer.unref();
    }
    this.#updateReading();
  }

  /** One socket write per batch where possible; the batch's last write carries the callback. */
  #writeChunks(socket: NodeSocket, chunks: Uint8Array[], onWritten: (error?: Error | null) => void): void {
    const count = chunks.length;
    if (count === 1) {
      socket.write(chunks[0]!, onWritten);
      return;
    }
    let corked = false;
    let runStart = 0;
    let runBytes = 0;
    for (let i = 0; i <= count; i++) {
      const chunk = i < count ? chunks[i]! : null;
      if (chunk !== null && chunk.length < COPY_BELOW && runBytes + chunk.length <= MERGE_LIMIT) {
        runBytes += chunk.length;
        continue;
      }
      // Write the run of small chunks [runStart, i), merged.
      if (i > runStart) {
        const piece = i - runStart === 1 ? chunks[runStart]! : mergeChunks(chunks, runStart, i, runBytes);
        const last = chunk === null;
        if (!last && !corked) {
          socket.cork();
          corked = true;
        }
        socket.write(piece, last ? onWritten : NOOP);
      }
      if (chunk === null) break;
      if (chunk.length < COPY_BELOW) {
        // A small chunk that did not fit the merge limit starts the next run.
        runStart = i;
        runBytes = chunk.length;
        continue;
      }
      if (i < count - 1 && !corked) {
        socket.cork();
        corked = true;
      }
      socket.write(chunk, i === count - 1 ? onWritten : NOOP);
      runStart = i + 1;
      runBytes = 0;
    }
    if (corked) socket.uncork();
  }

  #batchWritten(error: Error | undefined): void {
    const batch = this.#written?.shift();
    if (batch === undefined) return;
    this.#buffered -= batch.bytes;
    if (batch.callbacks !== null) for (const callback of batch.callbacks) callback(error);
    if (this.#needDrain && this.#buffered === 0 && !this.#closed) {
      this.#needDrain = false;
      this.#sink.onDrain();
    }
  }

  #failPendingWrites(error: Error): void {
    const callbacks = this.#batchCallbacks;
    this.#buffered -= this.#batchBytes;
    this.#batchBytes = 0;
    this.#batchCallbacks = null;
    if (callbacks !== null) for (const callback of callbacks) callback(error);
  }

  /** A control frame was queued by the application: flush it this tick. */
  #queued(callback: WriteCallback | undefined): void {
    if (callback !== undefined) (this.#batchCallbacks ??= []).push(callback);
    if (!this.#flushScheduled && !this.#pumping) {
      this.#flushScheduled = true;
      process.nextTick(NodeConnection.#flushTick, this);
    }
  }

  #updateReading(): void {
    const socket = this.#socket;
    if (socket === null || this.#closed) return;
    // A peer that does not read what we owe it (pongs, close frames, echoes) must not make us
    // queue without bound: stop reading from it until our writes drain ('drain' resumes).
    const pause = this.#userPaused || this.#connection.shouldPauseReading() || socket.writableNeedDrain;
    if (pause === this.#readingPaused) return;
    this.#readingPaused = pause;
    if (pause) socket.pause();
    else socket.resume();
  }

  /** End our side of the transport once what is written has gone (FIN after the data). */
  #endTransport(): void {
    if (this.#ended || this.#socket === null) return;
    this.#ended = true;
    this.#socket.end();
    // A peer that never closes its side is cut off after the close timeout.
    if (this.#closeTimer === null && !this.#destroyed) {
      this.#closeTimer = setTimeout(NodeConnection.#closeTimedOut, this.#options.closeTimeout, this);
      this.#closeTimer.unref();
    }
  }

  #destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#ended = true;
    // Before the socket is attached (an overflow from sends in the 'connection' listener),
    // attach() destroys it as it arrives.
    this.#socket?.destroy();
  }

  #transportClosed(): void {
    const connection = this.#connection;
    this.#ended = true;
    // After a local destroy the transport is gone mid-stream: drop work still pending.
    if (this.#destroyed) connection.abort();
    else connection.receiveEof();
    this.#pump();
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
      this.#destroy();
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

  #idle(): void {
    this.#idleTimer = null;
    if (this.#connection.state === ReadyState.OPEN) {
      this.#connection.sendClose(CloseCode.GOING_AWAY, 'idle timeout');
      this.#fragmenting = false;
      this.#pump();
    }
  }

  #scheduleHeartbeat(delay: number): void {
    if (this.#heartbeatTimer !== null) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(NodeConnection.#heartbeatDue, delay, this);
    this.#heartbeatTimer.unref();
  }

  #heartbeat(): void {
    this.#heartbeatTimer = null;
    const heartbeat = this.#options.heartbeat!;
    if (this.#connection.state !== ReadyState.OPEN || this.#closed) return;
    if (this.#awaitingPong) {
      this.#sink.onError(new WebSocketError(`no pong within ${heartbeat.timeout ?? heartbeat.interval} ms of a ping: the peer is unresponsive`, ErrorCode.TIMEOUT));
      this.#destroy();
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
    const elapsed = performance.now() - this.#pingSentAt;
    this.#scheduleHeartbeat(Math.max(1, Math.round(heartbeat.interval - elapsed)));
  }

  #clearTimers(): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    if (this.#heartbeatTimer !== null) clearTimeout(this.#heartbeatTimer);
    this.#closeTimer = this.#idleTimer = this.#heartbeatTimer = null;
  }
}

/** Copy `chunks[from..to)` (`bytes` in all) into one buffer. */
function mergeChunks(chunks: readonly Uint8Array[], from: number, to: number, bytes: number): Buffer {
  const merged = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let i = from; i < to; i++) {
    merged.set(chunks[i]!, offset);
    offset += chunks[i]!.length;
  }
  return merged;
}
