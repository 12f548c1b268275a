/**
 * `wasmsocket/codec`: the frame codec on its own — masking, UTF-8 validation and frame
 * parsing, in WebAssembly with SIMD or in portable TypeScript, behind one interface.
 */
export * from './types.js';
export { portableCodec, createMaskKeyPool, type MaskKeyPool } from './portable/index.js';
export {
  createCodec,
  createCodecSync,
  isWasmDisabledByEnvironment,
  NO_WASM_ENV,
  type CodecChoice,
  type CreateCodecOptions,
} from './select.js';
export { isWasmCodec, isWasmSimdSupported, type WasmCodec } from './wasm/index.js';
