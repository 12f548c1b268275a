/**
 * Creating wasm codecs. The release build of the module is inlined in
 * `release.generated.ts` (written by `npm run build:wasm`), so this loads in Node, a page and
 * a worker with no bundler and no fetch. The module needs WebAssembly SIMD.
 */
import { decodeInlineBytes } from './inline-bytes.js';
import { compileWasm, compileWasmSync, instantiateWasm, instantiateWasmSync } from './module.js';
import { type WasmCodec, type WasmCodecOptions, WasmCodecImpl } from './codec.js';
import { wasmBase64 as releaseBase64 } from './release.generated.js';

export {
  DEFAULT_MAX_INPUT_CAPACITY,
  DEFAULT_WASM_THRESHOLDS,
  type WasmCodec,
  type WasmCodecOptions,
  type WasmThresholds,
} from './codec.js';

let releaseBytes: Uint8Array<ArrayBuffer> | undefined;

/** The release module's bytes (decoded once). */
export function wasmReleaseBytes(): Uint8Array<ArrayBuffer> {
  return (releaseBytes ??= decodeInlineBytes(releaseBase64));
}

let simdSupported: boolean | undefined;

/**
 * Whether this runtime can run the wasm codec: WebAssembly is present and validates the
 * module, which uses SIMD (`v128`) instructions.
 */
export function isWasmSimdSupported(): boolean {
  if (simdSupported === undefined) {
    try {
      simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(wasmReleaseBytes());
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported;
}

/** Create a wasm codec from module `bytes` (the release or the debug build). */
export async function createWasmCodecFromBytes(bytes: Uint8Array<ArrayBuffer>, options?: WasmCodecOptions): Promise<WasmCodec> {
  return new WasmCodecImpl(await instantiateWasm(await compileWasm(bytes)), options);
}

/** Create a wasm codec from module `bytes`, compiling synchronously. */
export function createWasmCodecFromBytesSync(bytes: Uint8Array<ArrayBuffer>, options?: WasmCodecOptions): WasmCodec {
  return new WasmCodecImpl(instantiateWasmSync(compileWasmSync(bytes)), options);
}

/**
 * Create a wasm codec with its own linear memory (the module is compiled once per process).
 * @throws if WebAssembly or WebAssembly SIMD is unavailable (see `isWasmSimdSupported`).
 */
export function createWasmCodec(options?: WasmCodecOptions): Promise<WasmCodec> {
  return createWasmCodecFromBytes(wasmReleaseBytes(), options);
}

/**
 * Create a wasm codec synchronously. Node and workers allow synchronous compilation; a
 * browser's main thread may refuse it, so prefer `createWasmCodec` there.
 * @throws if WebAssembly or WebAssembly SIMD is unavailable (see `isWasmSimdSupported`).
 */
export function createWasmCodecSync(options?: WasmCodecOptions): WasmCodec {
  return createWasmCodecFromBytesSync(wasmReleaseBytes(), options);
}

/** Whether `codec` is a wasm codec that can take input without copies (`acquireInput`). */
export function isWasmCodec(codec: { readonly implementation: string }): codec is WasmCodec {
  return codec instanceof WasmCodecImpl;
}
