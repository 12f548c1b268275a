/**
 * The bytes a bus carries between processes: one buffer per message, never an object graph,
 * so a message costs one copy into the transport and the receiver reads the payload as a
 * view of what arrived.
 *
 *   offset 0  4 bytes  "WSXB" (0x57 0x53 0x58 0x42): tells a bus frame from the
 *                      application's own messages on the same channel
 *          4  1 byte   kind: 1 publish, 2 interest, 3 no more interest
 *          5  1 byte   flags: bit 0 binary (a publish)
 *          6  2 bytes  topic length in bytes, big-endian
 *          8  …        the topic, UTF-8; then the payload (a publish), to the end
 *
 * A batch carries the frames of one tick in one buffer, in order (kind 4, flags and topic
 * length 0), each after its length in 4 bytes, big-endian:
 *
 *   "WSXB" 4 0 0 0 | length₁ frame₁ | length₂ frame₂ | …
 */
import { utf8Encode } from '../shared/bytes.js';
import { InvalidArgumentError } from '../shared/errors.js';

export const BusFrameKind = {
  PUBLISH: 1,
  INTEREST: 2,
  NO_INTEREST: 3,
  BATCH: 4,
} as const;
export type BusFrameKind = (typeof BusFrameKind)[keyof typeof BusFrameKind];

const MAGIC = [0x57, 0x53, 0x58, 0x42] as const;
const HEADER_LENGTH = 8;
const MAX_TOPIC_BYTES = 0xffff;

/** A bus frame, decoded: the payload is a view of the frame's bytes. */
export interface BusFrame {
  readonly kind: BusFrameKind;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly binary: boolean;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** One bus frame. @throws InvalidArgumentError for a topic over 65,535 bytes of UTF-8. */
export function encodeBusFrame(kind: BusFrameKind, topic: string, payload: Uint8Array | null, binary: boolean): Uint8Array {
  const topicBytes = utf8Encode(topic);
  if (topicBytes.length > MAX_TOPIC_BYTES) throw new InvalidArgumentError(`a bus carries topics of at most ${MAX_TOPIC_BYTES} bytes, got ${topicBytes.length}`);
  const payloadLength = payload?.length ?? 0;
  const frame = new Uint8Array(HEADER_LENGTH + topicBytes.length + payloadLength);
  frame.set(MAGIC, 0);
  frame[4] = kind;
  frame[5] = binary ? 1 : 0;
  frame[6] = topicBytes.length >> 8;
  frame[7] = topicBytes.length & 0xff;
  frame.set(topicBytes, HEADER_LENGTH);
  if (payload !== null) frame.set(payload, HEADER_LENGTH + topicBytes.length);
  return frame;
}

/** One buffer holding `frames` (each a bus frame, not a batch), in order. */
export function encodeBusBatch(frames: readonly Uint8Array[]): Uint8Array {
  let length = HEADER_LENGTH;
  for (const frame of frames) length += 4 + frame.length;
  const batch = new Uint8Array(length);
  batch.set(MAGIC, 0);
  batch[4] = BusFrameKind.BATCH;
  const view = new DataView(batch.buffer);
  let offset = HEADER_LENGTH;
  for (const frame of frames) {
    view.setUint32(offset, frame.length);
    batch.set(frame, offset + 4);
    offset += 4 + frame.length;
  }
  return batch;
}

/**
 * The frames of a bus message, in order, as views of its bytes: the frame itself, or a
 * batch's frames. Null when `message` is not well formed (never throws).
 */
export function busFramesOf(message: Uint8Array): Uint8Array[] | null {
  if (!isBusFrame(message)) return null;
  if (message[4] !== BusFrameKind.BATCH) return [message];
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const frames: Uint8Array[] = [];
  let offset = HEADER_LENGTH;
  while (offset < message.length) {
    if (offset + 4 > message.length) return null;
    const end = offset + 4 + view.getUint32(offset);
    if (end > message.length) return null;
    const frame = message.subarray(offset + 4, end);
    if (!isBusFrame(frame) || frame[4] === BusFrameKind.BATCH) return null;
    frames.push(frame);
    offset = end;
  }
  return frames;
}

/** Whether `value` is a bus frame's bytes (by its magic; the rest is checked by `decodeBusFrame`). */
export function isBusFrame(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length >= HEADER_LENGTH && value[0] === MAGIC[0] && value[1] === MAGIC[1] && value[2] === MAGIC[2] && value[3] === MAGIC[3];
}

/** A frame's fields, or null for bytes that are not a well-formed bus frame (never throws). */
export function decodeBusFrame(frame: Uint8Array): BusFrame | null {
  if (!isBusFrame(frame)) return null;
  const kind = frame[4]!;
  // A batch is not one frame: `busFramesOf` takes it apart.
  if (kind !== BusFrameKind.PUBLISH && kind !== BusFrameKind.INTEREST && kind !== BusFrameKind.NO_INTEREST) return null;
  const topicEnd = HEADER_LENGTH + ((frame[6]! << 8) | frame[7]!);
  if (topicEnd > frame.length || (kind !== BusFrameKind.PUBLISH && topicEnd !== frame.length)) return null;
  let topic: string;
  try {
    topic = decoder.decode(frame.subarray(HEADER_LENGTH, topicEnd));
  } catch {
    return null;
  }
  return { kind: kind as BusFrameKind, topic, payload: frame.subarray(topicEnd), binary: (frame[5]! & 1) !== 0 };
}
