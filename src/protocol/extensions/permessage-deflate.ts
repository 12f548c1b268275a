/**
 * permessage-deflate (RFC 7692): the negotiators that agree on it during the opening handshake,
 * the `Extension` that compresses and decompresses messages once it is agreed, over an injected
 * raw DEFLATE engine (`DeflateEngine`), and the framing of §7.2 between the two.
 *
 * Theory of operation
 * -------------------
 * `createPerMessageDeflate(engine, options)` returns a server negotiator and a client
 * negotiator (src/handshake/extensions.ts). Each successful negotiation yields one
 * `PerMessageDeflate` for one connection; it creates its compressor and decompressor on the
 * first message that needs them, so a connection that never sends or receives a compressed
 * message costs nothing. The connection's outbound pipeline (src/protocol/outbound-pipeline.ts)
 * marks compressed messages with RSV1, asks `shouldEncode` before each message and runs
 * `encode` piece by piece; its message assembler (src/protocol/message-assembler.ts) runs
 * `decode` as the pieces arrive, so fragmented messages are compressed and decompressed as they go. Control frames never reach
 * an extension (RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of
 * control frames"), and the frame codec refuses RSV1 on control and continuation frames (1002).
 *
 * Framing (§7.2): an engine only compresses and decompresses a stream of DEFLATE blocks, and
 * says how its compressed messages end. `MessageCompressor` and `MessageDecompressor` below turn
 * that into frame payloads and back — the four octets removed at the end of each compressed
 * message (§7.2.1), appended before decompressing (§7.2.2) — for every engine alike. Neither
 * copies a large payload to do it: the trailer is removed by taking a shorter view of the
 * engine's output, and appended as a separate small piece of the inflater's input.
 *
 * Memory: the decompressor pushes its output into the connection's `DecodeOutput` as it is
 * produced, and stops when it is refused — the message limit applies to the decompressed size
 * as it grows, so a bomb is stopped at the limit with 1009.
 */
import type { ClientExtensionNegotiator, ServerExtensionNegotiator } from '../../handshake/extensions.js';
import type { ExtensionParams } from '../../handshake/headers.js';
import { InvalidArgumentError, InvalidStateError } from '../../shared/errors.js';
import { isPromiseLike, type DecodeOutput, type Extension } from '../extension.js';
import type { DeflateEngine, DeflateMessageEnd, DeflateStreamParameters, RawDeflater, RawInflater } from './deflate-engine.js';
import {
  acceptDeflateResponse,
  checkWindowBitsOption,
  chooseDeflateOffer,
  DEFLATE_RSV_BITS,
  DeflateParam,
  MAX_WINDOW_BITS,
  PERMESSAGE_DEFLATE,
  serializeDeflateParameters,
  type DeflateAgreement,
  type DeflateCapabilities,
  type DeflateParameters,
  type DeflateServerPolicy,
} from './deflate-params.js';

/**
 * Messages smaller than this many bytes are sent uncompressed: 1024, the default of `ws`.
 * Below about a kilobyte the DEFLATE block headers and the thread-pool round trip cost more
 * than the bytes saved.
 */
export const DEFAULT_DEFLATE_THRESHOLD = 1024;

/** The negotiable parameters of one offer, as the client configures it (the `ws` names). */
export interface DeflateOfferOptions {
  /**
   * Client: ask the server to reset its compressor after each message (RFC 7692 §7.1.1.1).
   * Server: always reset ours, asked or not.
   */
  readonly serverNoContextTakeover?: boolean;
  /**
   * Client: promise to reset our compressor after each message (RFC 7692 §7.1.1.2).
   * Server: always ask the client to reset its compressor.
   */
  readonly clientNoContextTakeover?: boolean;
  /**
   * Client: the largest window (8–15 bits) the server may compress with.
   * Server: the largest window we compress with, whatever the client allows.
   */
  readonly serverMaxWindowBits?: number;
  /**
   * Client: `true` (default) offers the value-less `client_max_window_bits` (the server may
   * choose our window), a number offers that limit, `false` omits the parameter.
   * Server: a number asks every client to compress within that window, and declines offers
   * from clients that cannot (as `ws` does); default: no limit.
   */
  readonly clientMaxWindowBits?: number | boolean;
}

