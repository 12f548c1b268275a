/**
 * The Sans-I/O WebSocket connection (RFC 6455 §5–§7): bytes in, events and bytes out, no I/O.
 *
 * Theory of operation
 * -------------------
 * A connection is driven by its adapter with a short, fixed loop:
 *
 *   1. feed what the transport delivered: `receiveData(bytes)` (split anywhere), or
 *      `receiveEof()` when the transport ended;
 *   2. take the events one by one with `nextEvent()` (or all at once with `eventsReceived()`)
 *      and act on each (messages, pings, the close, errors);
 *   3. write `dataToSend()` (an array of chunks for one vectored write);
 *   4. if `shouldCloseTransport()`, close the transport once those bytes are written;
 *      if `closeExpected()`, arm the close timeout (the core has no timers) and, when it
 *      fires, close the transport and call `receiveEof()` (or `abort()`).
 *
 * The application's calls (`sendText`, `sendClose`, …) only queue bytes; the adapter runs
 * steps 2–4 after them too. Asynchronous extension transforms (permessage-deflate on a thread
 * pool, say) finish outside any call: the connection then calls the `onWake` port and the
 * adapter runs steps 2–4.
 *
 * Incoming bytes go through the `FrameParser` (one codec pass per chunk; frame-level rules),
 * whose frames are first checked against the message limits as they are parsed, then
 * processed strictly in order by the `MessageAssembler` (`message-assembler.ts`): control
 * frames reported whole, data frames decoded by extensions and assembled into messages (or
 * handed out piece by piece with `streamMessages`). While an asynchronous decode is pending,
 * parsed frames wait in the `InboundQueue` (`inbound-queue.ts`), which is bounded — the
 * connection asks the adapter to stop reading (`shouldPauseReading()`) well before its hard
 * limit. Outgoing frames go through the `OutboundPipeline` (`outbound-pipeline.ts`):
 * extensions' encoders, frames queued behind a pending encode, the close frame.
 *
 * Frames take effect in order, when their events are taken. The parser reads a whole chunk
 * at once, but a ping is answered, a close frame moves the connection to CLOSING and is
 * answered, and a violation fails the connection only when `nextEvent()` hands out the event
 * it produced — after the events read before it. So a message read together with a close
 * frame is handled while the connection is OPEN, and the application's reply to it goes out
 * before the answering close frame (RFC 6455 processes frames in order). If the transport
 * ends before they are taken, those effects happen then, while the connection can still
 * answer, and the events are still handed out.
 *
 * Rules
 * -----
 * - Nothing the peer sends makes `receiveData` throw. A violation fails the connection
 *   (§7.1.7): an `error` event with a `ProtocolError` (stable `code`, `closeCode`), a close
 *   frame with that code and a reason saying what was wrong (none for 1011), and every later
 *   input byte discarded.
 * - Local misuse throws: `InvalidStateError` naming the state (sending when not OPEN),
 *   `InvalidArgumentError` (a close code that may not be sent, a reason over 123 bytes, a
 *   control payload over 125 bytes).
 * - The connection owns the chunks given to `receiveData`: payloads are unmasked in place and
 *   handed out as views of them, so a message that arrived in one frame is never copied.
 * - Outgoing server payloads are not copied either: the caller must not change a buffer it
 *   sent until the adapter has written the chunks.
 *
 * States (the WHATWG readyState values)
 * -------------------------------------
 *
 * | state      | event                                                     | next state |
 * |------------|-----------------------------------------------------------|------------|
 * | CONNECTING | handshake completes (101 sent / valid 101 received)       | OPEN       |
 * | CONNECTING | handshake fails: input discarded, transport to be closed  | CONNECTING |
 * | CONNECTING | `receiveEof()` / `abort()`                                | CLOSED     |
 * | OPEN       | `sendClose()`, `fail()`, or a violation taken: close sent | CLOSING    |
 * | OPEN       | close frame taken: the answering close is sent (§5.5.1)   | CLOSING    |
 * | OPEN       | `receiveEof()` / `abort()` (no closing handshake: 1006)   | CLOSED     |
 * | CLOSING    | `receiveEof()` / `abort()`                                | CLOSED     |
 *
 * CLOSING always means a close frame was sent (or is queued behind a pending transform).
 * Data frames are sent only in OPEN (§5.5.1: "After sending a Close frame, the endpoint MUST
 * NOT send any more data frames").
 */
import type { MaskKeyPool } from '../codec/mask-key-pool.js';
import type { Codec } from '../codec/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import { utf8Encode } from '../shared/bytes.js';
import { CloseCode, isValidCloseCode, MAX_CLOSE_REASON, Opcode, ReadyState } from '../shared/constants.js';
import { HandshakeError, InvalidArgumentError, InvalidStateError, ProtocolError, type WebSocketError } from '../shared/errors.js';
import { type CloseStatus, parseClosePayload, serializeClosePayload, truncateReason } from './close.js';
import type { ConnectionOptions, ConnectionSide, EstablishedTerms } from './connection-options.js';
import { EncodedMessage } from './encoded-message.js';
import type { ConnectionEvent, OpenEvent } from './events.js';
import type { Extension } from './extension.js';
import { FrameSlab } from './frame-slab.js';
import { InboundQueue, type InboundPort } from './inbound-queue.js';
import { asProtocolError, internalError } from './internal-error.js';
import { type ConnectionLimits, resolveLimits } from './limits.js';
import { type AssemblyPort, MessageAssembler } from './message-assembler.js';
import { OutboundPipeline, type OutboundPort } from './outbound-pipeline.js';
import { type FrameHandler, FrameParser } from './parser.js';

