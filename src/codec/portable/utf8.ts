/**
 * Exact, incremental UTF-8 validation (Unicode Standard §3.9, Table 3-7 "Well-Formed UTF-8
 * Byte Sequences"), as RFC 6455 §8.1 requires of text messages. The state numbering is the
 * canonical one of `src/codec/types.ts`, shared with the wasm validator.
 *
 * A byte is first mapped to one of 12 classes, then (state, class) → state by a table.
 */
import { UTF8_ACCEPT, UTF8_INVALID } from '../types.js';

const enum ByteClass {
  ASCII = 0, // 00..7F
  CONT_80_8F = 1,
  CONT_90_9F = 2,
  CONT_A0_BF = 3,
  INVALID = 4, // C0, C1, F5..FF: can never appear in UTF-8
  LEAD2 = 5, // C2..DF
  LEAD_E0 = 6,
  LEAD3 = 7, // E1..EC, EE..EF
  LEAD_ED = 8,
  LEAD_F0 = 9,
  LEAD4 = 10, // F1..F3
  LEAD_F4 = 11,
}
const CLASS_COUNT = 12;

const BYTE_CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  BYTE_CLASS[b] =
    b < 0x80 ? ByteClass.ASCII
    : b < 0x90 ? ByteClass.CONT_80_8F
    : b < 0xa0 ? ByteClass.CONT_90_9F
    : b < 0xc0 ? ByteClass.CONT_A0_BF
    : b < 0xc2 ? ByteClass.INVALID
    : b < 0xe0 ? ByteClass.LEAD2
    : b === 0xe0 ? ByteClass.LEAD_E0
    : b === 0xed ? ByteClass.LEAD_ED
    : b < 0xf0 ? ByteClass.LEAD3
    : b === 0xf0 ? ByteClass.LEAD_F0
    : b < 0xf4 ? ByteClass.LEAD4
    : b === 0xf4 ? ByteClass.LEAD_F4
    : ByteClass.INVALID;
}

/** TRANSITIONS[state * CLASS_COUNT + class] → next state. */
const TRANSITIONS = new Uint8Array(9 * CLASS_COUNT).fill(UTF8_INVALID);
function allow(state: number, classes: readonly ByteClass[], next: number): void {
  for (const c of classes) TRANSITIONS[state * CLASS_COUNT + c] = next;
}
const ANY_CONTINUATION = [ByteClass.CONT_80_8F, ByteClass.CONT_90_9F, ByteClass.CONT_A0_BF];
allow(0, [ByteClass.ASCII], 0);
allow(0, [ByteClass.LEAD2], 1);
allow(0, [ByteClass.LEAD3], 2);
allow(0, [ByteClass.LEAD4], 3);
allow(0, [ByteClass.LEAD_E0], 4);
allow(0, [ByteClass.LEAD_ED], 5);
allow(0, [ByteClass.LEAD_F0], 6);
allow(0, [ByteClass.LEAD_F4], 7);
allow(1, ANY_CONTINUATION, 0);
allow(2, ANY_CONTINUATION, 1);
allow(3, ANY_CONTINUATION, 2);
allow(4, [ByteClass.CONT_A0_BF], 1); // E0 A0..BF: no overlong 3-byte forms
allow(5, [ByteClass.CONT_80_8F, ByteClass.CONT_90_9F], 1); // ED 80..9F: no surrogates
allow(6, [ByteClass.CONT_90_9F, ByteClass.CONT_A0_BF], 2); // F0 90..BF: no overlong 4-byte forms
allow(7, [ByteClass.CONT_80_8F], 2); // F4 80..8F: nothing above U+10FFFF

/** Below this length the word-at-a-time ASCII scan's view costs more than it saves. */
const ASCII_WORD_SCAN_MIN_LENGTH = 64;

/**
 * Advance `state` over `data[start..end)`. Returns the new state; `UTF8_INVALID` as soon as an
 * invalid byte is seen (the rest is not read: fail fast, RFC 6455 §8.1).
 */
export function utf8StepRange(data: Uint8Array, start: number, end: number, state: number): number {
  if (state === UTF8_INVALID) return UTF8_INVALID;
  let i = start;
  if (state === UTF8_ACCEPT && end - i >= ASCII_WORD_SCAN_MIN_LENGTH) {
    // ASCII fast path: skip whole 32-bit words with no high bit set.
    const head = (4 - ((data.byteOffset + i) & 3)) & 3;
    let asciiEnd = i;
    for (const stop = i + head; asciiEnd < stop && data[asciiEnd]! < 0x80; asciiEnd++);
    if (asciiEnd === i + head) {
      const wordCount = (end - asciiEnd) >>> 2;
      const words = new Uint32Array(data.buffer, data.byteOffset + asciiEnd, wordCount);
      let w = 0;
      while (w < wordCount && (words[w]! & 0x80808080) === 0) w++;
      asciiEnd += w << 2;
    }
    i = asciiEnd;
  }
  for (; i < end; i++) {
    const byte = data[i]!;
    if (state === UTF8_ACCEPT && byte < 0x80) continue;
    state = TRANSITIONS[state * CLASS_COUNT + BYTE_CLASS[byte]!]!;
    if (state === UTF8_INVALID) return UTF8_INVALID;
  }
  return state;
}

/** Advance `state` over all of `data`. */
export function utf8Step(data: Uint8Array, state: number): number {
  return utf8StepRange(data, 0, data.length, state);
}

/** True iff `data` is complete, well-formed UTF-8. */
export function validateUtf8(data: Uint8Array): boolean {
  return utf8StepRange(data, 0, data.length, UTF8_ACCEPT) === UTF8_ACCEPT;
}
