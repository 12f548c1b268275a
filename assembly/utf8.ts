/**
 * Incremental UTF-8 validation (Unicode Standard §3.9, Table 3-7; RFC 3629), exact and
 * resumable: the state after any prefix is the canonical state of `src/codec/types.ts`, so a
 * message split across frames or reads is validated as it arrives (RFC 6455 §8.1).
 *
 * Two engines that agree on every input:
 * - a shift-based DFA (one u64 row per byte value; state s lives at bit 6·s of the row and
 *   holds the next state times 6), used to finish a sequence carried in from the previous
 *   chunk and for the last few bytes;
 * - for the bulk, the SIMD "lookup" algorithm of Keiser and Lemire ("Validating UTF-8 in less
 *   than one instruction per byte", 2021): three 16-entry nibble tables classify each pair of
 *   adjacent bytes, a saturating subtract checks where third and fourth bytes must be
 *   continuations, and blocks of 64 ASCII bytes are skipped with one test. Its cost per
 *   block does not depend on how often the script changes, which is what chat-shaped text
 *   (short ASCII words between words of other scripts) needs. The code is shaped for what V8
 *   makes of it: 32 bytes per step, tables read from memory, high nibbles by a 16-bit shift,
 *   and the two byte-1 lookups done once per byte (see `firstByteClasses`).
 * The last bytes after the whole blocks are checked as one more (overlapping or zero-padded)
 * block; then the DFA restarts at the first byte of the last, possibly incomplete, sequence,
 * so the carried state is exact.
 */
import { assertInput, UTF8_ACCEPT, UTF8_DFA_PTR, UTF8_INVALID } from './abi';

/** Canonical transition for `state` on `byte` (Table 3-7). */
function transition(state: u32, byte: u32): u32 {
  if (state == UTF8_INVALID) return UTF8_INVALID;
  if (state == UTF8_ACCEPT) {
    if (byte < 0x80) return 0;
    if (byte < 0xc2) return UTF8_INVALID; // a continuation byte, or an overlong lead C0/C1
    if (byte < 0xe0) return 1;
    if (byte == 0xe0) return 4;
    if (byte == 0xed) return 5;
    if (byte < 0xf0) return 2;
    if (byte == 0xf0) return 6;
    if (byte < 0xf4) return 3;
    if (byte == 0xf4) return 7;
    return UTF8_INVALID; // F5..FF never appear in UTF-8
  }
  let low: u32 = 0x80;
  let high: u32 = 0xbf;
  if (state == 4) low = 0xa0; // E0: no overlong 3-byte forms
  else if (state == 5) high = 0x9f; // ED: no surrogates D800..DFFF
  else if (state == 6) low = 0x90; // F0: no overlong 4-byte forms
  else if (state == 7) high = 0x8f; // F4: nothing above U+10FFFF
  if (byte < low || byte > high) return UTF8_INVALID;
  // States 1..3 have 1..3 bytes to go; 4 and 5 have 2; 6 and 7 have 3.
  if (state == 1) return 0;
  if (state == 2 || state == 4 || state == 5) return 1;
  return 2;
}

/** Fill the DFA rows (runs once, when the module starts). */
function buildDfa(): void {
  for (let byte: u32 = 0; byte < 256; byte++) {
    let row: u64 = 0;
    for (let state: u32 = 0; state <= UTF8_INVALID; state++) {
      row |= <u64>(transition(state, byte) * 6) << (state * 6);
    }
    store<u64>(UTF8_DFA_PTR + (byte << 3), row);
  }
}
buildDfa();

/** Run the DFA over [p, end) from the state `shift` (canonical state × 6). */
// @ts-ignore: decorator
@inline
function runDfa(p: usize, end: usize, shift: u32): u32 {
  while (p < end) {
    shift = <u32>(load<u64>(UTF8_DFA_PTR + (<usize>load<u8>(p) << 3)) >>> shift) & 63;
    p++;
  }
  return shift;
}

// Error bits of the Keiser–Lemire lookup tables: each describes a pattern of two bytes.
const TOO_SHORT: u8 = 1 << 0; //      11______ 0_______  or  11______ 11______
const TOO_LONG: u8 = 1 << 1; //       0_______ 10______
const OVERLONG_3: u8 = 1 << 2; //     11100000 100_____
const TOO_LARGE: u8 = 1 << 3; //      11110100 1001____ .. 11111___ 101_____
const SURROGATE: u8 = 1 << 4; //      11101101 101_____
const OVERLONG_2: u8 = 1 << 5; //     1100000_ 10______
const TOO_LARGE_1000: u8 = 1 << 6; // 11110101 1000____ .. 11111___ 1000____
const OVERLONG_4: u8 = 1 << 6; //     11110000 1000____
const TWO_CONTS: u8 = 1 << 7; //      10______ 10______ (an error unless a 3rd/4th byte)
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/** Indexed by the high nibble of the first byte of each pair. */
// @ts-ignore: decorator
@inline
function byte1HighTable(): v128 {
  return i8x16(
    TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
    TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
  );
}