/** What the parser and the connection's parts call back (see `Connection.#Port`). */
type ConnectionPort = FrameHandler & AssemblyPort & InboundPort & OutboundPort;

export type { ConnectionOptions, ConnectionSide, EstablishedTerms } from './connection-options.js';

/** The names of the states, for messages (`connection is CLOSING`). */
export const STATE_NAMES: Readonly<Record<ReadyState, string>> = Object.freeze({
  [ReadyState.CONNECTING]: 'CONNECTING',
  [ReadyState.OPEN]: 'OPEN',
  [ReadyState.CLOSING]: 'CLOSING',
  [ReadyState.CLOSED]: 'CLOSED',
});

/** The transition table above, as data: the states each state may move to. */
const TRANSITIONS: Readonly<Record<ReadyState, readonly ReadyState[]>> = Object.freeze({
  [ReadyState.CONNECTING]: [ReadyState.OPEN, ReadyState.CLOSED],
  [ReadyState.OPEN]: [ReadyState.CLOSING, ReadyState.CLOSED],
  [ReadyState.CLOSING]: [ReadyState.CLOSED],
  [ReadyState.CLOSED]: [],
});

const EMPTY = new Uint8Array(0);
// Returned when there is nothing: shared, so frozen (a caller that pushes onto one learns at once).
const NO_EVENTS = Object.freeze([]) as unknown as ConnectionEvent[];
/** The extensions of every connection that negotiated none (one array, not one each). */
const NO_EXTENSIONS: readonly NegotiatedExtension<Extension>[] = Object.freeze([]);

/** Bits of `Connection.#flags`. */
/** No more input is processed: a close frame arrived, the connection failed, or the handshake did. */
const INPUT_CLOSED = 1 << 0;
/**
 * The input is over as the application sees it: the peer's close frame or a failure has taken
 * effect, or the application failed the connection.
 */
const INPUT_FINISHED = 1 << 1;
const HANDSHAKE_FAILED = 1 << 2;
/** The failure read from the peer whose effects (close frame, CLOSING) wait until its `error` event is taken. */
const FAILURE_PENDING = 1 << 3;
/** `shouldCloseTransport()`. */
const TRANSPORT_CLOSE_REQUESTED = 1 << 4;
/** The `autoPong` option. */
const AUTO_PONG = 1 << 5;
/** The `streamMessages` option. */
const STREAM_MESSAGES = 1 << 6;

/**
 * The connection after (and, through `ServerConnection` and `ClientConnection`, during) the
 * opening handshake. See the module comment for how to drive it.
 */
export abstract class Connection {
  /** Which end this is. */
  readonly side: ConnectionSide;
  /** The limits in force (defaults filled in). */
  readonly limits: ConnectionLimits;

  readonly #codec: Codec;
  readonly #onWake: (() => void) | undefined;
  readonly #allocate: ((length: number) => Uint8Array) | undefined;
  /**
   * Made for the first frame that is not a whole, untransformed message or control frame (a
   * fragment, a compressed message, a frame split across reads): connections that receive
   * only small messages never need one.
   */
  #assembler: MessageAssembler | null = null;
  /** Made when input must wait (a pending decode, bytes before the handshake completed). */
  #inbound: InboundQueue | null = null;
  readonly #outbound: OutboundPipeline;

  #state: ReadyState = ReadyState.CONNECTING;
  /** The events not yet taken; the shared empty array when there are none. */
  #events: ConnectionEvent[] = NO_EVENTS;
  /** The next event `nextEvent()` hands out. */
  #eventHead = 0;
  /** Events before this index had their effects applied before they were taken (the transport ended first). */
  #eventsSettled = 0;
  #parser: FrameParser | null = null;
  #protocol: string | null = null;
  #extensions: readonly NegotiatedExtension<Extension>[] = NO_EXTENSIONS;

  /** The connection's yes/no state and options, as bits (`INPUT_CLOSED`, `AUTO_PONG`, …): one field instead of one each. */
  #flags = 0;
  #failure: WebSocketError | null = null;
  /** The close frame the parser read; it takes effect when its `close-received` event is taken. */
  #closeRead: CloseStatus | null = null;
  #closeReceived: CloseStatus | null = null;

  /**
   * The connection as the parser and its parts see it: one object per connection whose
   * methods live on a shared prototype (no closure per connection, frame or message).
   */
  readonly #port: ConnectionPort;

