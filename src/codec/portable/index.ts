/**
 * The portable codec: pure TypeScript, no WebAssembly. It is the reference implementation the
 * wasm codec is proven against, and it serves where WebAssembly is unavailable or disabled.
 */
import type { Codec } from '../types.js';
import { encodeHeader, parseFrames } from './frames.js';
import { mask, maskInto } from './mask.js';
import { utf8Step, validateUtf8 } from './utf8.js';

export { createMaskKeyPool, type MaskKeyPool } from '../mask-key-pool.js';

/** The pure-TypeScript codec (stateless; one instance serves every connection). */
export const portableCodec: Codec = Object.freeze({
  implementation: 'portable' as const,
  mask,
  maskInto,
  validateUtf8,
  utf8Step,
  parseFrames,
  encodeHeader,
});
