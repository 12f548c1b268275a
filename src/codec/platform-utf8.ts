/**
 * UTF-8 validation through a platform validator of complete UTF-8 (Node's simdutf-backed
 * `buffer.isUtf8`), giving the canonical validator states of `types.ts` that the codecs carry
 * across fragments and reads.
 */
import { utf8Step } from './portable/utf8.js';
import { UTF8_ACCEPT, UTF8_INVALID } from './types.js';

/** A validator of complete UTF-8: true iff `data` is well-formed and ends at a code point boundary. */
export type IsUtf8 = (data: Uint8Array) => boolean;

/**
 * Below this length the portable validator beats a platform call (and the view it takes):
 * measured on 8–125 B of ASCII and mixed-script text against `buffer.isUtf8`, which costs
 * 50–100 ns a call whatever the length; the portable loop crosses that between 32 and 48 B.
 */
export const PLATFORM_UTF8_MIN_BYTES = 48;

/**
 * The state `utf8Step(data, UTF8_ACCEPT)` gives, with a validator of complete UTF-8: it judges
 * the bytes up to the last sequence, which may be cut off at the end; the portable validator
 * takes that sequence (at most 3 bytes) and gives the exact state to carry.
 */
export function platformUtf8Step(data: Uint8Array, isUtf8: IsUtf8): number {
  const length = data.length;
  if (length === 0) return UTF8_ACCEPT;
  // A sequence cut off at the end has at most 2 continuation bytes after its lead.
  let lead = length - 1;
  while (lead > 0 && lead > length - 3 && (data[lead]! & 0xc0) === 0x80) lead--;
  const byte = data[lead]!;
  const sequenceLength = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  if (lead + sequenceLength <= length) return isUtf8(data) ? UTF8_ACCEPT : UTF8_INVALID;
  if (!isUtf8(data.subarray(0, lead))) return UTF8_INVALID;
  return utf8Step(data.subarray(lead), UTF8_ACCEPT);
}
