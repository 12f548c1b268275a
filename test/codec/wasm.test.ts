/**
 * The wasm codec: the contract suite against the debug and the release build (once with every
 * input sent to wasm, once with the measured crossovers), then what only the wasm codec does —
 * zero-copy input, transient table data, memory growth, inputs beyond the scratch region —
 * and codec selection.
 */
import { isUtf8 } from 'node:buffer';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { createCodec, createCodecSync, isWasmCodec } from '../../src/codec/index.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import {
  Fragment,
  FrameTable,
  type FragmentState,
  type ParseOptions,
  ParseStatus,
  UTF8_ACCEPT,
  UTF8_INVALID,
} from '../../src/codec/types.js';
import {
  createWasmCodecFromBytes,
  createWasmCodecSync,
  DEFAULT_MAX_INPUT_CAPACITY,
  isWasmSimdSupported,
  type WasmCodec,
} from '../../src/codec/wasm/index.js';
import { WasmCodecImpl } from '../../src/codec/wasm/codec.js';
import { compileWasm, instantiateWasm } from '../../src/codec/wasm/module.js';
import { defineCodecContract, pseudoRandomBytes } from './contract.js';
import { buildFrame, concat } from './frame-builder.js';
import { ALL_WASM, wasmBuilds } from './wasm-builds.js';

for (const [build, bytes] of wasmBuilds) {
  defineCodecContract(`wasm ${build}, every size in wasm`, () => createWasmCodecFromBytes(bytes, { thresholds: ALL_WASM }));
  defineCodecContract(`wasm ${build}, measured crossovers`, () => createWasmCodecFromBytes(bytes));
}

