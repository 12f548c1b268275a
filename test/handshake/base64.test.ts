import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/handshake/base64.js';
import { utf8Encode } from '../../src/shared/bytes.js';

// RFC 4648 §10 test vectors.
const VECTORS: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

describe('base64 (RFC 4648)', () => {
  it.each(VECTORS)('§10 encodes %j as %j', (plain, encoded) => {
    expect(encodeBase64(utf8Encode(plain))).toBe(encoded);
  });

  it.each(VECTORS)('§10 decodes %j from %j', (plain, encoded) => {
    expect(decodeBase64(encoded)).toEqual(utf8Encode(plain));
  });

  it('uses the standard alphabet, including + and /', () => {
    expect(encodeBase64(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('+/+/');
    expect(decodeBase64('+/+/')).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]));
  });

  it('round-trips random bytes and agrees with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = encodeBase64(bytes);
        expect(encoded).toBe(Buffer.from(bytes).toString('base64'));
        expect(decodeBase64(encoded)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['Zg', 'missing padding'],
    ['Zg=', 'length not a multiple of 4'],
    ['Zg===', 'length not a multiple of 4'],
    ['Z===', 'three padding characters'],
    ['====', 'only padding'],
    ['Zg==Zg==', 'padding in the middle'],
    ['Zh==', 'non-zero unused bits (one byte)'],
    ['Zm9=', 'non-zero unused bits (two bytes)'],
    ['Zm9v Yg==', 'whitespace'],
    ['Zm9v\nYg==', 'a line break'],
    ['Zm9-', 'URL-safe alphabet'],
    ['Zm9_', 'URL-safe alphabet'],
    ['Zm9\u00e9', 'a non-ASCII character'],
    ['Zm9\u0100', 'a character above U+00FF'],
    ['Z=g=', 'padding before data'],
  ])('rejects %j (%s)', (text) => {
    expect(decodeBase64(text)).toBeNull();
  });

  it('accepts exactly one spelling of every byte string (canonical form)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9+/]{2,3}$/), (tail) => {
        const text = `AAAA${tail}${'='.repeat(4 - tail.length)}`;
        const decoded = decodeBase64(text);
        if (decoded !== null) expect(encodeBase64(decoded)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
