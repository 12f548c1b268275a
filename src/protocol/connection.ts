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
 * processed strictly in order: control frames answered, data frames decoded by extensions and
 * assembled into messages (or handed out piece by piece with `streamMessages`). While an
 * asynchronous decode is pending, parsed frames wait in a bounded queue — the connection asks
 * the adapter to stop reading (`shouldPauseReading()`) well before its hard limit.
 *
 * Frames take effect in order, when their events are taken. The parser reads a whole chunk
 * at once, but a ping is answered, a close frame moves the connection to CLOSING and is
 * answered, and a violation fails the connection only when `nextEvent()` hands out the event
 * it produced — after the events read before it. So a message read together with a close
 * frame is handled while the connection is OPEN, and the application's reply to it goes out
 * before the answering close frame (RFC 6455 processes frames in order).
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
import { type Codec, UTF8_ACCEPT, UTF8_INVALID } from '../codec/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import { utf8Encode } from '../shared/bytes.js';
import { CloseCode, isValidCloseCode, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD, Opcode, ReadyState } from '../shared/constants.js';
import {
  ErrorCode,
  HandshakeError,
  InvalidArgumentError,
  InvalidStateError,
  ProtocolError,
  type WebSocketError,
} from '../shared/errors.js';
import { type CloseStatus, parseClosePayload, serializeClosePayload, truncateReason } from './close.js';
import type { ConnectionEvent, OpenEvent } from './events.js';
import { type DecodeOutput, type Extension, isPromiseLike, runDecoders, runEncoders } from './extension.js';
import { type ConnectionLimits, resolveLimits } from './limits.js';
import { type FrameHandler, FrameParser } from './parser.js';
import { FrameSerializer } from './serializer.js';

/** Which end of the connection this is. */
export type ConnectionSide = 'client' | 'server';

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

/** Terms of an opening handshake done elsewhere, to start a connection OPEN. */
export interface EstablishedTerms {
  /** The agreed subprotocol; default null. */
  readonly protocol?: string | null;
  /** The extensions in use, in the order of the server's response; default none. */
  readonly extensions?: readonly NegotiatedExtension<Extension>[];
}

/** Options common to both sides. */
export interface ConnectionOptions {
  /** The frame codec (portable or wasm); the core never picks one itself. */
  readonly codec: Codec;
  /** Limits on what is received; see `ConnectionLimits` for the defaults. */
  readonly limits?: Partial<ConnectionLimits>;
  /**
   * Answer each ping with a pong carrying its payload (RFC 6455 §5.5.2 "MUST send a Pong
   * frame in response"). Default true; turn off only to answer pings yourself.
   */
  readonly autoPong?: boolean;
  /**
   * Report data as `fragment` events as it arrives instead of assembled `message` events, so a
   * large message is never held whole. Default false. The limits still apply: raise
   * `maxMessageSize` to stream messages larger than it.
   */
  readonly streamMessages?: boolean;
  /**
   * Called when asynchronous work (an extension transform) has produced events or bytes, or
   * has changed `shouldPauseReading()`, outside any call into the connection: the adapter
   * should then collect events and bytes. Must not throw. Not needed without asynchronous
   * extensions.
   */
  readonly onWake?: () => void;
  /** Start OPEN, with these terms, because the opening handshake happened elsewhere. */
  readonly established?: EstablishedTerms;
}

// Kinds of the items queued behind a pending decode.
const ITEM_START = 0;
const ITEM_PAYLOAD = 1;
const ITEM_END = 2;
const ITEM_ERROR = 3;
const ITEM_EOF = 4;

type InboundItem =
  | { readonly kind: typeof ITEM_START; readonly opcode: number; readonly fin: boolean; readonly rsv: number; readonly length: number }
  | { readonly kind: typeof ITEM_PAYLOAD; readonly data: Uint8Array }
  | { readonly kind: typeof ITEM_END }
  | { readonly kind: typeof ITEM_ERROR; readonly error: ProtocolError }
  | { readonly kind: typeof ITEM_EOF };

/** Memory a queued item costs beyond its payload, counted in the receive backlog. */
const ITEM_OVERHEAD = 32;

const END_ITEM: InboundItem = Object.freeze({ kind: ITEM_END });
const EOF_ITEM: InboundItem = Object.freeze({ kind: ITEM_EOF });
const EMPTY = new Uint8Array(0);
// Returned when there is nothing: shared, so frozen (a caller that pushes onto one learns at once).
const NO_CHUNKS = Object.freeze([]) as unknown as Uint8Array[];
const NO_EVENTS = Object.freeze([]) as unknown as ConnectionEvent[];

/** A frame waiting behind a pending asynchronous encode. */
interface OutboundFrame {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  readonly payload: Uint8Array;
  readonly owned: boolean;
  readonly encoders: readonly Extension[] | null;
}

/** The message being sent in fragments. */
interface OutgoingMessage {
  readonly encoders: readonly Extension[] | null;
  /** Text: its UTF-8 is checked across fragments (`#sendUtf8`). */
  readonly text: boolean;
}

