/** Build raw frames for codec tests (independent of the codecs under test). */

export interface RawFrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Uint8Array;
  /** A mask key makes a masked frame: the payload is masked on the wire. */
  maskKey?: Uint8Array | null;
  /** Force a length encoding (7, 16 or 64 bits) to build non-minimal headers. */
  lengthBits?: 7 | 16 | 64;
  /** Declare this payload length instead of the real one (for hostile headers). */
  declaredLength?: number | bigint;
}

export function buildFrame(spec: RawFrameSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const declared = BigInt(spec.declaredLength ?? payload.length);
  const bits = spec.lengthBits ?? (declared < 126n ? 7 : declared < 65536n ? 16 : 64);
  const maskKey = spec.maskKey ?? null;
  const header: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode];
  const maskBit = maskKey ? 0x80 : 0;
  if (bits === 7) header.push(maskBit | Number(declared));
  else if (bits === 16) header.push(maskBit | 126, Number(declared >> 8n) & 0xff, Number(declared) & 0xff);
  else {
    header.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((declared >> shift) & 0xffn));
  }
  if (maskKey) header.push(...maskKey);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  for (let i = 0; i < payload.length; i++) {
    out[header.length + i] = maskKey ? payload[i]! ^ maskKey[i & 3]! : payload[i]!;
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