  /** Implements the parser's callbacks and the parts' ports for one connection (see `#port`). */
  static readonly #Port = class implements FrameHandler, AssemblyPort, InboundPort, OutboundPort {
    readonly #connection: Connection;
    constructor(connection: Connection) {
      this.#connection = connection;
    }
    // The parser's callbacks: limits checked as frames are parsed, then processing or the queue.
    onFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array): boolean {
      const connection = this.#connection;
      const inbound = connection.#inbound;
      if (inbound !== null && inbound.pending) return connection.#queueFrame(inbound, opcode, fin, rsv, payload);
      if (fin && rsv === 0 && (opcode === Opcode.BINARY || opcode === Opcode.TEXT) && (connection.#flags & STREAM_MESSAGES) === 0) {
        // §5.6, §6.2: an unfragmented, untransformed message is its frame's payload (the
        // codec has checked the limits and the UTF-8 of text): reported as it is, a view.
        connection.#pushEvent({ type: 'message', binary: opcode === Opcode.BINARY, data: payload });
      } else if (opcode >= Opcode.CLOSE) {
        connection.#receiveControl(opcode, payload);
      } else {
        const assembler = connection.#messageAssembler();
        const violation = assembler.admit(opcode, payload.length);
        if (violation !== null) return connection.#reject(violation);
        assembler.frameStart(opcode, fin, rsv, payload.length);
        if (payload.length > 0) assembler.framePayload(payload);
        assembler.frameEnd();
      }
      return (connection.#flags & INPUT_CLOSED) === 0;
    }
    onFrameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean {
      const connection = this.#connection;
      const assembler = connection.#messageAssembler();
      const violation = assembler.admit(opcode, length);
      if (violation !== null) return connection.#reject(violation);
      const inbound = connection.#inbound;
      if (inbound !== null && inbound.pending) inbound.start(opcode, fin, rsv, length);
      else assembler.frameStart(opcode, fin, rsv, length);
      return (connection.#flags & INPUT_CLOSED) === 0;
    }
    // The frame's start made the assembler.
    payloadDestination(): Uint8Array | null {
      const connection = this.#connection;
      const inbound = connection.#inbound;
      return inbound !== null && inbound.pending ? null : connection.#assembler!.payloadDestination();
    }
    onFramePayload(data: Uint8Array): boolean {
      const connection = this.#connection;
      const inbound = connection.#inbound;
      if (inbound !== null && inbound.pending) inbound.payload(data);
      else connection.#assembler!.framePayload(data);
      return (connection.#flags & INPUT_CLOSED) === 0;
    }
    onFrameEnd(): boolean {
      const connection = this.#connection;
      const inbound = connection.#inbound;
      if (inbound === null || !inbound.pending) connection.#assembler!.frameEnd();
      else if (!inbound.end()) return false;
      return (connection.#flags & INPUT_CLOSED) === 0;
    }
    onFrameError(error: ProtocolError): false {
      return this.#connection.#reject(error);
    }
    // The parts' ports.
    emit(event: ConnectionEvent): void {
      this.#connection.#pushEvent(event);
    }
    control(opcode: number, payload: Uint8Array): void {
      this.#connection.#receiveControl(opcode, payload);
    }
    fail(error: ProtocolError): void {
      this.#connection.#fail(error);
    }
    inputClosed(): boolean {
      return (this.#connection.#flags & INPUT_CLOSED) !== 0;
    }
    decodePending(decoding: PromiseLike<void>, fin: boolean): void {
      this.#connection.#inboundQueue().wait(decoding, fin);
    }
    end(): void {
      this.#connection.#close();
    }
    unexpected(error: unknown): void {
      this.#connection.#failUnexpected(error);
    }
    closeWritten(): void {
      this.#connection.#requestServerTransportClose();
    }
    wake(): void {
      this.#connection.#onWake?.();
    }
  };

  /**
   * @param maskKeys the key pool a client masks with; null on a server.
   * @throws InvalidArgumentError for invalid limits.
   */
  protected constructor(side: ConnectionSide, options: ConnectionOptions, maskKeys: MaskKeyPool | null) {
    if (options.codec === undefined || options.codec === null) throw new InvalidArgumentError('a codec is required');
    this.side = side;
    this.limits = resolveLimits(options.limits);
    this.#codec = options.codec;
    if (options.autoPong ?? true) this.#flags |= AUTO_PONG;
    this.#onWake = options.onWake;
    this.#port = new Connection.#Port(this);
    if (options.streamMessages ?? false) this.#flags |= STREAM_MESSAGES;
    this.#allocate = options.allocate;
    this.#outbound = new OutboundPipeline(options.codec, maskKeys, FrameSlab.for(options.allocate), this.#port);
  }

  // -------------------------------------------------------------------------------------------
  // State
  // -------------------------------------------------------------------------------------------

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3), as the WHATWG readyState. */
  get state(): ReadyState {
    return this.#state;
  }

  /** The agreed subprotocol, or null. */
  get protocol(): string | null {
    return this.#protocol;
  }

  /** The extensions in use. */
  get extensions(): readonly NegotiatedExtension<Extension>[] {
    return this.#extensions;
  }

  /** The close frame sent (or queued), if any; code 1005 stands for an empty one. */
  get closeSent(): CloseStatus | null {
    return this.#outbound.closeSent;
  }

  /** The close frame received, if any; code 1005 stands for an empty one. */
  get closeReceived(): CloseStatus | null {
    return this.#closeReceived;
  }

  /**
   * Whether the closing handshake is complete (RFC 6455 §7.1.2–§7.1.3): a close frame was
   * sent (or queued) and the peer's has been taken. Only the transport is left to close.
   */
  get closingHandshakeComplete(): boolean {
    return this.#outbound.closeSent !== null && this.#closeReceived !== null;
  }

  /** Whether a message sent with `fin` false is in progress: the next `send` continues it. */
  get sendingFragmented(): boolean {
    return this.#outbound.sendingFragmented;
  }

  /**
   * Whether the adapter should expect the transport to close and arm its close timeout: a
   * close frame was sent, or the handshake failed, and the transport is still open. When the
   * timeout fires, close the transport and call `receiveEof()`.
   */
  closeExpected(): boolean {
    return this.#state !== ReadyState.CLOSED && (this.#outbound.closeSent !== null || (this.#flags & HANDSHAKE_FAILED) !== 0);
  }

  /**
   * Whether the adapter should close the transport once it has written `dataToSend()`:
   * RFC 6455 §7.1.1, "the underlying TCP connection, in most normal cases, SHOULD be closed
   * first by the server". True on a server once the closing handshake is complete or the
   * connection has failed, after a handshake error response, on a client whose handshake
   * failed, and on either side after the peer ended the transport.
   */
  shouldCloseTransport(): boolean {
    return (this.#flags & TRANSPORT_CLOSE_REQUESTED) !== 0;
  }

  /**
   * Whether the adapter should stop reading from the transport until `onWake`: received bytes
   * are waiting (behind an asynchronous decode, or for `accept()`) and reach
   * `limits.receiveHighWaterMark`.
   */
  shouldPauseReading(): boolean {
    const inbound = this.#inbound;
    return inbound !== null && inbound.holding() && inbound.backlog >= this.limits.receiveHighWaterMark;
  }

  /**
   * The next event, in the order its frame arrived, or undefined when there is none.
   *
   * Taking an event is what makes its frame take effect: a ping is answered, a close frame
   * moves the connection to CLOSING and queues the answering close frame (§5.5.1), a
   * violation fails the connection (§7.1.7) — so while the application handles a message, the
   * connection is in the state it was in when that message was read, and what it sends in
   * reply goes out before the answer to a close frame or a violation read after it (RFC 6455
   * processes frames in order, and so do ws and uWebSockets).
   */
  nextEvent(): ConnectionEvent | undefined {
    const events = this.#events;
    const head = this.#eventHead;
    if (head === events.length) return undefined;
    const event = events[head]!;
    const settled = head < this.#eventsSettled;
    if (head + 1 === events.length) {
      this.#events = NO_EVENTS;
      this.#eventHead = 0;
      this.#eventsSettled = 0;
    } else {
      events[head] = undefined!;
      this.#eventHead = head + 1;
    }
    if (!settled && this.#hasEffect(event)) this.#takeEffect(event);
    return event;
  }

  /**
   * Every event since the last call, in order, each taken as `nextEvent()` takes it (so the
   * effects of all of them have happened when this returns). The array is the caller's (an
   * empty one is shared and frozen).
   */
  eventsReceived(): ConnectionEvent[] {
    if (this.#eventHead === this.#events.length) return NO_EVENTS;
    const taken: ConnectionEvent[] = [];
    for (let event = this.nextEvent(); event !== undefined; event = this.nextEvent()) taken.push(event);
    return taken;
  }

  /**
   * The bytes to write since the last call, as chunks for one vectored write. The array is the
   * caller's (an empty one is shared and frozen).
   */
  dataToSend(): Uint8Array[] {
    return this.#outbound.take();
  }

  // -------------------------------------------------------------------------------------------
  // Input
  // -------------------------------------------------------------------------------------------

  /**
   * Feed bytes received from the transport, split anywhere. Never throws for anything the
   * peer sends: violations become `error` events and a close frame. The connection owns
   * `data` from now on (it unmasks in place and hands out views of it).
   */
  receiveData(data: Uint8Array): void {
    if (data.length === 0 || this.#state === ReadyState.CLOSED || (this.#flags & INPUT_CLOSED) !== 0) return;
    try {
      if (this.#state === ReadyState.CONNECTING) this.receiveHandshakeData(data);
      else this.#parser!.receive(data);
    } catch (error) {
      this.#failUnexpected(error);
    }
  }

  /**
   * The transport ended: the peer closed it or half-closed it, or the adapter closed it. The
   * connection becomes CLOSED and reports `close` — once work still pending behind an
   * asynchronous decode has been processed (use `abort()` to drop that work).
   */
  receiveEof(): void {
    if (this.#state === ReadyState.CLOSED) return;
    const inbound = this.#inbound;
    if (inbound !== null && inbound.pending) inbound.eof();
    else this.#close();
  }

  /**
   * The transport is gone and pending work is dropped: CLOSED now. For an adapter's close
   * timeout and for `terminate()`.
   */
  abort(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#dropUntakenEvents();
    this.#discardPendingInput();
    this.#close();
  }

  // -------------------------------------------------------------------------------------------
  // Output
  // -------------------------------------------------------------------------------------------

  /**
   * Send a text message, or with `fin` false the first fragment of one (then
   * `sendContinuation`). A string is encoded as UTF-8; bytes are sent as they are once checked
   * to be UTF-8 (RFC 6455 §5.6: the payload "is text data encoded as UTF-8"), a character
   * split between fragments allowed. With `compress` false the message is sent as it is, not
   * transformed by the negotiated extensions (permessage-deflate leaves it uncompressed); it
   * applies to all its fragments.
   *
   * @throws InvalidStateError unless OPEN, or while a fragmented message is being sent.
   * @throws InvalidArgumentError for bytes that are not UTF-8, or a message that would end
   *   inside a character; nothing is sent then.
   * @returns the size of the payload in bytes (a string's UTF-8).
   */
  sendText(data: string | Uint8Array, fin = true, compress = true): number {
    this.#assertCanStart('send a text message');
    return this.#outbound.sendText(data, fin, compress);
  }

  /**
   * Send a binary message, or with `fin` false the first fragment of one. On a server the
   * bytes are written as they are, not copied: leave them unchanged until written. `compress`
   * as for `sendText`.
   *
   * @throws InvalidStateError unless OPEN, or while a fragmented message is being sent.
   * @returns the size of the payload in bytes.
   */
  sendBinary(data: Uint8Array, fin = true, compress = true): number {
    this.#assertCanStart('send a binary message');
    return this.#outbound.sendBinary(data, fin, compress);
  }

  /**
   * Send the next fragment of the message started with `fin` false (RFC 6455 §5.4); `fin`
   * true ends it. Control frames may be sent between fragments.
   *
   * @throws InvalidStateError unless OPEN, or when no fragmented message is in progress.
   * @throws InvalidArgumentError when a text message's bytes are not UTF-8 or it would end
   *   inside a character (see `sendText`); nothing is sent then.
   * @returns the size of the payload in bytes (a string's UTF-8).
   */
  sendContinuation(data: string | Uint8Array, fin: boolean): number {
    this.#assertOpen('send a continuation frame');
    // §5.4: a continuation frame continues the message in progress; there must be one.
    if (!this.#outbound.sendingFragmented) {
      throw new InvalidStateError('cannot send a continuation frame: no fragmented message is in progress');
    }
    return this.#outbound.sendContinuation(data, fin);
  }

  /**
   * Send a message, or with `fin` false a fragment of one: continue the fragmented message in
   * progress (`sendContinuation`), else start a new one (`sendText` / `sendBinary`, as `binary`
   * says). This is how the faces send: `ws.send(data, { fin: false })` and the sends after it.
   *
   * @throws InvalidStateError unless OPEN. @throws InvalidArgumentError as `sendText` and
   *   `sendContinuation` do for text that is not UTF-8.
   * @returns the size of the payload in bytes (a string's UTF-8).
   */
  send(data: string | Uint8Array, binary: boolean, fin = true, compress = true): number {
    if (this.#outbound.sendingFragmented) return this.sendContinuation(data, fin);
    if (binary) return this.sendBinary(typeof data === 'string' ? utf8Encode(data) : data, fin, compress);
    return this.sendText(data, fin, compress);
  }

  /**
   * Send a message framed once for many connections (`EncodedMessage.frame`): its bytes are
   * queued as they are, shared with the other connections, not copied. Only a server can: a
   * client masks each frame with a fresh key (§5.3). While the application's own fragmented
   * message is in progress the message waits for that message's last frame (§5.4: fragments
   * of two messages are not interleaved). Its RSV bits must be those of a negotiated
   * extension (§5.2); that the transformed bytes suit this connection's terms (e.g. a
   * permessage-deflate window, RFC 7692 §7.1.2) is for the sender to ensure.
   *
   * @throws InvalidStateError unless OPEN, or on a client.
   * @throws InvalidArgumentError for a value `EncodedMessage` did not make, or RSV bits no
   *   negotiated extension claims.
   */
  sendEncoded(message: EncodedMessage): void {
    this.#assertOpen('send an encoded message');
    if (this.side !== 'server') throw new InvalidStateError('cannot send an encoded message: a client masks every frame with a fresh key (RFC 6455 §5.3)');
    if (!EncodedMessage.isEncodedMessage(message)) throw new InvalidArgumentError('sendEncoded takes an EncodedMessage (EncodedMessage.frame)');
    this.#outbound.sendEncoded(message);
  }

  /**
   * Send a ping (RFC 6455 §5.5.2) with up to 125 bytes of payload.
   *
   * @throws InvalidStateError unless OPEN. @throws InvalidArgumentError for a payload over 125 bytes.
   */
  sendPing(data: string | Uint8Array = EMPTY): void {
    this.#assertOpen('send a ping');
    this.#outbound.sendControl(Opcode.PING, data);
  }

  /**
   * Send an unsolicited pong (RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited", a
   * heartbeat), or a reply when `autoPong` is off.
   *
   * @throws InvalidStateError unless OPEN. @throws InvalidArgumentError for a payload over 125 bytes.
   */
  sendPong(data: string | Uint8Array = EMPTY): void {
    this.#assertOpen('send a pong');
    this.#outbound.sendControl(Opcode.PONG, data);
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2): send a close frame, empty when `code` is
   * undefined. The connection becomes CLOSING; messages keep arriving until the peer's close.
   *
   * @throws InvalidStateError unless OPEN.
   * @throws InvalidArgumentError for a code that may not be sent (RFC 6455 §7.4: < 1000,
   *   1004–1006, 1015, 1016–2999, ≥ 5000), a reason without a code, or a reason over 123
   *   bytes of UTF-8.
   */
  sendClose(code?: number, reason = ''): void {
    this.#assertOpen('send a close frame');
    this.#startClosing(code, reason, serializeClosePayload(code, reason));
  }

  /**
   * Fail the connection (RFC 6455 §7.1.7) for a reason of the application's (e.g. 1008 policy
   * violation): send a close frame with `code` unless one was sent, and discard all further
   * input. A server also closes the transport (`shouldCloseTransport()`).
   *
   * @throws InvalidStateError unless OPEN or CLOSING.
   * @throws InvalidArgumentError for a code that may not be sent or a reason over 123 bytes.
   */
  fail(code: number, reason = ''): void {
    if (this.#state !== ReadyState.OPEN && this.#state !== ReadyState.CLOSING) {
      throw new InvalidStateError(`cannot fail the connection: the connection is ${STATE_NAMES[this.#state]}`);
    }
    const payload = serializeClosePayload(code, reason);
    // Events read but not yet taken are input too: the application stopped processing it.
    this.#dropUntakenEvents();
    this.#flags |= INPUT_FINISHED;
    // (An end of the transport queued behind a pending decode closes the connection here.)
    this.#discardPendingInput();
    if (this.#state === ReadyState.OPEN) this.#startClosing(code, reason, payload);
    this.#requestServerTransportClose();
  }

  // -------------------------------------------------------------------------------------------
  // For the handshake subclasses
  // -------------------------------------------------------------------------------------------

  /** Bytes received while CONNECTING (before the handshake completed). */
  protected abstract receiveHandshakeData(data: Uint8Array): void;

  /** Queue handshake bytes (a request or response head) for the transport. */
  protected writeHandshake(bytes: Uint8Array): void {
    this.#outbound.writeRaw(bytes);
  }

  /** Report an event from the handshake. */
  protected emit(event: ConnectionEvent): void {
    this.#pushEvent(event);
  }

  /** Whether the handshake failed (input is discarded, the transport is to be closed). */
  protected get handshakeFailed(): boolean {
    return (this.#flags & HANDSHAKE_FAILED) !== 0;
  }

  /**
   * Keep bytes that arrived after the opening handshake's head while the handshake cannot
   * complete yet (a server waiting for `accept()`); they are parsed once OPEN.
   *
   * @returns false when the backlog limit was exceeded (the caller fails the handshake).
   */
  protected deferData(data: Uint8Array): boolean {
    return data.length === 0 || this.#inboundQueue().defer(data);
  }

  /**
   * The handshake succeeded: become OPEN with the agreed terms, report `open`, and parse the
   * deferred bytes and `rest` (the bytes after the head).
   */
  protected completeHandshake(
    protocol: string | null,
    negotiated: readonly NegotiatedExtension<Extension>[],
    head: OpenEvent['head'],
    rest: Uint8Array | null,
  ): void {
    this.#transition(ReadyState.OPEN);
    const extensions = negotiated.length === 0 ? NO_EXTENSIONS : negotiated;
    let rsvBits = 0;
    for (const extension of extensions) rsvBits |= extension.rsvBits;
    this.#protocol = protocol;
    this.#extensions = extensions;
    this.#assembler?.useExtensions(extensions);
    this.#outbound.useExtensions(extensions);
    this.#parser = new FrameParser(
      this.#codec,
      {
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked" and "A client MUST close a connection if it detects a masked frame".
        expectMasked: this.side === 'server',
        // §5.2: RSV bits are allowed only as the negotiated extensions define them.
        allowedRsv: rsvBits,
        maxPayload: Math.min(this.limits.maxFrameSize, this.limits.maxMessageSize),
      },
      this.#port,
    );
    this.#pushEvent({ type: 'open', protocol, extensions, head });
    const inbound = this.#inbound;
    if (inbound !== null) for (let chunk = inbound.nextDeferred(); chunk !== undefined; chunk = inbound.nextDeferred()) this.receiveData(chunk);
    if (rest !== null && rest.length > 0) this.receiveData(rest);
  }

  /**
   * The handshake failed: report `error` (when given), discard all input, and ask for the
   * transport to be closed once `response` (a server's error response, if any) is written.
   */
  protected failHandshake(error: WebSocketError | null, response: Uint8Array | null): void {
    if (error !== null) this.#pushEvent({ type: 'error', error });
    if (response !== null) this.#outbound.writeRaw(response);
    this.#flags |= HANDSHAKE_FAILED;
    this.#flags |= INPUT_CLOSED;
    this.#inbound?.discard();
    this.#flags |= TRANSPORT_CLOSE_REQUESTED;
  }

  /** The connection closed while CONNECTING: release what the handshake holds (declined extensions). */
  protected releaseHandshake(): void {}

  /** Open a connection whose handshake happened elsewhere (`ConnectionOptions.established`). */
  protected establish(terms: EstablishedTerms): void {
    this.completeHandshake(terms.protocol ?? null, terms.extensions ?? [], null, null);
  }

  // -------------------------------------------------------------------------------------------
  // Frames taking effect, in order
  // -------------------------------------------------------------------------------------------

  /** Queue an event (an idle connection holds no array of its own). */
  #pushEvent(event: ConnectionEvent): void {
    const events = this.#events;
    if (events === NO_EVENTS) this.#events = [event];
    else events.push(event);
  }

  /** The queue of input that must wait, made on first use. */
  #inboundQueue(): InboundQueue {
    return (this.#inbound ??= new InboundQueue(this.limits.maxReceiveBacklog, this.#messageAssembler(), this.#port));
  }

  /** The message assembler, made on first use (see `#assembler`). */
  #messageAssembler(): MessageAssembler {
    let assembler = this.#assembler;
    if (assembler === null) {
      assembler = this.#assembler = new MessageAssembler(this.limits, this.#codec, (this.#flags & STREAM_MESSAGES) !== 0, this.#port, this.#allocate);
      assembler.useExtensions(this.#extensions);
    }
    return assembler;
  }

  /** A whole frame parsed while a decode is pending: checked against the limits now, processed in turn. */
  #queueFrame(inbound: InboundQueue, opcode: number, fin: boolean, rsv: number, payload: Uint8Array): boolean {
    const violation = this.#messageAssembler().admit(opcode, payload.length);
    if (violation !== null) return this.#reject(violation);
    inbound.start(opcode, fin, rsv, payload.length);
    if (payload.length > 0) inbound.payload(payload);
    return inbound.end() && (this.#flags & INPUT_CLOSED) === 0;
  }

  /** A violation found while parsing: fail now, or in order behind pending work. Returns false. */
  #reject(error: ProtocolError): false {
    const inbound = this.#inbound;
    if (inbound !== null && inbound.pending) inbound.error(error);
    else this.#fail(error);
    return false;
  }

  /** A whole control frame, in order with the messages: reported now, in effect when taken. */
  #receiveControl(opcode: number, payload: Uint8Array): void {
    // Pings are answered, and close frames take effect, when their events are taken
    // (`#takeEffect`): in order with the application's replies to what came before them.
    if (opcode === Opcode.PING) this.#pushEvent({ type: 'ping', data: payload });
    else if (opcode === Opcode.PONG) this.#pushEvent({ type: 'pong', data: payload });
    else this.#receiveClose(payload);
  }

  #receiveClose(payload: Uint8Array): void {
    let status: CloseStatus;
    try {
      status = parseClosePayload(payload, this.#codec);
    } catch (error) {
      this.#fail(asProtocolError(error));
      return;
    }
    this.#closeRead = status;
    // §1.4: "after receiving a control frame indicating the connection should be closed, a
    // peer discards any further data received." A message in progress is dropped with it.
    this.#closeInput();
    this.#pushEvent({ type: 'close-received', code: status.code, reason: status.reason });
  }

  /** Whether taking `event` makes its frame take effect (see `#takeEffect`). */
  #hasEffect(event: ConnectionEvent): boolean {
    const type = event.type;
    return type === 'ping' || type === 'close-received' || (type === 'error' && (this.#flags & FAILURE_PENDING) !== 0 && event.error === this.#failure);
  }

  /** What a frame read from the peer does, at the moment its event is taken (`nextEvent`). */
  #takeEffect(event: ConnectionEvent): void {
    // Never once CLOSED: the events read before the transport ended were settled then, and
    // none read after it has an effect.
    if (event.type === 'ping') {
      // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
      // response, unless it already received a Close frame." §5.5.3: "A Pong frame sent in
      // response to a Ping frame must have identical "Application data"".
      if ((this.#flags & AUTO_PONG) !== 0 && this.#closeReceived === null) this.#outbound.sendControl(Opcode.PONG, event.data);
    } else if (event.type === 'close-received') {
      this.#closeReceived = this.#closeRead;
      this.#flags |= INPUT_FINISHED;
      if (this.#outbound.closeSent === null) {
        // §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close
        // frame, the endpoint MUST send a Close frame in response. (When sending a Close
        // frame in response, the endpoint typically echos the status code it received.)"
        // The reason is echoed too, as ws does, so the side that closed hears its own words.
        const code = event.code === CloseCode.NO_STATUS_RECEIVED ? undefined : event.code;
        const reason = code === undefined ? '' : event.reason;
        this.#startClosing(code, reason, serializeClosePayload(code, reason));
      }
      this.#requestServerTransportClose();
    } else {
      this.#flags &= ~FAILURE_PENDING;
      this.#flags |= INPUT_FINISHED;
      this.#sendFailureClose(this.#failure as ProtocolError);
    }
  }

  /** Apply the effects of the events not yet taken, which are still handed out afterwards. */
  #settleUntakenEvents(): void {
    const events = this.#events;
    for (let i = Math.max(this.#eventHead, this.#eventsSettled); i < events.length; i++) {
      const event = events[i]!;
      if (this.#hasEffect(event)) this.#takeEffect(event);
    }
    this.#eventsSettled = events.length;
  }

  /** Forget the events not yet taken (the connection is being failed or aborted locally). */
  #dropUntakenEvents(): void {
    this.#events = NO_EVENTS;
    this.#eventHead = 0;
    this.#eventsSettled = 0;
    this.#flags &= ~FAILURE_PENDING;
    if (this.#closeReceived === null) this.#closeRead = null;
  }

  // -------------------------------------------------------------------------------------------
  // Failing and closing
  // -------------------------------------------------------------------------------------------

  /** Stop processing input: §7.1.7 "An endpoint MUST NOT continue to attempt to process data ... from the remote endpoint". */
  #closeInput(): void {
    this.#flags |= INPUT_CLOSED;
    this.#parser?.stop();
    this.#assembler?.drop();
  }

  /** Drop queued input (closing now if the end of the transport was queued) and ignore pending decodes. */
  #discardPendingInput(): void {
    const eofQueued = this.#inbound?.discard() ?? false;
    this.#closeInput();
    if (eofQueued) this.#close();
  }

  /**
   * _Fail the WebSocket Connection_ (RFC 6455 §7.1.7) because of `error`: report it, discard
   * further input, and send a close frame unless one was sent (§7.1.7: "the endpoint SHOULD
   * send a Close frame with an appropriate status code").
   */
  #fail(error: ProtocolError): void {
    if (this.#failure !== null || this.#state === ReadyState.CLOSED) return;
    this.#failure = error;
    // The close frame waits until the `error` event is taken (`#takeEffect`), after the
    // events read before the violation and the application's replies to them.
    this.#flags |= FAILURE_PENDING;
    this.#pushEvent({ type: 'error', error });
    // Last: an end of the transport queued behind a pending decode closes the connection here,
    // and `close` is the last event.
    this.#discardPendingInput();
  }

  /** The effect of a failure (§7.1.7), once its `error` event is taken: the close frame, CLOSING. */
  #sendFailureClose(error: ProtocolError): void {
    if (this.#state === ReadyState.OPEN) {
      // 1011 says nothing more to the peer: the details are ours (python-websockets does the same).
      const reason = error.closeCode === CloseCode.INTERNAL_ERROR ? '' : truncateReason(error.message, MAX_CLOSE_REASON);
      const code = isValidCloseCode(error.closeCode) ? error.closeCode : CloseCode.INTERNAL_ERROR;
      this.#startClosing(code, reason, serializeClosePayload(code, reason));
    }
    this.#requestServerTransportClose();
  }

  /** Queue our close frame (`payload`, from `code` and `reason`): CLOSING (§7.1.3). */
  #startClosing(code: number | undefined, reason: string, payload: Uint8Array): void {
    this.#transition(ReadyState.CLOSING);
    this.#outbound.sendClose(code, reason, payload);
  }

  /** A defect or an unexpected exception: 1011, or after the handshake failed, just report it. */
  #failUnexpected(error: unknown): void {
    if (this.#state === ReadyState.CONNECTING) {
      this.failHandshake(internalError(error), null);
      return;
    }
    this.#fail(internalError(error));
  }

  /**
   * RFC 6455 §7.1.1: the server closes the TCP connection first — once its close frame is
   * written and the closing handshake is complete or the connection failed (§7.1.7).
   */
  #requestServerTransportClose(): void {
    // Complete: our close frame is written, and the peer's was taken or the connection failed.
    if (this.side === 'server' && this.#outbound.closeWritten && (this.#flags & INPUT_FINISHED) !== 0) {
      this.#flags |= TRANSPORT_CLOSE_REQUESTED;
    }
  }

  /** The transport ended: CLOSED, `close` reported (§7.1.4, §7.1.5). */
  #close(): void {
    if (this.#state === ReadyState.CLOSED) return;
    // The transport ended before the events read last were taken: their frames take effect
    // now (the answering close frame, pongs), while the connection can still answer.
    this.#settleUntakenEvents();
    const wasConnecting = this.#state === ReadyState.CONNECTING;
    this.#transition(ReadyState.CLOSED);
    this.#outbound.stop();
    this.#closeInput();
    this.#inbound?.discard();
    if (wasConnecting) this.releaseHandshake();
    if (wasConnecting && this.side === 'client' && (this.#flags & HANDSHAKE_FAILED) === 0) {
      this.#pushEvent({
        type: 'error',
        error: new HandshakeError('the connection closed before the opening handshake completed', 0),
      });
    }
    // A close frame read and not yet taken still says how the connection ended.
    const received = this.#closeReceived ?? this.#closeRead;
    // §7.1.4: closed cleanly if the closing handshake completed; §7.1.5: 1006 when no close
    // frame was received ("such as could occur if the underlying transport connection is lost").
    this.#pushEvent({
      type: 'close',
      code: received?.code ?? CloseCode.ABNORMAL_CLOSURE,
      reason: received?.reason ?? '',
      wasClean: this.#outbound.closeWritten && received !== null,
    });
    // The peer has ended its side; end ours (a client closes after the server, §7.1.1).
    this.#flags |= TRANSPORT_CLOSE_REQUESTED;
    this.#dispose();
  }

  /** Release the extensions (`#close` runs once). */
  #dispose(): void {
    for (const { extension } of this.#extensions) {
      try {
        extension.dispose?.();
      } catch {
        // Releasing resources of a finished connection cannot fail it any further.
      }
    }
  }

  #transition(to: ReadyState): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(to)) {
      throw new InvalidStateError(`invalid transition from ${STATE_NAMES[from]} to ${STATE_NAMES[to]}`);
    }
    this.#state = to;
  }

  #assertOpen(action: string): void {
    if (this.#state !== ReadyState.OPEN) {
      throw new InvalidStateError(`cannot ${action}: the connection is ${STATE_NAMES[this.#state]}`);
    }
  }

  #assertCanStart(action: string): void {
    this.#assertOpen(action);
    // §5.4: fragments of one message are not interleaved with those of another.
    if (this.#outbound.sendingFragmented) {
      throw new InvalidStateError(`cannot ${action}: a fragmented message is in progress (send its continuation frames first)`);
    }
  }
}
