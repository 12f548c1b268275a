/**
 * The wasm UTF-8 validator (assembly/utf8.ts) against the portable one, Node's
 * `buffer.isUtf8` and `TextDecoder({ fatal: true })`: every class of error, placed at every
 * lane of the 16-, 32- and 64-byte blocks the SIMD loop reads, on both sides of its ASCII
 * skip and of the stretch it checks in full after a non-ASCII block, in the tail it checks
 * as one more block, and cut at every chunk boundary near it — in `utf8Step` and in the
 * validation `parseFrames` runs in the same pass as the unmasking (RFC 6455 §8.1).
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import { type Codec, FrameTable, type FragmentState, type ParseOptions, UTF8_ACCEPT } from '../../src/codec/types.js';
import { createWasmCodecFromBytes } from '../../src/codec/wasm/index.js';
import { fromHex, toHex, utf8Encode } from '../../src/shared/bytes.js';
import { utf8StatesThrough } from './contract.js';
import { buildFrame, concat } from './frame-builder.js';
import { ALL_WASM, wasmBuilds } from './wasm-builds.js';

const codecs: Array<[string, Codec]> = [];
for (const [name, bytes] of wasmBuilds) codecs.push([name, await createWasmCodecFromBytes(bytes, { thresholds: ALL_WASM })]);

const decoder = new TextDecoder('utf-8', { fatal: true });
function textDecoderAccepts(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** One sequence of each kind the validator must reject, and the valid ones at each edge. */
const SEQUENCES: ReadonlyArray<[string, string]> = [
  ['overlong 2-byte C0 80', 'c0 80'],
  ['overlong 2-byte C1 BF', 'c1 bf'],
  ['overlong 3-byte E0 80 80', 'e0 80 80'],
  ['overlong 3-byte E0 9F BF', 'e0 9f bf'],
  ['overlong 4-byte F0 80 80 80', 'f0 80 80 80'],
  ['overlong 4-byte F0 8F BF BF', 'f0 8f bf bf'],
  ['surrogate U+D800', 'ed a0 80'],
  ['surrogate U+DFFF', 'ed bf bf'],
  ['above U+10FFFF: F4 90 80 80', 'f4 90 80 80'],
  ['above U+10FFFF: F4 BF BF BF', 'f4 bf bf bf'],
  ['F5 lead', 'f5 80 80 80'],
  ['FF', 'ff'],
  ['stray continuation 80', '80'],
  ['stray continuation BF after a complete sequence', 'c2 80 bf'],
  ['2-byte lead then ASCII', 'c2 41'],
  ['3-byte lead cut short by ASCII', 'e1 80 41'],
  ['4-byte lead cut short by a lead', 'f1 80 80 c2 80'],
  ['3-byte lead cut short by a 4-byte lead', 'e1 80 f0 90 80 80'],
  ['truncated 2-byte sequence', 'c2'],
  ['truncated 3-byte sequence', 'e1 80'],
  ['truncated 4-byte sequence', 'f1 80 80'],
  ['valid U+0080', 'c2 80'],
  ['valid U+07FF', 'df bf'],
  ['valid U+0800', 'e0 a0 80'],
  ['valid U+D7FF', 'ed 9f bf'],
  ['valid U+E000', 'ee 80 80'],
  ['valid U+FFFF', 'ef bf bf'],
  ['valid U+10000', 'f0 90 80 80'],
  ['valid U+10FFFF', 'f4 8f bf bf'],
];

/** Chat-shaped text: short ASCII words between Cyrillic, Greek, CJK and emoji ones. */
const CHAT = utf8Encode('hi привет, ok γεια and 你好 lol 😀 yes, да. no 世界 go καλά 🎉 the мир by 日本 🚀 so ναι ');

/** `length` bytes of `unit` repeated, cut back to a code point boundary and padded with ASCII. */
function textOf(unit: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length).fill(0x78);
  for (let at = 0; at < length; at += unit.length) out.set(unit.subarray(0, Math.min(unit.length, length - at)), at);
  let lead = length - 1;
  while (lead > 0 && (out[lead]! & 0xc0) === 0x80) lead--;
  if (length > 0 && out[lead]! >= 0xc0) {
    const need = out[lead]! >= 0xf0 ? 4 : out[lead]! >= 0xe0 ? 3 : 2;
    if (lead + need > length) out.fill(0x78, lead);
  }
  return out;
}

const ascii = (length: number) => new Uint8Array(length).fill(0x61);
const chat = (length: number) => textOf(CHAT, length);
/** What stands before the sequence: pure ASCII, chat text, or chat text then a long ASCII run. */
const PREFIXES: ReadonlyArray<[string, (length: number) => Uint8Array]> = [
  ['ASCII', ascii],
  ['chat', chat],
  ['chat then ASCII', (length) => concat(chat(Math.min(length, 100)), ascii(Math.max(0, length - 100)))],
  ['ASCII then chat', (length) => concat(ascii(Math.min(length, 70)), chat(Math.max(0, length - 70)))],
];

/** Every verdict and state of the validators under test, for one input. */
function expectAgreement(bytes: Uint8Array, what: string): void {
  const verdict = isUtf8(bytes);
  expect(textDecoderAccepts(bytes), `TextDecoder: ${what}`).toBe(verdict);
  expect(portableCodec.validateUtf8(bytes), `portable: ${what}`).toBe(verdict);
  const state = portableCodec.utf8Step(bytes, UTF8_ACCEPT);
  for (const [name, codec] of codecs) {
    expect(codec.validateUtf8(bytes), `${name}: ${what}`).toBe(verdict);
    expect(codec.utf8Step(bytes, UTF8_ACCEPT), `${name} state: ${what}`).toBe(state);
  }
}

