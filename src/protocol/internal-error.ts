/**
 * Faults of our own — a defect, an extension that threw something other than a
 * `ProtocolError`, an adapter that ignored `shouldPauseReading()` — as the connection reports
 * them: a `ProtocolError` with 1011 and `WSX_ERR_INTERNAL`, its cause kept for the
 * application, nothing of it said to the peer (RFC 6455 §7.4.1: 1011 "indicates that a server
 * is terminating the connection because it encountered an unexpected condition").
 */
import { CloseCode } from '../shared/constants.js';
import { ErrorCode, ProtocolError } from '../shared/errors.js';

/** A `ProtocolError` for a local fault: 1011, nothing said to the peer, the cause kept. */
export function internalError(cause: unknown): ProtocolError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const error = new ProtocolError(`internal error: ${detail}`, ErrorCode.INTERNAL_ERROR, CloseCode.INTERNAL_ERROR);
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
  return error;
}

/**
 * What an extension threw or rejected with, as the connection fails with it: a
 * `ProtocolError` as it is (bad input from the peer, e.g. a corrupt compressed stream), anything
 * else as an internal error.
 */
export function asProtocolError(error: unknown): ProtocolError {
  return error instanceof ProtocolError ? error : internalError(error);
}
