/**
 * Frame serialization (RFC 6455 §5.2): headers come from `Codec.encodeHeader` (minimal length
 * encoding), client payloads are masked with a fresh key per frame (§5.3), and server payloads
 * are not copied at all: a frame is a header chunk plus the caller's payload, ready for a
 * vectored write.
 */
import type { MaskKeyPool } from '../codec/mask-key-pool.js';
import { type Codec, frameHeaderLength } from '../codec/types.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { isControlOpcode, isKnownOpcode, MAX_CONTROL_PAYLOAD } from '../shared/constants.js';

/**
 * Writes frames for one side of a connection. A client serializer masks every frame with a
 * key from its pool; a server serializer never masks.
 */
export class FrameSerializer {
  readonly #codec: Codec;
  readonly #maskKeys: MaskKeyPool | null;
  /**
   * Scratch for the current frame's key, so masking allocates no key array; a client's only
   * (a server masks nothing, and a typed array costs far more memory than its 4 bytes).
   */
  readonly #key: Uint8Array | null;

  /**
   * @param maskKeys the client's key pool; null on a server ("A server MUST NOT mask any
   *   frames that it sends to the client", RFC 6455 §5.1).
   */
  constructor(codec: Codec, maskKeys: MaskKeyPool | null) {
    this.#codec = codec;
    this.#maskKeys = maskKeys;
    this.#key = maskKeys === null ? null : new Uint8Array(4);
  }

  /**
   * A server's serializer over `codec`: it holds nothing of a connection, so the connections
   * of a server share one (the last one made, kept for the next connection over that codec).
   */
  static forServer(codec: Codec): FrameSerializer {
    const last = lastServerSerializer;
    if (last !== null && last.#codec === codec) return last;
    return (lastServerSerializer = new FrameSerializer(codec, null));
  }

  /** Whether frames are masked (client side). */
  get masks(): boolean {
    return this.#maskKeys !== null;
  }

  /**
   * Append one frame to `out` and return its size in bytes.
   *
   * Server: `[header, payload]`, the payload itself, not a copy (so it must not change until
   * the chunks are written). Client: the payload is masked with a fresh key — into a new
   * buffer that also holds the header, or, when `owned` says the payload belongs to the
   * connection (e.g. freshly encoded text), in place behind a separate header chunk.
   *
   * @param rsv RSV bits as `rsv1 << 2 | rsv2 << 1 | rsv3`.
   */
  write(out: Uint8Array[], fin: boolean, rsv: number, opcode: number, payload: Uint8Array, owned: boolean): number {
    const length = payload.length;
    const maskKeys = this.#maskKeys;
    if (maskKeys === null) {
      const header = new Uint8Array(frameHeaderLength(length, false));
      this.#codec.encodeHeader(header, 0, fin, rsv, opcode, length, null);
      out.push(header);
      if (length > 0) out.push(payload);
      return header.length + length;
    }
    // §5.3: "The masking key is a 32-bit value chosen at random by the client ... the client
    // MUST pick a fresh masking key from the set of allowed 32-bit values."
    const key = this.#key!;
    maskKeys.fill(key, 0);
    const headerLength = frameHeaderLength(length, true);
    if (owned && length > 0) {
      const header = new Uint8Array(headerLength);
      this.#codec.encodeHeader(header, 0, fin, rsv, opcode, length, key);
      this.#codec.mask(payload, key, 0);
      out.push(header, payload);
    } else {
      const frame = new Uint8Array(headerLength + length);
      this.#codec.encodeHeader(frame, 0, fin, rsv, opcode, length, key);
      if (length > 0) this.#codec.maskInto(payload, key, frame, headerLength, 0);
      out.push(frame);
    }
    return headerLength + length;
  }
}

let lastServerSerializer: FrameSerializer | null = null;

/** A frame to serialize in one piece with `serializeFrame`. */
export interface FrameSpec {
  /** Default true. */
  readonly fin?: boolean;
  /** RSV bits as `rsv1 << 2 | rsv2 << 1 | rsv3`; default 0. */
  readonly rsv?: number;
  readonly opcode: number;
  /** Default empty. */
  readonly payload?: Uint8Array;
  /** Mask with this 4-byte key (a client frame); default unmasked (a server frame). */
  readonly maskKey?: Uint8Array | null;
}

/**
 * Serialize one frame into a single new buffer: for pre-encoded frames in benchmarks and load
 * generators, and for tests. Connections use `FrameSerializer`, which avoids the copy.
 *
 * @throws InvalidArgumentError for an unknown opcode, RSV bits outside 0–7, a control frame
 *   that is fragmented or carries more than 125 bytes (RFC 6455 §5.5), or a key that is not
 *   4 bytes.
 */
export function serializeFrame(codec: Codec, spec: FrameSpec): Uint8Array {
  const { fin = true, rsv = 0, opcode, payload = new Uint8Array(0), maskKey = null } = spec;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xf || !isKnownOpcode(opcode)) {
    throw new InvalidArgumentError(`unknown opcode ${String(opcode)}`);
  }
  if (!Number.isInteger(rsv) || rsv < 0 || rsv > 7) throw new InvalidArgumentError(`RSV bits must be 0–7, got ${String(rsv)}`);
  if (isControlOpcode(opcode)) {
    if (!fin) throw new InvalidArgumentError('control frames cannot be fragmented (RFC 6455 §5.5)');
    if (payload.length > MAX_CONTROL_PAYLOAD) {
      throw new InvalidArgumentError(`control frame payload of ${payload.length} bytes; at most ${MAX_CONTROL_PAYLOAD} are allowed (RFC 6455 §5.5)`);
    }
  }
  if (maskKey !== null && maskKey.length !== 4) throw new InvalidArgumentError(`a mask key is 4 bytes, got ${maskKey.length}`);
  const headerLength = frameHeaderLength(payload.length, maskKey !== null);
  const frame = new Uint8Array(headerLength + payload.length);
  codec.encodeHeader(frame, 0, fin, rsv, opcode, payload.length, maskKey);
  if (maskKey === null) frame.set(payload, headerLength);
  else codec.maskInto(payload, maskKey, frame, headerLength, 0);
  return frame;
}
