/**
 * The decoder of the inlined wasm modules: padded base64 as the build writes it (RFC 4648 §4).
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { decodeInlineBytes } from '../../src/codec/wasm/inline-bytes.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { wasmBuilds } from './wasm-builds.js';

describe('decodeInlineBytes', () => {
  it('RFC 4648 §10 test vectors, with no, one and two padding characters', () => {
    const vectors = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [text, base64] of vectors) expect(decodeInlineBytes(base64!), base64).toEqual(utf8Encode(text!));
  });

  it('decodes every byte value and the last letters of the alphabet (+ and /)', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(decodeInlineBytes(Buffer.from(bytes).toString('base64'))).toEqual(bytes);
    expect(decodeInlineBytes('+/+/')).toEqual(Uint8Array.of(0xfb, 0xff, 0xbf));
  });

  it('the inlined modules decode to WebAssembly binaries', () => {
    for (const [build, bytes] of wasmBuilds) {
      expect(Array.from(bytes.subarray(0, 8)), build).toEqual([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
      expect(WebAssembly.validate(bytes), build).toBe(true);
    }
  });
});
