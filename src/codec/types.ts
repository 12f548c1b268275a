/**
 * The codec contract: the byte-crunching operations of RFC 6455 framing behind one interface,
 * implemented twice — `portable` (pure TypeScript, the reference) and `wasm` (AssemblyScript
 * compiled to WebAssembly with SIMD). Both MUST give identical answers for every input: same
 * frames, same errors, same bytes, same UTF-8 verdicts and the same carried states, so a caller
 * may even mix them call by call (the wasm codec itself runs the portable code for inputs below
 * its measured size thresholds, and the web adapter's codec switches from portable to wasm
 * between calls once the module is instantiated).
 *
 * The UTF-8 states, parse statuses, frame errors, descriptor row fields and fragment states
 * here are part of the wasm ABI: `assembly/abi.ts` mirrors these values and
 * `test/codec/abi.test.ts` checks that they agree.
 */

// ---------------------------------------------------------------------------------------------
// UTF-8 validation state
// ---------------------------------------------------------------------------------------------

/**
 * Incremental UTF-8 validator states. The numbering is canonical (both codecs use it, so a
 * state can be carried from one implementation to the other). They follow the well-formed
 * byte sequences of the Unicode Standard, Table 3-7:
 *
 * | state | meaning                                                        |
 * |-------|----------------------------------------------------------------|
 * | 0     | at a code point boundary (the only accepting state)           |
 * | 1     | 1 continuation byte to go, 80..BF                              |
 * | 2     | 2 to go, next 80..BF                                           |
 * | 3     | 3 to go, next 80..BF (after F1..F3)                            |
 * | 4     | 2 to go, next A0..BF (after E0: no overlongs)                  |
 * | 5     | 2 to go, next 80..9F (after ED: no surrogates D800..DFFF)      |
 * | 6     | 3 to go, next 90..BF (after F0: no overlongs)                  |
 * | 7     | 3 to go, next 80..8F (after F4: nothing above U+10FFFF)        |
 * | 8     | invalid (absorbing)                                            |
 */
export const UTF8_ACCEPT = 0;
export const UTF8_INVALID = 8;

// ---------------------------------------------------------------------------------------------
// Frame parsing: status and error codes (wasm ABI values)
// ---------------------------------------------------------------------------------------------

/** `FrameTable.status` after `parseFrames`: non-negative is progress, negative is an error. */
export const ParseStatus = {
  /** Every complete frame was described; input ended exactly at a frame boundary, or the
   *  table filled up (then `consumed < chunk.length`: call again from `consumed`). */
  OK: 0,
  /** Stopped at an incomplete frame; `needed` says how many more bytes it takes. */
  NEED_MORE: 1,
} as const;

/**
 * Frame errors. Negative so that one i32 carries status or error. Each maps to a stable error
 * code string and a close code in `FRAME_ERRORS` below.
 */
export const FrameError = {
  /** RSV bit set that no negotiated extension owns, or any RSV bit on a control or
   *  continuation frame (RFC 6455 §5.2; RFC 7692 §6.1 for RSV1). */
  RSV_NOT_ALLOWED: -1,
  /** Opcode 0x3–0x7 or 0xB–0xF (RFC 6455 §5.2). */
  RESERVED_OPCODE: -2,
  /** Control frame with FIN=0 (RFC 6455 §5.5: control frames MUST NOT be fragmented). */
  CONTROL_FRAGMENTED: -3,
  /** Control frame with payload length > 125 (RFC 6455 §5.5). */
  CONTROL_TOO_LONG: -4,
  /** Server received an unmasked frame (RFC 6455 §5.1). */
  EXPECTED_MASK: -5,
  /** Client received a masked frame (RFC 6455 §5.1). */
  UNEXPECTED_MASK: -6,
  /** 64-bit payload length with the most significant bit set (RFC 6455 §5.2). */
  LENGTH_MSB_SET: -7,
  /** Payload length above `ParseOptions.maxPayload` (RFC 6455 §7.4.1, 1009). */
  PAYLOAD_TOO_BIG: -8,
  /** Invalid UTF-8 in a text message (RFC 6455 §8.1, 1007). */
  INVALID_UTF8: -9,
  /** Continuation frame with no fragmented message in progress (RFC 6455 §5.4). */
  UNEXPECTED_CONTINUATION: -10,
  /** Text or binary frame while a fragmented message is in progress (RFC 6455 §5.4). */
  EXPECTED_CONTINUATION: -11,
} as const;
export type FrameError = (typeof FrameError)[keyof typeof FrameError];

