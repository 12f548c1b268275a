/**
 * Frame serialization (RFC 6455 §5.2): headers come from `Codec.encodeHeader` (minimal length
 * encoding), client payloads are masked with a fresh key per frame (§5.3). Frames are written
 * into the thread's `FrameSlab`: a small frame is one chunk, header and payload, right behind
 * the chunk before it; a large server payload is not copied at all but queued behind its
 * header, ready for a vectored write.
 */
import type { MaskKeyPool } from '../codec/mask-key-pool.js';
import { type Codec, frameHeaderLength } from '../codec/types.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { isControlOpcode, isKnownOpcode, MAX_CONTROL_PAYLOAD } from '../shared/constants.js';
import { COPY_BELOW, type FrameSlab } from './frame-slab.js';

/**
 * The current frame's masking key: written and used within one `write` call, so one array
 * serves every connection of the thread.
 */
const KEY = new Uint8Array(4);

/** A string of fewer UTF-16 units than this is encoded straight into its frame: its UTF-8 is at most 3 bytes a unit. */
const TEXT_IN_FRAME_BELOW = Math.ceil(COPY_BELOW / 3);

const textEncoder = new TextEncoder();

/**
 * Writes frames for one side of a connection. A client serializer masks every frame with a
 * key from its pool; a server serializer never masks.
 */
export class FrameSerializer {
  readonly #codec: Codec;
  readonly #maskKeys: MaskKeyPool | null;
  readonly #slab: FrameSlab;

  /**
   * @param maskKeys the client's key pool; null on a server ("A server MUST NOT mask any
   *   frames that it sends to the client", RFC 6455 §5.1).
   * @param slab where frames are written (the thread's, for the connection's `allocate`).
   */
  constructor(codec: Codec, maskKeys: MaskKeyPool | null, slab: FrameSlab) {
    this.#codec = codec;
    this.#maskKeys = maskKeys;
    this.#slab = slab;
  }

  /**
   * A server's serializer over `codec` and `slab`: it holds nothing of a connection, so the
   * connections of a server share one (the last one made, kept for the next connection over
   * the same codec and slab).
   */
  static forServer(codec: Codec, slab: FrameSlab): FrameSerializer {
    const last = lastServerSerializer;
    if (last !== null && last.#codec === codec && last.#slab === slab) return last;
    return (lastServerSerializer = new FrameSerializer(codec, null, slab));
  }

  /** Where frames are written; the connection queues its other small chunks there too. */
  get slab(): FrameSlab {
    return this.#slab;
  }

  /** Whether frames are masked (client side). */
  get masks(): boolean {
    return this.#maskKeys !== null;
  }

  /**
   * Append one frame to `out` and return its size in bytes.
   *
   * A payload under `COPY_BELOW` bytes is copied (masked, on a client) into the slab behind
   * its header. A larger one on a server is queued itself, not a copy, behind a header chunk
   * (so it must not change until the chunks are written). On a client it is masked with a
   * fresh key — into a new buffer that also holds the header, or, when `owned` says the
   * payload belongs to the connection (e.g. an encoder's output), in place behind a separate
   * header chunk.
   *
   * @param rsv RSV bits as `rsv1 << 2 | rsv2 << 1 | rsv3`.
   */
  write(out: Uint8Array[], fin: boolean, rsv: number, opcode: number, payload: Uint8Array, owned: boolean): number {
    const length = payload.length;
    const codec = this.#codec;
    const slab = this.#slab;
    const maskKeys = this.#maskKeys;
    const masked = maskKeys !== null;
    let key: Uint8Array | null = null;
    if (masked) {
      // §5.3: "The masking key is a 32-bit value chosen at random by the client ... the
      // client MUST pick a fresh masking key from the set of allowed 32-bit values."
      key = KEY;
      maskKeys.fill(key, 0);
    }
    const headerLength = frameHeaderLength(length, masked);
    if (length < COPY_BELOW) {
      const bytes = slab.reserve(headerLength + length);
      const at = slab.offset;
      codec.encodeHeader(bytes, at, fin, rsv, opcode, length, key);
      if (key !== null) codec.maskInto(payload, key, bytes, at + headerLength, 0);
      else bytes.set(payload, at + headerLength);
      slab.commit(out, at + headerLength + length);
    } else if (key === null || owned) {
      const bytes = slab.reserve(headerLength);
      const at = slab.offset;
      codec.encodeHeader(bytes, at, fin, rsv, opcode, length, key);
      slab.commit(out, at + headerLength);
      if (key !== null) codec.mask(payload, key, 0);
      out.push(payload);
    } else {
      const frame = slab.allocate(headerLength + length);
      codec.encodeHeader(frame, 0, fin, rsv, opcode, length, key);
      codec.maskInto(payload, key, frame, headerLength, 0);
      out.push(frame);
    }
    return headerLength + length;
  }

  /**
   * Append one frame carrying `text` as UTF-8, encoded straight into the slab behind its
   * header (masked there on a client), and return the payload's size in bytes; or, for a
   * string too long to be sure its UTF-8 is under `COPY_BELOW` bytes, write nothing and
   * return -1 (then encode it and `write` the bytes).
   */
  writeText(out: Uint8Array[], fin: boolean, rsv: number, opcode: number, text: string): number {
    const units = text.length;
    if (units >= TEXT_IN_FRAME_BELOW) return -1;
    const slab = this.#slab;
    const codec = this.#codec;
    const maskKeys = this.#maskKeys;
    const keyLength = maskKeys === null ? 0 : 4;
    // The payload goes behind the longest header its length may need (§5.2: 2 bytes up to
    // 125, 4 up to 65535); when it is shorter it moves up to its header.
    const most = units * 3;
    const room = (most < 126 ? 2 : 4) + keyLength;
    const bytes = slab.reserve(room + most);
    const at = slab.offset;
    const length = textEncoder.encodeInto(text, bytes.subarray(at + room, at + room + most)).written;
    const headerLength = (length < 126 ? 2 : 4) + keyLength;
    if (headerLength < room) bytes.copyWithin(at + headerLength, at + room, at + room + length);
    let key: Uint8Array | null = null;
    if (maskKeys !== null) {
      // §5.3: a fresh key per frame, as in `write`.
      key = KEY;
      maskKeys.fill(key, 0);
    }
    codec.encodeHeader(bytes, at, fin, rsv, opcode, length, key);
    if (key !== null && length > 0) codec.mask(bytes.subarray(at + headerLength, at + headerLength + length), key, 0);
    slab.commit(out, at + headerLength + length);
    return length;
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
