/** Transport options: defaults filled in, every value checked. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSPORT_OPTIONS, resolveTransportOptions } from '../../../src/adapters/types.js';
import { InvalidArgumentError } from '../../../src/shared/errors.js';

describe('resolveTransportOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveTransportOptions()).toEqual(DEFAULT_TRANSPORT_OPTIONS);
    expect(Object.isFrozen(resolveTransportOptions({ idleTimeout: 5 }))).toBe(true);
  });

  it('a heartbeat timeout defaults to its interval', () => {
    expect(resolveTransportOptions({ heartbeat: { interval: 1000 } }).heartbeat).toEqual({ interval: 1000, timeout: 1000 });
    expect(resolveTransportOptions({ heartbeat: { interval: 1000, timeout: 50 } }).heartbeat).toEqual({ interval: 1000, timeout: 50 });
  });

  it.each([
    [{ closeTimeout: 0 }, /closeTimeout/],
    [{ closeTimeout: 1.5 }, /closeTimeout/],
    [{ closeTimeout: 2 ** 31 }, /closeTimeout/],
    [{ idleTimeout: -1 }, /idleTimeout/],
    [{ highWaterMark: -1 }, /highWaterMark/],
    [{ maxBufferedAmount: Number.NaN }, /maxBufferedAmount/],
    [{ onBufferOverflow: 'drop' as never }, /onBufferOverflow/],
    [{ heartbeat: { interval: 0 } }, /heartbeat\.interval/],
    [{ heartbeat: { interval: 10, timeout: -5 } }, /heartbeat\.timeout/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveTransportOptions(options)).toThrow(InvalidArgumentError);
    expect(() => resolveTransportOptions(options)).toThrow(message);
  });
});