// ---------------------------------------------------------------------------------------------
// Frame descriptor table
// ---------------------------------------------------------------------------------------------

/** Int32 fields per row of a `FrameTable`. */
export const FRAME_ROW_FIELDS = 4;
/** Row field: `fin << 7 | rsv << 4 | opcode`, plus `1 << 8` when the frame was masked. */
export const FRAME_INFO = 0;
/** Row field: offset in `table.data` of the frame's first header byte. */
export const FRAME_HEADER_OFFSET = 1;
/** Row field: header length in bytes (2–14). The payload follows it directly. */
export const FRAME_HEADER_LENGTH = 2;
/** Row field: payload length in bytes. In the partial frame's row (see `partialHeader`): the
 *  payload bytes already present in the chunk; its full length is `partialPayloadLength`. */
export const FRAME_PAYLOAD_LENGTH = 3;

/** Fragmentation state carried between `parseFrames` calls (`FragmentState.fragment`). */
export const Fragment = {
  /** No fragmented message in progress. */
  NONE: 0,
  /** A fragmented message whose continuations are not UTF-8-validated here (binary, or text
   *  transformed by an extension: RSV bits on its first frame). */
  OPAQUE: 1,
  /** A fragmented text message; continuation payloads are validated with `utf8`. */
  TEXT: 2,
} as const;

/**
 * What a connection's frame stream carries from one `parseFrames` call to the next. Owned by
 * the caller, updated in place by the codec as it passes complete frames.
 */
export interface FragmentState {
  /** `Fragment.NONE | OPAQUE | TEXT`. */
  fragment: number;
  /** UTF-8 validator state of the text message in progress (canonical numbering above). */
  utf8: number;
}

/** Options for `parseFrames`; fixed for a connection once the handshake is done. */
export interface ParseOptions {
  /** True on a server: every frame must be masked. False on a client: none may be (§5.1). */
  expectMasked: boolean;
  /** RSV bits that negotiated extensions own, as `rsv1 << 2 | rsv2 << 1 | rsv3` (0 if none).
   *  They are allowed only on the first frame of a data message. */
  allowedRsv: number;
  /** Largest payload length accepted in one frame (0 ≤ maxPayload ≤ 2^53 − 1). */
  maxPayload: number;
  /** Validate UTF-8 of text payloads (not transformed by an extension) in the same pass. */
  validateUtf8: boolean;
}

/**
 * A reusable table of frame descriptors written by `Codec.parseFrames`. One per connection
 * (or per parser); allocated once, so parsing allocates nothing per chunk.
 */
export class FrameTable {
  /** Rows of `FRAME_ROW_FIELDS` int32 fields; row `count` holds the partial frame's header
   *  (offset, header length, info) when `partialHeader` is true. */
  readonly rows: Int32Array;
  /** Mask keys, one per row (4 bytes each), as they were on the wire. */
  readonly maskKeys: Uint8Array;
  /** How many rows fit. `parseFrames` stops (status OK) when the table is full. */
  readonly capacity: number;

