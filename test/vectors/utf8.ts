/**
 * UTF-8 test corpus: the boundaries of every sequence length and every malformed category of
 * the Unicode Standard §3.9 (Table 3-7) and its "U+FFFD substitution" examples.
 */
import { fromHex } from '../../src/shared/bytes.js';

export interface Utf8Case {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly valid: boolean;
  /** For invalid input: index of the first byte at which the input can no longer be valid
   *  (fail-fast position), or `null` if it only fails at the end (truncated sequence). */
  readonly failsAt: number | null;
}

function valid(name: string, hex: string): Utf8Case {
  return { name, bytes: fromHex(hex), valid: true, failsAt: null };
}
function invalid(name: string, hex: string, failsAt: number | null): Utf8Case {
  return { name, bytes: fromHex(hex), valid: false, failsAt };
}

export const utf8Cases: readonly Utf8Case[] = [
  valid('empty', ''),
  valid('U+0000', '00'),
  valid('U+007F (last 1-byte)', '7f'),
  valid('U+0080 (first 2-byte)', 'c2 80'),
  valid('U+07FF (last 2-byte)', 'df bf'),
  valid('U+0800 (first 3-byte)', 'e0 a0 80'),
  valid('U+D7FF (last before surrogates)', 'ed 9f bf'),
  valid('U+E000 (first after surrogates)', 'ee 80 80'),
  valid('U+FFFD', 'ef bf bd'),
  valid('U+FFFF (last 3-byte)', 'ef bf bf'),
  valid('U+10000 (first 4-byte)', 'f0 90 80 80'),
  valid('U+10FFFF (last code point)', 'f4 8f bf bf'),
  valid('mixed script "κόσμε"', 'ce ba e1 bd b9 cf 83 ce bc ce b5'),
  valid('emoji sequence', 'f0 9f 98 80 f0 9f 91 8d f0 9f 8f bd'),
  valid('ASCII then 4-byte', '48 65 6c 6c 6f f0 9f 8c 8d'),
  invalid('lone continuation 0x80', '80', 0),
  invalid('lone continuation 0xBF', 'bf', 0),
  invalid('continuation after ASCII', '41 80', 1),
  invalid('C0 (overlong lead)', 'c0 80', 0),
  invalid('C1 (overlong lead)', 'c1 bf', 0),
  invalid('overlong 3-byte E0 80 80 (U+0000)', 'e0 80 80', 1),
  invalid('overlong 3-byte E0 9F BF (U+07FF)', 'e0 9f bf', 1),
  invalid('overlong 4-byte F0 80 80 80', 'f0 80 80 80', 1),
  invalid('overlong 4-byte F0 8F BF BF (U+FFFF)', 'f0 8f bf bf', 1),
  invalid('surrogate U+D800', 'ed a0 80', 1),
  invalid('surrogate U+DBFF', 'ed af bf', 1),
  invalid('surrogate U+DC00', 'ed b0 80', 1),
  invalid('surrogate U+DFFF', 'ed bf bf', 1),
  invalid('surrogate pair encoded (CESU-8)', 'ed a0 bd ed b2 a9', 1),
  invalid('above U+10FFFF: F4 90 80 80', 'f4 90 80 80', 1),
  invalid('F5 lead', 'f5 80 80 80', 0),
  invalid('F8 (5-byte lead)', 'f8 88 80 80 80', 0),
  invalid('FC (6-byte lead)', 'fc 84 80 80 80 80', 0),
  invalid('FE', 'fe', 0),
  invalid('FF', 'ff', 0),
  invalid('2-byte lead then ASCII', 'c2 41', 1),
  invalid('3-byte lead, one continuation, then ASCII', 'e1 80 41', 2),
  invalid('4-byte lead, two continuations, then a lead', 'f1 80 80 c2 80', 3),
  invalid('truncated 2-byte at end', 'c2', null),
  invalid('truncated 3-byte at end', 'e1 80', null),
  invalid('truncated 4-byte at end', 'f1 80 80', null),
  invalid('valid text then truncated 4-byte', 'ce ba f0 9f 98', null),
  invalid('valid text then invalid in the middle of a long ASCII run',
    '41'.repeat(100) + 'ff' + '41'.repeat(100), 100),
];
