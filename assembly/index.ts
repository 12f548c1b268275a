/**
 * The whole wasm ABI: every export of the module is here, and nothing else is exported.
 * Functions take and return numbers only (pointers, lengths, states, status codes); the
 * host copies bytes into the INPUT region (or has them read there directly) and reads the
 * results from the regions `abi.ts` maps. Nothing here allocates.
 */
import { assertInput } from './abi';
import { maskInPlace, rotateKey } from './mask';

/** Advance the canonical UTF-8 validator state over `length` bytes at `ptr` (utf8.ts). */
export { utf8Step } from './utf8';
/** Parse, unmask and validate every complete frame of a chunk (frames.ts). */
export { parseFrames } from './frames';

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

/**
 * XOR `length` bytes at `ptr` in place with the masking key (the 4 key bytes as a
 * little-endian u32), starting at key position `phase`. Returns the next phase
 * (RFC 6455 §5.3).
 */
export function mask(ptr: usize, length: usize, key: u32, phase: u32): u32 {
  assertInput(ptr, length);
  maskInPlace(ptr, length, rotateKey(key, phase));
  return (phase + <u32>length) & 3;
}
