/**
 * permessage-deflate (RFC 7692): the negotiators that agree on it during the opening handshake
 * and the `Extension` that compresses and decompresses messages once it is agreed, over an
 * injected DEFLATE engine (`DeflateEngine`).
 *
 * Theory of operation
 * -------------------
 * `createPerMessageDeflate(engine, options)` returns a server negotiator and a client
 * negotiator (src/handshake/extensions.ts). Each successful negotiation yields one
 * `PerMessageDeflate` for one connection; it creates its compressor and decompressor on the
 * first message that needs them, so a connection that never sends or receives a compressed
 * message costs nothing. The connection (src/protocol/connection.ts) marks compressed messages
 * with RSV1, asks `shouldEncode` before each message, and runs `encode`/`decode` piece by piece,
 * so fragmented messages are compressed and decompressed as they go. Control frames never reach
 * an extension (RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of
 * control frames"), and the frame codec refuses RSV1 on control and continuation frames (1002).
 *
 * Memory: the decompressor pushes its output into the connection's `DecodeOutput` as it is
 * produced, and stops when it is refused — the message limit applies to the decompressed size
 * as it grows, so a bomb is stopped at the limit with 1009.
 */
import type { ClientExtensionNegotiator, ServerExtensionNegotiator } from '../../handshake/extensions.js';
import type { ExtensionParams } from '../../handshake/headers.js';
import { InvalidArgumentError, InvalidStateError } from '../../shared/errors.js';
import type { DecodeOutput, Extension } from '../extension.js';
import type { DeflateEngine, DeflateStreamParameters, MessageCompressor, MessageDecompressor } from './deflate-engine.js';
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

  /** RFC 7692 §6: compress whole messages from the threshold on, fragmented ones always. */
  shouldEncode(_binary: boolean, size: number | undefined): boolean {
    return this.compresses && !this.#disposed && (size === undefined || size >= this.#threshold);
  }

  encode(data: Uint8Array, fin: boolean): Uint8Array | PromiseLike<Uint8Array> {
    if (this.#disposed) throw new InvalidStateError('permessage-deflate was disposed: the connection is finished');
    this.#compressor ??= this.#engine.createCompressor(streamParameters(this.agreement, this.side));
    return this.#compressor.compress(data, fin);
  }

  decode(data: Uint8Array, fin: boolean, output: DecodeOutput): void | PromiseLike<void> {
    if (this.#disposed) throw new InvalidStateError('permessage-deflate was disposed: the connection is finished');
    // §7.1.2: the peer compresses within its agreed window; decompressing needs that much.
    this.#decompressor ??= this.#engine.createDecompressor(streamParameters(this.agreement, this.side === 'server' ? 'client' : 'server'));
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