/** Options of permessage-deflate, on either side. */
export interface PerMessageDeflateOptions extends DeflateOfferOptions {
  /**
   * Messages sent whole that are smaller than this many bytes go uncompressed; default
   * `DEFAULT_DEFLATE_THRESHOLD` (1024). Fragmented messages, whose size is not known when they
   * start, are always compressed.
   */
  readonly threshold?: number;
  /** Client: further offers after the first, in order of preference (RFC 6455 §9.1). */
  readonly fallbackOffers?: readonly DeflateOfferOptions[];
}

/** The negotiators of permessage-deflate, one per side, for the handshake's `extensions` options. */
export interface PerMessageDeflateNegotiators {
  readonly server: ServerExtensionNegotiator<Extension>;
  readonly client: ClientExtensionNegotiator<Extension>;
}

/**
 * permessage-deflate at work on one connection: compresses outgoing messages, decompresses
 * incoming ones, with the parameters the handshake agreed.
 */
export class PerMessageDeflate implements Extension {
  /** Which end this connection is. */
  readonly side: 'client' | 'server';
  /** The agreed parameters (RFC 7692 §7.1). */
  readonly agreement: DeflateAgreement;
  /**
   * Whether outgoing messages are compressed at all: false when the agreement asks for
   * something the engine cannot do when sending (a window it cannot confine itself to, or
   * context takeover it cannot stop a peer from expecting). Incoming ones are decompressed
   * either way.
   */
  readonly compresses: boolean;

  readonly #engine: DeflateEngine;
  readonly #threshold: number;
  #compressor: MessageCompressor | null = null;
  #decompressor: MessageDecompressor | null = null;
  #disposed = false;

  /**
   * @param peerDropsContext whether the peer agreed to start each of our messages without
   *   context (the response's, or the server's own, no-context-takeover for our side); default:
   *   what the agreement says. A compressor that cannot carry its context needs it.
   * @throws InvalidArgumentError for an invalid threshold.
   */
  constructor(
    engine: DeflateEngine,
    side: 'client' | 'server',
    agreement: DeflateAgreement,
    threshold = DEFAULT_DEFLATE_THRESHOLD,
    peerDropsContext = side === 'server' ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover,
  ) {
    checkThreshold(threshold);
    this.#engine = engine;
    this.side = side;
    this.agreement = agreement;
    this.#threshold = threshold;
    const capabilities = engine.capabilities;
    const ours = streamParameters(agreement, side).windowBits;
    // A compressor that cannot carry its context starts every message afresh: the peer must
    // have agreed not to expect context (§7.1.1), or it would keep a window we do not.
    this.compresses = ours >= capabilities.minCompressWindowBits && (capabilities.compressContextTakeover || peerDropsContext);
  }

