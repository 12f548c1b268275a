/**
 * Decoding of the base64 the build inlines the wasm modules as (`*.generated.ts`). The input
 * is our own build output, so this is a small trusting decoder, not a validating one; it
 * needs no platform global (`atob`, `Buffer`), so it runs the same in Node, a page and a worker.
 */

const SEXTETS = new Uint8Array(128);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < 64; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i;

/** The bytes of padded base64 `text` produced by scripts/build-wasm.mjs. */
export function decodeInlineBytes(text: string): Uint8Array<ArrayBuffer> {
  const end = text.endsWith('==') ? text.length - 2 : text.endsWith('=') ? text.length - 1 : text.length;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let bitCount = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    bits = ((bits << 6) | SEXTETS[text.charCodeAt(i) & 0x7f]!) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[o++] = (bits >>> bitCount) & 0xff;
    }
  }
  return out;
}
