/**
 * Extension negotiation (RFC 6455 §9): a framework that knows nothing of any particular
 * extension. An extension such as permessage-deflate (RFC 7692) plugs in as a pair of
 * negotiators; what a successful negotiation yields (`E`) is opaque here, so this module never
 * imports the protocol layer that uses it.
 *
 * RSV bits are written `rsv1 << 2 | rsv2 << 1 | rsv3` (permessage-deflate claims RSV1: 0b100),
 * the encoding `ParseOptions.allowedRsv` of the codec uses.
 */

import { HandshakeError, InvalidArgumentError } from '../shared/errors.js';
import { isToken, quoteForMessage } from './chars.js';
import type { ExtensionOffer, ExtensionParams } from './headers.js';

/** What a server negotiator returns when it accepts one of the client's offers. */
export interface ServerExtensionAcceptance<E> {
  /** Parameters for the response's Sec-WebSocket-Extensions element. */
  readonly response: ExtensionParams;
  /** The configured extension (for permessage-deflate: the agreed window sizes and takeover). */
  readonly extension: E;
}

/**
 * The server side of one extension. Implementations must be pure with respect to a
 * declined negotiation: `accept` returning null must leave nothing behind.
 */
export interface ServerExtensionNegotiator<E = unknown> {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** RSV bits the extension uses, `rsv1 << 2 | rsv2 << 1 | rsv3` (0–7). */
  readonly rsvBits: number;
  /**
   * Choose among the client's offers for this extension, given in the client's order of
   * preference (RFC 6455 §9.1). Return the response and the extension, or null to decline
   * (RFC 7692 §5: a server declines offers it cannot accept rather than failing).
   * Throwing a `HandshakeError` fails the handshake with its status instead.
   */
  accept(offers: readonly ExtensionParams[]): ServerExtensionAcceptance<E> | null;
}

/** The client side of one extension. */
export interface ClientExtensionNegotiator<E = unknown> {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** RSV bits the extension uses, `rsv1 << 2 | rsv2 << 1 | rsv3` (0–7). */
  readonly rsvBits: number;
  /** The offers to send, most preferred first (empty: offer nothing). */
  offer(): ExtensionParams[];
  /**
   * Check the server's response for this extension and return the configured extension.
   *
   * @throws HandshakeError when the response is unacceptable (RFC 6455 §4.1: the client MUST
   *   fail the connection; RFC 7692 §5.1 lists the cases for permessage-deflate).
   */
  accept(response: ExtensionParams): E;
}

/** One extension in use on the connection. */
export interface NegotiatedExtension<E = unknown> {
  readonly name: string;
  readonly rsvBits: number;
  /** The parameters of the response element that put it in use. */
  readonly params: ExtensionParams;
  readonly extension: E;
}

/** The outcome of a negotiation, in the order the server listed the extensions (RFC 6455 §9.1). */
export interface ExtensionNegotiation<E = unknown> {
  readonly extensions: readonly NegotiatedExtension<E>[];
  /** Union of the negotiated extensions' RSV bits (the codec's `allowedRsv`). */
  readonly rsvBits: number;
}

/** The empty negotiation: no extension, no RSV bit. */
export const NO_EXTENSIONS: ExtensionNegotiation<never> = Object.freeze({ extensions: Object.freeze([]), rsvBits: 0 });

/**
 * Check a list of negotiators a caller configured: names are tokens and distinct, RSV bits
 * are integers 0–7.
 *
 * @throws InvalidArgumentError
 */
export function checkNegotiators(negotiators: readonly { readonly name: string; readonly rsvBits: number }[]): void {
  const names = new Set<string>();
  for (const { name, rsvBits } of negotiators) {
    if (!isToken(name)) throw new InvalidArgumentError(`invalid extension name ${JSON.stringify(name)}: must be a token`);
    if (names.has(name)) throw new InvalidArgumentError(`extension ${name} is configured twice`);
    names.add(name);
    if (!Number.isInteger(rsvBits) || rsvBits < 0 || rsvBits > 7) {
      throw new InvalidArgumentError(`invalid RSV bits ${String(rsvBits)} for extension ${name}: must be an integer 0–7`);
    }
  }
}

