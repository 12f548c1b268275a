/**
 * Choosing a codec: the wasm one where WebAssembly with SIMD runs, else the portable one,
 * with a switch that forces the portable one (as `ws` has `WS_NO_BUFFER_UTIL`).
 */
import { createPortableCodec, portableCodec } from './portable/index.js';
import type { Codec, CodecImplementation } from './types.js';
import { createWasmCodec, createWasmCodecSync, isWasmSimdSupported, type WasmCodecOptions } from './wasm/index.js';

/** Which codec `createCodec` returns: one implementation, or `auto` to pick the best that runs here. */
export type CodecChoice = CodecImplementation | 'auto';

/** Options of `createCodec` and `createCodecSync`. */
export interface CreateCodecOptions {
  /**
   * `auto` (the default): wasm where WebAssembly with SIMD is available and the environment
   * variable `WASMSOCKET_NO_WASM` is not set, else portable. `wasm`: wasm or an error.
   * `portable`: the pure-TypeScript codec.
   */
  readonly implementation?: CodecChoice;
  /**
   * A platform validator of complete UTF-8 for the wasm codec's `validateUtf8` and
   * `utf8Step` (see `WasmCodecOptions.platformIsUtf8`), and for the portable codec's text
   * payloads of 48 bytes or more, frames included (`createPortableCodec`). In Node, pass
   * `buffer.isUtf8` (simdutf): it beats the wasm validator at every size, as `npm run
   * bench:codec -- --only utf8` measures (figures in bench/results/codec.md), and the
   * portable one from about 48 bytes. Not given, everything stays in the codec (browsers
   * have no such function). The codec layer imports nothing from `node:*`, so the adapter
   * supplies it.
   */
  readonly platformIsUtf8?: (data: Uint8Array) => boolean;
}

/** The environment variable that makes `auto` choose the portable codec. */
export const NO_WASM_ENV = 'WASMSOCKET_NO_WASM';

/**
 * Whether `WASMSOCKET_NO_WASM` is set (to anything but empty or `0`). Read through
 * `globalThis.process?.env`, so this also runs where there is no `process` (browsers).
 */
export function isWasmDisabledByEnvironment(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[NO_WASM_ENV];
  return value !== undefined && value !== '' && value !== '0';
}

function choose(implementation: CodecChoice): CodecImplementation {
  switch (implementation) {
    case 'wasm':
    case 'portable':
      return implementation;
    case 'auto':
      return !isWasmDisabledByEnvironment() && isWasmSimdSupported() ? 'wasm' : 'portable';
    default:
      throw new RangeError(`unknown codec implementation: ${String(implementation)}`);
  }
}

function wasmOptions(options: CreateCodecOptions): WasmCodecOptions {
  return options.platformIsUtf8 === undefined ? {} : { platformIsUtf8: options.platformIsUtf8 };
}

function portable(options: CreateCodecOptions): Codec {
  return options.platformIsUtf8 === undefined ? portableCodec : createPortableCodec(options.platformIsUtf8);
}

function unsupported(): Error {
  return new Error('the wasm codec needs WebAssembly with SIMD, which this runtime does not provide');
}

/**
 * Create a codec (see `CreateCodecOptions`). Each wasm codec has its own linear memory; one
 * codec serves any number of connections on the same thread.
 * @throws if `implementation` is `wasm` and WebAssembly SIMD is unavailable.
 */
export async function createCodec(options: CreateCodecOptions = {}): Promise<Codec> {
  if (choose(options.implementation ?? 'auto') === 'portable') return portable(options);
  if (!isWasmSimdSupported()) throw unsupported();
  return createWasmCodec(wasmOptions(options));
}

/**
 * Create a codec synchronously (Node and workers; a browser's main thread may refuse
 * synchronous WebAssembly compilation, so use `createCodec` there).
 * @throws if `implementation` is `wasm` and WebAssembly SIMD is unavailable.
 */
export function createCodecSync(options: CreateCodecOptions = {}): Codec {
  if (choose(options.implementation ?? 'auto') === 'portable') return portable(options);
  if (!isWasmSimdSupported()) throw unsupported();
  return createWasmCodecSync(wasmOptions(options));
}
