/**
 * The codecs every codec-dependent suite runs against: the portable codec (the reference),
 * the wasm codec with every input sent to wasm whatever its size (so the small frames tests
 * use exercise the wasm paths, not the portable fallback below the crossovers), and the wasm
 * codec as it ships, with its measured thresholds.
 */
import type { Codec } from '../../src/codec/types.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import { createWasmCodecSync } from '../../src/codec/wasm/index.js';

/** Thresholds that send every input to wasm, whatever its size. */
const EVERYTHING_TO_WASM = { maskMinBytes: 0, utf8MinBytes: 0, parseMinBytes: 0 } as const;

export const codecsUnderTest: Array<[name: string, make: () => Codec | Promise<Codec>]> = [
  ['portable', () => portableCodec],
  ['wasm', () => createWasmCodecSync({ thresholds: EVERYTHING_TO_WASM })],
  ['wasm (shipped thresholds)', () => createWasmCodecSync()],
];