/** Indexed by the low nibble of the first byte of each pair. */
// @ts-ignore: decorator
@inline
function byte1LowTable(): v128 {
  return i8x16(
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    CARRY | TOO_LARGE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
  );
}

/** Indexed by the high nibble of the second byte of each pair. */
// @ts-ignore: decorator
@inline
function byte2HighTable(): v128 {
  return i8x16(
    TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
  );
}

/**
 * The three tables in linear memory, 16 bytes each: byte1High, byte1Low, byte2High. Read
 * from memory where they are used rather than kept as v128 constants, so that V8 keeps no
 * register for them: its register allocator spills in the block loop when it has to hold
 * them (bench/results/codec.md).
 */
const LOOKUP_TABLES: usize = memory.data(48, 16);
v128.store(LOOKUP_TABLES, byte1HighTable());
v128.store(LOOKUP_TABLES, byte1LowTable(), 16);
v128.store(LOOKUP_TABLES, byte2HighTable(), 32);

/** The high nibble of every byte: a 16-bit shift and a mask (an 8-bit shift costs V8 five instructions). */
// @ts-ignore: decorator
@inline
function highNibbles(bytes: v128): v128 {
  return v128.and(i16x8.shr_u(bytes, 4), i8x16.splat(0x0f));
}

/**
 * What every byte of `bytes` says as the first byte of a pair: the two byte-1 tables ANDed.
 * Both look at the same byte, so this is worked out once per block and moved one lane along
 * for the next block, rather than computed again on the block shifted by a byte.
 */
// @ts-ignore: decorator
@inline
function firstByteClasses(bytes: v128, high: v128): v128 {
  return v128.and(
    i8x16.swizzle(v128.load(LOOKUP_TABLES), high),
    i8x16.swizzle(v128.load(LOOKUP_TABLES, 16), v128.and(bytes, i8x16.splat(0x0f))),
  );
}

/** The first-byte class of an ASCII byte (and of the zero bytes that stand before the input). */
const ASCII_CLASS: u8 = TOO_LONG;

/**
 * Errors of one 16-byte block, given its high nibbles and first-byte classes and the block
 * before it with its classes (its last 3 bytes matter).
 */
