/**
 * The codecs the protocol suites run against: every codec in `codecsUnderTest`, and each of
 * them again behind `transientCodec`, so the core's handling of codec-owned (wasm-style)
 * memory is proven whichever codecs are built.
 */
import type { Codec } from '../../src/codec/types.js';
import { codecsUnderTest } from '../helpers/codecs.js';
import { transientCodec } from './transient-codec.js';

export const protocolCodecs: Array<[name: string, make: () => Promise<Codec>]> = codecsUnderTest.flatMap(
  ([name, make]): Array<[string, () => Promise<Codec>]> => [
    [name, async () => make()],
    [`${name} (transient memory)`, async () => transientCodec(await make())],
  ],
);
