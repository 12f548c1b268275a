/**
 * Deterministic payloads, the same as test/interop/python/common.py builds: a message is
 * described by its size and checked by its SHA-256, so a 16 MiB payload never crosses a pipe
 * twice, and every peer reports what it received in the same shape.
 */
import { createHash } from 'node:crypto';

/** The sizes every pairing sends as text and as binary: empty, the largest 7-bit length, the
 *  smallest 16-bit length (RFC 6455 §5.2), and 64 KiB (the smallest 64-bit length). */
export const FRAME_LENGTH_BOUNDARIES = [0, 125, 126, 64 * 1024] as const;

/** The large message size: 16 MiB, well past every socket buffer, so it crosses many reads. */
export const LARGE = 16 * 1024 * 1024;

const BINARY_PERIOD = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 31 + 7) & 0xff));
const TEXT_PERIOD = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');

/** `size` bytes where byte i is (i * 31 + 7) mod 256. */
export function patternBytes(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += BINARY_PERIOD.length) {
    BINARY_PERIOD.copy(bytes, offset, 0, Math.min(BINARY_PERIOD.length, size - offset));
  }
  return bytes;
}

/** A string of exactly `size` UTF-8 bytes of printable ASCII: character i is 32 + (i * 7) mod 95. */
export function patternText(size: number): string {
  return TEXT_PERIOD.repeat(Math.floor(size / TEXT_PERIOD.length)) + TEXT_PERIOD.slice(0, size % TEXT_PERIOD.length);
}

/** The shared pattern of `size` bytes as a text or a binary message. */
export function pattern(type: MessageType, size: number): string | Buffer {
  return type === 'text' ? patternText(size) : patternBytes(size);
}

export type MessageType = 'text' | 'binary';

/** What a peer reports about a message it received (python/common.py `describe`). */
export interface MessageReport {
  readonly type: MessageType;
  readonly length: number;
  readonly sha256: string;
  /** The text itself, when at most 256 bytes. */
  readonly data?: string;
  /** The bytes in hex, when at most 256. */
  readonly hex?: string;
}

/** The report for a message: its type, byte length, SHA-256 and, when small, its content. */
export function describeMessage(message: string | Uint8Array): MessageReport {
  const text = typeof message === 'string';
  const bytes = text ? Buffer.from(message, 'utf8') : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length > 256) return { type: text ? 'text' : 'binary', length: bytes.length, sha256: digest };
  return text
    ? { type: 'text', length: bytes.length, sha256: digest, data: message }
    : { type: 'binary', length: bytes.length, sha256: digest, hex: bytes.toString('hex') };
}

/** `message` cut into pieces of `size` units (characters or bytes); an empty message is one empty piece. */
export function cutIntoPieces<T extends string | Uint8Array>(message: T, size: number): T[] {
  if (message.length === 0) return [message];
  const pieces: T[] = [];
  for (let offset = 0; offset < message.length; offset += size) {
    pieces.push(message.slice(offset, offset + size) as T);
  }
  return pieces;
}