/** A `ProtocolError` for a local fault: 1011, nothing said to the peer, the cause kept. */
function internalError(cause: unknown): ProtocolError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const error = new ProtocolError(`internal error: ${detail}`, ErrorCode.INTERNAL_ERROR, CloseCode.INTERNAL_ERROR);
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
  return error;
}

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
  readonly #autoPong: boolean;
  readonly #streamMessages: boolean;
  readonly #onWake: (() => void) | undefined;
  readonly #serializer: FrameSerializer;

  #state: ReadyState = ReadyState.CONNECTING;
  #events: ConnectionEvent[] = [];
  /** The next event `nextEvent()` hands out. */
  #eventHead = 0;
  /** Events before this index had their effects applied before they were taken (the transport ended first). */
  #eventsSettled = 0;
  #output: Uint8Array[] = [];
  #parser: FrameParser | null = null;
  #protocol: string | null = null;
  #extensions: readonly NegotiatedExtension<Extension>[] = [];

  /** No more input is processed: a close frame arrived, the connection failed, or the handshake did. */
  #inputClosed = false;
  /**
   * The input is over as the application sees it: the peer's close frame or a failure has
   * taken effect, or the application failed the connection.
   */
  #inputFinished = false;
  #failure: WebSocketError | null = null;
  #handshakeFailed = false;
  /** The failure read from the peer whose effects (close frame, CLOSING) wait until its `error` event is taken. */
  #failurePending = false;
  #closeSent: CloseStatus | null = null;
  #closeWritten = false;
  /** The close frame the parser read; it takes effect when its `close-received` event is taken. */
  #closeRead: CloseStatus | null = null;
  #closeReceived: CloseStatus | null = null;
  #transportCloseRequested = false;
  #disposed = false;

  // Wire-level accounting, as frames are parsed (ahead of processing when a decode is pending).
  #wireOpcode = 0;
  #wireMessageSize = 0;
  #wireFragments = 0;

  // The frame being processed.
  #frameOpcode = 0;
  #frameFin = false;
  #frameRemaining = 0;
  readonly #controlBuffer = new Uint8Array(MAX_CONTROL_PAYLOAD);
  #controlLength = 0;
  #controlPayload: Uint8Array | null = null;

  // The message being processed.
  #messageBinary = false;
  #decoders: readonly Extension[] | null = null;
  #decodeFinished = false;
  #decodedSize = 0;
  #decodedUtf8 = UTF8_ACCEPT;
  /** The message's first piece, and the pieces after it (kept apart so a one-piece message touches no array). */
  #firstPart: Uint8Array | null = null;
  readonly #parts: Uint8Array[] = [];
  #partsLength = 0;
  #streamHeld: Uint8Array | null = null;
  #streamFirst = true;

  // Work waiting for an asynchronous decode, or for the handshake to finish.
  #inboundPending = false;
  #inbound: InboundItem[] = [];
  #inboundHead = 0;
  #early: Uint8Array[] = [];
  #backlog = 0;
  /** Bumped whenever pending asynchronous work must be ignored when it settles. */
  #generation = 0;

  // Sending.
  #sending: OutgoingMessage | null = null;
  /** UTF-8 state of the text message being sent in fragments. */
  #sendUtf8 = UTF8_ACCEPT;
  #outboundPending = false;
  #outbound: OutboundFrame[] = [];

  readonly #handler: FrameHandler = {
    onFrameStart: (opcode, fin, rsv, length) => this.#onFrameStart(opcode, fin, rsv, length),
    onFramePayload: (data) => this.#onFramePayload(data),
    onFrameEnd: () => this.#onFrameEnd(),
    onFrameError: (error) => this.#reject(error),
  };

  readonly #decodeOutput: DecodeOutput = ((connection: Connection): DecodeOutput => ({
    push: (bytes: Uint8Array): boolean => connection.#pushDecoded(bytes),
    get remaining(): number {
      return Math.max(0, connection.limits.maxMessageSize - connection.#decodedSize);
    },
  }))(this);

  /**
   * @param maskKeys the key pool a client masks with; null on a server.
   * @throws InvalidArgumentError for invalid limits.
   */
  protected constructor(side: ConnectionSide, options: ConnectionOptions, maskKeys: MaskKeyPool | null) {
    if (options.codec === undefined || options.codec === null) throw new InvalidArgumentError('a codec is required');
    this.side = side;
    this.limits = resolveLimits(options.limits);
    this.#codec = options.codec;
    this.#autoPong = options.autoPong ?? true;
    this.#streamMessages = options.streamMessages ?? false;
    this.#onWake = options.onWake;
    this.#serializer = new FrameSerializer(options.codec, maskKeys);
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
    return this.#closeSent;
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
    return this.#closeSent !== null && this.#closeReceived !== null;
  }

  /** Whether a message sent with `fin` false is in progress: the next `send` continues it. */
  get sendingFragmented(): boolean {
    return this.#sending !== null;
  }

  /**
   * Whether the adapter should expect the transport to close and arm its close timeout: a
   * close frame was sent, or the handshake failed, and the transport is still open. When the
   * timeout fires, close the transport and call `receiveEof()`.
   */
  closeExpected(): boolean {
    return this.#state !== ReadyState.CLOSED && (this.#closeSent !== null || this.#handshakeFailed);
  }

  /**
   * Whether the adapter should close the transport once it has written `dataToSend()`:
   * RFC 6455 §7.1.1, "the underlying TCP connection, in most normal cases, SHOULD be closed
   * first by the server". True on a server once the closing handshake is complete or the
   * connection has failed, after a handshake error response, on a client whose handshake
   * failed, and on either side after the peer ended the transport.
   */
  shouldCloseTransport(): boolean {
    return this.#transportCloseRequested;
  }

  /**
   * Whether the adapter should stop reading from the transport until `onWake`: received bytes
   * are waiting (behind an asynchronous decode, or for `accept()`) and reach
   * `limits.receiveHighWaterMark`.
   */
  shouldPauseReading(): boolean {
    return this.#isHoldingInput() && this.#backlog >= this.limits.receiveHighWaterMark;
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
      this.#events = [];
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
    const output = this.#output;
    if (output.length === 0) return NO_CHUNKS;
    this.#output = [];
    return output;
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
    if (data.length === 0 || this.#state === ReadyState.CLOSED || this.#inputClosed) return;
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
    if (this.#inboundPending) {
      this.#enqueue(EOF_ITEM, 0);
      return;
    }
    this.#close();
  }

  /**
   * The transport is gone and pending work is dropped: CLOSED now. For an adapter's close
   * timeout and for `terminate()`.
   */
  abort(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#discardPendingInput();
    this.#dropUntakenEvents();
    this.#close();
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
    this.#events = [];
    this.#eventHead = 0;
    this.#eventsSettled = 0;
    this.#failurePending = false;
    if (this.#closeReceived === null) this.#closeRead = null;
  }

  // -------------------------------------------------------------------------------------------
  // Output
  // -------------------------------------------------------------------------------------------

  /**
   * Send a text message, or with `fin` false the first fragment of one (then
   * `sendContinuation`). A string is encoded as UTF-8; bytes are sent as they are once checked
   * to be UTF-8 (RFC 6455 §5.6: the payload "is text data encoded as UTF-8"), a character
   * split between fragments allowed.
   *
   * @throws InvalidStateError unless OPEN, or while a fragmented message is being sent.
   * With `compress` false the message is sent as it is, not transformed by the negotiated
   * extensions (permessage-deflate leaves it uncompressed); it applies to all its fragments.
   *
   * @throws InvalidArgumentError for bytes that are not UTF-8, or a message that would end
   *   inside a character; nothing is sent then.
   */
  sendText(data: string | Uint8Array, fin = true, compress = true): void {
    this.#assertCanStart('send a text message');
    const owned = typeof data === 'string';
    const payload = owned ? utf8Encode(data) : checkBytes(data);
    // A string's encoding is whole characters; only bytes need checking.
    const utf8 = owned ? UTF8_ACCEPT : this.#checkOutgoingText(payload, UTF8_ACCEPT, fin);
    this.#sendData(Opcode.TEXT, payload, fin, owned, compress);
    this.#sendUtf8 = utf8;
  }

  /**
   * Send a binary message, or with `fin` false the first fragment of one. On a server the
   * bytes are written as they are, not copied: leave them unchanged until written. `compress`
   * as for `sendText`.
   *
   * @throws InvalidStateError unless OPEN, or while a fragmented message is being sent.
   */
  sendBinary(data: Uint8Array, fin = true, compress = true): void {
    this.#assertCanStart('send a binary message');
    this.#sendData(Opcode.BINARY, checkBytes(data), fin, false, compress);
  }

  /**
   * Send the next fragment of the message started with `fin` false (RFC 6455 §5.4); `fin`
   * true ends it. Control frames may be sent between fragments.
   *
   * @throws InvalidStateError unless OPEN, or when no fragmented message is in progress.
   * @throws InvalidArgumentError when a text message's bytes are not UTF-8 or it would end
   *   inside a character (see `sendText`); nothing is sent then.
   */
  sendContinuation(data: string | Uint8Array, fin: boolean): void {
    this.#assertOpen('send a continuation frame');
    const sending = this.#sending;
    if (sending === null) throw new InvalidStateError('cannot send a continuation frame: no fragmented message is in progress');
    const owned = typeof data === 'string';
    const payload = owned ? utf8Encode(data) : checkBytes(data);
    let utf8 = this.#sendUtf8;
    if (sending.text && !(owned && utf8 === UTF8_ACCEPT)) utf8 = this.#checkOutgoingText(payload, utf8, fin);
    this.#sendData(Opcode.CONTINUATION, payload, fin, owned, true);
    this.#sendUtf8 = fin ? UTF8_ACCEPT : utf8;
  }

  /**
   * Send a message, or with `fin` false a fragment of one: continue the fragmented message in
   * progress (`sendContinuation`), else start a new one (`sendText` / `sendBinary`, as `binary`
   * says). This is how the faces send: `ws.send(data, { fin: false })` and the sends after it.
   *
   * @throws InvalidStateError unless OPEN. @throws InvalidArgumentError as `sendText` and
   *   `sendContinuation` do for text that is not UTF-8.
   */
  send(data: string | Uint8Array, binary: boolean, fin = true, compress = true): void {
    if (this.#sending !== null) this.sendContinuation(data, fin);
    else if (binary) this.sendBinary(typeof data === 'string' ? utf8Encode(data) : data, fin, compress);
    else this.sendText(data, fin, compress);
  }

  /**
   * Send a ping (RFC 6455 §5.5.2) with up to 125 bytes of payload.
   *
   * @throws InvalidStateError unless OPEN. @throws InvalidArgumentError for a payload over 125 bytes.
   */
  sendPing(data: string | Uint8Array = EMPTY): void {
    this.#assertOpen('send a ping');
    this.#sendControl(Opcode.PING, data);
  }

  /**
   * Send an unsolicited pong (RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited", a
   * heartbeat), or a reply when `autoPong` is off.
   *
   * @throws InvalidStateError unless OPEN. @throws InvalidArgumentError for a payload over 125 bytes.
   */
  sendPong(data: string | Uint8Array = EMPTY): void {
    this.#assertOpen('send a pong');
    this.#sendControl(Opcode.PONG, data);
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
    const payload = serializeClosePayload(code, reason);
    this.#closeSent = { code: code ?? CloseCode.NO_STATUS_RECEIVED, reason };
    this.#transition(ReadyState.CLOSING);
    this.#queueFrame(Opcode.CLOSE, true, 0, payload, true, null);
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
    this.#discardPendingInput();
    // Events read but not yet taken are input too: the application stopped processing it.
    this.#dropUntakenEvents();
    this.#inputFinished = true;
    if (this.#state === ReadyState.OPEN) {
      this.#closeSent = { code, reason };
      this.#transition(ReadyState.CLOSING);
      this.#queueFrame(Opcode.CLOSE, true, 0, payload, true, null);
    }
    this.#requestServerTransportClose();
  }

  // -------------------------------------------------------------------------------------------
  // For the handshake subclasses
  // -------------------------------------------------------------------------------------------

  /** Bytes received while CONNECTING (before the handshake completed). */
  protected abstract receiveHandshakeData(data: Uint8Array): void;

  /** Queue handshake bytes (a request or response head) for the transport. */
  protected writeHandshake(bytes: Uint8Array): void {
    this.#output.push(bytes);
  }

  /** Report an event from the handshake. */
  protected emit(event: ConnectionEvent): void {
    this.#events.push(event);
  }

  /** Whether the handshake failed (input is discarded, the transport is to be closed). */
  protected get handshakeFailed(): boolean {
    return this.#handshakeFailed;
  }

  /**
   * Keep bytes that arrived after the opening handshake's head while the handshake cannot
   * complete yet (a server waiting for `accept()`); they are parsed once OPEN.
   *
   * @returns false when the backlog limit was exceeded (the caller fails the handshake).
   */
  protected deferData(data: Uint8Array): boolean {
    if (data.length === 0) return true;
    this.#early.push(data);
    this.#backlog += data.length;
    return this.#backlog <= this.limits.maxReceiveBacklog;
  }

  /**
   * The handshake succeeded: become OPEN with the agreed terms, report `open`, and parse the
   * deferred bytes and `rest` (the bytes after the head).
   */
  protected completeHandshake(
    protocol: string | null,
    extensions: readonly NegotiatedExtension<Extension>[],
    head: OpenEvent['head'],
    rest: Uint8Array | null,
  ): void {
    let rsvBits = 0;
    for (const extension of extensions) rsvBits |= extension.rsvBits;
    this.#protocol = protocol;
    this.#extensions = extensions;
    this.#parser = new FrameParser(
      this.#codec,
      {
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked" and "A client MUST close a connection if it detects a masked frame".
        expectMasked: this.side === 'server',
        allowedRsv: rsvBits,
        maxPayload: Math.min(this.limits.maxFrameSize, this.limits.maxMessageSize),
      },
      this.#handler,
    );
    this.#transition(ReadyState.OPEN);
    this.#events.push({ type: 'open', protocol, extensions, head });
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) {
      this.#backlog -= chunk.length;
      this.receiveData(chunk);
    }
    if (rest !== null && rest.length > 0) this.receiveData(rest);
  }

  /**
   * The handshake failed: report `error` (when given), discard all input, and ask for the
   * transport to be closed once `response` (a server's error response, if any) is written.
   */
  protected failHandshake(error: WebSocketError | null, response: Uint8Array | null): void {
    if (error !== null) this.#events.push({ type: 'error', error });
    if (response !== null) this.#output.push(response);
    this.#handshakeFailed = true;
    this.#inputClosed = true;
    this.#early = [];
    this.#backlog = 0;
    this.#transportCloseRequested = true;
  }

  /** The connection closed while CONNECTING: release what the handshake holds (declined extensions). */
  protected releaseHandshake(): void {}

  /** Open a connection whose handshake happened elsewhere (`ConnectionOptions.established`). */
  protected establish(terms: EstablishedTerms): void {
    this.completeHandshake(terms.protocol ?? null, terms.extensions ?? [], null, null);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving: wire-level checks as frames are parsed
  // -------------------------------------------------------------------------------------------

  #onFrameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean {
    this.#wireOpcode = opcode;
    if (opcode === Opcode.CONTINUATION) {
      const limits = this.limits;
      if (++this.#wireFragments > limits.maxFragments) {
        return this.#reject(
          new ProtocolError(`message of more than ${limits.maxFragments} fragments`, ErrorCode.TOO_MANY_FRAGMENTS, CloseCode.MESSAGE_TOO_BIG),
        );
      }
      this.#wireMessageSize += length;
      // §7.4.1 1009: "a message that is too big for it to process".
      if (this.#wireMessageSize > limits.maxMessageSize) {
        return this.#reject(
          new ProtocolError(
            `message of more than ${limits.maxMessageSize} bytes (${this.#wireMessageSize} so far)`,
            ErrorCode.MESSAGE_TOO_BIG,
            CloseCode.MESSAGE_TOO_BIG,
          ),
        );
      }
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      // The codec already holds a single frame to min(maxFrameSize, maxMessageSize).
      this.#wireMessageSize = length;
      this.#wireFragments = 1;
    }
    if (this.#inboundPending) {
      this.#enqueue({ kind: ITEM_START, opcode, fin, rsv, length }, 0);
      return !this.#inputClosed;
    }
    this.#processStart(opcode, fin, rsv, length);
    return !this.#inputClosed;
  }

  #onFramePayload(data: Uint8Array): boolean {
    if (this.#inboundPending) {
      this.#enqueue({ kind: ITEM_PAYLOAD, data }, data.length);
      return !this.#inputClosed;
    }
    this.#processPayload(data);
    return !this.#inputClosed;
  }

  #onFrameEnd(): boolean {
    if (this.#inboundPending) {
      this.#enqueue(END_ITEM, 0);
      // §1.4: "after receiving a control frame indicating the connection should be closed, a
      // peer discards any further data received" — stop parsing now, process in order.
      return !this.#inputClosed && this.#wireOpcode !== Opcode.CLOSE;
    }
    this.#processEnd();
    return !this.#inputClosed;
  }

  /** A violation found while parsing: fail now, or in order behind pending work. Returns false. */
  #reject(error: ProtocolError): false {
    if (this.#inboundPending) this.#enqueue({ kind: ITEM_ERROR, error }, 0);
    else this.#fail(error);
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Receiving: processing, in order
  // -------------------------------------------------------------------------------------------

  #processStart(opcode: number, fin: boolean, rsv: number, length: number): void {
    this.#frameOpcode = opcode;
    this.#frameFin = fin;
    this.#frameRemaining = length;
    if (opcode >= Opcode.CLOSE) {
      this.#controlPayload = null;
      this.#controlLength = 0;
    } else if (opcode !== Opcode.CONTINUATION) {
      this.#messageBinary = opcode === Opcode.BINARY;
      this.#decoders = rsv === 0 ? null : this.#decodersFor(rsv);
      this.#decodeFinished = false;
      this.#decodedSize = 0;
      this.#decodedUtf8 = UTF8_ACCEPT;
      this.#streamFirst = true;
    }
  }

  #processPayload(data: Uint8Array): void {
    const remaining = (this.#frameRemaining -= data.length);
    if (this.#frameOpcode >= Opcode.CLOSE) {
      if (remaining === 0 && this.#controlLength === 0) {
        this.#controlPayload = data;
      } else {
        this.#controlBuffer.set(data, this.#controlLength);
        this.#controlLength += data.length;
      }
      return;
    }
    const endsMessage = this.#frameFin && remaining === 0;
    if (this.#decoders !== null) {
      this.#decode(data, endsMessage);
      return;
    }
    this.#deliverPiece(data);
    if (!endsMessage) this.#flushPieces(false);
  }

  #processEnd(): void {
    const opcode = this.#frameOpcode;
    if (opcode >= Opcode.CLOSE) {
      const payload =
        this.#controlPayload ?? (this.#controlLength === 0 ? EMPTY : this.#controlBuffer.slice(0, this.#controlLength));
      this.#handleControl(opcode, payload);
      return;
    }
    // A transformed message whose last piece went to the decoders is finished by them.
    if (!this.#frameFin || this.#decodeFinished) return;
    if (this.#decoders !== null) this.#decode(EMPTY, true);
    else this.#finishMessage();
  }

  #handleControl(opcode: number, payload: Uint8Array): void {
    // Pings are answered, and close frames take effect, when their events are taken
    // (`#takeEffect`): in order with the application's replies to what came before them.
    if (opcode === Opcode.PING) this.#events.push({ type: 'ping', data: payload });
    else if (opcode === Opcode.PONG) this.#events.push({ type: 'pong', data: payload });
    else this.#receiveClose(payload);
  }

  #receiveClose(payload: Uint8Array): void {
    let status: CloseStatus;
    try {
      status = parseClosePayload(payload, this.#codec);
    } catch (error) {
      this.#fail(error instanceof ProtocolError ? error : internalError(error));
      return;
    }
    this.#closeRead = status;
    // §1.4: "after receiving a control frame indicating the connection should be closed, a
    // peer discards any further data received." A message in progress is dropped with it.
    this.#closeInput();
    this.#events.push({ type: 'close-received', code: status.code, reason: status.reason });
  }

  /** Whether taking `event` makes its frame take effect (see `#takeEffect`). */
  #hasEffect(event: ConnectionEvent): boolean {
    const type = event.type;
    return type === 'ping' || type === 'close-received' || (type === 'error' && this.#failurePending && event.error === this.#failure);
  }

  /** What a frame read from the peer does, at the moment its event is taken (`nextEvent`). */
  #takeEffect(event: ConnectionEvent): void {
    if (this.#state === ReadyState.CLOSED) return;
    switch (event.type) {
      case 'ping':
        // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
        // response, unless it already received a Close frame." §5.5.3: "A Pong frame sent in
        // response to a Ping frame must have identical "Application data"".
        if (this.#autoPong && this.#closeReceived === null) this.#queueFrame(Opcode.PONG, true, 0, event.data, false, null);
        break;
      case 'close-received': {
        const status = this.#closeRead!;
        this.#closeReceived = status;
        this.#inputFinished = true;
        if (this.#closeSent === null) {
          // §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close
          // frame, the endpoint MUST send a Close frame in response. (When sending a Close
          // frame in response, the endpoint typically echos the status code it received.)"
          // The reason is echoed too, as ws does, so the side that closed hears its own words.
          const code = status.code === CloseCode.NO_STATUS_RECEIVED ? undefined : status.code;
          const reason = code === undefined ? '' : status.reason;
          this.#closeSent = { code: status.code, reason };
          this.#transition(ReadyState.CLOSING);
          this.#queueFrame(Opcode.CLOSE, true, 0, serializeClosePayload(code, reason), true, null);
        }
        this.#requestServerTransportClose();
        break;
      }
      case 'error':
        this.#failurePending = false;
        this.#inputFinished = true;
        this.#sendFailureClose(this.#failure as ProtocolError);
        break;
      default:
        break;
    }
  }

  /** The extensions that decode a message whose first frame carries `rsv`, in decoding order. */
  #decodersFor(rsv: number): readonly Extension[] | null {
    const extensions = this.#extensions;
    let decoders: Extension[] | null = null;
    // §9.1: incoming data goes through the extensions in the reverse of the response's order.
    for (let i = extensions.length - 1; i >= 0; i--) {
      const negotiated = extensions[i]!;
      if ((negotiated.rsvBits & rsv) !== 0) (decoders ??= []).push(negotiated.extension);
    }
    return decoders;
  }

  #decode(data: Uint8Array, fin: boolean): void {
    if (fin) this.#decodeFinished = true;
    const generation = this.#generation;
    let result: void | PromiseLike<void>;
    try {
      result = runDecoders(this.#decoders!, data, fin, this.#decodeOutput, this.limits.maxMessageSize);
    } catch (error) {
      this.#failFromExtension(error);
      return;
    }
    // The connection may have failed during the call (its output refused past the limit):
    // then nothing waits for the result, even a pending one.
    if (generation !== this.#generation) return;
    if (!isPromiseLike<void>(result)) {
      this.#afterDecode(fin);
      return;
    }
    this.#inboundPending = true;
    Promise.resolve(result).then(
      () => {
        if (generation === this.#generation) {
          this.#inboundPending = false;
          this.#runGuarded(() => {
            this.#afterDecode(fin);
            this.#drainInbound();
          });
        }
        this.#wake();
      },
      (error: unknown) => {
        if (generation === this.#generation) {
          this.#inboundPending = false;
          this.#failFromExtension(error);
          this.#drainInbound();
        }
        this.#wake();
      },
    );
  }

  #afterDecode(fin: boolean): void {
    if (this.#inputClosed) return;
    if (fin) this.#finishMessage();
    else this.#flushPieces(false);
  }

  /** `DecodeOutput.push`: count, check and deliver decoded bytes. */
  #pushDecoded(bytes: Uint8Array): boolean {
    if (this.#inputClosed || this.#decoders === null) return false;
    const size = this.#decodedSize + bytes.length;
    const limit = this.limits.maxMessageSize;
    if (size > limit) {
      // The bytes over the limit are refused before they are kept: a decompression bomb
      // costs at most `limit` bytes here.
      this.#fail(new ProtocolError(`decoded message exceeds the limit of ${limit} bytes`, ErrorCode.MESSAGE_TOO_BIG, CloseCode.MESSAGE_TOO_BIG));
      return false;
    }
    if (bytes.length === 0) return true;
    this.#decodedSize = size;
    if (!this.#messageBinary) {
      // §8.1 on decoded text, as it is produced (RFC 7692 §6: the payload after decompression is the text).
      const utf8 = this.#codec.utf8Step(bytes, this.#decodedUtf8);
      this.#decodedUtf8 = utf8;
      if (utf8 === UTF8_INVALID) {
        this.#fail(new ProtocolError('invalid UTF-8 in text message', ErrorCode.INVALID_UTF8, CloseCode.INVALID_PAYLOAD));
        return false;
      }
    }
    this.#deliverPiece(bytes);
    return true;
  }

  #deliverPiece(data: Uint8Array): void {
    if (this.#streamMessages) {
      if (this.#streamHeld !== null) this.#emitFragment(this.#streamHeld, false);
      this.#streamHeld = data;
    } else {
      if (this.#firstPart === null) this.#firstPart = data;
      else this.#parts.push(compactPiece(data));
      this.#partsLength += data.length;
    }
  }

  /** Stream mode: hand out the piece held back (held so the last one can say `last`). */
  #flushPieces(last: boolean): void {
    if (!this.#streamMessages) return;
    const held = this.#streamHeld;
    if (held !== null) {
      this.#streamHeld = null;
      this.#emitFragment(held, last);
    } else if (last) {
      this.#emitFragment(EMPTY, true);
    }
  }

  #emitFragment(data: Uint8Array, last: boolean): void {
    this.#events.push({ type: 'fragment', binary: this.#messageBinary, data, first: this.#streamFirst, last });
    this.#streamFirst = false;
  }

  #finishMessage(): void {
    if (this.#decoders !== null && !this.#messageBinary && this.#decodedUtf8 !== UTF8_ACCEPT) {
      this.#fail(new ProtocolError('invalid UTF-8 in text message: it ends inside a character', ErrorCode.INVALID_UTF8, CloseCode.INVALID_PAYLOAD));
      return;
    }
    this.#decoders = null;
    if (this.#streamMessages) {
      this.#flushPieces(true);
      return;
    }
    const first = this.#firstPart;
    const parts = this.#parts;
    let data: Uint8Array;
    if (first === null) {
      data = EMPTY;
    } else if (parts.length === 0) {
      // The message arrived in one piece: hand out the view itself, no copy.
      data = first;
    } else {
      data = new Uint8Array(this.#partsLength);
      data.set(first, 0);
      let offset = first.length;
      for (const part of parts) {
        data.set(part, offset);
        offset += part.length;
      }
      parts.length = 0;
    }
    this.#firstPart = null;
    this.#partsLength = 0;
    this.#events.push({ type: 'message', binary: this.#messageBinary, data });
  }

  /** Forget the message in progress (input ended inside it). */
  #dropMessage(): void {
    this.#firstPart = null;
    this.#parts.length = 0;
    this.#partsLength = 0;
    this.#streamHeld = null;
    this.#decoders = null;
  }

  // -------------------------------------------------------------------------------------------
  // Receiving: the queue behind a pending decode
  // -------------------------------------------------------------------------------------------

  #enqueue(item: InboundItem, bytes: number): void {
    this.#inbound.push(item);
    this.#backlog += bytes + ITEM_OVERHEAD;
    if (this.#backlog > this.limits.maxReceiveBacklog && !this.#inputClosed) {
      // The adapter kept reading although `shouldPauseReading()` said stop: a local fault.
      this.#fail(
        internalError(
          new Error(`receive backlog passed ${this.limits.maxReceiveBacklog} bytes while a decode was pending (the adapter did not pause reading)`),
        ),
      );
    }
  }

  /** Process queued items until the queue is empty or a decode goes pending again. */
  #drainInbound(): void {
    while (!this.#inboundPending && this.#inboundHead < this.#inbound.length) {
      const item = this.#inbound[this.#inboundHead++]!;
      this.#backlog -= ITEM_OVERHEAD + (item.kind === ITEM_PAYLOAD ? item.data.length : 0);
      if (item.kind === ITEM_EOF) {
        this.#close();
        continue;
      }
      if (this.#inputClosed) continue;
      switch (item.kind) {
        case ITEM_START:
          this.#processStart(item.opcode, item.fin, item.rsv, item.length);
          break;
        case ITEM_PAYLOAD:
          this.#processPayload(item.data);
          break;
        case ITEM_END:
          this.#processEnd();
          break;
        case ITEM_ERROR:
          this.#fail(item.error);
          break;
      }
    }
    if (this.#inboundHead === this.#inbound.length) {
      this.#inbound = [];
      this.#inboundHead = 0;
    }
  }

  #isHoldingInput(): boolean {
    return this.#inboundPending || this.#early.length > 0;
  }

  /** Drop queued input (keeping a queued end of transport) and ignore pending decodes. */
  #discardPendingInput(): void {
    const eofQueued = this.#inbound.slice(this.#inboundHead).some((item) => item.kind === ITEM_EOF);
    this.#inbound = [];
    this.#inboundHead = 0;
    this.#backlog = 0;
    this.#early = [];
    this.#inboundPending = false;
    this.#generation++;
    this.#closeInput();
    if (eofQueued) this.#close();
  }

  // -------------------------------------------------------------------------------------------
  // Failing and closing
  // -------------------------------------------------------------------------------------------

  /** Stop processing input: §7.1.7 "An endpoint MUST NOT continue to attempt to process data ... from the remote endpoint". */
  #closeInput(): void {
    this.#inputClosed = true;
    this.#parser?.stop();
    this.#dropMessage();
  }

  /**
   * _Fail the WebSocket Connection_ (RFC 6455 §7.1.7) because of `error`: report it, discard
   * further input, and send a close frame unless one was sent (§7.1.7: "the endpoint SHOULD
   * send a Close frame with an appropriate status code").
   */
  #fail(error: ProtocolError): void {
    if (this.#failure !== null || this.#state === ReadyState.CLOSED) return;
    this.#failure = error;
    this.#discardPendingInput();
    // The close frame waits until the `error` event is taken (`#takeEffect`), after the
    // events read before the violation and the application's replies to them.
    this.#failurePending = true;
    this.#events.push({ type: 'error', error });
  }

  /** The effect of a failure (§7.1.7), once its `error` event is taken: the close frame, CLOSING. */
  #sendFailureClose(error: ProtocolError): void {
    if (this.#state === ReadyState.OPEN) {
      // 1011 says nothing more to the peer: the details are ours (python-websockets does the same).
      const reason = error.closeCode === CloseCode.INTERNAL_ERROR ? '' : truncateReason(error.message, MAX_CLOSE_REASON);
      const code = isValidCloseCode(error.closeCode) ? error.closeCode : CloseCode.INTERNAL_ERROR;
      this.#closeSent = { code, reason };
      this.#transition(ReadyState.CLOSING);
      this.#queueFrame(Opcode.CLOSE, true, 0, serializeClosePayload(code, reason), true, null);
    }
    this.#requestServerTransportClose();
  }

  #failFromExtension(error: unknown): void {
    this.#fail(error instanceof ProtocolError ? error : internalError(error));
  }

  /** A defect or an unexpected exception: 1011, or after the handshake failed, just report it. */
  #failUnexpected(error: unknown): void {
    if (this.#state === ReadyState.CONNECTING) {
      this.failHandshake(internalError(error), null);
      return;
    }
    this.#fail(internalError(error));
  }

  /** Run work from an asynchronous continuation, turning an exception into a 1011. */
  #runGuarded(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#failUnexpected(error);
    }
  }

  /**
   * RFC 6455 §7.1.1: the server closes the TCP connection first — once its close frame is
   * written and the closing handshake is complete or the connection failed (§7.1.7).
   */
  #requestServerTransportClose(): void {
    // Complete: our close frame is written, and the peer's was taken or the connection failed.
    if (this.side === 'server' && this.#closeWritten && this.#inputFinished) {
      this.#transportCloseRequested = true;
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
    this.#closeInput();
    this.#generation++;
    this.#inboundPending = false;
    if (wasConnecting) this.releaseHandshake();
    if (wasConnecting && this.side === 'client' && !this.#handshakeFailed) {
      this.#events.push({
        type: 'error',
        error: new HandshakeError('the connection closed before the opening handshake completed', 0),
      });
    }
    // A close frame read and not yet taken still says how the connection ended.
    const received = this.#closeReceived ?? this.#closeRead;
    // §7.1.4: closed cleanly if the closing handshake completed; §7.1.5: 1006 when no close
    // frame was received ("such as could occur if the underlying transport connection is lost").
    this.#events.push({
      type: 'close',
      code: received?.code ?? CloseCode.ABNORMAL_CLOSURE,
      reason: received?.reason ?? '',
      wasClean: this.#closeWritten && received !== null,
    });
    // The peer has ended its side; end ours (a client closes after the server, §7.1.1).
    this.#transportCloseRequested = true;
    this.#dispose();
  }

  #dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
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

  #wake(): void {
    this.#onWake?.();
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  #assertOpen(action: string): void {
    if (this.#state !== ReadyState.OPEN) {
      throw new InvalidStateError(`cannot ${action}: the connection is ${STATE_NAMES[this.#state]}`);
    }
  }

  #assertCanStart(action: string): void {
    this.#assertOpen(action);
    if (this.#sending !== null) {
      throw new InvalidStateError(`cannot ${action}: a fragmented message is in progress (send its continuation frames first)`);
    }
  }

  #sendData(opcode: number, payload: Uint8Array, fin: boolean, owned: boolean, compress: boolean): void {
    let encoders: readonly Extension[] | null;
    let rsv = 0;
    if (opcode === Opcode.CONTINUATION) {
      encoders = this.#sending!.encoders;
      if (fin) this.#sending = null;
    } else {
      // The first frame decides for the whole message; its continuations follow (above).
      encoders = compress ? this.#encodersFor(opcode === Opcode.BINARY, fin ? payload.length : undefined) : null;
      if (encoders !== null) for (const { rsvBits, extension } of this.#extensions) if (encoders.includes(extension)) rsv |= rsvBits;
      if (!fin) this.#sending = { encoders, text: opcode === Opcode.TEXT };
    }
    this.#queueFrame(opcode, fin, rsv, payload, owned, encoders);
  }

  /** The extensions that transform an outgoing message, in the response's order (§9.1). */
  #encodersFor(binary: boolean, size: number | undefined): readonly Extension[] | null {
    const extensions = this.#extensions;
    if (extensions.length === 0) return null;
    let encoders: Extension[] | null = null;
    for (const { rsvBits, extension } of extensions) {
      // An extension marks the messages it transforms with its RSV bits; one without bits
      // could not tell the peer, so it transforms nothing.
      if (rsvBits !== 0 && (extension.shouldEncode?.(binary, size) ?? true)) (encoders ??= []).push(extension);
    }
    return encoders;
  }

  /** Advance the UTF-8 state of outgoing text over `payload`; throw if it cannot be UTF-8. */
  #checkOutgoingText(payload: Uint8Array, state: number, fin: boolean): number {
    const next = this.#codec.utf8Step(payload, state);
    if (next === UTF8_INVALID) throw new InvalidArgumentError('text payload is not valid UTF-8 (RFC 6455 §5.6)');
    if (fin && next !== UTF8_ACCEPT) throw new InvalidArgumentError('text message would end inside a UTF-8 character (RFC 6455 §5.6)');
    return next;
  }

  #sendControl(opcode: number, data: string | Uint8Array): void {
    const owned = typeof data === 'string';
    const payload = owned ? utf8Encode(data) : checkBytes(data);
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if (payload.length > MAX_CONTROL_PAYLOAD) {
      throw new InvalidArgumentError(`control frame payload of ${payload.length} bytes; at most ${MAX_CONTROL_PAYLOAD} are allowed`);
    }
    this.#queueFrame(opcode, true, 0, payload, owned, null);
  }

  /** Write a frame now, or queue it behind a pending asynchronous encode (order is kept). */
  #queueFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array, owned: boolean, encoders: readonly Extension[] | null): void {
    if (!this.#outboundPending && this.#outbound.length === 0 && encoders === null) {
      this.#writeFrame(opcode, fin, rsv, payload, owned);
      return;
    }
    this.#outbound.push({ opcode, fin, rsv, payload, owned, encoders });
    this.#pumpOutbound();
  }

  #pumpOutbound(): void {
    while (!this.#outboundPending && this.#outbound.length > 0) {
      const frame = this.#outbound.shift()!;
      if (frame.encoders === null) {
        this.#writeFrame(frame.opcode, frame.fin, frame.rsv, frame.payload, frame.owned);
        continue;
      }
      let result: Uint8Array | PromiseLike<Uint8Array>;
      try {
        result = runEncoders(frame.encoders, frame.payload, frame.fin);
      } catch (error) {
        this.#encodeFailed(error);
        continue;
      }
      if (!isPromiseLike<Uint8Array>(result)) {
        this.#writeFrame(frame.opcode, frame.fin, frame.rsv, result, false);
        continue;
      }
      this.#outboundPending = true;
      Promise.resolve(result).then(
        (encoded) => {
          this.#outboundPending = false;
          this.#runGuarded(() => {
            this.#writeFrame(frame.opcode, frame.fin, frame.rsv, encoded, false);
            this.#pumpOutbound();
          });
          this.#wake();
        },
        (error: unknown) => {
          this.#outboundPending = false;
          this.#runGuarded(() => {
            this.#encodeFailed(error);
            this.#pumpOutbound();
          });
          this.#wake();
        },
      );
    }
  }

  /**
   * An extension could not encode an outgoing frame. The message cannot be completed, so the
   * frames queued after it are dropped and the connection fails with 1011.
   */
  #encodeFailed(error: unknown): void {
    this.#outbound = this.#outbound.filter((frame) => frame.opcode === Opcode.CLOSE);
    this.#sending = null;
    if (this.#state === ReadyState.CLOSED) return;
    this.#failFromExtension(error);
  }

  #writeFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array, owned: boolean): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#serializer.write(this.#output, fin, rsv, opcode, payload, owned);
    if (opcode === Opcode.CLOSE) {
      this.#closeWritten = true;
      this.#requestServerTransportClose();
    }
  }
}

/**
 * A piece of a message in several pieces, as it is kept until the message is assembled: a
 * view of the received chunk when it is most of that chunk, else a copy — so a peer that
 * spreads a message thinly over many large reads (tiny fragments between pings, say) cannot
 * make the connection hold much more memory than the message itself.
 */
export function compactPiece(piece: Uint8Array): Uint8Array {
  return piece.length * 2 < piece.buffer.byteLength ? piece.slice() : piece;
}

function checkBytes(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a string or a Uint8Array');
  return data;
}
