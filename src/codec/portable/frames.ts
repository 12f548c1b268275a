/**
 * Frame header parsing and encoding, RFC 6455 §5.2, written for clarity first: this is the
 * reference the wasm codec is tested against. `parseFrames` follows the check order documented
 * on `Codec.parseFrames` exactly.
 */
import { isKnownOpcode } from '../../shared/constants.js';
import {
  Fragment,
  FrameError,
  FRAME_HEADER_LENGTH,
  FRAME_HEADER_OFFSET,
  FRAME_INFO,
  FRAME_PAYLOAD_LENGTH,
  FRAME_ROW_FIELDS,
  ParseStatus,
  UTF8_ACCEPT,
  UTF8_INVALID,
  type FragmentState,
  type FrameTable,
  type ParseOptions,
} from '../types.js';
import { maskKeyWord, maskRange, SHARED_WORDS_MIN_LENGTH, wordsOf } from './mask.js';
import { type IsUtf8, PLATFORM_UTF8_MIN_BYTES, platformUtf8Step } from '../platform-utf8.js';
import { utf8StepRange } from './utf8.js';

/** 2^32, to assemble 64-bit lengths from two 32-bit halves. */
const TWO_POW_32 = 0x1_0000_0000;

/** Read the 4-byte mask key at `at` into the table's key row `row`. */
function copyMaskKey(chunk: Uint8Array, at: number, keys: Uint8Array, row: number): void {
  const k = row * 4;
  keys[k] = chunk[at]!;
  keys[k + 1] = chunk[at + 1]!;
  keys[k + 2] = chunk[at + 2]!;
  keys[k + 3] = chunk[at + 3]!;
}

/**
 * See `Codec.parseFrames`. With `isUtf8`, a platform validator of complete UTF-8, the text
 * payloads that start a message and are long enough go to it (`platformUtf8Step`); the
 * verdicts and carried states are the same.
 */
