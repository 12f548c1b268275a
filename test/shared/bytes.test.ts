/**
 * The byte helpers every layer and the tests share.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8Encode } from '../../src/shared/bytes.js';

describe('concatBytes', () => {
  it('joins the parts in order into a new array', () => {
    const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)];
    const joined = concatBytes(parts);
    expect(Array.from(joined)).toEqual([1, 2, 3]);
    expect(joined.buffer).not.toBe(parts[0]!.buffer);
    expect(concatBytes([]).length).toBe(0);
  });

  it('uses a given total length as the size of the result', () => {
    expect(Array.from(concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)], 3))).toEqual([1, 2, 3]);
    // A caller that knows more room is needed (e.g. to append later) gets zeros after the parts.
    expect(Array.from(concatBytes([Uint8Array.of(7)], 3))).toEqual([7, 0, 0]);
  });
});

describe('hex', () => {
  it('toHex writes two lower-case digits a byte, fromHex reads them back ignoring whitespace', () => {
    const bytes = Uint8Array.of(0x00, 0x0f, 0xa0, 0xff);
    expect(toHex(bytes)).toBe('000fa0ff');
    expect(fromHex('00 0F\na0\tfF')).toEqual(bytes);
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it('fromHex refuses an odd number of digits and a character that is not a digit', () => {
    expect(() => fromHex('abc')).toThrow(new RangeError('hex string has an odd number of digits'));
    expect(() => fromHex('00zz')).toThrow(new RangeError('invalid hex at 2'));
    expect(() => fromHex('000g')).toThrow(new RangeError('invalid hex at 2'));
    expect(() => fromHex('+1')).toThrow(new RangeError('invalid hex at 0'));
  });
});

describe('utf8Encode', () => {
  it('encodes one to four bytes per code point, and a lone surrogate as U+FFFD', () => {
    expect(toHex(utf8Encode('aé€😀'))).toBe('61c3a9e282acf09f9880');
    expect(toHex(utf8Encode('\ud800'))).toBe('efbfbd');
  });
});
