/**
 * The incremental frame parser: bytes in, split anywhere; frames out, with the frame-level
 * rules of RFC 6455 §5 checked.
 *
 * Theory of operation
 * -------------------
 * Each received chunk costs one `Codec.parseFrames` call (more only when a chunk holds more
 * frames than the descriptor table has rows). That call checks every complete frame's header,
 * unmasks its payload in place and validates the UTF-8 of text, carrying the fragmentation and
 * UTF-8 state in `FragmentState`. The parser then hands each frame to its `FrameHandler` as
 * views into the chunk: nothing is copied for a frame that arrived whole.
 *
 * A chunk can end inside a frame:
 * - inside the header (at most 13 bytes): those bytes wait in a 14-byte spill buffer, topped
 *   up from the next chunk only until the header is complete;
 * - inside the payload: the header has been checked, and the payload is streamed — each chunk
 *   contributes the bytes it has, unmasked with the key phase carried over (`Codec.mask`) and,
 *   for text, validated with the UTF-8 state carried over (`Codec.utf8Step`), so an invalid
 *   byte fails the connection when it arrives (§8.1), not when the frame ends. A large frame
 *   is never re-buffered here.
 *
 * When the codec works in its own memory (`FrameTable.transient`, the wasm codec), the bytes
 * it unmasked are copied back over the chunk before anything else runs, so every view handed
 * out stays valid: the connection owns the chunks given to `receiveData`.
 *
 * A frame that arrived whole costs the handler one call (`onFrame`) and one view of the
 * chunk: the receive path for many small messages is this loop.
 *
 * Rules: nothing is thrown; a violation is reported once through `onFrameError` and the parser
 * stops. A handler that returns false also stops it (a close frame arrived or the connection
 * failed): everything after is discarded.
 */
import { frameErrorToProtocolError } from '../codec/errors.js';
import {
  type Codec,
  Fragment,
  type FragmentState,
  FrameError,
  FRAME_HEADER_LENGTH,
  FRAME_HEADER_OFFSET,
  FRAME_INFO,
  FRAME_PAYLOAD_LENGTH,
  FRAME_ROW_FIELDS,
  FrameTable,
  type ParseOptions,
  ParseStatus,
  UTF8_ACCEPT,
  UTF8_INVALID,
} from '../codec/types.js';
import { CloseCode, Opcode } from '../shared/constants.js';
import { ErrorCode, ProtocolError } from '../shared/errors.js';

/**
 * Receives the frames a `FrameParser` finds, in order. Return false to stop parsing.
 *
 * A frame that arrived whole within one chunk is reported by one `onFrame` call; a frame whose
 * payload spans chunks by `onFrameStart`, its pieces (`onFramePayload`) and `onFrameEnd`.
 */
export interface FrameHandler {
  /** A whole frame; `payload` is its unmasked payload (empty when it has none). */
  onFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array): boolean;
  /** A frame begins whose payload follows in pieces. `length` is its whole payload length, `rsv` its RSV bits. */
  onFrameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean;
  /**
   * Optional, asked right after `onFrameStart` returned true: a buffer of the frame's payload
   * length that is to hold the whole payload (an unfragmented message arriving in several
   * reads), or null. Given one, the parser unmasks each piece straight into it, in order, and
   * `onFramePayload` gets the views of it that it filled — no received chunk is kept.
   */
  payloadDestination?(): Uint8Array | null;
  /** The next piece of the current frame's payload, unmasked (never empty). */
  onFramePayload(data: Uint8Array): boolean;
  /** The current frame is complete. */
  onFrameEnd(): boolean;
  /** The peer broke a frame-level rule; the parser has stopped. */
  onFrameError(error: ProtocolError): void;
}

/** Configuration of a parser; fixed once the handshake has agreed on the extensions. */
export interface FrameParserOptions {
  /** True on a server (every frame must be masked), false on a client (none may be). */
  readonly expectMasked: boolean;
  /** RSV bits the negotiated extensions own (`rsv1 << 2 | rsv2 << 1 | rsv3`). */
  readonly allowedRsv: number;
  /** Largest frame payload accepted (1009 above it). */
  readonly maxPayload: number;
  /** Rows of the descriptor table: frames described per codec call (default 1024). */
  readonly tableCapacity?: number;
}