const KEY = fromHex('37fa213d');
const SERVER: ParseOptions = { expectMasked: true, allowedRsv: 0, maxPayload: 64 * 1024 * 1024, validateUtf8: true };
const fresh = (): FragmentState => ({ fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
const INITIAL_INPUT_CAPACITY = 4 * 65536; // 5 pages of memory, the first holds the tables

function maskedFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  return buildFrame({ opcode, payload, maskKey: KEY, fin });
}

for (const [build, bytes] of wasmBuilds) {
  describe(`wasm ${build} codec internals`, () => {
    const make = (maxInputCapacity?: number): Promise<WasmCodec> =>
      createWasmCodecFromBytes(bytes, { thresholds: ALL_WASM, ...(maxInputCapacity ? { maxInputCapacity } : {}) });

    describe('zero-copy input (acquireInput)', () => {
      it('parses a chunk read straight into linear memory, unmasking it where it lies', async () => {
        const codec = await make();
        const frames = concat(maskedFrame(Opcode.TEXT, utf8Encode('héllo')), maskedFrame(Opcode.BINARY, pseudoRandomBytes(300, 4)));
        const view = codec.acquireInput(frames.length + 10);
        view.set(frames); // what a socket reading into the view would do
        const table = new FrameTable();
        codec.parseFrames(view.subarray(0, frames.length), table, SERVER, fresh());
        expect(table.status).toBe(ParseStatus.OK);
        expect(table.count).toBe(2);
        expect(table.transient).toBe(true);
        expect(table.data.buffer).toBe(view.buffer);
        expect(table.dataOffset).toBe(0);
        // The payload was unmasked in the acquired bytes themselves: nothing was copied in.
        expect(new TextDecoder().decode(view.subarray(6, 12))).toBe('héllo');
        expect(table.payload(0).byteOffset).toBe(view.byteOffset + 6);
        expect(toHex(table.payload(1))).toBe(toHex(pseudoRandomBytes(300, 4)));
      });

      it('parses a chunk at an offset inside the input region in place (dataOffset)', async () => {
        const codec = await make();
        const frame = maskedFrame(Opcode.BINARY, fromHex('0102030405'));
        const view = codec.acquireInput(100);
        view.set(frame, 37);
        const table = new FrameTable();
        codec.parseFrames(view.subarray(37, 37 + frame.length), table, SERVER, fresh());
        expect(table.dataOffset).toBe(37);
        expect(table.headerOffset(0)).toBe(37);
        expect(toHex(table.payload(0))).toBe('0102030405');
        expect(toHex(view.subarray(43, 48))).toBe('0102030405');
      });

      it('masks and validates bytes in linear memory in place', async () => {
        const codec = await make();
        const plain = pseudoRandomBytes(1000, 8);
        const view = codec.acquireInput(1003).subarray(3);
        view.set(plain);
        expect(codec.mask(view, KEY, 1)).toBe((1 + 1000) & 3);
        const expected = plain.slice();
        portableCodec.mask(expected, KEY, 1);
        expect(toHex(view)).toBe(toHex(expected));
        const text = utf8Encode('мир 世界 🌍 '.repeat(40));
        const textView = codec.acquireInput(text.length);
        textView.set(text);
        expect(codec.validateUtf8(textView)).toBe(true);
        textView[text.length - 2] = 0xc0;
        expect(codec.validateUtf8(textView)).toBe(false);
      });

      it('validates short text in the last bytes of memory, where no whole block can be read', async () => {
        const codec = await make();
        const region = codec.acquireInput(codec.inputCapacity);
        for (const [hex, state] of [['41', 0], ['c3a9', 0], ['41e282', 1], ['f09f98', 1], ['c0', UTF8_INVALID], ['41eda080', UTF8_INVALID]] as const) {
          const bytes = fromHex(hex);
          const tail = region.subarray(region.length - bytes.length);
          tail.set(bytes);
          expect(codec.utf8Step(tail, UTF8_ACCEPT), hex).toBe(state);
          expect(portableCodec.utf8Step(bytes, UTF8_ACCEPT), hex).toBe(state);
        }
      });

      it('refuses to acquire more than the bound, or a length that is not a count', async () => {
        const codec = await make(2 * 65536);
        expect(() => codec.acquireInput(2 * 65536 + 1)).toThrow(RangeError);
        expect(() => codec.acquireInput(-1)).toThrow(RangeError);
        expect(() => codec.acquireInput(1.5)).toThrow(RangeError);
        expect(codec.acquireInput(2 * 65536).length).toBe(2 * 65536);
      });

      it('maskInto a target in linear memory masks there, at the offset, leaving the source intact', async () => {
        const codec = await make();
        const source = pseudoRandomBytes(300, 9);
        const original = source.slice();
        const target = codec.acquireInput(320).subarray(5);
        target.fill(0xee);
        for (const phase of [0, 1, 2, 3]) {
          expect(codec.maskInto(source, KEY, target, 7, phase)).toBe((phase + 300) & 3);
          const expected = source.slice();
          portableCodec.mask(expected, KEY, phase);
          expect(toHex(target.subarray(7, 307))).toBe(toHex(expected));
          expect([target[6], target[307]]).toEqual([0xee, 0xee]);
        }
        expect(source).toEqual(original);
        expect(() => codec.maskInto(source, KEY, target, 20)).toThrow(RangeError);
      });
    });

    describe('transient table data', () => {
      it('points table.data into linear memory, valid until the next call', async () => {
        const codec = await make();
        const table = new FrameTable();
        const first = maskedFrame(Opcode.BINARY, fromHex('aaaaaaaa'));
        codec.parseFrames(first, table, SERVER, fresh());
        expect(table.transient).toBe(true);
        expect(table.data.buffer).not.toBe(first.buffer);
        const payload = table.payload(0);
        expect(toHex(payload)).toBe('aaaaaaaa');
        // The caller's chunk is left as it was (still masked): the work happened in wasm memory.
        expect(toHex(first.subarray(6))).not.toBe('aaaaaaaa');
        codec.parseFrames(maskedFrame(Opcode.BINARY, fromHex('bbbbbbbb')), new FrameTable(), SERVER, fresh());
        // The next call reused the region: a caller must copy what it keeps.
        expect(toHex(payload)).toBe('bbbbbbbb');
      });

      it('the crossover codec parses small chunks with the portable code in the caller\'s chunk', async () => {
        const codec = await createWasmCodecFromBytes(bytes);
        const table = new FrameTable();
        const chunk = maskedFrame(Opcode.TEXT, utf8Encode('hi'));
        codec.parseFrames(chunk, table, SERVER, fresh());
        expect(table.transient).toBe(false);
        expect(table.data).toBe(chunk);
        expect(new TextDecoder().decode(table.payload(0))).toBe('hi');
      });
    });

    describe('memory growth', () => {
      it('grows the input region for a large chunk, at least doubling, and re-derives its views', async () => {
        const codec = await make();
        expect(codec.inputCapacity).toBe(INITIAL_INPUT_CAPACITY);
        const before = codec.acquireInput(16);
        const payload = pseudoRandomBytes(700_000, 12);
        const table = new FrameTable();
        codec.parseFrames(maskedFrame(Opcode.BINARY, payload), table, SERVER, fresh());
        expect(table.status).toBe(ParseStatus.OK);
        expect(codec.inputCapacity).toBeGreaterThanOrEqual(700_014);
        expect(codec.inputCapacity).toBeLessThanOrEqual(DEFAULT_MAX_INPUT_CAPACITY);
        // The old buffer is detached by growth; the codec works on the new one.
        expect(before.byteLength).toBe(0);
        expect(table.data.buffer).not.toBe(before.buffer);
        expect(toHex(table.payload(0).subarray(0, 64))).toBe(toHex(payload.subarray(0, 64)));
        expect(table.payload(0).every((b, i) => b === payload[i])).toBe(true);
        // Everything keeps working after the growth, including views acquired afresh.
        const after = codec.acquireInput(8);
        after.set(maskedFrame(Opcode.BINARY, fromHex('01')).subarray(0, 7));
        codec.parseFrames(after.subarray(0, 7), table, SERVER, fresh());
        expect(toHex(table.payload(0))).toBe('01');
        expect(codec.validateUtf8(utf8Encode('still fine after growth'))).toBe(true);
      });

      it('grows for a request from acquireInput and not for mask or UTF-8 work', async () => {
        const codec = await make();
        const big = pseudoRandomBytes(1 << 20, 3);
        codec.mask(big, KEY, 0);
        codec.utf8Step(big, UTF8_ACCEPT);
        expect(codec.inputCapacity).toBe(INITIAL_INPUT_CAPACITY);
        codec.acquireInput(INITIAL_INPUT_CAPACITY + 1);
        expect(codec.inputCapacity).toBe(2 * INITIAL_INPUT_CAPACITY);
      });
    });

    describe('inputs larger than the scratch region', () => {
      it('masks in slices carrying the phase, for every phase', async () => {
        const codec = await make(65536);
        const plain = pseudoRandomBytes(INITIAL_INPUT_CAPACITY * 3 + 5, 21);
        for (let phase = 0; phase < 4; phase++) {
          const data = plain.slice(1);
          const expected = data.slice();
          portableCodec.mask(expected, KEY, phase);
          expect(codec.mask(data, KEY, phase)).toBe((phase + data.length) & 3);
          expect(toHex(data.subarray(INITIAL_INPUT_CAPACITY - 8, INITIAL_INPUT_CAPACITY + 8))).toBe(
            toHex(expected.subarray(INITIAL_INPUT_CAPACITY - 8, INITIAL_INPUT_CAPACITY + 8)),
          );
          expect(data.every((b, i) => b === expected[i])).toBe(true);
          const target = new Uint8Array(data.length + 3);
          codec.maskInto(plain.subarray(1), KEY, target, 3, phase);
          expect(target.subarray(3).every((b, i) => b === expected[i])).toBe(true);
        }
      });

      it('validates UTF-8 in slices carrying the state across a code point cut at every slice edge', async () => {
        const codec = await make(65536);
        const capacity = codec.inputCapacity;
        for (const char of ['é', '€', '🌍']) {
          const encoded = utf8Encode(char);
          for (let cut = 1; cut < encoded.length; cut++) {
            const data = new Uint8Array(capacity * 2 + 100).fill(0x61);
            data.set(encoded, capacity - cut); // the slice edge falls inside the character
            expect(codec.validateUtf8(data), `${char} cut ${cut}`).toBe(true);
            data[capacity - cut + encoded.length - 1] = 0x41; // last continuation byte missing
            expect(codec.validateUtf8(data), `${char} cut ${cut}, broken`).toBe(false);
          }
        }
        const truncated = new Uint8Array(capacity + 1).fill(0x61);
        truncated[capacity] = 0xe2;
        expect(codec.utf8Step(truncated, UTF8_ACCEPT)).toBe(2);
      });

      it('parses a chunk beyond the bound with the portable code, with identical results', async () => {
        const codec = await make(65536 * 2);
        const frames = concat(
          maskedFrame(Opcode.TEXT, utf8Encode('a'.repeat(200_000))),
          maskedFrame(Opcode.BINARY, pseudoRandomBytes(100, 1)),
          maskedFrame(Opcode.BINARY, pseudoRandomBytes(100_000, 2)).subarray(0, 50_000),
        );
        const wasmTable = new FrameTable();
        const portableTable = new FrameTable();
        const wasmState = fresh();
        const portableState = fresh();
        const chunk = frames.slice();
        codec.parseFrames(chunk, wasmTable, SERVER, wasmState);
        portableCodec.parseFrames(frames.slice(), portableTable, SERVER, portableState);
        expect(wasmTable.transient).toBe(false);
        expect(wasmTable.data).toBe(chunk);
        for (const field of ['count', 'status', 'consumed', 'needed', 'partialHeader', 'partialPayloadLength'] as const) {
          expect(wasmTable[field]).toEqual(portableTable[field]);
        }
        expect(wasmTable.status).toBe(ParseStatus.NEED_MORE);
        expect(wasmState).toEqual(portableState);
        expect(codec.inputCapacity).toBe(65536 * 2);
      });
    });

    it('fills a FrameTable larger than the wasm table with several calls, rows in order', async () => {
      const codec = await make();
      const one = maskedFrame(Opcode.BINARY, fromHex('0a0b'));
      const frameCount = 5000;
      const bytes = new Uint8Array(one.length * frameCount + 3);
      for (let i = 0; i < frameCount; i++) bytes.set(one, i * one.length);
      bytes.set(one.subarray(0, 3), frameCount * one.length); // a partial header at the end
      const table = new FrameTable(frameCount + 10);
      codec.parseFrames(bytes, table, SERVER, fresh());
      expect(table.count).toBe(frameCount);
      expect(table.status).toBe(ParseStatus.NEED_MORE);
      expect(table.needed).toBe(3); // the rest of the 6-byte header
      expect(table.consumed).toBe(frameCount * one.length);
      for (const row of [0, 2047, 2048, 4095, 4096, frameCount - 1]) {
        expect(table.headerOffset(row)).toBe(row * one.length);
        expect(toHex(table.payload(row))).toBe('0a0b');
        expect(toHex(table.maskKey(row))).toBe(toHex(KEY));
      }
      // A table that fills exactly at a wasm-table boundary stops there (status OK).
      const exact = new FrameTable(4096);
      codec.parseFrames(bytes, exact, SERVER, fresh());
      expect(exact.count).toBe(4096);
      expect(exact.status).toBe(ParseStatus.OK);
      expect(exact.consumed).toBe(4096 * one.length);
    });

    it('carries a fragmented text message across calls in the state', async () => {
      const codec = await make();
      const euro = utf8Encode('€');
      const state = fresh();
      const table = new FrameTable();
      codec.parseFrames(maskedFrame(Opcode.TEXT, concat(utf8Encode('x'.repeat(40)), euro.subarray(0, 1)), false), table, SERVER, state);
      expect(state).toEqual({ fragment: Fragment.TEXT, utf8: 2 });
      codec.parseFrames(maskedFrame(Opcode.CONTINUATION, euro.subarray(1)), table, SERVER, state);
      expect(table.status).toBe(ParseStatus.OK);
      expect(state).toEqual({ fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
    });
  });
}

describe('wasm codec options and module checks', () => {
  it('refuses an input bound below one page or above the module\'s maximum, or not an integer', () => {
    for (const maxInputCapacity of [65535, DEFAULT_MAX_INPUT_CAPACITY + 1, 100_000.5]) {
      expect(() => createWasmCodecSync({ maxInputCapacity }), String(maxInputCapacity)).toThrow(
        new RangeError(`maxInputCapacity must be an integer from 65536 to ${DEFAULT_MAX_INPUT_CAPACITY}`),
      );
    }
    expect(createWasmCodecSync({ maxInputCapacity: 65536 }).inputCapacity).toBe(65536);
  });

  it('refuses a module whose static data would overlap the descriptor table', async () => {
    const release = wasmBuilds.find(([name]) => name === 'release')![1];
    const instance = await instantiateWasm(await compileWasm(release));
    const { TABLE_ROWS_PTR } = instance.constants;
    expect(new WasmCodecImpl({ ...instance, constants: { ...instance.constants, STATIC_DATA_END: TABLE_ROWS_PTR } }).implementation).toBe('wasm');
    expect(() => new WasmCodecImpl({ ...instance, constants: { ...instance.constants, STATIC_DATA_END: TABLE_ROWS_PTR + 1 } })).toThrow(
      `wasm codec static data (ends at ${TABLE_ROWS_PTR + 1}) overlaps the descriptor table`,
    );
  });
});

describe('wasm debug build assertions', () => {
  it('turns a failed assertion into an Error naming it (the env.abort import)', async () => {
    const debug = wasmBuilds.find(([name]) => name === 'debug')![1];
    const instance = await instantiateWasm(await compileWasm(debug));
    expect(() => instance.functions.mask(0, 16, 0, 0)).toThrow(/assertion failed: range outside the input region/);
    expect(() => instance.functions.parseFrames(instance.constants.INPUT_PTR, 2, 0, 0, 0, 0, 0)).toThrow(/maxRows/);
  });
});

describe('codec selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('this runtime has WebAssembly SIMD', () => {
    expect(isWasmSimdSupported()).toBe(true);
  });

  it('auto picks wasm, asynchronously and synchronously', async () => {
    const codec = await createCodec();
    expect(codec.implementation).toBe('wasm');
    expect(isWasmCodec(codec)).toBe(true);
    expect(createCodecSync({ implementation: 'auto' }).implementation).toBe('wasm');
    expect(createWasmCodecSync().implementation).toBe('wasm');
  });

  it('WASMSOCKET_NO_WASM=1 makes auto pick the portable codec', async () => {
    vi.stubEnv('WASMSOCKET_NO_WASM', '1');
    expect(await createCodec()).toBe(portableCodec);
    expect(createCodecSync()).toBe(portableCodec);
    expect(isWasmCodec(portableCodec)).toBe(false);
    vi.stubEnv('WASMSOCKET_NO_WASM', '0');
    expect((await createCodec()).implementation).toBe('wasm');
  });

  it('an explicit implementation is honoured, the switch notwithstanding', async () => {
    vi.stubEnv('WASMSOCKET_NO_WASM', '1');
    expect((await createCodec({ implementation: 'wasm' })).implementation).toBe('wasm');
    expect(await createCodec({ implementation: 'portable' })).toBe(portableCodec);
  });

  it('each wasm codec has its own memory', async () => {
    const a = (await createCodec({ implementation: 'wasm' })) as WasmCodec;
    const b = (await createCodec({ implementation: 'wasm' })) as WasmCodec;
    expect(a.acquireInput(4).buffer).not.toBe(b.acquireInput(4).buffer);
  });

  it('hands validateUtf8 and utf8Step to a platform validator when given one, exactly', async () => {
    const seen: number[] = [];
    const platformIsUtf8 = (data: Uint8Array) => {
      seen.push(data.length);
      return isUtf8(data);
    };
    const codec = await createCodec({ implementation: 'wasm', platformIsUtf8 });
    expect(codec.validateUtf8(utf8Encode('héllo'))).toBe(true);
    expect(codec.validateUtf8(fromHex('c0af'))).toBe(false);
    // A sequence cut off at the end: the platform judges what precedes it, the DFA the rest.
    const text = concat(utf8Encode('a'.repeat(40)), fromHex('f09f98'));
    expect(codec.utf8Step(text, UTF8_ACCEPT)).toBe(1);
    expect(seen).toEqual([6, 2, 40]);
    // Frames are still validated inside the one wasm pass.
    const table = new FrameTable();
    codec.parseFrames(maskedFrame(Opcode.TEXT, utf8Encode('x'.repeat(50))), table, SERVER, fresh());
    expect(table.status).toBe(ParseStatus.OK);
    expect(seen.length).toBe(3);
  });

  it('rejects an unknown implementation', async () => {
    await expect(createCodec({ implementation: 'native' as never })).rejects.toThrow(RangeError);
    expect(() => createCodecSync({ implementation: 'native' as never })).toThrow(RangeError);
  });

  it('utf8Step reports the canonical state across calls', async () => {
    const codec = await createCodec({ implementation: 'wasm' });
    const inside = codec.utf8Step(fromHex('41 e2 82'), UTF8_ACCEPT);
    expect(inside).toBe(1);
    expect(codec.utf8Step(fromHex('ac'), inside)).toBe(UTF8_ACCEPT);
    expect(codec.utf8Step(fromHex('ff'), inside)).toBe(UTF8_INVALID);
    expect(codec.utf8Step(fromHex('41'), UTF8_INVALID)).toBe(UTF8_INVALID);
  });
});
