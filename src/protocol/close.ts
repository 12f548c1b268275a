/**
 * Close frames (RFC 6455 §5.5.1) and close codes (§7.4): the payload is empty, or a 2-byte
 * status code followed by a UTF-8 reason, 125 bytes in all.
 */
import { utf8Encode } from '../shared/bytes.js';
import { CloseCode, isValidCloseCode, MAX_CLOSE_REASON } from '../shared/constants.js';
import { ErrorCode, InvalidArgumentError, ProtocolError } from '../shared/errors.js';
import type { Codec } from '../codec/types.js';

/** A close status: the code and reason carried by a close frame, or reported for a closure. */
export interface CloseStatus {
  /** The status code (RFC 6455 §7.4); 1005 when the close frame had none. */
  readonly code: number;
  /** The reason, decoded from UTF-8; empty when there was none. */
  readonly reason: string;
}

const EMPTY = new Uint8Array(0);
const reasonDecoder = new TextDecoder('utf-8');

/**
 * Parse the payload of a received close frame.
 *
 * @returns the code and reason; code 1005 (`NO_STATUS_RECEIVED`) for an empty payload
 *   (RFC 6455 §7.1.5: "If this Close control frame contains no status code, _The WebSocket
 *   Connection Close Code_ is considered to be 1005").
 * @throws ProtocolError 1002 for a 1-byte payload or a code that may not be sent, 1007 for a
 *   reason that is not valid UTF-8.
 */
export function parseClosePayload(payload: Uint8Array, codec: Pick<Codec, 'validateUtf8'>): CloseStatus {
  if (payload.length === 0) return { code: CloseCode.NO_STATUS_RECEIVED, reason: '' };
  // §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned
  // integer (in network byte order) representing a status code" — one byte cannot be one.
  if (payload.length === 1) {
    throw new ProtocolError('close frame payload of 1 byte: a status code takes 2', ErrorCode.INVALID_CLOSE_PAYLOAD, CloseCode.PROTOCOL_ERROR);
  }
  const code = (payload[0]! << 8) | payload[1]!;
  // §7.4.1/§7.4.2: 1004–1006 and 1015 are reserved and "MUST NOT be set as a status code in a
  // Close control frame by an endpoint"; codes below 1000, 1016–2999 and from 5000 are not
  // assigned. Receiving one is a protocol error.
  if (!isValidCloseCode(code)) {
    throw new ProtocolError(`invalid close code ${code}`, ErrorCode.INVALID_CLOSE_CODE, CloseCode.PROTOCOL_ERROR);
  }
  const reasonBytes = payload.subarray(2);
  // §5.5.1: "the data ... is not guaranteed to be human readable" but it is UTF-8; §8.1 makes
  // invalid UTF-8 in it a 1007.
  if (!codec.validateUtf8(reasonBytes)) {
    throw new ProtocolError('invalid UTF-8 in close reason', ErrorCode.INVALID_UTF8, CloseCode.INVALID_PAYLOAD);
  }
  return { code, reason: reasonBytes.length === 0 ? '' : reasonDecoder.decode(reasonBytes) };
}

/**
 * Build the payload of a close frame to send.
 *
 * @param code the status code, or undefined for an empty close frame.
 * @param reason UTF-8 reason, at most 123 bytes; only with a code.
 * @throws InvalidArgumentError for a code that may not be sent (RFC 6455 §7.4.1, §7.4.2), a
 *   reason without a code, or a reason over 123 bytes (§5.5: 125 bytes of control payload
 *   minus the code).
 */
export function serializeClosePayload(code?: number, reason = ''): Uint8Array {
  if (code === undefined) {
    if (reason !== '') throw new InvalidArgumentError('a close reason needs a close code');
    return EMPTY;
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new InvalidArgumentError(
      `invalid close code ${String(code)}: use 1000–1003, 1007–1014 or 3000–4999 (1004–1006 and 1015 are reserved and never sent)`,
    );
  }
  const reasonBytes = utf8Encode(reason);
  if (reasonBytes.length > MAX_CLOSE_REASON) {
    throw new InvalidArgumentError(`close reason is ${reasonBytes.length} bytes in UTF-8; at most ${MAX_CLOSE_REASON} fit in a close frame`);
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

/**
 * Shorten `reason` to at most `maxBytes` bytes of UTF-8 without splitting a character (for
 * reasons the library writes itself from error messages).
 */
export function truncateReason(reason: string, maxBytes = MAX_CLOSE_REASON): string {
  const bytes = utf8Encode(reason);
  if (bytes.length <= maxBytes) return reason;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return reasonDecoder.decode(bytes.subarray(0, end));
}
