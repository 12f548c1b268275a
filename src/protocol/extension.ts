/**
 * The runtime side of extensions (RFC 6455 §9): once the handshake has negotiated an
 * extension (`src/handshake/extensions.ts`), an `Extension` object transforms the payloads
 * of the messages that carry its RSV bits — permessage-deflate (RFC 7692) compresses them
 * and claims RSV1.
 *
 * Theory of operation
 * -------------------
 * A transform works on a message piece by piece: each call gets the next piece of the
 * payload and whether it is the last. It may answer synchronously or return a promise (a
 * compressor running on a thread pool, `CompressionStream`); the connection hands it the next
 * piece only after the previous call settled, and holds everything that follows meanwhile, so
 * events and outgoing bytes keep their order. When a promise settles the connection calls its
 * `onWake` port so the adapter collects the new events and bytes.
 *
 * Decoding pushes its output into a `DecodeOutput` as it is produced. The output counts it
 * against the message limit and refuses the piece that would cross it: a decompression bomb
 * stops there, with 1009, and the connection never holds more than the limit.
 *
 * With several extensions, outgoing payloads go through them in the order the server listed
 * them and incoming payloads in the reverse order (RFC 6455 §9.1: "the order of operations on
 * the data should be assumed to be the same as the order in which the extensions are listed
 * in the server's response").
 */
import { CloseCode } from '../shared/constants.js';
import { ErrorCode, ProtocolError } from '../shared/errors.js';

/** Where a decoder delivers its output. */
export interface DecodeOutput {
  /**
   * Deliver the next piece of decoded payload. The connection keeps `bytes` (they must not
   * change afterwards). Returns false when the piece is refused — the message passed its size
   * limit or the connection failed: stop producing output for this message and settle.
   */
  push(bytes: Uint8Array): boolean;
  /** How many more decoded bytes the message may have (e.g. for zlib's `maxOutputLength`). */
  readonly remaining: number;
}

/**
 * A negotiated extension at work on one connection (the `E` of the handshake's negotiators).
 * Its RSV bits come from the negotiation (`NegotiatedExtension.rsvBits`).
 */
export interface Extension {
  /**
   * Whether to transform an outgoing message. `size` is its payload length when it is sent
   * whole, undefined when it is sent in fragments. Without this method every message is
   * transformed.
   */
  shouldEncode?(binary: boolean, size: number | undefined): boolean;

  /**
   * Transform the next piece of an outgoing message; `fin` marks the last. Returns the bytes
   * of the frame payload, now or later. `data` must be left unchanged.
   */
  encode(data: Uint8Array, fin: boolean): Uint8Array | PromiseLike<Uint8Array>;

  /**
   * Transform the next piece of an incoming message that carries this extension's RSV bits;
   * `fin` marks the last (its call may have an empty `data`). Push the output into `output`;
   * return when done, or a promise that settles when done.
   *
   * Throw (or reject with) a `ProtocolError` for bad input — e.g. a corrupt compressed stream,
   * which RFC 7692 leaves to the implementation; permessage-deflate uses 1007. Any other error
   * fails the connection with 1011 without details to the peer.
   */
  decode(data: Uint8Array, fin: boolean, output: DecodeOutput): void | PromiseLike<void>;

  /** The connection is finished: release resources. Calls still pending are ignored. */
  dispose?(): void;
}

/** Whether `value` is a thenable (the only way to tell a synchronous answer from a pending one). */
export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Run `encode` of each extension in order on one piece, each on the previous one's output.
 * Synchronous while every extension answers synchronously.
 */
export function runEncoders(encoders: readonly Extension[], data: Uint8Array, fin: boolean, from = 0): Uint8Array | PromiseLike<Uint8Array> {
  let bytes = data;
  for (let i = from; i < encoders.length; i++) {
    const result = encoders[i]!.encode(bytes, fin);
    if (isPromiseLike<Uint8Array>(result)) {
      return Promise.resolve(result).then((encoded) => runEncoders(encoders, encoded, fin, i + 1));
    }
    bytes = result;
  }
  return bytes;
}

const EMPTY = new Uint8Array(0);

/**
 * Run one piece through a chain of decoders (already in decoding order); the last writes to
 * `output`. Each intermediate stage's output is held until the stage settles, counted against
 * `limit` (a stage that expands past the message limit is stopped just as the final one is).
 * Synchronous while every decoder answers synchronously.
 */
export function runDecoders(decoders: readonly Extension[], data: Uint8Array, fin: boolean, output: DecodeOutput, limit: number): void | PromiseLike<void> {
  if (decoders.length === 1) return decoders[0]!.decode(data, fin, output);
  return runStage(decoders, 0, data, fin, output, limit);
}

function runStage(decoders: readonly Extension[], stage: number, data: Uint8Array, fin: boolean, output: DecodeOutput, limit: number): void | PromiseLike<void> {
  if (stage === decoders.length - 1) return decoders[stage]!.decode(data, fin, output);
  const held = new StageOutput(limit);
  const result = decoders[stage]!.decode(data, fin, held);
  const next = (): void | PromiseLike<void> => {
    if (held.overflowed) {
      throw new ProtocolError(`decoded message exceeds the limit of ${limit} bytes`, ErrorCode.MESSAGE_TOO_BIG, CloseCode.MESSAGE_TOO_BIG);
    }
    const pieces = held.pieces;
    if (pieces.length === 0) return fin ? runStage(decoders, stage + 1, EMPTY, true, output, limit) : undefined;
    return forEachPiece(pieces, 0, (piece, last) => runStage(decoders, stage + 1, piece, fin && last, output, limit));
  };
  return isPromiseLike<void>(result) ? Promise.resolve(result).then(next) : next();
}

/** Call `step` on each piece in turn, waiting for a pending one before the next. */
function forEachPiece(pieces: readonly Uint8Array[], from: number, step: (piece: Uint8Array, last: boolean) => void | PromiseLike<void>): void | PromiseLike<void> {
  for (let i = from; i < pieces.length; i++) {
    const result = step(pieces[i]!, i === pieces.length - 1);
    if (isPromiseLike<void>(result)) return Promise.resolve(result).then(() => forEachPiece(pieces, i + 1, step));
  }
  return undefined;
}

/** The output of an intermediate decoding stage: held, counted, refused past the limit. */
class StageOutput implements DecodeOutput {
  readonly pieces: Uint8Array[] = [];
  overflowed = false;
  #size = 0;
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  get remaining(): number {
    return this.#limit - this.#size;
  }
  push(bytes: Uint8Array): boolean {
    if (this.overflowed) return false;
    if (this.#size + bytes.length > this.#limit) {
      this.overflowed = true;
      return false;
    }
    this.#size += bytes.length;
    if (bytes.length > 0) this.pieces.push(bytes);
    return true;
  }
}
