/**
 * The wasm ABI: the memory map and every status, error and field code that crosses the
 * boundary. The values mirror `src/codec/types.ts`; `assembly/index.ts` exports them as wasm
 * globals and `test/codec/abi.test.ts` checks that both sides agree.
 *
 * Memory map (byte addresses in linear memory):
 *
 * | region       | start             | size                                   |
 * |--------------|-------------------|----------------------------------------|
 * | RESULT       | RESULT_PTR (16)   | RESULT_SIZE: scalar results of parseFrames |
 * | UTF-8 DFA    | UTF8_DFA_PTR      | 256 × u64 transition rows              |
 * | static data  | 4096 (memoryBase) | compiler-emitted constants; must end before TABLE_ROWS_PTR |
 * | TABLE rows   | TABLE_ROWS_PTR    | (TABLE_CAPACITY + 1) × FRAME_ROW_FIELDS × i32 |
 * | TABLE keys   | TABLE_KEYS_PTR    | (TABLE_CAPACITY + 1) × 4 bytes         |
 * | INPUT        | INPUT_PTR (64 KiB)| the rest of memory: the input scratch region, grown by the host |
 *
 * The host owns growth: it calls `WebAssembly.Memory.grow` to enlarge INPUT and nothing in
 * the module allocates, so the map never moves.
 */

// ---------------------------------------------------------------------------------------------
// UTF-8 validator states (canonical numbering, types.ts)
// ---------------------------------------------------------------------------------------------

export const UTF8_ACCEPT: u32 = 0;
export const UTF8_INVALID: u32 = 8;

// ---------------------------------------------------------------------------------------------
// parseFrames status and error codes (ParseStatus and FrameError in types.ts)
// ---------------------------------------------------------------------------------------------

export const HEADER_OK: i32 = 0;
export const HEADER_NEED_MORE: i32 = 1;

export const ERR_RSV_NOT_ALLOWED: i32 = -1;
export const ERR_RESERVED_OPCODE: i32 = -2;
export const ERR_CONTROL_FRAGMENTED: i32 = -3;
export const ERR_CONTROL_TOO_LONG: i32 = -4;
export const ERR_EXPECTED_MASK: i32 = -5;
export const ERR_UNEXPECTED_MASK: i32 = -6;
export const ERR_LENGTH_MSB_SET: i32 = -7;
export const ERR_PAYLOAD_TOO_BIG: i32 = -8;
export const ERR_INVALID_UTF8: i32 = -9;
export const ERR_UNEXPECTED_CONTINUATION: i32 = -10;
export const ERR_EXPECTED_CONTINUATION: i32 = -11;

// ---------------------------------------------------------------------------------------------
// Frame descriptor rows (FRAME_* in types.ts) and fragmentation state (Fragment)
// ---------------------------------------------------------------------------------------------

export const FRAME_ROW_FIELDS: u32 = 4;
export const FRAME_INFO: u32 = 0;
/** Counted from INPUT_PTR: the host's `table.data` is a view of the INPUT region. */
export const FRAME_HEADER_OFFSET: u32 = 1;
export const FRAME_HEADER_LENGTH: u32 = 2;
export const FRAME_PAYLOAD_LENGTH: u32 = 3;
/** Added to FRAME_INFO when the frame carried a mask key. */
export const FRAME_INFO_MASKED: u32 = 0x100;

export const FRAGMENT_NONE: u32 = 0;
export const FRAGMENT_OPAQUE: u32 = 1;
export const FRAGMENT_TEXT: u32 = 2;

// ---------------------------------------------------------------------------------------------
// parseFrames flags argument
// ---------------------------------------------------------------------------------------------

/** Bit 0: server side, every frame must be masked (RFC 6455 §5.1). */
export const FLAG_EXPECT_MASKED: u32 = 1;
/** Bit 1: validate the UTF-8 of text payloads in the same pass. */
export const FLAG_VALIDATE_UTF8: u32 = 2;
/** Bits 2–4: the RSV bits negotiated extensions own (`rsv1 << 2 | rsv2 << 1 | rsv3`). */
export const FLAG_ALLOWED_RSV_SHIFT: u32 = 2;

// ---------------------------------------------------------------------------------------------
// Memory map
// ---------------------------------------------------------------------------------------------

/** Scalar results of the last parseFrames call. */
export const RESULT_PTR: usize = 16;
/** i32: complete frames described. */
export const RESULT_COUNT: usize = 0;
/** i32: bytes of the chunk consumed. */
export const RESULT_CONSUMED: usize = 4;
/** i32: offset in the chunk of the offending frame (errors only). */
export const RESULT_ERROR_OFFSET: usize = 8;
/** i32: 1 when the incomplete frame's whole header arrived (NEED_MORE only). */
export const RESULT_PARTIAL_HEADER: usize = 12;
/** i32: FragmentState.fragment after the call. */
export const RESULT_FRAGMENT: usize = 16;
/** i32: FragmentState.utf8 after the call. */
export const RESULT_UTF8: usize = 20;
/** f64: bytes still missing for the incomplete frame (exact up to 2^53 − 1). */
export const RESULT_NEEDED: usize = 24;
/** f64: payload length of the incomplete frame (exact up to 2^53 − 1). */
export const RESULT_PARTIAL_PAYLOAD_LENGTH: usize = 32;
export const RESULT_SIZE: usize = 40;

/** 256 u64 rows of the shift-based UTF-8 DFA (see utf8.ts). */
export const UTF8_DFA_PTR: usize = 1024;

/** Rows a single parseFrames call can describe (plus one spare row for a partial header). */
export const TABLE_CAPACITY: u32 = 2048;
export const TABLE_ROWS_PTR: usize = 16384;
export const TABLE_KEYS_PTR: usize = TABLE_ROWS_PTR + <usize>((TABLE_CAPACITY + 1) * FRAME_ROW_FIELDS * 4);

/** Start of the input scratch region; it extends to the end of memory. */
export const INPUT_PTR: usize = 65536;

/**
 * Debug builds check every range the host passes: it must lie in INPUT, inside memory.
 * Release builds (`noAssert`) compile this away.
 */
// @ts-ignore: decorator
@inline
export function assertInput(ptr: usize, length: usize): void {
  assert(ptr >= INPUT_PTR && ptr + length >= ptr && ptr + length <= (<usize>memory.size() << 16), 'range outside the input region');
}
