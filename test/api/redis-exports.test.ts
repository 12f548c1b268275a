/**
 * The public surface of `wasmsocket/redis`: exactly these values, so the entry that needs the
 * optional `redis` peer dependency stays deliberate, and a name leaves or joins it only on purpose.
 */
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/redis.js';

describe('wasmsocket/redis', () => {
  it('exports exactly the public values', () => {
    expect(Object.keys(entry).sort()).toEqual(['RedisBus']);
  });

  it('RedisBus is a Bus: attach, publish, interest, close', () => {
    const bus: entry.Bus = new entry.RedisBus({ url: 'redis://127.0.0.1:1', reconnect: { initialDelay: 1000, maxDelay: 1000 } });
    expect([bus.attach, bus.publish, bus.interest, bus.close].map((method) => typeof method)).toEqual(['function', 'function', 'function', 'function']);
    return bus.close();
  });
});
