/**
 * The limits a connection enforces on what it receives, with the reason for each default.
 * Size limits are in bytes.
 */
import { DefaultLimits, MAX_CONTROL_PAYLOAD } from '../shared/constants.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { MAX_SAFE_PAYLOAD } from '../codec/types.js';

/** What a connection accepts from its peer. Every field has a default (`DEFAULT_CONNECTION_LIMITS`). */
export interface ConnectionLimits {
  /**
   * Largest message: the sum of its fragments on the wire, and again the size after extension
   * decoding (a compressed message is stopped as soon as its decoded size passes the limit).
   * Exceeding it fails the connection with 1009 (RFC 6455 §7.4.1).
   */
  readonly maxMessageSize: number;
  /** Largest payload of a single frame (1009 above it). */
  readonly maxFrameSize: number;
  /** Most frames in one message (1009 above it). */
  readonly maxFragments: number;
  /**
   * Received bytes the connection holds while it cannot process them yet: while an
   * asynchronous extension transform is pending, or while a server waits for `accept()`.
   * Above `receiveHighWaterMark` the connection asks the adapter to stop reading
   * (`shouldPauseReading()`); this is the hard ceiling for an adapter that does not, and
   * crossing it fails the connection with 1011 (the fault is local, not the peer's).
   */
  readonly maxReceiveBacklog: number;
  /** Backlog size from which `shouldPauseReading()` is true. */
  readonly receiveHighWaterMark: number;
}

/**
 * Defaults. Message, frame and fragment limits are the shared `DefaultLimits` (rationale
 * there). The backlog limits: 1 MiB before asking the adapter to pause is sixteen 64 KiB socket
 * reads, enough to keep a decoder busy without holding much; 64 MiB as the hard ceiling is far
 * above what an adapter that pauses can accumulate (the mark plus one read), so only an adapter
 * that ignores the signal ever reaches it.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  maxMessageSize: DefaultLimits.maxMessageSize,
  maxFrameSize: DefaultLimits.maxFrameSize,
  maxFragments: DefaultLimits.maxFragments,
  maxReceiveBacklog: 64 * 1024 * 1024,
  receiveHighWaterMark: 1024 * 1024,
});

/**
 * Complete `limits` with the defaults and check every value.
 *
 * @throws InvalidArgumentError if a limit is not an integer in its range.
 */
export function resolveLimits(limits?: Partial<ConnectionLimits>): ConnectionLimits {
  if (limits === undefined) return DEFAULT_CONNECTION_LIMITS;
  const resolved: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...stripUndefined(limits) };
  checkRange('maxMessageSize', resolved.maxMessageSize, 0, MAX_SAFE_PAYLOAD);
  // A frame must be able to carry any control payload (RFC 6455 §5.5).
  checkRange('maxFrameSize', resolved.maxFrameSize, MAX_CONTROL_PAYLOAD, MAX_SAFE_PAYLOAD);
  checkRange('maxFragments', resolved.maxFragments, 1, MAX_SAFE_PAYLOAD);
  checkRange('maxReceiveBacklog', resolved.maxReceiveBacklog, 0, MAX_SAFE_PAYLOAD);
  checkRange('receiveHighWaterMark', resolved.receiveHighWaterMark, 0, resolved.maxReceiveBacklog);
  // The connections of one server are configured alike: they share one frozen object.
  const last = lastResolved;
  if (
    last.maxMessageSize === resolved.maxMessageSize &&
    last.maxFrameSize === resolved.maxFrameSize &&
    last.maxFragments === resolved.maxFragments &&
    last.maxReceiveBacklog === resolved.maxReceiveBacklog &&
    last.receiveHighWaterMark === resolved.receiveHighWaterMark
  ) {
    return last;
  }
  return (lastResolved = Object.freeze(resolved));
}

/** The limits `resolveLimits` returned last (see there). */
let lastResolved: ConnectionLimits = DEFAULT_CONNECTION_LIMITS;

function stripUndefined(limits: Partial<ConnectionLimits>): Partial<ConnectionLimits> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(limits)) if (value !== undefined) out[key] = value as number;
  return out as Partial<ConnectionLimits>;
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}
