/**
 * Differential tests: the wasm codec (release build, every input in wasm; with the measured
 * crossovers, which mixes both implementations call by call; and with `buffer.isUtf8` serving
 * its UTF-8 validation outside parseFrames) against the portable
 * reference, on seeded random and adversarial inputs. Same rows, statuses, errors, needed
 * bytes, states, same bytes out, same UTF-8 verdicts; and UTF-8 verdicts equal to Node's
 * `buffer.isUtf8`. Seeds are fixed so a failure reproduces.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../src/shared/bytes.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import {
  type Codec,
  Fragment,
  FrameTable,
  type FragmentState,
  type ParseOptions,
  UTF8_ACCEPT,
} from '../../src/codec/types.js';
import { createWasmCodecFromBytes } from '../../src/codec/wasm/index.js';
import { utf8Cases } from '../vectors/utf8.js';
import { pseudoRandomBytes, utf8StatesThrough } from './contract.js';
import { buildFrame, concat } from './frame-builder.js';
import { ALL_WASM, wasmBuilds } from './wasm-builds.js';

const release = wasmBuilds.find(([name]) => name === 'release')![1];
const wasm = await createWasmCodecFromBytes(release, { thresholds: ALL_WASM });
const crossover = await createWasmCodecFromBytes(release);
const withIsUtf8 = await createWasmCodecFromBytes(release, { platformIsUtf8: isUtf8 });
const candidates: Array<[string, Codec]> = [['wasm', wasm], ['wasm with crossovers', crossover], ['wasm with buffer.isUtf8', withIsUtf8]];

/** Sizes at the edges of the SIMD blocks and of the length encodings (§5.2). */
const EDGE_SIZES = [0, 1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 63, 64, 65, 125, 126, 127, 255, 256, 1023, 1024];
const size = fc.oneof(fc.constantFrom(...EDGE_SIZES), fc.integer({ min: 0, max: 2048 }));
const key = fc.uint8Array({ minLength: 4, maxLength: 4 });

describe('mask parity', () => {
  it('mask and maskInto give the same bytes and phase at every size, offset and phase', () => {
    fc.assert(
      fc.property(size, fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 3 }), key, fc.integer(), (length, offset, phase, k, seed) => {
        const source = pseudoRandomBytes(length + offset, seed).subarray(offset);
        const expected = source.slice();
        const expectedPhase = portableCodec.mask(expected, k, phase);
        for (const [, codec] of candidates) {
          const data = source.slice();
          expect(codec.mask(data, k, phase)).toBe(expectedPhase);
          expect(toHex(data)).toBe(toHex(expected));
          const target = new Uint8Array(length + offset + 2);
          expect(codec.maskInto(source, k, target, offset + 1, phase)).toBe(expectedPhase);
          expect(toHex(target.subarray(offset + 1, offset + 1 + length))).toBe(toHex(expected));
        }
      }),
      { seed: 0x6d61736b, numRuns: 500 },
    );
  });

  it('agrees at 65535, 65536 and 1 MiB', () => {
    for (const length of [65535, 65536, 1 << 20]) {
      const data = pseudoRandomBytes(length, length);
      const expected = data.slice();
      portableCodec.mask(expected, Uint8Array.of(1, 2, 3, 4), 3);
      for (const [, codec] of candidates) {
        const copy = data.slice();
        codec.mask(copy, Uint8Array.of(1, 2, 3, 4), 3);
        expect(Buffer.compare(copy, expected)).toBe(0);
      }
    }
  });
});

/** Text made of pieces that exercise every UTF-8 length, plus raw (often invalid) bytes. */
const utf8Piece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 70 }).map(utf8Encode) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Encode) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map(utf8Encode) },
  { weight: 1, arbitrary: fc.constantFrom(...utf8Cases.map((c) => c.bytes)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3 }) },
);
const utf8Input = fc.array(utf8Piece, { maxLength: 30 }).map((pieces) => concat(...pieces));

