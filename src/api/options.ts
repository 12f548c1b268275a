/**
 * Options every face shares, checked the same way everywhere.
 */
import type { ConnectionLimits } from '../protocol/limits.js';
import { MAX_CONTROL_PAYLOAD } from '../shared/constants.js';
import { InvalidArgumentError } from '../shared/errors.js';

/**
 * The connection limits for a `maxPayload` (`ws`'s option name: the largest message), on top
 * of finer `limits` if given.
 *
 * @throws InvalidArgumentError unless `maxPayload` is a non-negative integer.
 */
export function limitsForMaxPayload(maxPayload: number | undefined, limits?: Partial<ConnectionLimits>): Partial<ConnectionLimits> {
  if (maxPayload === undefined) return limits ?? {};
  if (!Number.isSafeInteger(maxPayload) || maxPayload < 0) throw new InvalidArgumentError(`maxPayload must be a non-negative integer, got ${String(maxPayload)}`);
  const limit = maxPayload === 0 ? Number.MAX_SAFE_INTEGER : maxPayload;
  // A frame must still be able to carry any control frame (RFC 6455 §5.5).
  return { ...limits, maxMessageSize: limit, maxFrameSize: Math.max(limit, MAX_CONTROL_PAYLOAD) };
}