/**
 * Server side: run every configured negotiator, in the configured order, over the client's
 * offers for its extension. A negotiator whose RSV bits are already claimed by an extension
 * accepted before it is not consulted: two extensions never share an RSV bit (RFC 6455 §9:
 * the bits are how each extension marks its frames).
 *
 * @param offers the parsed Sec-WebSocket-Extensions of the request.
 * @returns the negotiation and the response elements to send (empty: send no header).
 * @throws InvalidArgumentError if the negotiators are misconfigured.
 * @throws HandshakeError if a negotiator throws one to fail the handshake.
 */
export function negotiateServerExtensions<E>(
  offers: readonly ExtensionOffer[],
  negotiators: readonly ServerExtensionNegotiator<E>[],
): { negotiation: ExtensionNegotiation<E>; response: ExtensionOffer[] } {
  checkNegotiators(negotiators);
  const extensions: NegotiatedExtension<E>[] = [];
  const response: ExtensionOffer[] = [];
  let rsvBits = 0;
  for (const negotiator of negotiators) {
    if ((negotiator.rsvBits & rsvBits) !== 0) continue;
    const mine: ExtensionParams[] = [];
    for (const offer of offers) if (offer.name === negotiator.name) mine.push(offer.params);
    if (mine.length === 0) continue;
    const accepted = negotiator.accept(mine);
    if (accepted === null) continue;
    extensions.push({ name: negotiator.name, rsvBits: negotiator.rsvBits, params: accepted.response, extension: accepted.extension });
    response.push({ name: negotiator.name, params: accepted.response });
    rsvBits |= negotiator.rsvBits;
  }
  return { negotiation: extensions.length === 0 ? NO_EXTENSIONS : { extensions, rsvBits }, response };
}

/**
 * Client side: the offers to send, from every negotiator, in the configured order.
 *
 * @throws InvalidArgumentError if the negotiators are misconfigured.
 */
export function collectClientOffers(negotiators: readonly ClientExtensionNegotiator<unknown>[]): ExtensionOffer[] {
  checkNegotiators(negotiators);
  const offers: ExtensionOffer[] = [];
  for (const negotiator of negotiators) {
    for (const params of negotiator.offer()) offers.push({ name: negotiator.name, params });
  }
  return offers;
}

/**
 * Client side: check the server's Sec-WebSocket-Extensions against what was offered and let
 * each negotiator accept its element. RFC 6455 §4.1 (client requirement 5): "If the response
 * includes a |Sec-WebSocket-Extensions| header field and this header field indicates the use
 * of an extension that was not present in the client's handshake ..., the client MUST _Fail
 * the WebSocket Connection_." Also failed: an extension named twice, and one whose RSV bits
 * clash with an extension listed before it.
 *
 * @param offered the negotiators that made at least one offer.
 * @throws HandshakeError (status 101: the response that carried the header).
 */
export function acceptServerExtensions<E>(
  response: readonly ExtensionOffer[],
  offered: readonly ClientExtensionNegotiator<E>[],
): ExtensionNegotiation<E> {
  const extensions: NegotiatedExtension<E>[] = [];
  let rsvBits = 0;
  for (const { name, params } of response) {
    const negotiator = offered.find((candidate) => candidate.name === name);
    if (negotiator === undefined) {
      throw new HandshakeError(`server accepted extension ${quoteForMessage(name)}, which was not offered`, 101);
    }
    if (extensions.some((extension) => extension.name === name)) {
      throw new HandshakeError(`server accepted extension ${quoteForMessage(name)} twice`, 101);
    }
    if ((negotiator.rsvBits & rsvBits) !== 0) {
      throw new HandshakeError(`server accepted extension ${name}, whose RSV bits are already in use by another extension`, 101);
    }
    const extension = negotiator.accept(params);
    extensions.push({ name, rsvBits: negotiator.rsvBits, params, extension });
    rsvBits |= negotiator.rsvBits;
  }
  return extensions.length === 0 ? NO_EXTENSIONS : { extensions, rsvBits };
}