describe('UTF-8 parity', () => {
  it('the same state after every piece, and the verdict of buffer.isUtf8', () => {
    fc.assert(
      fc.property(
        utf8Input.chain((data) =>
          fc.tuple(fc.constant(data), fc.uniqueArray(fc.integer({ min: 0, max: data.length }), { maxLength: 6 }).map((c) => c.sort((a, b) => a - b))),
        ),
        ([data, cuts]) => {
          const expected = utf8StatesThrough(portableCodec, data, cuts);
          for (const [, codec] of candidates) {
            expect(utf8StatesThrough(codec, data, cuts)).toEqual(expected);
            expect(codec.validateUtf8(data)).toBe(isUtf8(data));
          }
          expect(portableCodec.validateUtf8(data)).toBe(isUtf8(data));
        },
      ),
      { seed: 0x75746638, numRuns: 1000 },
    );
  });

  it('every corpus case, at every position relative to the 16- and 64-byte SIMD blocks', () => {
    const paddings = [utf8Encode('a'), utf8Encode('é'), utf8Encode('€'), utf8Encode('🌍')];
    for (const tc of utf8Cases) {
      for (const pad of paddings) {
        for (let before = 0; before < 70; before++) {
          const prefix = concat(...Array.from({ length: Math.ceil(before / pad.length) }, () => pad)).subarray(0, before);
          const bytes = concat(prefix, tc.bytes, pad, utf8Encode('b'.repeat(40)));
          const expected = isUtf8(bytes);
          expect(wasm.validateUtf8(bytes), `${tc.name} after ${before} bytes of ${toHex(pad)}`).toBe(expected);
          expect(portableCodec.validateUtf8(bytes)).toBe(expected);
          expect(wasm.utf8Step(concat(prefix, tc.bytes), UTF8_ACCEPT)).toBe(portableCodec.utf8Step(concat(prefix, tc.bytes), UTF8_ACCEPT));
        }
      }
    }
  });

  it('agrees on large ASCII, mixed-script and 4-byte-heavy text, and with one byte broken', () => {
    const texts = [
      'plain ASCII text '.repeat(4000),
      'Ελληνικά кириллица 中文字符 العربية mixed with ASCII '.repeat(1500),
      '🌍🚀🎉😀'.repeat(20000),
    ].map(utf8Encode);
    for (const text of texts) {
      for (const at of [0, 17, 65535, 65536, text.length - 1]) {
        const broken = text.slice();
        broken[at] = 0xff;
        for (const data of [text, broken]) {
          expect(wasm.validateUtf8(data)).toBe(isUtf8(data));
          expect(crossover.validateUtf8(data)).toBe(isUtf8(data));
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Frame parsing
// ---------------------------------------------------------------------------------------------

interface FrameSpec {
  opcode: number;
  fin: boolean;
  rsv: number;
  masked: boolean;
  payload: Uint8Array;
  lengthBits: 7 | 16 | 64 | undefined;
  key: Uint8Array;
}

const payload = fc.oneof(
  { weight: 4, arbitrary: utf8Input },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_SIZES).map((n) => utf8Encode('x'.repeat(n))) },
  { weight: 1, arbitrary: fc.constantFrom(65535, 65536).map((n) => pseudoRandomBytes(n, n)) },
);

const frameSpec = (serverSide: boolean): fc.Arbitrary<FrameSpec> =>
  fc.record({
    opcode: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(0, 1, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
    fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    masked: fc.oneof({ weight: 20, arbitrary: fc.constant(serverSide) }, { weight: 1, arbitrary: fc.boolean() }),
    payload,
    lengthBits: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(16 as const, 64 as const) }),
    key,
  });

const parseOptions = (expectMasked: boolean): fc.Arbitrary<ParseOptions> =>
  fc.record({
    expectMasked: fc.constant(expectMasked),
    allowedRsv: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    maxPayload: fc.constantFrom(0, 125, 1000, 65535, 65536, 1 << 20, Number.MAX_SAFE_INTEGER),
    validateUtf8: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  });

const scenario = fc.boolean().chain((serverSide) =>
  fc.record({
    frames: fc.array(frameSpec(serverSide), { minLength: 1, maxLength: 12 }),
    options: parseOptions(serverSide),
    capacity: fc.constantFrom(1, 2, 3, 64, 1024),
    cutSeeds: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
  }),
);

function encode(spec: FrameSpec): Uint8Array {
  return buildFrame({
    opcode: spec.opcode,
    fin: spec.fin,
    rsv: spec.rsv,
    payload: spec.payload,
    maskKey: spec.masked ? spec.key : null,
    ...(spec.lengthBits ? { lengthBits: spec.lengthBits } : {}),
  });
}

/** Hex of short byte strings; length and FNV-1a hash of long ones (hex of 1 MiB is slow). */
function fingerprint(bytes: Uint8Array): string {
  if (bytes.length <= 256) return toHex(bytes);
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return `${bytes.length}:${(hash >>> 0).toString(16)}`;
}

/** Everything a parseFrames call reports, with offsets made relative to the chunk. */
function snapshot(table: FrameTable, state: FragmentState) {
  const rows = [];
  const described = table.count + (table.partialHeader ? 1 : 0);
  for (let row = 0; row < described; row++) {
    const complete = row < table.count;
    const start = table.payloadOffset(row);
    rows.push({
      fin: table.fin(row),
      rsv: table.rsv(row),
      opcode: table.opcode(row),
      masked: table.masked(row),
      headerOffset: table.headerOffset(row) - table.dataOffset,
      headerLength: table.headerLength(row),
      payloadLength: table.payloadLength(row),
      key: toHex(table.maskKey(row)),
      // Complete payloads are unmasked; a partial one is left as it arrived.
      payload: fingerprint(table.data.subarray(start, start + table.payloadLength(row))),
      complete,
    });
  }
  return {
    status: table.status,
    count: table.count,
    consumed: table.consumed,
    needed: table.needed,
    partialHeader: table.partialHeader,
    partialPayloadLength: table.partialPayloadLength,
    errorOffset: table.errorOffset,
    state: { ...state },
    rows,
  };
}

/** Drive a codec the way a receiver does: chunks in, leftover bytes carried to the next chunk. */
function drive(codec: Codec, stream: Uint8Array, cuts: number[], options: ParseOptions, capacity: number) {
  const trace: Array<ReturnType<typeof snapshot>> = [];
  const table = new FrameTable(capacity);
  const state: FragmentState = { fragment: Fragment.NONE, utf8: UTF8_ACCEPT };
  let pending = new Uint8Array(0);
  let at = 0;
  for (const cut of [...cuts, stream.length]) {
    let chunk = concat(pending, stream.subarray(at, cut));
    at = cut;
    for (;;) {
      codec.parseFrames(chunk, table, options, state);
      trace.push(snapshot(table, state));
      if (table.status < 0) return trace;
      if (table.consumed === 0 || table.consumed === chunk.length || table.status !== 0) break;
      chunk = chunk.slice(table.consumed); // the table filled up: go on from `consumed`
    }
    pending = chunk.slice(table.consumed);
  }
  return trace;
}

describe('parseFrames parity', () => {
  it('random frame streams at random splits: identical reports call by call', () => {
    fc.assert(
      fc.property(scenario, ({ frames, options, capacity, cutSeeds }) => {
        const stream = concat(...frames.map(encode));
        const cuts = [...new Set(cutSeeds.map((s) => Math.floor(s * stream.length)))].sort((a, b) => a - b);
        const expected = drive(portableCodec, stream, cuts, options, capacity);
        for (const [, codec] of candidates) expect(drive(codec, stream, cuts, options, capacity)).toEqual(expected);
      }),
      { seed: 0x66726d73, numRuns: 1000 },
    );
  });

  it('random bytes: identical reports', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), parseOptions(true), fc.boolean(), (bytes, options, server) => {
        const opts = { ...options, expectMasked: server };
        const expected = drive(portableCodec, bytes, [], opts, 16);
        for (const [, codec] of candidates) expect(drive(codec, bytes, [], opts, 16)).toEqual(expected);
      }),
      { seed: 0x72616e64, numRuns: 1000 },
    );
  });

  it('hostile headers (any 16- or 64-bit length, any maxPayload): identical reports', () => {
    const header = fc.record({
      byte0: fc.integer({ min: 0, max: 255 }),
      mask: fc.boolean(),
      length: fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.constantFrom(2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 65535n, 65536n, 126n, 125n),
      ),
      bits: fc.constantFrom(16 as const, 64 as const),
      present: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(header, parseOptions(true), ({ byte0, mask, length, bits, present }, options) => {
        if (bits === 16) length &= 0xffffn;
        const frame = buildFrame({
          opcode: byte0 & 0xf,
          fin: byte0 >= 0x80,
          rsv: (byte0 >> 4) & 7,
          maskKey: mask ? Uint8Array.of(9, 8, 7, 6) : null,
          lengthBits: bits,
          declaredLength: length,
        });
        const bytes = concat(frame, pseudoRandomBytes(present, present));
        for (const expectMasked of [true, false]) {
          const opts = { ...options, expectMasked, maxPayload: options.maxPayload };
          const expected = drive(portableCodec, bytes, [], opts, 4);
          for (const [, codec] of candidates) expect(drive(codec, bytes, [], opts, 4)).toEqual(expected);
        }
      }),
      { seed: 0x68647273, numRuns: 1000 },
    );
  });

  it('a 1 MiB masked text message in 64 KiB reads, and fragmented around it', () => {
    const sample = utf8Encode('Ελληνικά 🌍 ascii '.repeat(40000));
    let end = 1 << 20;
    while ((sample[end]! & 0xc0) === 0x80) end--; // end on a code point boundary
    const text = sample.subarray(0, end);
    // The fragments split inside a code point: the UTF-8 state carries across them (§8.1).
    const cut = 500_001;
    const stream = concat(
      buildFrame({ opcode: 1, payload: text.subarray(0, cut), maskKey: Uint8Array.of(1, 2, 3, 4), fin: false }),
      buildFrame({ opcode: 9, payload: utf8Encode('ping'), maskKey: Uint8Array.of(5, 6, 7, 8) }),
      buildFrame({ opcode: 0, payload: text.subarray(cut), maskKey: Uint8Array.of(9, 10, 11, 12) }),
    );
    const cuts: number[] = [];
    for (let at = 65536; at < stream.length; at += 65536) cuts.push(at);
    const options: ParseOptions = { expectMasked: true, allowedRsv: 0, maxPayload: 2 << 20, validateUtf8: true };
    const expected = drive(portableCodec, stream, cuts, options, 1024);
    expect(isUtf8(text)).toBe(true);
    expect(expected.at(-1)!.status).toBe(0);
    expect(expected.at(-1)!.state).toEqual({ fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
    expect(expected.flatMap((s) => s.rows.filter((r) => r.complete)).map((r) => r.opcode)).toEqual([1, 9, 0]);
    for (const [, codec] of candidates) expect(drive(codec, stream, cuts, options, 1024)).toEqual(expected);
    const whole = drive(wasm, stream, [], options, 1024);
    expect(whole).toEqual(drive(portableCodec, stream, [], options, 1024));
  });
});
