/**
 * Deterministic payloads for the load generator: binary bytes that are not a constant (so no
 * layer can shortcut them), and chat-shaped mixed-script UTF-8 text cut to an exact byte
 * length at a character boundary.
 */
import { utf8Encode } from '../../shared/bytes.js';
import type { MessageType, SizeWeight } from './options.js';

/**
 * The text repeated to fill a text payload, shaped like chat messages: short ASCII words
 * alternating with Cyrillic, Greek, CJK and emoji words (one- to four-byte sequences), about
 * 44 % non-ASCII bytes and several script switches in every 64 bytes. A validator fast only on
 * long runs of one script gains nothing on it, as it gains nothing on real chat traffic.
 */
export const CHAT_TEXT =
  'hi привет, ok then γεια and 你好 lol 😀 yes, да. no way 世界 go on now καλά see 🎉 and the мир by 日本 we are here 🚀 so ναι it is 中文 up to you ';

/** A small, fast, seeded generator (xorshift32): payload bytes and size choices, reproducible. */
export function createXorShift32(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/** `size` pseudo-random bytes. */
export function binaryPayload(size: number, seed = 0x2545f491): Uint8Array {
  const bytes = new Uint8Array(size);
  const next = createXorShift32(seed);
  const whole = size & ~3;
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < whole; i += 4) view.setUint32(i, next());
  for (let i = whole; i < size; i++) bytes[i] = next() & 0xff;
  return bytes;
}

/**
 * Exactly `size` bytes of valid UTF-8: `CHAT_TEXT` repeated, the last character that
 * does not fit replaced by ASCII letters.
 */
export function textPayload(size: number): Uint8Array {
  const unit = utf8Encode(CHAT_TEXT);
  const bytes = new Uint8Array(size);
  let offset = 0;
  while (offset + unit.length <= size) {
    bytes.set(unit, offset);
    offset += unit.length;
  }
  // Copy whole characters of the unit while they fit: a lead byte starts each (not 10xxxxxx).
  let end = size - offset;
  while (end > 0 && end < unit.length && (unit[end]! & 0xc0) === 0x80) end--;
  bytes.set(unit.subarray(0, end), offset);
  for (let i = offset + end; i < size; i++) bytes[i] = 0x61 + ((i - offset - end) % 26);
  return bytes;
}

/** The payloads of a run, one per size of the distribution. */
export function makePayloads(sizes: readonly SizeWeight[], type: MessageType): Uint8Array[] {
  return sizes.map(({ size }, index) => (type === 'text' ? textPayload(size) : binaryPayload(size, 0x2545f491 + index)));
}

/**
 * Picks a payload index per message according to the weights. With one size it always
 * answers 0 without drawing a number.
 */
export function createSizePicker(sizes: readonly SizeWeight[], seed: number): () => number {
  if (sizes.length === 1) return () => 0;
  const total = sizes.reduce((sum, { weight }) => sum + weight, 0);
  const cumulative = new Float64Array(sizes.length);
  let running = 0;
  sizes.forEach(({ weight }, index) => (cumulative[index] = running += weight / total));
  cumulative[sizes.length - 1] = 1;
  const next = createXorShift32(seed);
  return () => {
    const draw = next() / 0x1_0000_0000;
    let index = 0;
    while (draw >= cumulative[index]!) index++;
    return index;
  };
}
