/**
 * The whole wasm ABI: every export of the module is here, and nothing else is exported.
 * Functions take and return numbers only (pointers, lengths, states, status codes); the
 * host copies bytes into the INPUT region (or has them read there directly) and reads the
 * results from the regions `abi.ts` maps. Nothing here allocates.
 */
import { maskInPlace, rotateKey } from './mask';
import { utf8Step as step } from './utf8';
import { parseFrames as parse } from './frames';
import { TABLE_CAPACITY as ROW_CAPACITY, INPUT_PTR as INPUT_START } from './abi';

export {
  UTF8_ACCEPT,
  UTF8_INVALID,
  HEADER_OK,
  HEADER_NEED_MORE,
  ERR_RSV_NOT_ALLOWED,
  ERR_RESERVED_OPCODE,
  ERR_CONTROL_FRAGMENTED,
  ERR_CONTROL_TOO_LONG,
  ERR_EXPECTED_MASK,
  ERR_UNEXPECTED_MASK,
  ERR_LENGTH_MSB_SET,
  ERR_PAYLOAD_TOO_BIG,
  ERR_INVALID_UTF8,
  ERR_UNEXPECTED_CONTINUATION,
  ERR_EXPECTED_CONTINUATION,
  FRAME_ROW_FIELDS,
  FRAME_INFO,
  FRAME_HEADER_OFFSET,
  FRAME_HEADER_LENGTH,
  FRAME_PAYLOAD_LENGTH,
  FRAME_INFO_MASKED,
  FRAGMENT_NONE,
  FRAGMENT_OPAQUE,
  FRAGMENT_TEXT,
  FLAG_EXPECT_MASKED,
  FLAG_VALIDATE_UTF8,
  FLAG_ALLOWED_RSV_SHIFT,
  RESULT_PTR,
  RESULT_COUNT,
  RESULT_CONSUMED,
  RESULT_ERROR_OFFSET,
  RESULT_PARTIAL_HEADER,
  RESULT_FRAGMENT,
  RESULT_UTF8,
  RESULT_NEEDED,
  RESULT_PARTIAL_PAYLOAD_LENGTH,
  RESULT_SIZE,
  UTF8_DFA_PTR,
  TABLE_CAPACITY,
  TABLE_ROWS_PTR,
  TABLE_KEYS_PTR,
  INPUT_PTR,
} from './abi';

/** End of the compiler's static data; the host checks it lies below TABLE_ROWS_PTR. */
export const STATIC_DATA_END: usize = __heap_base;

/** Debug builds check every range the host passes (release builds compile this away). */
// @ts-ignore: decorator
@inline
function assertRange(ptr: usize, length: usize): void {
  assert(ptr >= INPUT_START && ptr + length >= ptr && ptr + length <= (<usize>memory.size() << 16), 'range outside the input region');
}

/**
 * XOR `length` bytes at `ptr` in place with the masking key (the 4 key bytes as a
 * little-endian u32), starting at key position `phase`. Returns the next phase
 * (RFC 6455 §5.3).
 */
export function mask(ptr: usize, length: usize, key: u32, phase: u32): u32 {
  assertRange(ptr, length);
  maskInPlace(ptr, length, rotateKey(key, phase));
  return (phase + <u32>length) & 3;
}

/** Advance the canonical UTF-8 validator state over `length` bytes at `ptr`. */
export function utf8Step(ptr: usize, length: usize, state: u32): u32 {
  assertRange(ptr, length);
  return step(ptr, length, state);
}

/** Parse, unmask and validate every complete frame of a chunk (see frames.ts). */
export function parseFrames(
  ptr: usize,
  length: u32,
  maxRows: u32,
  flags: u32,
  maxPayload: f64,
  fragment: u32,
  utf8: u32,
): i32 {
  assertRange(ptr, length);
  assert(maxRows >= 1 && maxRows <= ROW_CAPACITY, 'maxRows outside 1..TABLE_CAPACITY');
  return parse(ptr, length, maxRows, flags, maxPayload, fragment, utf8);
}
