/**
 * Deterministic inputs for the codec benchmarks: payloads, texts of a given byte size that
 * are valid UTF-8, and chunks of masked frames, all built from a fixed seed.
 */
import { concatBytes, utf8Encode } from '../src/shared/bytes.js';
import { CHAT_TEXT } from '../src/cli/bench/payload.js';

/** A deterministic integer generator in [min, max] (xorshift32). */
export function seededIntegers(seed: number): (min: number, max: number) => number {
  let x = seed >>> 0 || 1;
  return (min, max) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return min + (x % (max - min + 1));
  };
}

/** Pseudo-random bytes: the same for the same seed, on every run. */
export function seededBytes(length: number, seed = 0x2545f491): Uint8Array {
  const next = seededIntegers(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next(0, 255);
  return out;
}

/** The kinds of text the UTF-8 benchmarks validate. */
export const TEXT_KINDS = {
  /** Plain ASCII: the SIMD fast path. */
  ascii: 'The quick brown fox jumps over the lazy dog, 0123456789; {"key": [true, null]}\n',
  /** Mixed scripts with ASCII punctuation and spaces: 1-, 2- and 3-byte sequences interleaved. */
  mixed: 'Ελληνικά κείμενα, русский текст, 中文文本 और हिन्दी, العربية — naïve café. ',
  /** Chat-shaped text, as the load generator sends (see `CHAT_TEXT`). */
  chat: CHAT_TEXT,
  /** Mostly 4-byte sequences (emoji), with some ASCII. */
  fourByte: '🌍🚀🎉😀 𝄞𝔘𝔫𝔦 🧪🔬 ok ',
} as const;
export type TextKind = keyof typeof TEXT_KINDS;

/** `size` bytes of valid UTF-8 of the given kind, ending on a code point boundary (padded with ASCII). */
export function textOfSize(kind: TextKind, size: number): Uint8Array {
  const unit = utf8Encode(TEXT_KINDS[kind]);
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += unit.length) out.set(unit.subarray(0, Math.min(unit.length, size - at)), at);
  // Cut back to the last code point boundary, then fill with ASCII.
  let end = size;
  if (end > 0 && out[end - 1]! >= 0x80) {
    let lead = end - 1;
    while (lead > 0 && (out[lead]! & 0xc0) === 0x80) lead--;
    const need = out[lead]! >= 0xf0 ? 4 : out[lead]! >= 0xe0 ? 3 : out[lead]! >= 0xc0 ? 2 : 1;
    if (lead + need > end) end = lead;
  }
  out.fill(0x20, end);
  return out;
}

/** One frame, masked with `key` (client to server), as it arrives on the wire. */
export function maskedFrame(opcode: number, payload: Uint8Array, key: Uint8Array): Uint8Array {
  const n = payload.length;
  const extended = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + extended + 4 + n);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (extended === 2) {
    frame[2] = n >>> 8;
    frame[3] = n & 0xff;
  } else if (extended === 8) {
    const high = Math.floor(n / 2 ** 32);
    const view = new DataView(frame.buffer);
    view.setUint32(2, high);
    view.setUint32(6, n >>> 0);
  }
  const at = 2 + extended;
  frame.set(key, at);
  for (let i = 0; i < n; i++) frame[at + 4 + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

/**
 * A chunk of `count` masked frames with payloads of `minPayload`–`maxPayload` bytes, each
 * with its own key: text frames carry valid mixed-script UTF-8, binary frames random bytes.
 */
export function maskedFrameChunk(count: number, minPayload: number, maxPayload: number, opcode: 1 | 2, seed = 7): Uint8Array {
  const next = seededIntegers(seed);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const size = next(minPayload, maxPayload);
    const payload = opcode === 1 ? textOfSize('mixed', size) : seededBytes(size, seed + i);
    const key = seededBytes(4, seed * 31 + i);
    frames.push(maskedFrame(opcode, payload, key));
  }
  return concatBytes(frames);
}
