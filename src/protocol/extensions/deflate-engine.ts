/**
 * The port through which permessage-deflate reaches a DEFLATE implementation (RFC 1951). The
 * core compresses nothing itself: `node:zlib` (src/adapters/node/deflate-zlib.ts) and
 * `CompressionStream` (src/adapters/web/deflate-streams.ts) plug in here, and tests can inject
 * their own.
 *
 * An engine knows raw DEFLATE and nothing of WebSocket framing: per direction of a connection it
 * keeps one stream of DEFLATE blocks (no zlib or gzip wrapper), fed a message at a time, piece
 * by piece as the connection sends or receives fragments, and told where each message ends. The
 * framing of RFC 7692 §7.2 — the `00 00 ff ff` removed after compressing a message and appended
 * before decompressing one — is permessage-deflate's, done once for every engine
 * (src/protocol/extensions/permessage-deflate.ts).
 */
import { CloseCode } from '../../shared/constants.js';
import { ErrorCode, ProtocolError } from '../../shared/errors.js';
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

/**
 * How a compressor ends the data of a message, at an octet boundary with all of it output:
 * - `'sync-flush'`: with an empty stored block (BTYPE 00, LEN 0: its last four octets are
 *   `00 00 ff ff`), as zlib's `Z_SYNC_FLUSH` writes it. The stream goes on; with context
 *   takeover, the next message uses its window.
 * - `'final-block'`: with the stream's last block (BFINAL set), padded to an octet. The next
 *   message starts a new stream.
 */
export type DeflateMessageEnd = 'sync-flush' | 'final-block';

/** Compresses the messages one connection sends into raw DEFLATE. */
export interface RawDeflater {
  /** How the compressed data of each message ends (see `DeflateMessageEnd`). */
  readonly messageEnd: DeflateMessageEnd;
  /**
   * Compress the next piece of a message; `end` marks its last piece. Returns the compressed
   * bytes produced, in order, as any number of chunks (none is fine). Before the last piece
   * the engine may hold output back; with it, everything the message compresses to has been
   * returned, ending as `messageEnd` says. Must not change `data`; the chunks are the caller's
   * to keep.
   */
  deflate(data: Uint8Array, end: boolean): readonly Uint8Array[] | PromiseLike<readonly Uint8Array[]>;
  /** Release everything; a pending call may still settle, and is ignored. */
  dispose(): void;
}

/** Decompresses the raw DEFLATE of the messages one connection receives. */
export interface RawInflater {
  /**
   * Decompress `data`, the next bytes of a message's compressed data. `last`, when given, comes
   * right after `data` and ends the message: its bytes are the message's final ones, and may
   * lie after the end of the DEFLATE stream (a block with BFINAL set), where they are ignored.
   * Bytes after the end of the stream anywhere else may be refused as invalid data or ignored.
   * Once a stream has ended, the next message starts a new one.
   *
   * Output goes to `output` as it is produced; once `output.push` refuses a piece, stop and
   * settle. Throw or reject with `invalidDeflateData` for input that is not DEFLATE. Must not
   * change `data` or `last`.
   */
  inflate(data: Uint8Array, last: Uint8Array | null, output: DecodeOutput): void | PromiseLike<void>;
  /** Release everything; a pending call may still settle, and is ignored. */
  dispose(): void;
}

/** A DEFLATE implementation for permessage-deflate. */
export interface DeflateEngine {
  /** What it can honour; the negotiation agrees to nothing beyond it. */
  readonly capabilities: DeflateCapabilities;
  /** A compressor for one connection's outgoing messages. Created on the first compressed message. */
  createDeflater(parameters: DeflateStreamParameters): RawDeflater;
  /** A decompressor for one connection's incoming messages. Created on the first compressed message. */
  createInflater(parameters: DeflateStreamParameters): RawInflater;
}

/**
 * The error an inflater fails with when its input is not DEFLATE: 1007, as `ws` uses (RFC 7692
 * names no close code for it), with the engine's own words for what was wrong.
 */
export function invalidDeflateData(cause: unknown): ProtocolError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ProtocolError(`invalid compressed data: ${detail}`, ErrorCode.EXTENSION_ERROR, CloseCode.INVALID_PAYLOAD);
}