describe('wasm UTF-8 validator, error classes at every block position', () => {
  it('every sequence after 0–330 bytes of each prefix: each lane of 16/32/64-byte blocks, across the checked stretch after non-ASCII', () => {
    // Long enough for whole ASCII blocks to follow the stretch checked in full.
    const suffix = ascii(100);
    for (const [sequenceName, hex] of SEQUENCES) {
      const sequence = fromHex(hex);
      for (const [prefixName, prefix] of PREFIXES) {
        for (let before = 0; before <= 330; before++) {
          expectAgreement(concat(prefix(before), sequence, suffix), `${sequenceName} after ${before} bytes of ${prefixName}`);
        }
      }
    }
  });

  it('every sequence in the tail: 0–40 bytes before the end of inputs of up to 100 bytes', () => {
    for (const [sequenceName, hex] of SEQUENCES) {
      const sequence = fromHex(hex);
      for (const [prefixName, prefix] of PREFIXES) {
        for (const before of [0, 13, 31, 60]) {
          for (let after = 0; after <= 40; after++) {
            expectAgreement(concat(prefix(before), sequence, chat(after)), `${sequenceName} after ${before} bytes of ${prefixName}, ${after} before the end`);
          }
        }
      }
    }
  });

  it('a byte broken at every position of long chat and ASCII-then-chat text (past the 256-byte checked stretch)', () => {
    for (const text of [chat(1100), concat(ascii(300), chat(500), ascii(300))]) {
      for (let at = 0; at < text.length; at++) {
        for (const value of [0x80, 0xc0, 0xed, 0xf4, 0xff]) {
          const broken = text.slice();
          broken[at] = value;
          expectAgreement(broken, `byte ${at} set to ${value.toString(16)}`);
        }
      }
    }
  });
});

describe('wasm UTF-8 validator, streaming', () => {
  it('every sequence cut at every byte near it, and twice around it, gives the portable states', () => {
    for (const [sequenceName, hex] of SEQUENCES) {
      const sequence = fromHex(hex);
      for (const before of [0, 5, 29, 64, 77]) {
        const bytes = concat(chat(before), sequence, chat(50));
        for (let cut = Math.max(0, before - 20); cut <= Math.min(bytes.length, before + sequence.length + 20); cut++) {
          for (const second of [cut, cut + 1, cut + 2, cut + 3, cut + 17]) {
            const cuts = second > cut && second <= bytes.length ? [cut, second] : [cut];
            const expected = utf8StatesThrough(portableCodec, bytes, cuts);
            for (const [name, codec] of codecs) {
              expect(utf8StatesThrough(codec, bytes, cuts), `${name}: ${sequenceName} after ${before}, cut at ${cuts.join(', ')}`).toEqual(expected);
            }
          }
        }
      }
    }
  });

  const SERVER: ParseOptions = { expectMasked: true, allowedRsv: 0, maxPayload: 1 << 20, validateUtf8: true };
  const KEY = Uint8Array.of(0x9a, 0x3c, 0x55, 0xe1);

  /** A text message sent as fragments cut at `cuts`, parsed in chunks cut at `chunkCuts`: what each codec reports. */
  function parseMessage(codec: Codec, payload: Uint8Array, cuts: readonly number[], chunkCuts: readonly number[]): string[] {
    const bounds = [0, ...cuts, payload.length];
    const frames = bounds.slice(1).map((end, i) =>
      buildFrame({ opcode: i === 0 ? 1 : 0, fin: i === bounds.length - 2, payload: payload.subarray(bounds[i], end), maskKey: KEY }),
    );
    const wire = concat(...frames);
    const table = new FrameTable(64);
    const state: FragmentState = { fragment: 0, utf8: UTF8_ACCEPT };
    const reports: string[] = [];
    let pending = new Uint8Array(0);
    let at = 0;
    for (const cut of [...chunkCuts, wire.length]) {
      const chunk = concat(pending, wire.subarray(at, cut));
      at = cut;
      codec.parseFrames(chunk, table, SERVER, state);
      const payloads = Array.from({ length: table.count }, (_, i) => toHex(table.payload(i)));
      reports.push(`${table.status} ${table.count} ${table.consumed} ${state.fragment}/${state.utf8} ${payloads.join(',')}`);
      if (table.status < 0) break;
      pending = chunk.slice(table.consumed);
    }
    return reports;
  }

  it('parseFrames validates text split into fragments and chunks at every byte near each sequence as the portable codec does', () => {
    for (const [sequenceName, hex] of SEQUENCES) {
      const sequence = fromHex(hex);
      for (const before of [3, 40, 70]) {
        const payload = concat(chat(before), sequence, chat(40));
        for (let cut = before - 3; cut <= before + sequence.length + 3; cut++) {
          for (const chunkCut of [0, 9, 20 + cut]) {
            const cuts = [cut];
            const chunkCuts = chunkCut > 0 ? [chunkCut] : [];
            const expected = parseMessage(portableCodec, payload, cuts, chunkCuts);
            for (const [name, codec] of codecs) {
              expect(parseMessage(codec, payload, cuts, chunkCuts), `${name}: ${sequenceName} after ${before}, fragment cut ${cut}, chunk cut ${chunkCut}`).toEqual(expected);
            }
          }
        }
        // And whole, in one frame: the verdict of buffer.isUtf8.
        const whole = parseMessage(codecs[1]![1], payload, [], []);
        expect(whole[0]!.startsWith(isUtf8(payload) ? '0 1 ' : '-'), `${sequenceName} after ${before}, one frame: ${whole[0]}`).toBe(true);
      }
    }
  });
});
