/**
 * What each frame error means on the wire (RFC 6455 §7.4.1): a stable error code and the close
 * code that fails the connection.
 */
import { describe, expect, it } from 'vitest';
import { describeFrameError, frameErrorToProtocolError } from '../../src/codec/errors.js';
import { FrameError } from '../../src/codec/types.js';
import { ErrorCode, ProtocolError } from '../../src/shared/errors.js';

describe('frame errors', () => {
  it('§7.4.1 invalid UTF-8 is a 1007, a payload over the limit a 1009, every other frame error a 1002', () => {
    const closeCodes = Object.fromEntries(Object.entries(FrameError).map(([name, error]) => [name, describeFrameError(error).closeCode]));
    expect(closeCodes).toEqual({
      RSV_NOT_ALLOWED: 1002,
      RESERVED_OPCODE: 1002,
      CONTROL_FRAGMENTED: 1002,
      CONTROL_TOO_LONG: 1002,
      EXPECTED_MASK: 1002,
      UNEXPECTED_MASK: 1002,
      LENGTH_MSB_SET: 1002,
      PAYLOAD_TOO_BIG: 1009,
      INVALID_UTF8: 1007,
      UNEXPECTED_CONTINUATION: 1002,
      EXPECTED_CONTINUATION: 1002,
    });
  });

  it('each frame error has the stable code named like the error (ws\'s where ws has one, which several may share)', () => {
    for (const [name, error] of Object.entries(FrameError)) {
      expect(describeFrameError(error).code, name).toBe(ErrorCode[name as keyof typeof ErrorCode]);
      expect(describeFrameError(error).code, name).toMatch(/^WSX?_ERR_[A-Z0-9_]+$/);
    }
  });

  it('becomes a ProtocolError whose message is the reason the peer is told', () => {
    const error = frameErrorToProtocolError(FrameError.CONTROL_FRAGMENTED);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ message: 'fragmented control frame', code: ErrorCode.CONTROL_FRAGMENTED, closeCode: 1002 });
  });

  it('refuses a number that is not a frame error, such as a parse status', () => {
    for (const status of [0, 1, -12, 0.5]) {
      expect(() => describeFrameError(status), String(status)).toThrow(new RangeError(`not a frame error: ${status}`));
    }
  });
});