  /** Complete frames described by the last call. */
  count = 0;
  /** `ParseStatus` (≥ 0) or a `FrameError` (< 0). */
  status = 0;
  /** Bytes of the chunk consumed: the end of the last complete frame (or the start of the
   *  incomplete or offending frame). Relative to the start of the chunk passed in. */
  consumed = 0;
  /** With NEED_MORE: bytes still missing for the incomplete frame (header and payload). */
  needed = 0;
  /** With NEED_MORE: whether the incomplete frame's whole header has arrived. Then row
   *  `count` describes it (its payload length field counts the payload bytes present),
   *  its mask key is in `maskKeys`, `partialPayloadLength` is its full length, and its
   *  payload is left untouched (still masked) for the caller to stream. */
  partialHeader = false;
  /** With NEED_MORE and `partialHeader`: the incomplete frame's payload length (may exceed
   *  2^31, up to 2^53 − 1). */
  partialPayloadLength = 0;
  /** With an error: offset in the chunk of the frame that caused it. */
  errorOffset = 0;
  /**
   * The bytes the row offsets point into, with payloads unmasked in place. A call served by
   * portable code (the portable codec, or the wasm codec below its size threshold or past its
   * memory bound) works in the caller's chunk itself; a call served by the wasm module works in
   * its linear memory, and then `transient` is true: the bytes are valid only until the next
   * call into that codec.
   */
  data: Uint8Array = new Uint8Array(0);
  /** Offset of the chunk's first byte within `data`. */
  dataOffset = 0;
  /** See `data`. */
  transient = false;

  constructor(capacity = 1024) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    // One spare row for the partial frame's header.
    this.rows = new Int32Array((capacity + 1) * FRAME_ROW_FIELDS);
    this.maskKeys = new Uint8Array((capacity + 1) * 4);
  }

  fin(row: number): boolean {
    return (this.rows[row * FRAME_ROW_FIELDS + FRAME_INFO]! & 0x80) !== 0;
  }
  /** RSV bits as `rsv1 << 2 | rsv2 << 1 | rsv3`. */
  rsv(row: number): number {
    return (this.rows[row * FRAME_ROW_FIELDS + FRAME_INFO]! >> 4) & 0x7;
  }
  opcode(row: number): number {
    return this.rows[row * FRAME_ROW_FIELDS + FRAME_INFO]! & 0xf;
  }
  masked(row: number): boolean {
    return (this.rows[row * FRAME_ROW_FIELDS + FRAME_INFO]! & 0x100) !== 0;
  }
  /** Offset in `data` of the frame's first byte. */
  headerOffset(row: number): number {
    return this.rows[row * FRAME_ROW_FIELDS + FRAME_HEADER_OFFSET]!;
  }
  headerLength(row: number): number {
    return this.rows[row * FRAME_ROW_FIELDS + FRAME_HEADER_LENGTH]!;
  }
  /** Offset in `data` of the payload's first byte. */
  payloadOffset(row: number): number {
    const base = row * FRAME_ROW_FIELDS;
    return this.rows[base + FRAME_HEADER_OFFSET]! + this.rows[base + FRAME_HEADER_LENGTH]!;
  }
  payloadLength(row: number): number {
    return this.rows[row * FRAME_ROW_FIELDS + FRAME_PAYLOAD_LENGTH]!;
  }
  /** The 4-byte mask key of a row (a view into `maskKeys`; zeros if unmasked). */
  maskKey(row: number): Uint8Array {
    return this.maskKeys.subarray(row * 4, row * 4 + 4);
  }
  /** The (unmasked) payload of a complete frame, as a view into `data`. */
  payload(row: number): Uint8Array {
    const offset = this.payloadOffset(row);
    return this.data.subarray(offset, offset + this.payloadLength(row));
  }
}

// ---------------------------------------------------------------------------------------------
// The codec
// ---------------------------------------------------------------------------------------------

export type CodecImplementation = 'wasm' | 'portable';

/** The frame codec. Every method is synchronous and allocation-free on the hot path. */
export interface Codec {
  /** Which implementation runs the heavy operations. */
  readonly implementation: CodecImplementation;

  /**
   * XOR `data` in place with the 4-byte `key`, starting at key position `phase` (0–3).
   * Returns the phase for the next chunk of the same payload, `(phase + data.length) & 3`,
   * so a payload that spans several socket reads is unmasked piece by piece (RFC 6455 §5.3).
   */
  mask(data: Uint8Array, key: Uint8Array, phase?: number): number;

