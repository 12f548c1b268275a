/**
 * The wasm ABI is checked, not trusted: every constant the module exports as a global must
 * equal its TypeScript counterpart in `src/codec/types.ts`, and the memory map must hold
 * together (regions in order, no overlap, aligned where the host reads wide values).
 */
import { describe, expect, it } from 'vitest';
import {
  Fragment,
  FrameError,
  FRAME_HEADER_LENGTH,
  FRAME_HEADER_OFFSET,
  FRAME_INFO,
  FRAME_PAYLOAD_LENGTH,
  FRAME_ROW_FIELDS,
  FrameTable,
  ParseStatus,
  UTF8_ACCEPT,
  UTF8_INVALID,
} from '../../src/codec/types.js';
import { compileWasm, instantiateWasm, WASM_CONSTANT_NAMES } from '../../src/codec/wasm/module.js';
import { DEFAULT_MAX_INPUT_CAPACITY } from '../../src/codec/wasm/index.js';
import { wasmBuilds } from './wasm-builds.js';

/** FrameError keys as the ABI spells them: ERR_ + the key. */
const frameErrorNames = Object.keys(FrameError) as Array<keyof typeof FrameError>;

for (const [build, bytes] of wasmBuilds) {
  describe(`wasm ${build} ABI`, async () => {
    const module = await compileWasm(bytes);
    const instance = await instantiateWasm(module);
    const c = instance.constants;

    it('exports exactly the documented functions, constants and memory', () => {
      const exported = WebAssembly.Module.exports(module).map((e) => `${e.kind}:${e.name}`).sort();
      const expected = [
        'function:mask',
        'function:parseFrames',
        'function:utf8Step',
        'memory:memory',
        ...WASM_CONSTANT_NAMES.map((name) => `global:${name}`),
      ].sort();
      expect(exported).toEqual(expected);
    });

    it('imports nothing but env.abort', () => {
      for (const i of WebAssembly.Module.imports(module)) expect(`${i.module}.${i.name}`).toBe('env.abort');
    });

    it('UTF-8 states match', () => {
      expect(c.UTF8_ACCEPT).toBe(UTF8_ACCEPT);
      expect(c.UTF8_INVALID).toBe(UTF8_INVALID);
    });

    it('parse statuses and every frame error match', () => {
      expect(c.HEADER_OK).toBe(ParseStatus.OK);
      expect(c.HEADER_NEED_MORE).toBe(ParseStatus.NEED_MORE);
      expect(frameErrorNames.length).toBe(11);
      for (const name of frameErrorNames) {
        expect(c[`ERR_${name}` as keyof typeof c], name).toBe(FrameError[name]);
      }
    });

    it('descriptor row fields and fragment states match', () => {
      expect(c.FRAME_ROW_FIELDS).toBe(FRAME_ROW_FIELDS);
      expect(c.FRAME_INFO).toBe(FRAME_INFO);
      expect(c.FRAME_HEADER_OFFSET).toBe(FRAME_HEADER_OFFSET);
      expect(c.FRAME_HEADER_LENGTH).toBe(FRAME_HEADER_LENGTH);
      expect(c.FRAME_PAYLOAD_LENGTH).toBe(FRAME_PAYLOAD_LENGTH);
      expect(c.FRAGMENT_NONE).toBe(Fragment.NONE);
      expect(c.FRAGMENT_OPAQUE).toBe(Fragment.OPAQUE);
      expect(c.FRAGMENT_TEXT).toBe(Fragment.TEXT);
      // FrameTable.masked() reads bit 8 of FRAME_INFO.
      const table = new FrameTable(1);
      table.rows[FRAME_INFO] = c.FRAME_INFO_MASKED;
      expect(table.masked(0)).toBe(true);
      expect(c.FRAME_INFO_MASKED & 0xff).toBe(0);
    });

    it('the flags fit together: mask bit, UTF-8 bit, then three RSV bits', () => {
      expect(c.FLAG_EXPECT_MASKED & c.FLAG_VALIDATE_UTF8).toBe(0);
      expect((c.FLAG_EXPECT_MASKED | c.FLAG_VALIDATE_UTF8) >> c.FLAG_ALLOWED_RSV_SHIFT).toBe(0);
    });

    it('the memory map holds together', () => {
      const resultEnd = c.RESULT_PTR + c.RESULT_SIZE;
      for (const field of [c.RESULT_COUNT, c.RESULT_CONSUMED, c.RESULT_ERROR_OFFSET, c.RESULT_PARTIAL_HEADER, c.RESULT_FRAGMENT, c.RESULT_UTF8]) {
        expect((c.RESULT_PTR + field) % 4).toBe(0);
        expect(field + 4).toBeLessThanOrEqual(c.RESULT_SIZE);
      }
      for (const field of [c.RESULT_NEEDED, c.RESULT_PARTIAL_PAYLOAD_LENGTH]) {
        expect((c.RESULT_PTR + field) % 8).toBe(0); // read through a Float64Array
        expect(field + 8).toBeLessThanOrEqual(c.RESULT_SIZE);
      }
      expect(c.RESULT_PTR).toBeGreaterThan(0);
      expect(resultEnd).toBeLessThanOrEqual(c.UTF8_DFA_PTR);
      expect(c.UTF8_DFA_PTR + 256 * 8).toBeLessThanOrEqual(c.STATIC_DATA_END);
      expect(c.STATIC_DATA_END).toBeLessThanOrEqual(c.TABLE_ROWS_PTR);
      expect(c.TABLE_ROWS_PTR + (c.TABLE_CAPACITY + 1) * c.FRAME_ROW_FIELDS * 4).toBeLessThanOrEqual(c.TABLE_KEYS_PTR);
      expect(c.TABLE_KEYS_PTR + (c.TABLE_CAPACITY + 1) * 4).toBeLessThanOrEqual(c.INPUT_PTR);
      expect(c.INPUT_PTR % 65536).toBe(0);
      expect(c.TABLE_CAPACITY).toBeGreaterThanOrEqual(new FrameTable().capacity);
    });

    it('the module\'s maximum memory is the input bound the glue enforces', () => {
      const memory = instance.memory;
      const pagesLeft = (c.INPUT_PTR + DEFAULT_MAX_INPUT_CAPACITY) / 65536 - memory.buffer.byteLength / 65536;
      expect(() => memory.grow(pagesLeft)).not.toThrow();
      expect(() => memory.grow(1)).toThrow(RangeError);
    });
  });
}
