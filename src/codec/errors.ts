/**
 * What each `FrameError` means on the wire: its stable error code, the close code that fails
 * the connection (RFC 6455 §7.4.1), and a reason that says what was wrong.
 */
import { CloseCode } from '../shared/constants.js';
import { ErrorCode, ProtocolError } from '../shared/errors.js';
import { FrameError } from './types.js';

interface FrameErrorInfo {
  readonly code: ErrorCode;
  readonly closeCode: number;
  readonly reason: string;
}

const FRAME_ERRORS: ReadonlyMap<number, FrameErrorInfo> = new Map<number, FrameErrorInfo>([
  [FrameError.RSV_NOT_ALLOWED, { code: ErrorCode.RSV_NOT_ALLOWED, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'RSV bit set without a negotiated extension that defines it' }],
  [FrameError.RESERVED_OPCODE, { code: ErrorCode.RESERVED_OPCODE, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'reserved opcode' }],
  [FrameError.CONTROL_FRAGMENTED, { code: ErrorCode.CONTROL_FRAGMENTED, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'fragmented control frame' }],
  [FrameError.CONTROL_TOO_LONG, { code: ErrorCode.CONTROL_TOO_LONG, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'control frame payload longer than 125 bytes' }],
  [FrameError.EXPECTED_MASK, { code: ErrorCode.EXPECTED_MASK, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'client frame is not masked' }],
  [FrameError.UNEXPECTED_MASK, { code: ErrorCode.UNEXPECTED_MASK, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'server frame is masked' }],
  [FrameError.LENGTH_MSB_SET, { code: ErrorCode.LENGTH_MSB_SET, closeCode: CloseCode.PROTOCOL_ERROR, reason: '64-bit payload length has its most significant bit set' }],
  [FrameError.PAYLOAD_TOO_BIG, { code: ErrorCode.PAYLOAD_TOO_BIG, closeCode: CloseCode.MESSAGE_TOO_BIG, reason: 'frame payload exceeds the maximum size' }],
  [FrameError.INVALID_UTF8, { code: ErrorCode.INVALID_UTF8, closeCode: CloseCode.INVALID_PAYLOAD, reason: 'invalid UTF-8 in text message' }],
  [FrameError.UNEXPECTED_CONTINUATION, { code: ErrorCode.UNEXPECTED_CONTINUATION, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'continuation frame without a message to continue' }],
  [FrameError.EXPECTED_CONTINUATION, { code: ErrorCode.EXPECTED_CONTINUATION, closeCode: CloseCode.PROTOCOL_ERROR, reason: 'new data frame inside a fragmented message' }],
]);

/** The stable code, close code and reason for a `FrameError`. */
export function describeFrameError(error: number): FrameErrorInfo {
  const info = FRAME_ERRORS.get(error);
  if (info === undefined) throw new RangeError(`not a frame error: ${error}`);
  return info;
}

/** A `ProtocolError` for a `FrameError` (the reason is what the peer is told). */
export function frameErrorToProtocolError(error: number): ProtocolError {
  const info = describeFrameError(error);
  return new ProtocolError(info.reason, info.code, info.closeCode);
}