/** The longest frame header: 2 + 8 bytes of length + 4 of mask key (RFC 6455 §5.2). */
const MAX_HEADER_LENGTH = 14;

/** The payload of a frame that has none. */
const EMPTY = new Uint8Array(0);

/** Header length from its second byte (§5.2: 7-bit length, 126 → +2, 127 → +8; MASK → +4). */
function headerLengthFromSecondByte(b1: number): number {
  const length7 = b1 & 0x7f;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

/**
 * One descriptor table serves every parser of a thread. Parsing is synchronous and a parser
 * has read every row it needs before `receive` returns, so two parses never need the table at
 * once; a table per connection would cost ~21 KB of idle memory each (1,024 rows). A nested
 * parse — which the core never makes — gets a table of its own rather than trampling this one.
 */
const SHARED_TABLE_CAPACITY = 1024;
let sharedTable: FrameTable | null = null;
let sharedTableBusy = false;

/**
 * The mask key of a streamed frame, for `Codec.mask`: each parser keeps its key as a number
 * and writes it here before each call, so that a connection holds no 4-byte array of its own
 * (a typed array costs far more memory than its bytes).
 */
const streamKey = new Uint8Array(4);

/**
 * The fragmentation state of the codec pass under way: each parser keeps its state as two
 * numbers and copies them in and out around the pass (`#parseFrames`), so that a connection
 * holds no object of its own for it. A pass is synchronous and nothing else runs during it.
 */
const sharedFragments: FragmentState = { fragment: Fragment.NONE, utf8: UTF8_ACCEPT };

/** The codec options of the last parser made, shared by the parsers configured alike. */
let lastOptions: ParseOptions | null = null;

function parseOptionsFor(options: FrameParserOptions): ParseOptions {
  const last = lastOptions;
  if (last !== null && last.expectMasked === options.expectMasked && last.allowedRsv === options.allowedRsv && last.maxPayload === options.maxPayload) {
    return last;
  }
  return (lastOptions = Object.freeze({
    expectMasked: options.expectMasked,
    allowedRsv: options.allowedRsv,
    maxPayload: options.maxPayload,
    validateUtf8: true,
  }));
}

/** Incremental RFC 6455 frame parser over an injected codec. */
export class FrameParser {
  readonly #codec: Codec;
  readonly #handler: FrameHandler;
  /** The table of this parser's current pass (see `sharedTable`). */
  #table: FrameTable;
  /** Set only when a caller asked for a capacity of its own. */
  readonly #ownTable: FrameTable | null;
  readonly #options: ParseOptions;
  /** The fragmentation state the codec carries across frames (see `sharedFragments`). */
  #fragment: number = Fragment.NONE;
  #fragmentUtf8 = UTF8_ACCEPT;
  #stopped = false;

  /** A header split across chunks; made for the first one. */
  #header: Uint8Array | null = null;
  #headerHeld = 0;

  // A frame whose payload is being streamed (its header is complete and checked).
  #remaining = 0;
  #opcode = 0;
  #fin = false;
  #masked = false;
  /** The mask key as a little-endian word (key byte `i` is `#keyWord >>> 8 * i`). */
  #keyWord = 0;
  #phase = 0;
  /** Where the streamed payload goes (`FrameHandler.payloadDestination`), and how much of it is in. */
  #destination: Uint8Array | null = null;
  #filled = 0;
  /** Whether the streamed payload is validated text, and its UTF-8 state. */
  #validating = false;
  #utf8 = UTF8_ACCEPT;

  constructor(codec: Codec, options: FrameParserOptions, handler: FrameHandler) {
    this.#codec = codec;
    this.#handler = handler;
    this.#ownTable = options.tableCapacity === undefined ? null : new FrameTable(options.tableCapacity);
    this.#table = this.#ownTable ?? (sharedTable ??= new FrameTable(SHARED_TABLE_CAPACITY));
    this.#options = parseOptionsFor(options);
  }

  /** Whether the parser has stopped (error, or its handler said so): input is discarded. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Whether the parser is between frames (no partial header or payload held). */
  get atFrameBoundary(): boolean {
    return this.#headerHeld === 0 && this.#remaining === 0;
  }

  /** Stop parsing; everything received afterwards is discarded. */
  stop(): void {
    this.#stopped = true;
    this.#destination = null;
  }

  /**
   * Parse the next chunk of the stream. The parser may modify `chunk` (payloads are unmasked
   * in place) and hands out views of it, so the caller must not reuse it.
   */
  receive(chunk: Uint8Array): void {
    if (this.#stopped) return;
    const borrowsShared = this.#ownTable === null && !sharedTableBusy;
    if (borrowsShared) {
      this.#table = sharedTable ??= new FrameTable(SHARED_TABLE_CAPACITY);
      sharedTableBusy = true;
    } else if (this.#ownTable === null) {
      this.#table = new FrameTable(SHARED_TABLE_CAPACITY);
    }
    try {
      const length = chunk.length;
      let offset = 0;
      if (this.#headerHeld > 0) offset = this.#completeHeader(chunk);
      // A streamed frame's payload comes first — including the frame whose header was just
      // completed from this very chunk.
      if (this.#remaining > 0 && !this.#stopped) offset = this.#streamPayload(chunk, offset);
      while (offset < length && !this.#stopped) {
        const view = offset === 0 ? chunk : chunk.subarray(offset);
        const consumed = this.#parse(view);
        if (consumed < 0) return;
        offset += consumed;
      }
    } finally {
      if (borrowsShared) sharedTableBusy = false;
    }
  }

  /**
   * One codec pass over `view`: dispatch its complete frames, then deal with what stopped it.
   * Returns the bytes consumed, or -1 when the rest of `view` is held or the parser stopped.
   */
  #parse(view: Uint8Array): number {
    const table = this.#table;
    // A chunk whose first frame is longer than the chunk holds nothing else: the codec gets
    // only that frame's header (a wasm pass would copy in the whole chunk only to leave the
    // payload to the streaming below), and the payload is streamed from `view`.
    this.#parseFrames(startOfLongFrame(view) ?? view, table);
    const consumed = table.consumed;
    // The wasm codec unmasked a copy in its own memory: bring the bytes home before any other
    // codec call can overwrite them, so every view handed out points into `view`.
    if (table.transient && consumed > 0) view.set(table.data.subarray(table.dataOffset, table.dataOffset + consumed));
    if (!this.#dispatch(view)) return -1;
    const status = table.status;
    if (status < 0) {
      this.#fail(status, view, table.errorOffset);
      return -1;
    }
    if (status === ParseStatus.OK) {
      // OK with bytes left means the table filled up: parse on from where it stopped.
      return consumed === 0 ? -1 : consumed;
    }
    if (table.partialHeader) {
      const base = table.count * FRAME_ROW_FIELDS;
      const payloadStart = table.rows[base + FRAME_HEADER_OFFSET]! - table.dataOffset + table.rows[base + FRAME_HEADER_LENGTH]!;
      // The payload is incomplete, so streaming takes every byte left in `view`.
      if (this.#beginStreaming(table)) this.#streamPayload(view, payloadStart);
      return -1;
    }
    this.#hold(view, consumed);
    return -1;
  }

  /** One codec pass, with this parser's fragmentation state carried in and out of `sharedFragments`. */
  #parseFrames(view: Uint8Array, table: FrameTable): void {
    const state = sharedFragments;
    state.fragment = this.#fragment;
    state.utf8 = this.#fragmentUtf8;
    this.#codec.parseFrames(view, table, this.#options, state);
    this.#fragment = state.fragment;
    this.#fragmentUtf8 = state.utf8;
  }

  /** Hand every complete frame of the last codec pass to the handler, one call each. */
  #dispatch(view: Uint8Array): boolean {
    const table = this.#table;
    const rows = table.rows;
    const count = table.count;
    const dataOffset = table.dataOffset;
    const handler = this.#handler;
    const View = viewConstructorOf(view);
    const buffer = view.buffer;
    const byteOffset = view.byteOffset - dataOffset;
    for (let row = 0; row < count; row++) {
      const base = row * FRAME_ROW_FIELDS;
      const info = rows[base + FRAME_INFO]!;
      const length = rows[base + FRAME_PAYLOAD_LENGTH]!;
      const start = rows[base + FRAME_HEADER_OFFSET]! + rows[base + FRAME_HEADER_LENGTH]!;
      const payload = length === 0 ? EMPTY : new View(buffer, byteOffset + start, length);
      if (!handler.onFrame(info & 0xf, (info & 0x80) !== 0, (info >> 4) & 0x7, payload)) return this.#halt();
    }
    return true;
  }

  #halt(): false {
    this.#stopped = true;
    return false;
  }

  /** The header of an incomplete frame is complete: remember it and announce the frame. */
  #beginStreaming(table: FrameTable): boolean {
    const row = table.count;
    const info = table.rows[row * FRAME_ROW_FIELDS + FRAME_INFO]!;
    const opcode = info & 0xf;
    const fin = (info & 0x80) !== 0;
    const rsv = (info >> 4) & 0x7;
    this.#opcode = opcode;
    this.#fin = fin;
    this.#remaining = table.partialPayloadLength;
    this.#masked = (info & 0x100) !== 0;
    if (this.#masked) {
      const keys = table.maskKeys;
      const k = row * 4;
      this.#keyWord = (keys[k]! | (keys[k + 1]! << 8) | (keys[k + 2]! << 16) | (keys[k + 3]! << 24)) >>> 0;
    }
    this.#phase = 0;
    // The same rule the codec applies to complete frames: text without RSV bits (a
    // transformed payload is validated after decoding), and continuations of such text.
    if (opcode === Opcode.TEXT && rsv === 0) {
      this.#validating = true;
      this.#utf8 = UTF8_ACCEPT;
    } else if (opcode === Opcode.CONTINUATION && this.#fragment === Fragment.TEXT) {
      this.#validating = true;
      this.#utf8 = this.#fragmentUtf8;
    } else {
      this.#validating = false;
    }
    if (!this.#handler.onFrameStart(opcode, fin, rsv, this.#remaining)) return this.#halt();
    const destination = this.#handler.payloadDestination?.() ?? null;
    this.#destination = destination !== null && destination.length === this.#remaining ? destination : null;
    this.#filled = 0;
    return true;
  }

  /** Feed the streamed frame from `chunk[offset..]`; returns the offset after its bytes. */
  #streamPayload(chunk: Uint8Array, offset: number): number {
    const available = chunk.length - offset;
    const take = available < this.#remaining ? available : this.#remaining;
    if (take > 0) {
      const source = offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take);
      const destination = this.#destination;
      let piece = source;
      if (destination === null) {
        if (this.#masked) this.#phase = this.#codec.mask(piece, this.#streamKey(), this.#phase);
      } else {
        // Unmasked straight into place: one pass, and the chunk is not kept.
        const at = this.#filled;
        this.#filled = at + take;
        piece = destination.subarray(at, at + take);
        if (this.#masked) this.#phase = this.#codec.maskInto(source, this.#streamKey(), destination, at, this.#phase);
        else piece.set(source);
      }
      this.#remaining -= take;
      if (this.#validating) {
        const utf8 = this.#codec.utf8Step(piece, this.#utf8);
        this.#utf8 = utf8;
        // §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
        // byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the
        // WebSocket Connection_" — as soon as the invalid byte is here.
        if (utf8 === UTF8_INVALID || (this.#remaining === 0 && this.#fin && utf8 !== UTF8_ACCEPT)) {
          this.#fail(FrameError.INVALID_UTF8, null, 0);
          return chunk.length;
        }
      }
      if (!this.#handler.onFramePayload(piece)) {
        this.#halt();
        return chunk.length;
      }
    }
    if (this.#remaining === 0) {
      this.#destination = null;
      this.#endStreamedFrame();
      if (!this.#handler.onFrameEnd()) {
        this.#halt();
        return chunk.length;
      }
    }
    return offset + take;
  }

  /** The streamed frame's mask key, in `streamKey`. */
  #streamKey(): Uint8Array {
    const word = this.#keyWord;
    streamKey[0] = word;
    streamKey[1] = word >>> 8;
    streamKey[2] = word >>> 16;
    streamKey[3] = word >>> 24;
    return streamKey;
  }

  /** Update the fragmentation state for a streamed frame, as the codec does for whole ones. */
  #endStreamedFrame(): void {
    const opcode = this.#opcode;
    if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (!this.#fin) {
        this.#fragment = this.#validating ? Fragment.TEXT : Fragment.OPAQUE;
        this.#fragmentUtf8 = this.#validating ? this.#utf8 : UTF8_ACCEPT;
      }
    } else if (opcode === Opcode.CONTINUATION) {
      if (this.#fin) {
        this.#fragment = Fragment.NONE;
        this.#fragmentUtf8 = UTF8_ACCEPT;
      } else if (this.#validating) {
        this.#fragmentUtf8 = this.#utf8;
      }
    }
  }

  /** Keep the incomplete header at `view[from..]` for the next chunk. */
  #hold(view: Uint8Array, from: number): void {
    const rest = view.length - from;
    if (rest >= MAX_HEADER_LENGTH) {
      // The codec reports NEED_MORE without a whole header only for a header shorter than 14
      // bytes; anything else is a codec defect, reported as an internal error.
      this.#stopped = true;
      this.#handler.onFrameError(
        new ProtocolError(`codec reported an incomplete header of ${rest} bytes`, ErrorCode.INTERNAL_ERROR, CloseCode.INTERNAL_ERROR),
      );
      return;
    }
    (this.#header ??= new Uint8Array(MAX_HEADER_LENGTH)).set(view.subarray(from), 0);
    this.#headerHeld = rest;
  }

  /**
   * Top up the held header from `chunk`, taking only the header's own bytes. Returns the bytes
   * of `chunk` used.
   */
  #completeHeader(chunk: Uint8Array): number {
    const header = this.#header!;
    let held = this.#headerHeld;
    let taken = 0;
    for (;;) {
      const wanted = held < 2 ? 2 : headerLengthFromSecondByte(header[1]!);
      if (held >= wanted) break;
      const take = Math.min(wanted - held, chunk.length - taken);
      header.set(chunk.subarray(taken, taken + take), held);
      held += take;
      taken += take;
      if (held < wanted) break;
    }
    this.#headerHeld = held;
    const complete = held >= 2 && held === headerLengthFromSecondByte(header[1]!);
    // Even an incomplete header goes through the codec: a reserved opcode or a wrong mask bit
    // is reported from the first two bytes, not once the whole header is in.
    const table = this.#table;
    const view = header.subarray(0, held);
    this.#parseFrames(view, table);
    if (table.status < 0) {
      this.#headerHeld = 0;
      this.#fail(table.status, view, 0);
      return chunk.length;
    }
    if (!complete) return taken;
    this.#headerHeld = 0;
    // A whole header alone is either a whole frame with an empty payload or the start of a
    // streamed one.
    if (!this.#dispatch(view)) return chunk.length;
    if (table.status === ParseStatus.NEED_MORE && table.partialHeader && !this.#beginStreaming(table)) return chunk.length;
    return taken;
  }

  /** Report a codec `FrameError` with what was wrong, and stop. */
  #fail(status: number, view: Uint8Array | null, at: number): void {
    this.#stopped = true;
    // Invalid UTF-8 is found in the payload of a whole frame, after its header: announce the
    // frame first, as a frame streamed across reads is announced before its payload is checked,
    // so that the checks its header triggers (message size, fragment count) come first however
    // the bytes were split into chunks.
    if (status === FrameError.INVALID_UTF8 && view !== null && at + 2 <= view.length) {
      const b0 = view[at]!;
      const length = declaredLength(view, at, view[at + 1]!);
      if (length !== null && !this.#handler.onFrameStart(b0 & 0xf, (b0 & 0x80) !== 0, (b0 >> 4) & 0x7, length)) return;
    }
    this.#handler.onFrameError(describeError(status, view, at, this.#options.maxPayload));
  }
}

