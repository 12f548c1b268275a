import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../src/shared/bytes.js';
import { sha1 } from '../../src/handshake/sha1.js';

const nodeSha1 = (data: Uint8Array): string => createHash('sha1').update(data).digest('hex');

describe('sha1 (FIPS 180-4)', () => {
  it.each([
    ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    // FIPS 180-2 appendix A.2: 448 bits, so the padding spills into a second block.
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
    // 896 bits: two full message blocks plus a padding block.
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'a49b2446a02c645bf419f995b67091253a04a259',
    ],
    ['The quick brown fox jumps over the lazy dog', '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12'],
    ['dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11', 'b37a4f2cc0624f1690f64606cf385945b2bec4ea'],
  ])('digest of %j', (input, expected) => {
    expect(toHex(sha1(utf8Encode(input)))).toBe(expected);
  });

  it('digest of one million "a" (FIPS 180-2 appendix A.3)', () => {
    expect(toHex(sha1(new Uint8Array(1_000_000).fill(0x61)))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f');
  });

  it('matches node:crypto for every length 0–300 (every padding case, 1–6 blocks)', () => {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (let length = 0; length <= 300; length++) {
      expect(toHex(sha1(data.subarray(0, length))), `length ${length}`).toBe(nodeSha1(data.subarray(0, length)));
    }
  });

  it('matches node:crypto on random inputs, including views at an offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(16), (bytes, offset) => {
        const view = bytes.subarray(Math.min(offset, bytes.length));
        expect(toHex(sha1(view))).toBe(nodeSha1(view));
      }),
      { numRuns: 300 },
    );
  });

  it('returns a fresh 20-byte digest and leaves its input untouched', () => {
    const input = utf8Encode('abc');
    const first = sha1(input);
    const second = sha1(input);
    expect(first).toHaveLength(20);
    expect(first).not.toBe(second);
    expect(toHex(input)).toBe('616263');
  });
});
