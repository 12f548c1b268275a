/**
 * The port through which permessage-deflate reaches a DEFLATE implementation (RFC 1951). The
 * core compresses nothing itself: `node:zlib` (src/adapters/node/deflate-zlib.ts) and
 * `CompressionStream` (src/adapters/web/deflate-streams.ts) plug in here, and tests can inject
 * their own.
 *
 * An engine works on one message at a time per direction, piece by piece as the connection
 * sends or receives fragments, and knows the framing rules of RFC 7692 §7.2: a compressor
 * returns frame payloads with the trailing `00 00 ff ff` removed, a decompressor appends it.
 */
import type { DecodeOutput } from '../extension.js';
import type { DeflateCapabilities } from './deflate-params.js';

/** How one direction of one connection compresses or decompresses. */
export interface DeflateStreamParameters {
  /**
   * The window in bits (8–15): for a compressor the largest it may use (RFC 7692 §7.1.2),
   * for a decompressor the largest the peer may use.
   */
  readonly windowBits: number;
  /**
   * Whether the context carries over from one message to the next (RFC 7692 §7.1.1). False:
   * each message starts afresh, and the engine may release its state between messages.
   */
  readonly contextTakeover: boolean;
}

/** Compresses the messages one connection sends. */
export interface MessageCompressor {
  /**
   * Compress the next piece of the message; `fin` marks its last piece. Returns the frame
   * payload for this piece: with `fin`, the end of the message's compressed data as RFC 7692
   * §7.2.1 has it (the final empty stored block's `00 00 ff ff` removed). Must not change `data`.
   */
  compress(data: Uint8Array, fin: boolean): Uint8Array | PromiseLike<Uint8Array>;
  /** Release everything; a pending call may still settle, and is ignored. */
  dispose(): void;
}

/** Decompresses the messages one connection receives. */
export interface MessageDecompressor {
  /**
   * Decompress the next piece of a message; `fin` marks its last piece (RFC 7692 §7.2.2: the
   * `00 00 ff ff` is appended to the payload before decompressing). Output goes to `output` as
   * it is produced; once `output.push` refuses a piece, stop and settle.
   *
   * Throw or reject with a `ProtocolError` (1007) for data that is not DEFLATE.
   */
  decompress(data: Uint8Array, fin: boolean, output: DecodeOutput): void | PromiseLike<void>;
  /** Release everything; a pending call may still settle, and is ignored. */
  dispose(): void;
}

/** A DEFLATE implementation for permessage-deflate. */
export interface DeflateEngine {
  /** What it can honour; the negotiation agrees to nothing beyond it. */
  readonly capabilities: DeflateCapabilities;
  /** A compressor for one connection's outgoing messages. Created on the first compressed message. */
  createCompressor(parameters: DeflateStreamParameters): MessageCompressor;
  /** A decompressor for one connection's incoming messages. Created on the first compressed message. */
  createDecompressor(parameters: DeflateStreamParameters): MessageDecompressor;
}

/**
 * The four octets an empty stored block ends with (RFC 7692 §7.2.1), removed from the end of
 * every compressed message and appended again by the receiver (§7.2.2).
 */
export const DEFLATE_TRAILER: Uint8Array = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** Whether `bytes` ends with `00 00 ff ff`. */
export function endsWithTrailer(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[n - 4] === 0x00 && bytes[n - 3] === 0x00 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xff;
}
