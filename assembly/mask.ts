/**
 * Payload masking (RFC 6455 §5.3): byte i of the payload is XORed with byte (i mod 4) of the
 * masking key. Masking and unmasking are the same operation.
 *
 * The key travels as a little-endian u32 already rotated to the phase of the first byte, so
 * every aligned group of 4 bytes from `ptr` uses the same 32-bit word: 64 bytes per loop
 * iteration with v128, then 16, 8, 4 and single bytes.
 */

/** Rotate the little-endian key word so that its byte 0 is key byte `phase` (0–3). */
// @ts-ignore: decorator
@inline
export function rotateKey(key: u32, phase: u32): u32 {
  return rotr<u32>(key, (phase & 3) << 3);
}

/** XOR `length` bytes at `ptr` in place with the rotated key word `key`. */
export function maskInPlace(ptr: usize, length: usize, key: u32): void {
  let p = ptr;
  const end = ptr + length;
  if (length >= 16) {
    const keyVector = i32x4.splat(key);
    const end64 = ptr + (length & ~(<usize>63));
    while (p < end64) {
      v128.store(p, v128.xor(v128.load(p), keyVector));
      v128.store(p, v128.xor(v128.load(p, 16), keyVector), 16);
      v128.store(p, v128.xor(v128.load(p, 32), keyVector), 32);
      v128.store(p, v128.xor(v128.load(p, 48), keyVector), 48);
      p += 64;
    }
    const end16 = ptr + (length & ~(<usize>15));
    while (p < end16) {
      v128.store(p, v128.xor(v128.load(p), keyVector));
      p += 16;
    }
  }
  if (end - p >= 8) {
    store<u64>(p, load<u64>(p) ^ ((<u64>key << 32) | <u64>key));
    p += 8;
  }
  if (end - p >= 4) {
    store<u32>(p, load<u32>(p) ^ key);
    p += 4;
  }
  let rest = key;
  while (p < end) {
    store<u8>(p, load<u8>(p) ^ <u8>rest);
    rest >>>= 8;
    p++;
  }
}
