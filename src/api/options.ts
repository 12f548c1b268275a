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

/**
 * The connection limits for `ws`'s options: `maxPayload` (see `limitsForMaxPayload`) and
 * `maxFragments`, the most fragments of one message (0: no limit; default 100,000 — `ws`'s
 * is 16,384).
 *
 * @throws InvalidArgumentError for a value that is not a non-negative integer.
 */
export function limitsOf(options: { readonly maxPayload?: number; readonly maxFragments?: number }): Partial<ConnectionLimits> {
  const limits = limitsForMaxPayload(options.maxPayload);
  const { maxFragments } = options;
  if (maxFragments === undefined) return limits;
  if (!Number.isSafeInteger(maxFragments) || maxFragments < 0) throw new InvalidArgumentError(`maxFragments must be a non-negative integer, got ${String(maxFragments)}`);
  return { ...limits, maxFragments: maxFragments === 0 ? Number.MAX_SAFE_INTEGER : maxFragments };
}

/** `ws` options of behaviour, accepted as `ws` has them (or, where the RFC decides, as it does). */
export interface WsBehaviourOptions {
  /**
   * Accepted for `ws` compatibility; text is always checked as UTF-8 — RFC 6455 §8.1: an
   * endpoint that receives invalid UTF-8 "MUST _Fail the WebSocket Connection_" — and the
   * check runs inside the codec's single pass over each chunk.
   */
  readonly skipUTF8Validation?: boolean;
  /**
   * As in `ws` (default true): several `'message'`, `'ping'` and `'pong'` events may be emitted
   * in the same turn of the event loop. False emits each in a turn of its own (after
   * `setImmediate`), reading nothing meanwhile, as `ws` then does.
   */
  readonly allowSynchronousEvents?: boolean;
}

/** @throws InvalidArgumentError for an `allowSynchronousEvents` that is not a boolean. */
export function checkWsBehaviourOptions(options: WsBehaviourOptions): void {
  const value = options.allowSynchronousEvents;
  if (value !== undefined && typeof value !== 'boolean') {
    throw new InvalidArgumentError(`allowSynchronousEvents must be a boolean, got ${String(value)}`);
  }
}
