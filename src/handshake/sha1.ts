/**
 * SHA-1 (FIPS 180-4 §6.1) in plain TypeScript, so the opening handshake can compute
 * Sec-WebSocket-Accept synchronously in every runtime (Web Crypto's digest is async only).
 * It hashes a few dozen bytes per connection; callers that have a native SHA-1 (node:crypto)
 * may inject it through the `Sha1` port instead.
 *
 * SHA-1 is broken for collision resistance, but RFC 6455 §4.2.2 uses it only to prove that
 * the server read the client's key (§10.3 notes it is not a security mechanism).
 */

import type { Sha1 } from '../shared/ports.js';

/** Message schedule, reused across calls (the function is synchronous and not re-entrant). */
const schedule = new Int32Array(80);

/** Run the compression function over the 64-byte block at `offset` of `block`. */
function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  const w = schedule;
  for (let t = 0; t < 16; t++) {
    const i = offset + t * 4;
    w[t] = (block[i]! << 24) | (block[i + 1]! << 16) | (block[i + 2]! << 8) | block[i + 3]!;
  }
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
}

/**
 * The SHA-1 digest (20 bytes) of `data`. Exact for any length JavaScript can index.
 * Implements the `Sha1` port of `src/shared/ports.ts`.
 */
export const sha1: Sha1 = (data: Uint8Array): Uint8Array => {
  const state = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  const fullBlocksEnd = data.length - (data.length % 64);
  for (let offset = 0; offset < fullBlocksEnd; offset += 64) compress(state, data, offset);

  // Padding (FIPS 180-4 §5.1.1): 0x80, zeros, then the bit length as a 64-bit big-endian
  // integer; one extra block when fewer than 9 bytes are left in the last one.
  const tailLength = data.length - fullBlocksEnd;
  const tail = new Uint8Array(tailLength < 56 ? 64 : 128);
  tail.set(data.subarray(fullBlocksEnd));
  tail[tailLength] = 0x80;
  const bitLengthHigh = Math.floor(data.length / 0x20000000);
  const bitLengthLow = (data.length % 0x20000000) * 8;
  const end = tail.length;
  tail[end - 8] = bitLengthHigh >>> 24;
  tail[end - 7] = bitLengthHigh >>> 16;
  tail[end - 6] = bitLengthHigh >>> 8;
  tail[end - 5] = bitLengthHigh;
  tail[end - 4] = bitLengthLow >>> 24;
  tail[end - 3] = bitLengthLow >>> 16;
  tail[end - 2] = bitLengthLow >>> 8;
  tail[end - 1] = bitLengthLow;
  for (let offset = 0; offset < tail.length; offset += 64) compress(state, tail, offset);

  const digest = new Uint8Array(20);
  for (let i = 0; i < 5; i++) {
    const word = state[i]!;
    digest[i * 4] = word >>> 24;
    digest[i * 4 + 1] = word >>> 16;
    digest[i * 4 + 2] = word >>> 8;
    digest[i * 4 + 3] = word;
  }
  return digest;
};
