/**
 * The frames the generator sends, encoded once and reused as far as each masking mode allows.
 *
 * RFC 6455 §5.3: a client "MUST pick a fresh masking key" for every frame. With `fresh` (the
 * default) every frame gets a key from the codec's key pool and its payload is masked into a
 * buffer of the connection's own; the header is re-encoded with the key, nothing else is
 * allocated. A buffer is reused only once the socket has reported the write that carried it
 * complete (its write callback ran): until then Node may still hold it in its write queue,
 * in a corked batch or in a pending write request, and masking the next frame into it would
 * send bytes nobody meant. Nothing the server sends proves a frame was written — a broadcast
 * or pub/sub server sends messages that are not echoes of anything — so nothing it sends
 * frees a buffer. `pooled` and `fixed` reuse pre-masked frames — the same key
 * more than once — to take the generator's masking cost out of a measurement; a server cannot
 * tell, but they are not valid client behaviour outside a benchmark.
 */
import { type Codec, createMaskKeyPool, frameHeaderLength, type MaskKeyPool } from '../../codec/index.js';
import { serializeFrame } from '../../protocol/serializer.js';
import { Opcode } from '../../shared/constants.js';
import { type RandomSource } from '../../shared/ports.js';
import { MaskMode, type MessageType } from './options.js';

/** The frames of one connection. */
export interface FrameSource {
  /**
   * The bytes of the next frame carrying payload `index`. They stay as they are until
   * `written()` has been called for this frame; at most `maxInFlight` frames (as given to
   * `forConnection`) may await it.
   */
  next(index: number): Uint8Array;
  /**
   * The socket has completed the write of the oldest frame not yet reported: its bytes may be
   * reused. Call it from the socket's write callback, once per frame: a stream completes its
   * writes in the order they were made, so the oldest frame is the one written.
   */
  written(): void;
}

/** Distinct keys per payload in `pooled` mode. */
export const POOLED_KEYS = 256;

/** Memory one payload's `pooled` frames may take; fewer keys are used for large payloads. */
export const POOLED_BYTES_PER_PAYLOAD = 64 * 1024 * 1024;

/** The opcode of a message type. */
export function opcodeOf(type: MessageType): number {
  return type === 'text' ? Opcode.TEXT : Opcode.BINARY;
}

/** Frames pre-masked once and shared by every connection of a worker (`pooled`, `fixed`). */
class PremaskedFrames implements FrameSource {
  readonly #frames: readonly (readonly Uint8Array[])[];
  readonly #cursors: Uint32Array;

  constructor(frames: readonly (readonly Uint8Array[])[]) {
    this.#frames = frames;
    this.#cursors = new Uint32Array(frames.length);
  }

  next(index: number): Uint8Array {
    const pool = this.#frames[index]!;
    const cursor = this.#cursors[index]!;
    this.#cursors[index] = cursor + 1 === pool.length ? 0 : cursor + 1;
    return pool[cursor]!;
  }

  written(): void {}
}

/**
 * What each message carries on the wire: its payload as sent (compressed, with permessage-
 * deflate) and the RSV bits of its frame (`rsv1 << 2 | rsv2 << 1 | rsv3`; RSV1 marks a
 * compressed message, RFC 7692 §6).
 */
export interface WirePayload {
  readonly bytes: Uint8Array;
  readonly rsv: number;
}

/** Frames masked with a fresh key as they are sent, in buffers owned by one connection. */
class FreshFrames implements FrameSource {
  readonly #codec: Codec;
  readonly #keys: MaskKeyPool;
  readonly #payloads: readonly WirePayload[];
  readonly #opcode: number;
  readonly #slotSize: number;
  readonly #key = new Uint8Array(4);
  /** Slot buffers, and per slot the view of each payload's frame in it (made once). */
  readonly #slots: Uint8Array[] = [];
  readonly #views: Uint8Array[][] = [];
  readonly #free: number[] = [];
  /** Slots whose write has not completed, oldest first (a ring). */
  readonly #inFlight: Int32Array;
  #head = 0;
  #count = 0;

  constructor(codec: Codec, keys: MaskKeyPool, payloads: readonly WirePayload[], opcode: number, maxInFlight: number) {
    this.#codec = codec;
    this.#keys = keys;
    this.#payloads = payloads;
    this.#opcode = opcode;
    this.#slotSize = Math.max(...payloads.map(({ bytes }) => frameHeaderLength(bytes.length, true) + bytes.length));
    this.#inFlight = new Int32Array(maxInFlight);
  }

  next(index: number): Uint8Array {
    const capacity = this.#inFlight.length;
    if (this.#count === capacity) throw new RangeError(`more than ${capacity} frames waiting to be written on one connection`);
    const slot = this.#free.pop() ?? this.#addSlot();
    this.#inFlight[(this.#head + this.#count) % capacity] = slot;
    this.#count++;
    const buffer = this.#slots[slot]!;
    const { bytes: payload, rsv } = this.#payloads[index]!;
    const key = this.#key;
    // §5.3: a fresh key for every frame.
    this.#keys.fill(key, 0);
    const headerLength = this.#codec.encodeHeader(buffer, 0, true, rsv, this.#opcode, payload.length, key);
    if (payload.length > 0) this.#codec.maskInto(payload, key, buffer, headerLength, 0);
    return this.#views[slot]![index]!;
  }

  written(): void {
    if (this.#count === 0) return;
    this.#free.push(this.#inFlight[this.#head]!);
    this.#head = (this.#head + 1) % this.#inFlight.length;
    this.#count--;
  }

  #addSlot(): number {
    const buffer = new Uint8Array(this.#slotSize);
    this.#slots.push(buffer);
    this.#views.push(this.#payloads.map(({ bytes }) => buffer.subarray(0, frameHeaderLength(bytes.length, true) + bytes.length)));
    return this.#slots.length - 1;
  }
}

/** Makes the `FrameSource` of each connection of a worker. */
export interface FrameFactory {
  /** @param maxInFlight the most frames the connection will have waiting to be written. */
  forConnection(maxInFlight: number): FrameSource;
}

/** Payloads sent as they are: no extension transforms them. */
export function plainPayloads(payloads: readonly Uint8Array[]): WirePayload[] {
  return payloads.map((bytes) => ({ bytes, rsv: 0 }));
}

/** The frame factory for `mode`, carrying `payloads` as `type` messages. */
export function createFrameFactory(codec: Codec, random: RandomSource, payloads: readonly WirePayload[], type: MessageType, mode: MaskMode): FrameFactory {
  const opcode = opcodeOf(type);
  if (mode === MaskMode.FRESH) {
    const keys = createMaskKeyPool(random);
    return { forConnection: (maxInFlight) => new FreshFrames(codec, keys, payloads, opcode, maxInFlight) };
  }
  const key = new Uint8Array(4);
  const frames = payloads.map(({ bytes: payload, rsv }) => {
    const count = mode === MaskMode.FIXED ? 1 : Math.max(1, Math.min(POOLED_KEYS, Math.floor(POOLED_BYTES_PER_PAYLOAD / (payload.length + 14))));
    return Array.from({ length: count }, () => {
      random(key);
      return serializeFrame(codec, { opcode, rsv, payload, maskKey: key });
    });
  });
  const shared = new PremaskedFrames(frames);
  return { forConnection: () => shared };
}
