/**
 * Receive limits: defaults, overrides, and the range of each value (a frame must be able to
 * carry any control payload, RFC 6455 §5.5; the pause mark cannot exceed the hard ceiling).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_LIMITS, resolveLimits } from '../../src/protocol/limits.js';
import { DefaultLimits } from '../../src/shared/constants.js';
import { InvalidArgumentError } from '../../src/shared/errors.js';

describe('resolveLimits', () => {
  it('gives connections configured alike one shared, frozen object (no copy per connection)', () => {
    expect(resolveLimits()).toBe(DEFAULT_CONNECTION_LIMITS);
    expect(resolveLimits({})).toBe(DEFAULT_CONNECTION_LIMITS);
    const limits = resolveLimits({ maxMessageSize: 1234 });
    expect(resolveLimits({ maxMessageSize: 1234 })).toBe(limits);
    expect(Object.isFrozen(limits)).toBe(true);
    expect(resolveLimits({ maxMessageSize: 1235 }).maxMessageSize).toBe(1235);
  });

  it('defaults to the shared message, frame and fragment limits and the documented backlog limits', () => {
    expect(resolveLimits()).toEqual({
      maxMessageSize: DefaultLimits.maxMessageSize,
      maxFrameSize: DefaultLimits.maxFrameSize,
      maxFragments: DefaultLimits.maxFragments,
      maxReceiveBacklog: 64 * 1024 * 1024,
      receiveHighWaterMark: 1024 * 1024,
    });
    expect(resolveLimits({})).toEqual(DEFAULT_CONNECTION_LIMITS);
    expect(Object.isFrozen(DEFAULT_CONNECTION_LIMITS)).toBe(true);
  });

  it('takes the values given, keeps the defaults for the rest, and treats undefined as not given', () => {
    const limits = resolveLimits({ maxMessageSize: 10, maxFragments: undefined, receiveHighWaterMark: 0 });
    expect(limits).toEqual({ ...DEFAULT_CONNECTION_LIMITS, maxMessageSize: 10, receiveHighWaterMark: 0 });
    expect(Object.isFrozen(limits)).toBe(true);
  });

  it('accepts each limit at the ends of its range', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(resolveLimits({ maxMessageSize: 0, maxFrameSize: 125, maxFragments: 1, maxReceiveBacklog: 0, receiveHighWaterMark: 0 })).toMatchObject({ maxFrameSize: 125 });
    expect(resolveLimits({ maxMessageSize: max, maxFrameSize: max, maxFragments: max, maxReceiveBacklog: max, receiveHighWaterMark: max })).toMatchObject({ maxFragments: max });
  });

  it.each([
    ['maxMessageSize', -1, 'maxMessageSize must be an integer from 0 to 9007199254740991, got -1'],
    ['maxMessageSize', 1.5, 'maxMessageSize must be an integer from 0 to 9007199254740991, got 1.5'],
    ['maxFrameSize', 124, 'maxFrameSize must be an integer from 125 to 9007199254740991, got 124'],
    ['maxFrameSize', 2 ** 53, 'maxFrameSize must be an integer from 125 to 9007199254740991, got 9007199254740992'],
    ['maxFragments', 0, 'maxFragments must be an integer from 1 to 9007199254740991, got 0'],
    ['maxReceiveBacklog', Number.NaN, 'maxReceiveBacklog must be an integer from 0 to 9007199254740991, got NaN'],
    ['receiveHighWaterMark', 64 * 1024 * 1024 + 1, `receiveHighWaterMark must be an integer from 0 to ${64 * 1024 * 1024}, got ${64 * 1024 * 1024 + 1}`],
  ] as const)('refuses %s = %s', (name, value, message) => {
    expect(() => resolveLimits({ [name]: value })).toThrow(new InvalidArgumentError(message));
  });

  it('checks the pause mark against the ceiling given with it', () => {
    expect(resolveLimits({ maxReceiveBacklog: 100, receiveHighWaterMark: 100 }).receiveHighWaterMark).toBe(100);
    expect(() => resolveLimits({ maxReceiveBacklog: 100, receiveHighWaterMark: 101 })).toThrow(InvalidArgumentError);
  });
});
