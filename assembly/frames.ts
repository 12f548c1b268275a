/**
 * One pass over a received chunk (uWebSockets' consume()): walk every complete frame header,
 * check it, unmask the payload in place and validate the UTF-8 of text payloads, writing one
 * descriptor row per frame. The checks run in the order `Codec.parseFrames` documents in
 * `src/codec/types.ts`, so both codecs report the same error for the same bytes.
 */
import {
  assertInput,
  ERR_CONTROL_FRAGMENTED,
  ERR_CONTROL_TOO_LONG,
  ERR_EXPECTED_CONTINUATION,
  ERR_EXPECTED_MASK,
  ERR_INVALID_UTF8,
  ERR_LENGTH_MSB_SET,
  ERR_PAYLOAD_TOO_BIG,
  ERR_RESERVED_OPCODE,
  ERR_RSV_NOT_ALLOWED,
  ERR_UNEXPECTED_CONTINUATION,
  ERR_UNEXPECTED_MASK,
  FLAG_ALLOWED_RSV_SHIFT,
  FLAG_EXPECT_MASKED,
  FLAG_VALIDATE_UTF8,
  FRAGMENT_NONE,
  FRAGMENT_OPAQUE,
  FRAGMENT_TEXT,
  FRAME_INFO_MASKED,
  HEADER_NEED_MORE,
  HEADER_OK,
  INPUT_PTR,
  RESULT_CONSUMED,
  RESULT_COUNT,
  RESULT_ERROR_OFFSET,
  RESULT_FRAGMENT,
  RESULT_NEEDED,
  RESULT_PARTIAL_HEADER,
  RESULT_PARTIAL_PAYLOAD_LENGTH,
  RESULT_PTR,
  RESULT_UTF8,
  TABLE_CAPACITY,
  TABLE_KEYS_PTR,
  TABLE_ROWS_PTR,
  UTF8_ACCEPT,
  UTF8_INVALID,
} from './abi';
import { maskInPlace } from './mask';
import { utf8Step } from './utf8';

const OPCODE_CONTINUATION: u32 = 0x0;
const OPCODE_TEXT: u32 = 0x1;

/** Write descriptor row `row`: FRAME_INFO, FRAME_HEADER_OFFSET, FRAME_HEADER_LENGTH, FRAME_PAYLOAD_LENGTH. */
// @ts-ignore: decorator
@inline
function writeRow(row: u32, info: u32, headerOffset: usize, headerLength: u32, payloadLength: u32, key: u32): void {
  const at = TABLE_ROWS_PTR + (<usize>row << 4);
  store<u32>(at, info);
  store<u32>(at, <u32>(headerOffset - INPUT_PTR), 4);
  store<u32>(at, headerLength, 8);
  store<u32>(at, payloadLength, 12);
  store<u32>(TABLE_KEYS_PTR + (<usize>row << 2), key);
}

/**
 * Parse the frames of `length` bytes at `ptr` (within INPUT). Row header offsets count from
 * INPUT_PTR (the host's view of the data is the whole INPUT region); `consumed` and
 * `errorOffset` count from `ptr`. `flags` packs FLAG_EXPECT_MASKED, FLAG_VALIDATE_UTF8 and the allowed RSV bits;
 * `maxPayload` is a whole number ≤ 2^53 − 1 carried as f64 so that it stays exact.
 * Returns HEADER_OK, HEADER_NEED_MORE or an ERR_* code; the other results go to RESULT_PTR.
 */
