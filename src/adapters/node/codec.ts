/**
 * The codec every Node connection of this process uses unless given another.
 */
import { isUtf8 } from 'node:buffer';
import { createCodecSync } from '../../codec/select.js';
import type { Codec } from '../../codec/types.js';

let processCodec: Codec | undefined;

/**
 * `createCodecSync()` (wasm with SIMD where it runs and `WASMSOCKET_NO_WASM` is unset, else
 * portable), created on first use. One wasm instance serves every connection: calls are
 * synchronous and never interleave. UTF-8 validated outside frame parsing (streamed payloads,
 * decompressed text, text being sent) goes to Node's simdutf-backed `buffer.isUtf8`, which the
 * codec benchmark (`npm run bench:codec`, figures in bench/results/) measures well ahead of the
 * wasm validator on mixed-script text; frames parsed whole are still validated in the same
 * wasm pass that unmasks them.
 */
export function defaultCodec(): Codec {
  return (processCodec ??= createCodecSync({ platformIsUtf8: isUtf8 }));
}