  /**
   * Mask `source` into `target` at `targetOffset` (the send path: the source stays intact).
   * `target` must have room for `source.length` bytes from `targetOffset`. Returns the next
   * phase as `mask` does.
   */
  maskInto(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number, phase?: number): number;

  /** True iff `data` is complete, well-formed UTF-8 (Unicode Standard §3.9, Table 3-7). */
  validateUtf8(data: Uint8Array): boolean;

  /**
   * Advance a canonical UTF-8 validator state over `data`. Returns the new state; once
   * `UTF8_INVALID`, it stays there. A message is valid iff it ends in `UTF8_ACCEPT`.
   */
  utf8Step(data: Uint8Array, state: number): number;

  /**
   * Walk every complete frame in `chunk`, in one pass: parse and check each header, unmask
   * each payload in place, and validate the UTF-8 of text payloads (carrying `state` across
   * fragments). The results are written to `table` (see its fields). Stops at the first
   * incomplete frame (NEED_MORE, with `needed`), when the table is full (OK), or at the first
   * frame that breaks a rule (a negative `FrameError` in `table.status`; the frames before it
   * are still described and valid).
   *
   * Checks, in this order, for each frame (RFC 6455 §5.2, §5.4, §5.5):
   *  1. fewer than 2 bytes → NEED_MORE;
   *  2. RSV bits outside `allowedRsv` → RSV_NOT_ALLOWED;
   *  3. reserved opcode → RESERVED_OPCODE;
   *  4. control frame: FIN=0 → CONTROL_FRAGMENTED; 7-bit length > 125 → CONTROL_TOO_LONG;
   *     any RSV bit → RSV_NOT_ALLOWED;
   *  5. continuation with no message in progress → UNEXPECTED_CONTINUATION; continuation
   *     with RSV bits → RSV_NOT_ALLOWED; text/binary while a message is in progress →
   *     EXPECTED_CONTINUATION;
   *  6. MASK bit wrong for the side → EXPECTED_MASK / UNEXPECTED_MASK;
   *  7. extended length incomplete → NEED_MORE; 64-bit length with MSB set → LENGTH_MSB_SET;
   *     length > maxPayload → PAYLOAD_TOO_BIG;
   *  8. mask key incomplete → NEED_MORE; payload incomplete → NEED_MORE with `partialHeader`;
   *  9. unmask; UTF-8 of a text payload (opcode 1 without RSV bits, or a continuation while
   *     `state.fragment` is TEXT) → INVALID_UTF8 on the first invalid byte, or at a FIN frame
   *     that ends mid-sequence.
   * `state` changes only as complete frames pass: a data frame with FIN=0 starts a fragmented
   * message (TEXT if it is validated text, else OPAQUE), a continuation with FIN=1 ends it.
   */
  parseFrames(chunk: Uint8Array, table: FrameTable, options: ParseOptions, state: FragmentState): void;

  /**
   * Write a frame header into `target` at `offset` and return its length (2–14 bytes):
   * FIN, RSV (as `rsv1 << 2 | rsv2 << 1 | rsv3`), opcode, the minimal length encoding
   * (RFC 6455 §5.2) and, when `maskKey` is given, the MASK bit and the key.
   * `target` needs `frameHeaderLength(payloadLength, maskKey !== null)` bytes of room.
   */
  encodeHeader(
    target: Uint8Array,
    offset: number,
    fin: boolean,
    rsv: number,
    opcode: number,
    payloadLength: number,
    maskKey: Uint8Array | null,
  ): number;
}

/** Length of the header that carries `payloadLength` bytes (RFC 6455 §5.2). */
export function frameHeaderLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/** The largest payload length a frame can declare and JavaScript can count exactly. */
export const MAX_SAFE_PAYLOAD = Number.MAX_SAFE_INTEGER;
