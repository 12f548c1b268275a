/**
 * Strict base64 (RFC 4648 §4, the standard alphabet with `=` padding), written out so that the
 * handshake depends on no platform global (`btoa`, `Buffer`).
 *
 * Decoding is strict because RFC 6455 §4.2.1 requires a Sec-WebSocket-Key that "when decoded,
 * is 16 bytes in length": only the canonical encoding is accepted — length a multiple of 4,
 * padding only at the end, no whitespace, no URL-safe letters, and zero bits in the unused
 * low bits of the last character (RFC 4648 §3.5), so every byte string has exactly one
 * accepted spelling.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='

/** Sextet value per char code; 0xff for characters outside the alphabet. */
const DECODE: Uint8Array = (() => {
  const table = new Uint8Array(256).fill(0xff);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Base64-encode `bytes` with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const left = bytes.length - whole;
  if (left === 1) {
    const n = bytes[whole]! << 16;
    out += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}==`;
  } else if (left === 2) {
    const n = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    out += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}${ALPHABET[(n >>> 6) & 63]!}=`;
  }
  return out;
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 256 ? DECODE[code]! : 0xff;
}

/**
 * Decode canonical padded base64. Returns null for anything else (wrong length, a character
 * outside the alphabet, misplaced padding, non-zero unused bits).
 */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  let padding = 0;
  if (text.length > 0 && text.charCodeAt(text.length - 1) === PAD) {
    padding = text.charCodeAt(text.length - 2) === PAD ? 2 : 1;
  }
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  const dataLength = text.length - padding;
  let o = 0;
  let i = 0;
  for (; i + 4 <= dataLength; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) > 63) return null; // 0xff marks a character outside the alphabet
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (padding === 2) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    if ((a | b) > 63 || (b & 0x0f) !== 0) return null;
    out[o] = (a << 2) | (b >>> 4);
  } else if (padding === 1) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    if ((a | b | c) > 63 || (c & 0x03) !== 0) return null;
    out[o] = (a << 2) | (b >>> 4);
    out[o + 1] = ((b & 0x0f) << 4) | (c >>> 2);
  }
  return out;
}
