/**
 * Reading what an endpoint put on the wire, independently of the codecs under test: a plain
 * RFC 6455 §5.2 frame reader that keeps every field, so tests can check the MASK bit, the
 * key, the length encoding and the payload of each frame sent.
 */

/** One frame as it was on the wire. */
export interface WireFrame {
  readonly fin: boolean;
  /** `rsv1 << 2 | rsv2 << 1 | rsv3`. */
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** The mask key, or null. */
  readonly maskKey: Uint8Array | null;
  /** The 7-bit length field (126 and 127 announce the extended lengths). */
  readonly lengthField: number;
  /** The payload, unmasked. */
  readonly payload: Uint8Array;
}

/**
 * Split `bytes` into frames. Throws if the bytes do not end exactly at a frame boundary, so
 * a test never passes on a truncated or garbled stream.
 */
export function readFrames(bytes: Uint8Array): WireFrame[] {
  const frames: WireFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 2) throw new Error(`truncated frame header at byte ${at}`);
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    const lengthField = b1 & 0x7f;
    let length = lengthField;
    let pos = at + 2;
    if (lengthField === 126) {
      length = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
    } else if (lengthField === 127) {
      length = 0;
      for (let i = 0; i < 8; i++) length = length * 256 + bytes[pos + i]!;
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskKey = masked ? bytes.slice(pos, pos + 4) : null;
    if (masked) pos += 4;
    if (pos + length > bytes.length) throw new Error(`truncated frame payload at byte ${at}`);
    const payload = bytes.slice(pos, pos + length);
    if (maskKey !== null) for (let i = 0; i < payload.length; i++) payload[i]! ^= maskKey[i & 3]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0xf, masked, maskKey, lengthField, payload });
    at = pos + length;
  }
  return frames;
}

/** The code and reason of a close frame's payload (code undefined for an empty payload). */
export function closePayload(payload: Uint8Array): { code: number | undefined; reason: string } {
  if (payload.length < 2) return { code: undefined, reason: '' };
  return { code: (payload[0]! << 8) | payload[1]!, reason: new TextDecoder().decode(payload.subarray(2)) };
}

/** A close frame payload: code, then the reason in UTF-8 (or raw reason bytes). */
export function closeBody(code: number, reason: string | Uint8Array = ''): Uint8Array {
  const reasonBytes = typeof reason === 'string' ? new TextEncoder().encode(reason) : reason;
  const out = new Uint8Array(2 + reasonBytes.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(reasonBytes, 2);
  return out;
}