  /**
   * What a message compressed once for many connections must be compressed with to be sent
   * on this one, or null when it cannot be shared: the compressor keeps its context from one
   * message to the next (RFC 7692 §7.1.1.1; each message then depends on this connection's
   * history), or this side compresses nothing. A server's `publish` compresses once per
   * engine and window: a message compressed within this window is what this peer agreed to
   * read (§7.1.2.1).
   */
  get sharedCompression(): { readonly engine: DeflateEngine; readonly windowBits: number } | null {
    const parameters = streamParameters(this.agreement, this.side);
    if (parameters.contextTakeover || !this.compresses || this.#disposed) return null;
    return { engine: this.#engine, windowBits: parameters.windowBits };
  }

  /** RFC 7692 §6: compress whole messages from the threshold on, fragmented ones always. */
  shouldEncode(_binary: boolean, size: number | undefined): boolean {
    return this.compresses && !this.#disposed && (size === undefined || size >= this.#threshold);
  }

  encode(data: Uint8Array, fin: boolean): Uint8Array | PromiseLike<Uint8Array> {
    if (this.#disposed) throw new InvalidStateError('permessage-deflate was disposed: the connection is finished');
    this.#compressor ??= createMessageCompressor(this.#engine, streamParameters(this.agreement, this.side));
    return this.#compressor.compress(data, fin);
  }

  decode(data: Uint8Array, fin: boolean, output: DecodeOutput): void | PromiseLike<void> {
    if (this.#disposed) throw new InvalidStateError('permessage-deflate was disposed: the connection is finished');
    // §7.1.2: the peer compresses within its agreed window; decompressing needs that much.
    this.#decompressor ??= createMessageDecompressor(this.#engine, streamParameters(this.agreement, this.side === 'server' ? 'client' : 'server'));
    return this.#decompressor.decompress(data, fin, output);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#compressor?.dispose();
    this.#decompressor?.dispose();
    this.#compressor = null;
    this.#decompressor = null;
  }
}

/**
 * The four octets an empty stored block ends with — its LEN and NLEN fields — which RFC 7692
 * §7.2.1 removes from the end of every compressed message and §7.2.2 appends again.
 */
export const DEFLATE_TRAILER: Uint8Array = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/**
 * The octet that remains of an empty stored block once its LEN and NLEN are removed: the block
 * header (BFINAL 0, BTYPE 00) and the padding to the next octet. RFC 7692 §7.2.3.4 shows it
 * after a block with BFINAL set; §7.2.3.6 shows it as the whole of an empty message.
 */
const EMPTY_BLOCK_REMAINDER = new Uint8Array([0x00]);

const EMPTY = new Uint8Array(0);

/** Compresses the messages of one direction into frame payloads (RFC 7692 §7.2.1). */
export interface MessageCompressor {
  /**
   * Compress the next piece of the message; `fin` marks its last piece. Returns the frame
   * payload for this piece: with `fin`, the end of the message's compressed data as §7.2.1 has
   * it (its final empty stored block's `00 00 ff ff` removed). Must not change `data`.
   */
  compress(data: Uint8Array, fin: boolean): Uint8Array | PromiseLike<Uint8Array>;
  /** Release everything; a pending call may still settle, and is ignored. */
  dispose(): void;
}

/** Decompresses the frame payloads of the messages one direction receives (RFC 7692 §7.2.2). */
export interface MessageDecompressor {
  /**
   * Decompress the next piece of a message's payload; `fin` marks its last piece (its `data`
   * may be empty). Output goes to `output` as it is produced; once `output.push` refuses a
   * piece, it stops and settles. Throws or rejects with a `ProtocolError` (1007) for data that
   * is not DEFLATE.
   */
  decompress(data: Uint8Array, fin: boolean, output: DecodeOutput): void | PromiseLike<void>;
  /** Release everything; a pending call may still settle, and is ignored. */
  dispose(): void;
}

/**
 * A compressor of frame payloads over `engine`: its raw DEFLATE output, with each message's end
 * framed as RFC 7692 §7.2.1 has it. What `PerMessageDeflate` sends with; also for compressing a
 * payload once outside any connection (a benchmark's pre-encoded frames).
 */
export function createMessageCompressor(engine: DeflateEngine, parameters: DeflateStreamParameters): MessageCompressor {
  return new FramingCompressor(engine.createDeflater(parameters));
}

/** A decompressor of frame payloads over `engine`, which appends what RFC 7692 §7.2.2 asks. */
export function createMessageDecompressor(engine: DeflateEngine, parameters: DeflateStreamParameters): MessageDecompressor {
  return new FramingDecompressor(engine.createInflater(parameters));
}

class FramingCompressor implements MessageCompressor {
  readonly #deflater: RawDeflater;

  constructor(deflater: RawDeflater) {
    this.#deflater = deflater;
  }

  compress(data: Uint8Array, fin: boolean): Uint8Array | PromiseLike<Uint8Array> {
    const chunks = this.#deflater.deflate(data, fin);
    const messageEnd = this.#deflater.messageEnd;
    if (isPromiseLike<readonly Uint8Array[]>(chunks)) return Promise.resolve(chunks).then((settled) => framePayload(settled, fin, messageEnd));
    return framePayload(chunks, fin, messageEnd);
  }

  dispose(): void {
    this.#deflater.dispose();
  }
}

/**
 * The frame payload of one piece, from the chunks the engine compressed it to: joined (a single
 * chunk is used as it is), and for the message's last piece, ended as RFC 7692 §7.2.1 says.
 *
 * @throws Error when an engine that sync-flushes ended a message without an empty stored block.
 */
function framePayload(chunks: readonly Uint8Array[], fin: boolean, messageEnd: DeflateMessageEnd): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  if (!fin) return joinChunks(chunks, length, null);
  // §7.2.1: "Remove 4 octets (that make up the LEN and NLEN fields of the empty block) from
  // the tail end." A sync flush has ended the data with that empty block.
  if (messageEnd === 'sync-flush' && length > 0) {
    if (!endsWithTrailer(chunks)) throw new Error('the compressor ended a message without the empty stored block of a sync flush');
    return joinChunks(chunks, length - DEFLATE_TRAILER.length, null);
  }
  // §7.2.1: "If the resulting data does not end with an empty DEFLATE block with no compression
  // (the "BTYPE" bits are set to 00), append an empty DEFLATE block with no compression to the
  // tail end" — then remove its LEN and NLEN, which leaves one octet. So after a final block
  // (§7.2.3.4's example), and after a last piece that compressed to nothing: its message's
  // empty block, if any, went out in an earlier frame, whose octets can no longer be removed.
  return joinChunks(chunks, length, EMPTY_BLOCK_REMAINDER);
}

/** Whether the bytes of `chunks`, taken together, end with `00 00 ff ff`. */
function endsWithTrailer(chunks: readonly Uint8Array[]): boolean {
  let matched = 0;
  for (let c = chunks.length - 1; c >= 0; c--) {
    const chunk = chunks[c]!;
    for (let i = chunk.length - 1; i >= 0; i--) {
      if (chunk[i] !== DEFLATE_TRAILER[DEFLATE_TRAILER.length - 1 - matched]) return false;
      if (++matched === DEFLATE_TRAILER.length) return true;
    }
  }
  return false;
}

/**
 * The first `length` bytes of `chunks`, then `tail`: without a tail, a view of the first chunk
 * when it holds them all, else one copy.
 */
function joinChunks(chunks: readonly Uint8Array[], length: number, tail: Uint8Array | null): Uint8Array {
  if (tail === null) {
    if (length === 0) return EMPTY;
    const first = chunks[0]!;
    if (first.length >= length) return first.length === length ? first : first.subarray(0, length);
  }
  const out = new Uint8Array(length + (tail === null ? 0 : tail.length));
  let offset = 0;
  for (let c = 0; c < chunks.length && offset < length; c++) {
    const chunk = chunks[c]!;
    const take = Math.min(chunk.length, length - offset);
    out.set(take === chunk.length ? chunk : chunk.subarray(0, take), offset);
    offset += take;
  }
  if (tail !== null) out.set(tail, length);
  return out;
}

class FramingDecompressor implements MessageDecompressor {
  readonly #inflater: RawInflater;

  constructor(inflater: RawInflater) {
    this.#inflater = inflater;
  }

  decompress(data: Uint8Array, fin: boolean, output: DecodeOutput): void | PromiseLike<void> {
    if (!fin) return data.length === 0 ? undefined : this.#inflater.inflate(data, null, output);
    // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the
    // message." They go to the inflater as a piece of their own, so the payload is not copied.
    if (data.length === 0) return this.#inflater.inflate(EMPTY, DEFLATE_TRAILER, output);
    // A sender may end its DEFLATE stream with the message, in a block with BFINAL set (§7.2.3.4
    // shows one); §7.2.1 then leaves one octet of an empty stored block after it, the payload's
    // last. With the four appended that block is whole, and lies after the end of the stream:
    // the five octets go together as the message's `last`, which the inflater may find there.
    const last = new Uint8Array(1 + DEFLATE_TRAILER.length);
    last[0] = data[data.length - 1]!;
    last.set(DEFLATE_TRAILER, 1);
    return this.#inflater.inflate(data.subarray(0, data.length - 1), last, output);
  }

  dispose(): void {
    this.#inflater.dispose();
  }
}

/** How `sender` compresses, as the agreement has it (RFC 7692 §7.1): its window and whether it keeps context. */
function streamParameters(agreement: DeflateAgreement, sender: 'client' | 'server'): DeflateStreamParameters {
  return sender === 'server'
    ? { windowBits: agreement.serverMaxWindowBits, contextTakeover: !agreement.serverNoContextTakeover }
    : { windowBits: agreement.clientMaxWindowBits, contextTakeover: !agreement.clientNoContextTakeover };
}

/**
 * The server and client negotiators of permessage-deflate over `engine`. Pass `server` in a
 * server's `extensions` and `client` in a client's.
 *
 * @throws InvalidArgumentError for an invalid option, or one the engine cannot honour (a window
 *   below the smallest its compressor can keep to).
 * @see https://www.rfc-editor.org/rfc/rfc7692
 */
export function createPerMessageDeflate(engine: DeflateEngine, options: PerMessageDeflateOptions = {}): PerMessageDeflateNegotiators {
  const capabilities = engine.capabilities;
  const threshold = options.threshold ?? DEFAULT_DEFLATE_THRESHOLD;
  checkThreshold(threshold);
  const policy = serverPolicy(options, capabilities);
  const offers = [options, ...(options.fallbackOffers ?? [])].map((offer) => clientOffer(offer, capabilities));

  const server: ServerExtensionNegotiator<Extension> = {
    name: PERMESSAGE_DEFLATE,
    rsvBits: DEFLATE_RSV_BITS,
    accept(clientOffers: readonly ExtensionParams[]) {
      const choice = chooseDeflateOffer(clientOffers, policy, capabilities);
      if (choice === null) return null;
      return { response: serializeDeflateParameters(choice.response), extension: new PerMessageDeflate(engine, 'server', choice.agreement, threshold) };
    },
  };

  const client: ClientExtensionNegotiator<Extension> = {
    name: PERMESSAGE_DEFLATE,
    rsvBits: DEFLATE_RSV_BITS,
    offer: () => offers.map(serializeDeflateParameters),
    accept(response: ExtensionParams) {
      // Every offer asks for what the decompressor cannot do without (server_no_context_takeover
      // when it cannot keep context), so an accepted response never asks for more.
      const agreement = acceptDeflateResponse(response, offers);
      // Our own no-context-takeover hint binds us; only the server's answer says it will not
      // expect context, which a compressor that cannot keep context relies on.
      const echoed = response.some(([name]) => name === DeflateParam.CLIENT_NO_CONTEXT_TAKEOVER);
      return new PerMessageDeflate(engine, 'client', agreement, threshold, echoed);
    },
  };

  return { server, client };
}

function serverPolicy(options: DeflateOfferOptions, capabilities: DeflateCapabilities): DeflateServerPolicy {
  const { serverMaxWindowBits, clientMaxWindowBits } = options;
  if (serverMaxWindowBits !== undefined) {
    checkWindowBitsOption('serverMaxWindowBits', serverMaxWindowBits);
    checkCompressorWindow('serverMaxWindowBits', serverMaxWindowBits, capabilities);
  }
  if (typeof clientMaxWindowBits === 'number') checkWindowBitsOption('clientMaxWindowBits', clientMaxWindowBits);
  return {
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    serverMaxWindowBits,
    clientMaxWindowBits: typeof clientMaxWindowBits === 'number' ? clientMaxWindowBits : undefined,
  };
}

/** One offer, with what the engine needs added: the parameters it cannot do without. */
function clientOffer(options: DeflateOfferOptions, capabilities: DeflateCapabilities): DeflateParameters {
  const { serverMaxWindowBits, clientMaxWindowBits = true } = options;
  if (serverMaxWindowBits !== undefined) checkWindowBitsOption('serverMaxWindowBits', serverMaxWindowBits);
  if (typeof clientMaxWindowBits === 'number') {
    checkWindowBitsOption('clientMaxWindowBits', clientMaxWindowBits);
    checkCompressorWindow('clientMaxWindowBits', clientMaxWindowBits, capabilities);
  }
  return {
    // A decompressor that cannot keep the server's context needs the server to drop it.
    serverNoContextTakeover: options.serverNoContextTakeover === true || !capabilities.decompressContextTakeover,
    // A compressor that cannot keep its own context says so (§7.1.1.2, a hint in the offer).
    clientNoContextTakeover: options.clientNoContextTakeover === true || !capabilities.compressContextTakeover,
    serverMaxWindowBits,
    // The value-less form lets the server choose any window down to 8 bits: offered only when
    // the compressor can keep to all of them.
    clientMaxWindowBits:
      clientMaxWindowBits === false ? undefined : clientMaxWindowBits === true ? (capabilities.minCompressWindowBits <= 8 ? true : undefined) : clientMaxWindowBits,
  };
}

function checkCompressorWindow(name: string, bits: number, capabilities: DeflateCapabilities): void {
  if (bits < capabilities.minCompressWindowBits) {
    throw new InvalidArgumentError(
      `${name}=${bits} cannot be honoured: this compressor keeps to windows of ${capabilities.minCompressWindowBits}–${MAX_WINDOW_BITS} bits only`,
    );
  }
}

function checkThreshold(threshold: number): void {
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new InvalidArgumentError(`threshold must be a non-negative integer, got ${String(threshold)}`);
  }
}