// @ts-ignore: decorator
@inline
function blockErrors(input: v128, high: v128, classes: v128, previous: v128, previousClasses: v128): v128 {
  // Each byte paired with the byte before it: the class of that byte, the table of this one.
  const special = v128.and(
    i8x16.shuffle(previousClasses, classes, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30),
    i8x16.swizzle(v128.load(LOOKUP_TABLES, 32), high),
  );
  const prev2 = i8x16.shuffle(previous, input, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
  const prev3 = i8x16.shuffle(previous, input, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28);
  // Only bytes after 111_____ (two back) or 1111____ (three back) reach 0x80 here: those
  // must be continuations, which is exactly where TWO_CONTS is not an error.
  const mustBeContinuation = v128.and(
    v128.or(i8x16.sub_sat_u(prev2, i8x16.splat(<i8>(0xe0 - 0x80))), i8x16.sub_sat_u(prev3, i8x16.splat(<i8>(0xf0 - 0x80)))),
    i8x16.splat(<i8>0x80),
  );
  return v128.xor(mustBeContinuation, special);
}

/** Non-zero lanes where a sequence starting in the last 3 bytes of `input` is cut off. */
// @ts-ignore: decorator
@inline
function incompleteAtEnd(input: v128): v128 {
  return i8x16.sub_sat_u(
    input,
    i8x16(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, <i8>(0xf0 - 1), <i8>(0xe0 - 1), <i8>(0xc0 - 1)),
  );
}

/** Whether the 64 bytes at `p` are all ASCII. */
// @ts-ignore: decorator
@inline
function isAscii64(p: usize): bool {
  return i8x16.bitmask(v128.or(v128.or(v128.load(p), v128.load(p, 16)), v128.or(v128.load(p, 32), v128.load(p, 48)))) == 0;
}

/**
 * Once a 64-byte block holds non-ASCII bytes, this many bytes are checked in full before the
 * ASCII test runs again: text that leaves ASCII tends to stay mixed (chat, most scripts but
 * Latin), where the test would only cost time; a long ASCII run after it loses at most this
 * much of its fast path.
 */
const MIXED_RUN: usize = 256;

/**
 * Whether the 16-byte blocks of [start, end) (`end - start` a positive multiple of 16) are
 * free of errors, `start` being at a code point boundary. A sequence cut off at `end` is not
 * an error here: the caller looks at the last bytes again.
 *
 * 32 bytes (two blocks) per step: with more in flight, V8's register allocator spills.
 */
function validBlocks(start: usize, end: usize): bool {
  let p = start;
  let previous = i8x16.splat(0);
  let previousClasses = i8x16.splat(ASCII_CLASS);
  let error = i8x16.splat(0);
  const end32 = start + ((end - start) & ~(<usize>31));
  while (p < end32) {
    if (end - p >= 64 && isAscii64(p)) {
      // All ASCII: valid, unless the block before ended inside a sequence. So are the
      // 64-byte blocks of ASCII after it, skipped in a loop of their own.
      error = v128.or(error, incompleteAtEnd(previous));
      previous = i8x16.splat(0);
      previousClasses = i8x16.splat(ASCII_CLASS);
      p += 64;
      while (end - p >= 64 && isAscii64(p)) p += 64;
      continue;
    }
    const runEnd = min(p + MIXED_RUN, end32);
    do {
      const a = v128.load(p);
      const aHigh = highNibbles(a);
      const aClasses = firstByteClasses(a, aHigh);
      error = v128.or(error, blockErrors(a, aHigh, aClasses, previous, previousClasses));
      const b = v128.load(p, 16);
      const bHigh = highNibbles(b);
      const bClasses = firstByteClasses(b, bHigh);
      error = v128.or(error, blockErrors(b, bHigh, bClasses, a, aClasses));
      previous = b;
      previousClasses = bClasses;
      p += 32;
    } while (p < runEnd);
    if (v128.any_true(error)) return false;
  }
  if (p < end) {
    const input = v128.load(p);
    const high = highNibbles(input);
    error = v128.or(error, blockErrors(input, high, firstByteClasses(input, high), previous, previousClasses));
  }
  return !v128.any_true(error);
}

/** Lane numbers 0..15, to build lane masks. */
// @ts-ignore: decorator
@inline
function laneIndex(): v128 {
  return i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/** Errors of the block `input` after the block `previous`, classes computed here. */
// @ts-ignore: decorator
@inline
function errorsAfter(input: v128, previous: v128): v128 {
  const high = highNibbles(input);
  const previousClasses = firstByteClasses(previous, highNibbles(previous));
  return blockErrors(input, high, firstByteClasses(input, high), previous, previousClasses);
}

/**
 * Whether the last bytes of [start, end), those after the whole blocks, are free of errors:
 * checked as one block, the 16 bytes ending at `end` (re-checking some already checked, which
 * is harmless), or for an input under 16 bytes, the input padded with zeros whose lanes are
 * then ignored. Bytes before `start` count as ASCII (start is at a boundary). Needs 16
 * readable bytes from `start` when the input is shorter than that.
 */
// @ts-ignore: decorator
@inline
function validTail(start: usize, end: usize): bool {
  const length = end - start;
  if (length >= 16) {
    let previous = v128.load(end - 32);
    if (length < 32) {
      // Lanes of `previous` before `start` are not input: zero them (ASCII).
      previous = v128.and(previous, i8x16.ge_u(laneIndex(), i8x16.splat(<i8>(start - (end - 32)))));
    }
    return !v128.any_true(errorsAfter(v128.load(end - 16), previous));
  }
  const inInput = i8x16.lt_u(laneIndex(), i8x16.splat(<i8>length));
  const input = v128.and(v128.load(start), inInput);
  return !v128.any_true(v128.and(errorsAfter(input, i8x16.splat(0)), inInput));
}

/**
 * Advance the canonical validator `state` over `length` bytes at `ptr`. Returns the new
 * state: UTF8_ACCEPT at a code point boundary, 1..7 inside a sequence, UTF8_INVALID (sticky)
 * once any byte broke the rules.
 */
export function utf8Step(ptr: usize, length: usize, state: u32): u32 {
  assertInput(ptr, length);
  if (state >= UTF8_INVALID) return UTF8_INVALID;
  let p = ptr;
  const end = ptr + length;
  let shift = state * 6;
  // Finish the sequence carried in from the previous chunk.
  while (shift != 0 && shift != UTF8_INVALID * 6 && p < end) {
    shift = <u32>(load<u64>(UTF8_DFA_PTR + (<usize>load<u8>(p) << 3)) >>> shift) & 63;
    p++;
  }
  if (shift != 0) return shift / 6;
  if (p == end) return UTF8_ACCEPT;
  const blocksEnd = p + ((end - p) & ~(<usize>15));
  if (blocksEnd > p && !validBlocks(p, blocksEnd)) return UTF8_INVALID;
  if (blocksEnd < end) {
    if (end - p < 16 && p + 16 > (<usize>memory.size() << 16)) {
      // Too close to the end of memory to read a whole block: the DFA alone decides.
      return runDfa(p, end, 0) / 6;
    }
    if (!validTail(p, end)) return UTF8_INVALID;
  }
  // Every byte has been checked against the bytes before it. A lead byte among the last
  // three whose sequence runs past `end` has not been checked against what follows it:
  // the DFA continues from there and gives the state to carry.
  let boundary = end;
  if (load<u8>(end - 1) >= 0xc0) boundary = end - 1;
  else if (end - p >= 2 && load<u8>(end - 2) >= 0xe0) boundary = end - 2;
  else if (end - p >= 3 && load<u8>(end - 3) >= 0xf0) boundary = end - 3;
  return runDfa(boundary, end, 0) / 6;
}