export function parseFrames(
  ptr: usize,
  length: u32,
  maxRows: u32,
  flags: u32,
  maxPayload: f64,
  fragmentIn: u32,
  utf8In: u32,
): i32 {
  assertInput(ptr, length);
  assert(maxRows >= 1 && maxRows <= TABLE_CAPACITY, 'maxRows outside 1..TABLE_CAPACITY');
  const expectMasked = flags & FLAG_EXPECT_MASKED;
  const validateUtf8 = (flags & FLAG_VALIDATE_UTF8) != 0;
  const forbiddenRsv = ~(flags >>> FLAG_ALLOWED_RSV_SHIFT) & 7;
  let fragment = fragmentIn;
  let utf8 = utf8In;
  let pos: u32 = 0;
  let rows: u32 = 0;
  let status = HEADER_OK;
  let needed: u64 = 0;
  let partialHeader: u32 = 0;
  let partialPayloadLength: u64 = 0;

  while (true) {
    const available = length - pos;
    if (available == 0 || rows == maxRows) break;
    // 1. The first two bytes say what the rest of the header holds.
    if (available < 2) {
      status = HEADER_NEED_MORE;
      needed = 2 - available;
      break;
    }
    const at = ptr + pos;
    const byte0 = <u32>load<u8>(at);
    const byte1 = <u32>load<u8>(at, 1);
    const fin = byte0 >>> 7;
    const rsv = (byte0 >>> 4) & 7;
    const opcode = byte0 & 0xf;
    const masked = byte1 >>> 7;
    const length7 = byte1 & 0x7f;
    // 2. RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them.
    if (rsv & forbiddenRsv) {
      status = ERR_RSV_NOT_ALLOWED;
      break;
    }
    // 3. §5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved; a receiver MUST fail.
    if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) {
      status = ERR_RESERVED_OPCODE;
      break;
    }
    if (opcode >= 0x8) {
      // 4. §5.5: control frames MUST NOT be fragmented and carry at most 125 bytes; no
      // extension defines RSV bits on them (RFC 7692 §6.1 covers data messages only).
      if (!fin) {
        status = ERR_CONTROL_FRAGMENTED;
        break;
      }
      if (length7 > 125) {
        status = ERR_CONTROL_TOO_LONG;
        break;
      }
      if (rsv != 0) {
        status = ERR_RSV_NOT_ALLOWED;
        break;
      }
    } else if (opcode == OPCODE_CONTINUATION) {
      // 5. §5.4: a continuation continues something; RSV1 belongs to a message's first frame
      // only (RFC 7692 §6.1).
      if (fragment == FRAGMENT_NONE) {
        status = ERR_UNEXPECTED_CONTINUATION;
        break;
      }
      if (rsv != 0) {
        status = ERR_RSV_NOT_ALLOWED;
        break;
      }
    } else if (fragment != FRAGMENT_NONE) {
      // §5.4: fragments of one message MUST NOT be interleaved with another data message.
      status = ERR_EXPECTED_CONTINUATION;
      break;
    }
    // 6. §5.1: a client MUST mask every frame it sends; a server MUST NOT mask any.
    if (masked != expectMasked) {
      status = expectMasked ? ERR_EXPECTED_MASK : ERR_UNEXPECTED_MASK;
      break;
    }
    // 7. §5.2: payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits (network order).
    const lengthBytes: u32 = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
    const headerLength: u32 = 2 + lengthBytes + (masked << 2);
    if (available < 2 + lengthBytes) {
      status = HEADER_NEED_MORE;
      needed = headerLength - available;
      break;
    }
    let payloadLength: u64 = length7;
    if (lengthBytes == 2) {
      payloadLength = <u64>bswap<u16>(load<u16>(at, 2));
    } else if (lengthBytes == 8) {
      payloadLength = bswap<u64>(load<u64>(at, 2));
      // §5.2: the most significant bit of the 64-bit length MUST be 0.
      if (payloadLength >>> 63) {
        status = ERR_LENGTH_MSB_SET;
        break;
      }
    }
    // Compared as f64, as the portable codec does: the conversion is exact below 2^53 and
    // rounds (still above any maxPayload ≤ 2^53 − 1) beyond it.
    if (<f64>payloadLength > maxPayload) {
      status = ERR_PAYLOAD_TOO_BIG;
      break;
    }
    // 8. The mask key, then the payload.
    const info = (fin << 7) | (rsv << 4) | opcode | (masked ? FRAME_INFO_MASKED : 0);
    if (available < headerLength) {
      status = HEADER_NEED_MORE;
      needed = headerLength - available;
      break;
    }
    const key = masked ? load<u32>(at + headerLength - 4) : 0;
    const payloadAvailable = <u64>(available - headerLength);
    if (payloadAvailable < payloadLength) {
      status = HEADER_NEED_MORE;
      needed = payloadLength - payloadAvailable;
      partialHeader = 1;
      partialPayloadLength = payloadLength;
      // The partial frame's header goes to the spare row; its payload stays as it is.
      // Its payload-length field holds the payload bytes present so far.
      writeRow(rows, info, at, headerLength, <u32>payloadAvailable, key);
      break;
    }
    // 9. Unmask in place (§5.3), then validate text (§8.1).
    const payload = at + headerLength;
    const size = <u32>payloadLength;
    if (key != 0) maskInPlace(payload, size, key);
    // A text frame untouched by extensions starts a validated message; a continuation
    // carries the validator state of the message it continues.
    const isText = validateUtf8 && opcode == OPCODE_TEXT && rsv == 0;
    let textState = UTF8_ACCEPT;
    if (isText || (opcode == OPCODE_CONTINUATION && fragment == FRAGMENT_TEXT)) {
      textState = utf8Step(payload, size, isText ? UTF8_ACCEPT : utf8);
      if (textState == UTF8_INVALID || (fin && textState != UTF8_ACCEPT)) {
        status = ERR_INVALID_UTF8;
        break;
      }
    }
    writeRow(rows, info, at, headerLength, size, key);
    rows++;
    pos += headerLength + size;
    // Fragmentation state changes only as complete frames pass (§5.4).
    if (opcode == OPCODE_CONTINUATION) {
      if (fin) {
        fragment = FRAGMENT_NONE;
        utf8 = UTF8_ACCEPT;
      } else if (fragment == FRAGMENT_TEXT) {
        utf8 = textState;
      }
    } else if (opcode < 0x8 && !fin) {
      fragment = isText ? FRAGMENT_TEXT : FRAGMENT_OPAQUE;
      utf8 = textState;
    }
  }

  const result = RESULT_PTR;
  store<u32>(result + RESULT_COUNT, rows);
  store<u32>(result + RESULT_CONSUMED, pos);
  store<u32>(result + RESULT_ERROR_OFFSET, status < 0 ? pos : 0);
  store<u32>(result + RESULT_PARTIAL_HEADER, partialHeader);
  store<u32>(result + RESULT_FRAGMENT, fragment);
  store<u32>(result + RESULT_UTF8, utf8);
  store<f64>(result + RESULT_NEEDED, <f64>needed);
  store<f64>(result + RESULT_PARTIAL_PAYLOAD_LENGTH, <f64>partialPayloadLength);
  return status;
}
