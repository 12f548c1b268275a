/**
 * Compressing a published message once for every subscriber that can read it so.
 *
 * RFC 7692 §7.1.1.1: with `server_no_context_takeover` the server starts every message with
 * an empty window, so a compressed message depends on nothing but its own bytes, the engine
 * and the window it was compressed within — the same for every connection that agreed to
 * those terms. §7.1.2.1: a server compresses within the `server_max_window_bits` the client
 * allowed, so each subscriber gets the encoding made within its own window. Per publish,
 * one encoding is made per engine and window size among the subscribers; subscribers whose
 * compressor keeps its context, that negotiated no compression, or for whom the message is
 * below the threshold get the plain frame.
 */
import type { Codec } from '../codec/types.js';
import type { Connection } from '../protocol/connection.js';
import type { EncodedMessage } from '../protocol/encoded-message.js';
import type { DeflateEngine } from '../protocol/extensions/deflate-engine.js';
import { createMessageCompressor, PerMessageDeflate } from '../protocol/extensions/permessage-deflate.js';
import { isPromiseLike } from '../protocol/extension.js';

/** How one subscriber can share compressed messages. */
export interface CompressionShare {
  readonly extension: PerMessageDeflate;
  readonly engine: DeflateEngine;
  readonly windowBits: number;
  /** The extension's negotiated RSV bits (RSV1). */
  readonly rsv: number;
}

/** How `connection` can share compressed messages, or null when it cannot. */
export function compressionShareOf(connection: Connection): CompressionShare | null {
  for (const { extension, rsvBits } of connection.extensions) {
    if (!(extension instanceof PerMessageDeflate)) continue;
    const shared = extension.sharedCompression;
    return shared === null ? null : { extension, engine: shared.engine, windowBits: shared.windowBits, rsv: rsvBits };
  }
  return null;
}

/** Something that may share compressed messages (a topic member). */
export interface Sharer {
  readonly compression: CompressionShare | null;
}

/** An encoding being made (undefined: not started; null: failed or pending). */
type Slot = EncodedMessage | null;

/** The compressed encodings of the messages being published. */
export class DeflateSharing {
  readonly #codec: Codec;
  /** Per plain message, per engine, per window bits (8–15). */
  readonly #encodings = new Map<EncodedMessage, Map<DeflateEngine, Slot[]>>();

  constructor(codec: Codec) {
    this.#codec = codec;
  }

  /**
   * Start every compressed encoding `plain` needs for `sharers`. Returns null when they are
   * all made (or none is needed), else a promise that settles when they are.
   */
  prepare(plain: EncodedMessage, sharers: Iterable<Sharer>, except: Sharer | null): PromiseLike<void> | null {
    let pending: PromiseLike<void>[] | null = null;
    let byEngine = this.#encodings.get(plain);
    for (const sharer of sharers) {
      const share = sharer.compression;
      if (share === null || sharer === except || !share.extension.shouldEncode(plain.binary, plain.payload.length)) continue;
      if (byEngine === undefined) this.#encodings.set(plain, (byEngine = new Map()));
      let slots = byEngine.get(share.engine);
      if (slots === undefined) byEngine.set(share.engine, (slots = []));
      if (slots[share.windowBits] !== undefined) continue;
      slots[share.windowBits] = null;
      const started = this.#compress(plain, share, slots);
      if (started !== null) (pending ??= []).push(started);
    }
    return pending === null ? null : Promise.all(pending).then(() => undefined);
  }

  /** The encoding `sharer` gets of `plain` (the plain frame unless a compressed one was made for it). */
  encodingFor(sharer: Sharer, plain: EncodedMessage): EncodedMessage {
    const share = sharer.compression;
    if (share === null) return plain;
    return this.#encodings.get(plain)?.get(share.engine)?.[share.windowBits] ?? plain;
  }

  /** `plain` was delivered: forget its encodings. */
  release(plain: EncodedMessage): void {
    this.#encodings.delete(plain);
  }

  /** Compress `plain` for `share`'s engine and window into `slots`; a promise while the engine works. */
  #compress(plain: EncodedMessage, share: CompressionShare, slots: Slot[]): PromiseLike<void> | null {
    const compressor = createMessageCompressor(share.engine, { windowBits: share.windowBits, contextTakeover: false });
    const done = (compressed: Uint8Array): void => {
      compressor.dispose();
      slots[share.windowBits] = plain.transformed(this.#codec, compressed, share.rsv);
    };
    // A message the engine cannot compress goes plain to these subscribers (the slot stays null).
    const failed = (): void => compressor.dispose();
    let result: Uint8Array | PromiseLike<Uint8Array>;
    try {
      result = compressor.compress(plain.payload, true);
    } catch {
      failed();
      return null;
    }
    if (!isPromiseLike<Uint8Array>(result)) {
      done(result);
      return null;
    }
    return result.then(done, failed);
  }
}
