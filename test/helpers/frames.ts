/**
 * Frames for protocol tests, built and read independently of the codecs under test (plain
 * RFC 6455 §5.2 arithmetic), so a test of the core never checks the codec against itself.
 */
import { concatBytes, utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { buildFrame } from '../codec/frame-builder.js';

/** A fixed mask key for client-side frames in tests. */
export const TEST_MASK_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

export interface FrameOptions {
  readonly fin?: boolean;
  readonly rsv?: number;
  /** Mask with this key (a client's frame); `true` for `TEST_MASK_KEY`; default unmasked. */
  readonly mask?: Uint8Array | boolean;
  /** Declare this length instead of the payload's (for hostile headers). */
  readonly declaredLength?: number;
}

/** One frame's bytes. */
export function frame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), options: FrameOptions = {}): Uint8Array {
  const data = typeof payload === 'string' ? utf8Encode(payload) : payload;
  const maskKey = options.mask === true ? TEST_MASK_KEY : options.mask === false || options.mask === undefined ? null : options.mask;
  return buildFrame({ opcode, payload: data, fin: options.fin, rsv: options.rsv, maskKey, declaredLength: options.declaredLength });
}

/** A close frame's bytes: `code` and `reason`, or an empty payload without a code. */
export function closeFrame(code?: number, reason: string | Uint8Array = '', options: FrameOptions = {}): Uint8Array {
  if (code === undefined) return frame(Opcode.CLOSE, new Uint8Array(0), options);
  const reasonBytes = typeof reason === 'string' ? utf8Encode(reason) : reason;
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return frame(Opcode.CLOSE, payload, options);
}

/** Concatenate byte arrays. */
export function bytesOf(...parts: readonly (Uint8Array | readonly Uint8Array[])[]): Uint8Array {
  return concatBytes(parts.flatMap((part) => (part instanceof Uint8Array ? [part] : [...part])));
}

/** One frame as read back from the wire. */
export interface ReadFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly maskKey: Uint8Array | null;
  /** The 7-bit length field (126/127 announce extended lengths). */
  readonly lengthField: number;
  /** The payload, unmasked. */
  readonly payload: Uint8Array;
}

/** Split bytes a connection sent into frames; throws unless they end exactly at a frame boundary. */
export function readFrames(input: Uint8Array | readonly Uint8Array[]): ReadFrame[] {
  const bytes = input instanceof Uint8Array ? input : bytesOf(input);
  const frames: ReadFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 2) throw new Error(`truncated frame header at byte ${at}`);
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    const lengthField = b1 & 0x7f;
    let pos = at + 2;
    let length = lengthField;
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
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, maskKey, lengthField, payload });
    at = pos + length;
  }
  return frames;
}

/** The code and reason of a close frame's payload (null code for an empty one). */
export function readClose(payload: Uint8Array): { code: number | null; reason: string } {
  if (payload.length < 2) return { code: null, reason: '' };
  return { code: (payload[0]! << 8) | payload[1]!, reason: new TextDecoder().decode(payload.subarray(2)) };
}

/** Text from bytes. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
