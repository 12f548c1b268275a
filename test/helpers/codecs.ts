/**
 * The codecs every codec-dependent suite runs against. The portable codec is the reference;
 * the wasm codec joins once its module is built (`npm run build:wasm`, which `npm test` runs).
 */
import type { Codec } from '../../src/codec/types.js';
import { portableCodec } from '../../src/codec/portable/index.js';

export const codecsUnderTest: Array<[name: string, make: () => Codec | Promise<Codec>]> = [
  ['portable', () => portableCodec],
];