/** A `ProtocolError` for a `FrameError`, with the offending value where the header shows it. */
function describeError(status: number, view: Uint8Array | null, at: number, maxPayload: number): ProtocolError {
  const base = frameErrorToProtocolError(status);
  if (view === null || at + 2 > view.length) return base;
  const b0 = view[at]!;
  const b1 = view[at + 1]!;
  let detail: string | null = null;
  switch (status) {
    case FrameError.RESERVED_OPCODE:
      detail = `reserved opcode 0x${(b0 & 0xf).toString(16)}`;
      break;
    case FrameError.RSV_NOT_ALLOWED:
      detail = `RSV bits ${((b0 >> 4) & 7).toString(2).padStart(3, '0')} set on ${opcodeName(b0 & 0xf)} frame without a negotiated extension that allows them`;
      break;
    case FrameError.CONTROL_TOO_LONG:
      // Decided from the 7-bit length alone (126 or 127: an extended length), so the reason
      // does not depend on whether the extended length had arrived.
      detail = `${opcodeName(b0 & 0xf)} frame with an extended payload length (control frames carry at most 125 bytes)`;
      break;
    case FrameError.PAYLOAD_TOO_BIG: {
      const declared = declaredLength(view, at, b1);
      detail = `frame payload of ${declared ?? 'more than ' + maxPayload} bytes exceeds the limit of ${maxPayload}`;
      break;
    }
  }
  return detail === null ? base : new ProtocolError(detail, base.code, base.closeCode);
}

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  [Opcode.CONTINUATION]: 'a continuation',
  [Opcode.TEXT]: 'a text',
  [Opcode.BINARY]: 'a binary',
  [Opcode.CLOSE]: 'a close',
  [Opcode.PING]: 'a ping',
  [Opcode.PONG]: 'a pong',
};