export function parseFrames(
  chunk: Uint8Array,
  table: FrameTable,
  options: ParseOptions,
  state: FragmentState,
  isUtf8: IsUtf8 | null = null,
): void {
  const { rows, maskKeys, capacity } = table;
  const { expectMasked, allowedRsv, maxPayload, validateUtf8 } = options;
  const length = chunk.length;
  let fragment = state.fragment;
  let utf8 = state.utf8;
  let pos = 0;
  let count = 0;
  let status: number = ParseStatus.OK;
  let needed = 0;
  let partialHeader = false;
  let partialPayloadLength = 0;
  /** The chunk's words for unmasking, made for the first payload that uses them. */
  let words: Uint32Array | null = null;

  for (;;) {
    const available = length - pos;
    if (available === 0 || count === capacity) break;
    if (available < 2) {
      status = ParseStatus.NEED_MORE;
      needed = 2 - available;
      break;
    }
    const b0 = chunk[pos]!;
    const b1 = chunk[pos + 1]!;
    const fin = b0 >>> 7;
    const rsv = (b0 >>> 4) & 0x7;
    const opcode = b0 & 0xf;
    const masked = b1 >>> 7;
    const length7 = b1 & 0x7f;

    // §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values".
    if ((rsv & ~allowedRsv) !== 0) {
      status = FrameError.RSV_NOT_ALLOWED;
      break;
    }
    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
    if (!isKnownOpcode(opcode)) {
      status = FrameError.RESERVED_OPCODE;
      break;
    }
    if (opcode >= 0x8) {
      // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."
      if (fin === 0) {
        status = FrameError.CONTROL_FRAGMENTED;
        break;
      }
      if (length7 > 125) {
        status = FrameError.CONTROL_TOO_LONG;
        break;
      }
      // RFC 7692 §6.1: the compression bit MUST NOT be set on control frames; no other
      // extension defines RSV bits on them.
      if (rsv !== 0) {
        status = FrameError.RSV_NOT_ALLOWED;
        break;
      }
    } else if (opcode === 0x0) {
      // §5.4: a continuation frame only continues a message already started.
      if (fragment === Fragment.NONE) {
        status = FrameError.UNEXPECTED_CONTINUATION;
        break;
      }
      // RFC 7692 §6.1: RSV1 only on the first frame of a message.
      if (rsv !== 0) {
        status = FrameError.RSV_NOT_ALLOWED;
        break;
      }
    } else if (fragment !== Fragment.NONE) {
      // §5.4: the fragments of one message MUST NOT be interleaved with another message.
      status = FrameError.EXPECTED_CONTINUATION;
      break;
    }
    // §5.1: a server MUST close on an unmasked frame; a client MUST close on a masked one.
    if (masked === 0 && expectMasked) {
      status = FrameError.EXPECTED_MASK;
      break;
    }
    if (masked === 1 && !expectMasked) {
      status = FrameError.UNEXPECTED_MASK;
      break;
    }

    const extendedLengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + extendedLengthBytes + (masked === 1 ? 4 : 0);
    if (available < 2 + extendedLengthBytes) {
      status = ParseStatus.NEED_MORE;
      needed = headerLength - available;
      break;
    }
    let payloadLength: number;
    if (length7 < 126) {
      payloadLength = length7;
    } else if (length7 === 126) {
      payloadLength = (chunk[pos + 2]! << 8) | chunk[pos + 3]!;
    } else {
      const high =
        ((chunk[pos + 2]! << 24) | (chunk[pos + 3]! << 16) | (chunk[pos + 4]! << 8) | chunk[pos + 5]!) >>> 0;
      const low =
        ((chunk[pos + 6]! << 24) | (chunk[pos + 7]! << 16) | (chunk[pos + 8]! << 8) | chunk[pos + 9]!) >>> 0;
      // §5.2: "the most significant bit MUST be 0".
      if (high >= 0x8000_0000) {
        status = FrameError.LENGTH_MSB_SET;
        break;
      }
      // Exact below 2^53; at or above it the value is inexact but certainly > maxPayload.
      payloadLength = high * TWO_POW_32 + low;
    }
    if (payloadLength > maxPayload) {
      status = FrameError.PAYLOAD_TOO_BIG;
      break;
    }
    if (available < headerLength) {
      status = ParseStatus.NEED_MORE;
      needed = headerLength - available;
      break;
    }

    const row = count * FRAME_ROW_FIELDS;
    const info = (fin << 7) | (rsv << 4) | opcode | (masked << 8);
    const payloadStart = pos + headerLength;
    if (masked === 1) copyMaskKey(chunk, payloadStart - 4, maskKeys, count);
    else maskKeys.fill(0, count * 4, count * 4 + 4);

    if (available - headerLength < payloadLength) {
      // The header is whole but the payload is not: describe the frame in row `count` and
      // leave its payload untouched for the caller to stream.
      rows[row + FRAME_INFO] = info;
      rows[row + FRAME_HEADER_OFFSET] = pos;
      rows[row + FRAME_HEADER_LENGTH] = headerLength;
      rows[row + FRAME_PAYLOAD_LENGTH] = available - headerLength;
      status = ParseStatus.NEED_MORE;
      partialHeader = true;
      partialPayloadLength = payloadLength;
      needed = payloadLength - (available - headerLength);
      break;
    }

    const payloadEnd = payloadStart + payloadLength;
    if (masked === 1 && payloadLength > 0) {
      if (words === null && payloadLength >= SHARED_WORDS_MIN_LENGTH) words = wordsOf(chunk);
      maskRange(chunk, payloadStart, payloadEnd, maskKeyWord(chunk, payloadStart - 4), 0, words);
    }

    // §8.1: text payloads must be valid UTF-8; checked per frame so an invalid byte fails
    // the connection as soon as its frame arrives, with the state carried across fragments.
    let nextUtf8 = utf8;
    const validatedText = validateUtf8 && opcode === 0x1 && rsv === 0;
    if (validatedText || (opcode === 0x0 && fragment === Fragment.TEXT)) {
      nextUtf8 =
        validatedText && isUtf8 !== null && payloadLength >= PLATFORM_UTF8_MIN_BYTES
          ? platformUtf8Step(new Uint8Array(chunk.buffer, chunk.byteOffset + payloadStart, payloadLength), isUtf8)
          : utf8StepRange(chunk, payloadStart, payloadEnd, validatedText ? UTF8_ACCEPT : utf8);
      if (nextUtf8 === UTF8_INVALID || (fin === 1 && nextUtf8 !== UTF8_ACCEPT)) {
        status = FrameError.INVALID_UTF8;
        break;
      }
    }
    if (opcode === 0x1 || opcode === 0x2) {
      if (fin === 0) {
        fragment = validatedText ? Fragment.TEXT : Fragment.OPAQUE;
        utf8 = validatedText ? nextUtf8 : UTF8_ACCEPT;
      }
    } else if (opcode === 0x0) {
      if (fin === 1) {
        fragment = Fragment.NONE;
        utf8 = UTF8_ACCEPT;
      } else {
        utf8 = nextUtf8;
      }
    }

    rows[row + FRAME_INFO] = info;
    rows[row + FRAME_HEADER_OFFSET] = pos;
    rows[row + FRAME_HEADER_LENGTH] = headerLength;
    rows[row + FRAME_PAYLOAD_LENGTH] = payloadLength;
    count++;
    pos = payloadEnd;
  }

  table.count = count;
  table.status = status;
  table.consumed = pos;
  table.needed = needed;
  table.partialHeader = partialHeader;
  table.partialPayloadLength = partialPayloadLength;
  table.errorOffset = status < 0 ? pos : 0;
  table.data = chunk;
  table.dataOffset = 0;
  table.transient = false;
  state.fragment = fragment;
  state.utf8 = utf8;
}

/** See `Codec.encodeHeader`. */
export function encodeHeader(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  payloadLength: number,
  maskKey: Uint8Array | null,
): number {
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
    throw new RangeError(`payload length must be a safe non-negative integer, got ${payloadLength}`);
  }
  target[offset] = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xf);
  const maskBit = maskKey === null ? 0 : 0x80;
  let at = offset + 2;
  // §5.2: "the minimal number of bytes MUST be used to encode the length".
  if (payloadLength < 126) {
    target[offset + 1] = maskBit | payloadLength;
  } else if (payloadLength < 0x1_0000) {
    target[offset + 1] = maskBit | 126;
    target[at] = payloadLength >>> 8;
    target[at + 1] = payloadLength & 0xff;
    at += 2;
  } else {
    target[offset + 1] = maskBit | 127;
    const high = Math.floor(payloadLength / TWO_POW_32);
    const low = payloadLength >>> 0;
    target[at] = high >>> 24;
    target[at + 1] = (high >>> 16) & 0xff;
    target[at + 2] = (high >>> 8) & 0xff;
    target[at + 3] = high & 0xff;
    target[at + 4] = low >>> 24;
    target[at + 5] = (low >>> 16) & 0xff;
    target[at + 6] = (low >>> 8) & 0xff;
    target[at + 7] = low & 0xff;
    at += 8;
  }
  if (maskKey !== null) {
    target[at] = maskKey[0]!;
    target[at + 1] = maskKey[1]!;
    target[at + 2] = maskKey[2]!;
    target[at + 3] = maskKey[3]!;
    at += 4;
  }
  return at - offset;
}
