/**
 * The portable codec: pure TypeScript, no WebAssembly. It is the reference implementation the
 * wasm codec is proven against, and it serves where WebAssembly is unavailable or disabled.
 */
import { type IsUtf8, PLATFORM_UTF8_MIN_BYTES, platformUtf8Step } from '../platform-utf8.js';
import { type Codec, UTF8_ACCEPT } from '../types.js';
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

/**
 * The portable codec with a platform validator of complete UTF-8 (Node's `buffer.isUtf8`)
 * for inputs long enough to repay the call (`PLATFORM_UTF8_MIN_BYTES`): the same answers as
 * `portableCodec`, for a Node process that runs without WebAssembly.
 */
export function createPortableCodec(isUtf8: IsUtf8): Codec {
  return Object.freeze({
    implementation: 'portable' as const,
    mask,
    maskInto,
    validateUtf8: (data: Uint8Array) => (data.length < PLATFORM_UTF8_MIN_BYTES ? validateUtf8(data) : isUtf8(data)),
    utf8Step: (data: Uint8Array, state: number) =>
      state === UTF8_ACCEPT && data.length >= PLATFORM_UTF8_MIN_BYTES ? platformUtf8Step(data, isUtf8) : utf8Step(data, state),
    parseFrames: (...args: Parameters<Codec['parseFrames']>) => parseFrames(...args, isUtf8),
    encodeHeader,
  });
}
