/** Small byte helpers shared by every layer (and by tests). */

const textEncoder = new TextEncoder();

/** UTF-8 encode a string. */
export function utf8Encode(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Concatenate byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[], totalLength?: number): Uint8Array {
  let length = totalLength ?? 0;
  if (totalLength === undefined) for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lower-case hex of `bytes` (for tests and diagnostics). */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/** Bytes from hex, ignoring whitespace (for test vectors). */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new RangeError('hex string has an odd number of digits');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    const pair = clean.slice(i * 2, i * 2 + 2);
    // Checked whole: parseInt would read "0g" as 0.
    if (!HEX_PAIR.test(pair)) throw new RangeError(`invalid hex at ${i * 2}`);
    out[i] = Number.parseInt(pair, 16);
  }
  return out;
}