function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `an 0x${opcode.toString(16)}`;
}

/** `view`'s first frame header, if that frame does not end within `view`; else null. */
function startOfLongFrame(view: Uint8Array): Uint8Array | null {
  if (view.length < 2) return null;
  const b1 = view[1]!;
  const headerLength = headerLengthFromSecondByte(b1);
  if (view.length <= headerLength) return null;
  const length = declaredLength(view, 0, b1);
  return length !== null && length > view.length - headerLength ? view.subarray(0, headerLength) : null;
}

/** The payload length a header declares, if its bytes are present. */
function declaredLength(view: Uint8Array, at: number, b1: number): number | null {
  const length7 = b1 & 0x7f;
  if (length7 < 126) return length7;
  if (length7 === 126) return at + 4 <= view.length ? (view[at + 2]! << 8) | view[at + 3]! : null;
  if (at + 10 > view.length) return null;
  let value = 0;
  for (let i = 2; i < 10; i++) value = value * 256 + view[at + i]!;
  return value;
}

/** What makes views of a chunk: a typed-array constructor taking (buffer, byteOffset, length). */
type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Uint8Array;

/**
 * The constructor `subarray` makes views of `view` with (ECMA-262 §23.2.3.30 and
 * TypedArraySpeciesCreate: the `Symbol.species` of its constructor), so a subclass's payloads
 * keep its class — Node's Buffer gives Buffers, which is what its callers want. Called
 * directly it costs a quarter of `subarray`, whose argument handling (and, for Buffer, the
 * offset checks of its own `subarray`) is per call: at many small frames per read that is a
 * large part of the receive path.
 */
function viewConstructorOf(view: Uint8Array): ViewConstructor {
  const constructor = view.constructor as { readonly [Symbol.species]?: ViewConstructor } | undefined;
  if (constructor === Uint8Array) return Uint8Array;
  return constructor?.[Symbol.species] ?? Uint8Array;
}
