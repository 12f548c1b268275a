/**
 * Payload masking, RFC 6455 §5.3: octet i of the payload is XORed with octet (i mod 4) of the
 * masking key. `phase` is the key position of the first byte, so a payload split across socket
 * reads is (un)masked piece by piece.
 */

/**
 * Below this length the word loop's typed-array view costs more than it saves. Measured by
 * `npm run bench:codec` (masking rows, portable column; figures in bench/results/codec.md):
 * the byte loop wins at 16 B and loses from about 64 B up.
 */
const WORD_LOOP_MIN_LENGTH = 64;

/** Whether the platform is little-endian (every current JS engine is; checked, not assumed). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 4 key bytes as one little-endian word: key byte `p` is `(keyWord >>> 8 * p) & 0xff`. */
export function maskKeyWord(key: Uint8Array, offset = 0): number {
  return (key[offset]! | (key[offset + 1]! << 8) | (key[offset + 2]! << 16) | (key[offset + 3]! << 24)) >>> 0;
}

/**
 * The 32-bit words of `data`'s buffer that cover `data`, from the aligned word holding its
 * first byte: one view for the word loops of every payload in a chunk (`maskRange`), so that
 * a payload of a few dozen bytes needs no view of its own. Words at the edges may hold bytes
 * outside `data`; `maskRange` only touches words inside the range it masks.
 */
export function wordsOf(data: Uint8Array): Uint32Array {
  const base = data.byteOffset & ~3;
  return new Uint32Array(data.buffer, base, (data.byteOffset + data.length - base) >>> 2);
}

/**
 * Below this length even with `wordsOf`'s shared view the byte loop is as fast (measured by
 * the core rows of `npm run bench:codec`, whose payloads are 2–125 B).
 */
export const SHARED_WORDS_MIN_LENGTH = 16;

/**
 * XOR `data[start..end)` in place with the key given as a little-endian word (`maskKeyWord`),
 * from key position `phase`; returns the next phase. Taking the key as a number spares the
 * caller a 4-byte view per frame; `words` (from `wordsOf(data)`) spares it a view for the
 * word loop.
 */
export function maskRange(data: Uint8Array, start: number, end: number, keyWord: number, phase: number, words: Uint32Array | null = null): number {
  let i = start;
  const length = end - start;
  if (LITTLE_ENDIAN && length >= (words === null ? WORD_LOOP_MIN_LENGTH : SHARED_WORDS_MIN_LENGTH)) {
    // Bytes until the buffer position is 4-aligned, then whole 32-bit words.
    const misalignment = data.byteOffset & 3;
    const head = (4 - ((misalignment + i) & 3)) & 3;
    for (const stop = i + head; i < stop; i++) data[i]! ^= keyWord >>> (((phase + i - start) & 3) << 3);
    const shift = ((phase + i - start) & 3) << 3;
    const rotated = ((keyWord >>> shift) | (keyWord << (32 - shift))) >>> 0;
    const wordCount = (end - i) >>> 2;
    let view: Uint32Array;
    let first: number;
    if (words === null) {
      view = new Uint32Array(data.buffer, data.byteOffset + i, wordCount);
      first = 0;
    } else {
      view = words;
      first = (misalignment + i) >>> 2;
    }
    for (let w = first, stop = first + wordCount; w < stop; w++) view[w]! ^= rotated;
    i += wordCount << 2;
  }
  // Uint8Array stores keep the low 8 bits, so the shifted word needs no mask.
  for (; i < end; i++) data[i]! ^= keyWord >>> (((phase + i - start) & 3) << 3);
  return (phase + length) & 3;
}

/** XOR `data` in place with `key` from key position `phase`; returns the next phase. */
export function mask(data: Uint8Array, key: Uint8Array, phase = 0): number {
  return maskRange(data, 0, data.length, maskKeyWord(key), phase & 3);
}

/** Mask `source` into `target` at `targetOffset`, leaving `source` intact; returns the next phase. */
export function maskInto(
  source: Uint8Array,
  key: Uint8Array,
  target: Uint8Array,
  targetOffset: number,
  phase = 0,
): number {
  const length = source.length;
  if (targetOffset < 0 || targetOffset + length > target.length) {
    throw new RangeError(`target has no room for ${length} bytes at offset ${targetOffset}`);
  }
  phase &= 3;
  if (length >= WORD_LOOP_MIN_LENGTH) {
    // memcpy, then the word loop in place: two fast passes beat one byte-at-a-time pass.
    target.set(source, targetOffset);
    return maskRange(target, targetOffset, targetOffset + length, maskKeyWord(key), phase);
  }
  for (let i = 0; i < length; i++) target[targetOffset + i] = source[i]! ^ key[(phase + i) & 3]!;
  return (phase + length) & 3;
}
