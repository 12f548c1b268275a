import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { createMaskKeyPool, createPortableCodec, portableCodec } from '../../src/codec/portable/index.js';
import { defineCodecContract } from './contract.js';
import { utf8Cases } from '../vectors/utf8.js';

defineCodecContract('portable', () => portableCodec);
// The same contract with Node's validator behind the longer UTF-8 inputs.
defineCodecContract('portable with buffer.isUtf8', () => createPortableCodec(isUtf8));

describe('portable codec', () => {
  it('agrees with Node\'s buffer.isUtf8 on the whole corpus', () => {
    for (const tc of utf8Cases) expect(portableCodec.validateUtf8(tc.bytes), tc.name).toBe(isUtf8(tc.bytes));
  });
});

describe('mask key pool', () => {
  it('§5.3 hands out each random byte once, refilling from the strong source', () => {
    let calls = 0;
    let counter = 0;
    const pool = createMaskKeyPool((target) => {
      calls++;
      for (let i = 0; i < target.length; i++) target[i] = counter++ & 0xff;
    }, 8);
    const keys: number[][] = [];
    for (let i = 0; i < 5; i++) {
      const target = new Uint8Array(6);
      pool.fill(target, 1);
      keys.push([...target.subarray(1, 5)]);
      expect(target[0]).toBe(0);
      expect(target[5]).toBe(0);
    }
    expect(keys).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15], [16, 17, 18, 19]]);
    expect(calls).toBe(3);
  });

  it('§5.3 draws different keys from Web Crypto by default', () => {
    const pool = createMaskKeyPool();
    const seen = new Set<string>();
    const key = new Uint8Array(4);
    for (let i = 0; i < 5000; i++) {
      pool.fill(key, 0);
      seen.add(key.join(','));
    }
    // 5,000 draws from 2^32 values: a repeat has probability ~0.3 %; more than one means a broken source.
    expect(seen.size).toBeGreaterThanOrEqual(4999);
  });

  it('rejects a pool size that is not a positive multiple of 4', () => {
    expect(() => createMaskKeyPool(undefined, 6)).toThrow(RangeError);
  });
});
