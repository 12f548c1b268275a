/**
 * permessage-deflate negotiation (RFC 7692 §5, §7, §7.1): the four extension parameters, their
 * grammar, and the rules by which a server picks one of a client's offers and a client checks
 * the server's response. Pure functions over `ExtensionParams`; no compression happens here.
 *
 * What an endpoint can honour depends on its compressor (`DeflateCapabilities`): zlib can
 * limit its window and carry its context across messages, `CompressionStream` can do neither.
 * The negotiation never agrees to something the local compressor or decompressor cannot do.
 *
 * Theory of operation
 * -------------------
 * - Server (§5, §7.1): offers are taken in the client's order of preference; the first one
 *   that is well-formed and acceptable wins. RFC 7692 §7: "A server MUST decline an extension
 *   negotiation offer for this extension if any of the following conditions are met: The
 *   negotiation offer contains an extension parameter not defined for use in an offer. The
 *   negotiation offer contains an extension parameter with an invalid value. The negotiation
 *   offer contains multiple extension parameters with the same name. The server doesn't
 *   support the offered configuration." Declining is not failing: the handshake continues
 *   without the extension.
 * - Client (§7, §7.1): "A client MUST _Fail the WebSocket Connection_ if the peer server
 *   accepted an extension negotiation offer for this extension with an extension negotiation
 *   response meeting any of the following conditions: The negotiation response contains an
 *   extension parameter not defined for use in a response. The negotiation response contains
 *   an extension parameter with an invalid value. The negotiation response contains multiple
 *   extension parameters with the same name. The client does not support the configuration
 *   that the response represents." Each check below throws a `HandshakeError` naming the
 *   parameter.
 */
import type { ExtensionParams } from '../../handshake/headers.js';
import { HandshakeError, InvalidArgumentError } from '../../shared/errors.js';

/** The extension token (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** RSV1, which permessage-deflate claims (RFC 7692 §6: "the Per-Message Compressed bit"). */
export const DEFLATE_RSV_BITS = 0b100;

/** The LZ77 window sizes the parameters may name (RFC 7692 §7.1.2: 8 to 15 bits). */
export const MIN_WINDOW_BITS = 8;
export const MAX_WINDOW_BITS = 15;

/** The parameter names (RFC 7692 §7.1). */
export const DeflateParam = {
  SERVER_NO_CONTEXT_TAKEOVER: 'server_no_context_takeover',
  CLIENT_NO_CONTEXT_TAKEOVER: 'client_no_context_takeover',
  SERVER_MAX_WINDOW_BITS: 'server_max_window_bits',
  CLIENT_MAX_WINDOW_BITS: 'client_max_window_bits',
} as const;

/**
 * An offer or a response, parsed and checked: each parameter at most once, with a valid
 * value. `clientMaxWindowBits` is `true` for the value-less form, allowed only in an offer
 * (§7.1.2.2: "the client supports this extension parameter").
 */
export interface DeflateParameters {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits: number | undefined;
  readonly clientMaxWindowBits: number | true | undefined;
}

/** What the negotiation settled, seen from both ends (the "agreed parameters" of RFC 7692 §7.1). */
export interface DeflateAgreement {
  /** The server resets its compression context after each message (§7.1.1.1). */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compression context after each message (§7.1.1.2). */
  readonly clientNoContextTakeover: boolean;
  /** The largest window the server compresses with (§7.1.2.1); 15 when not limited. */
  readonly serverMaxWindowBits: number;
  /** The largest window the client compresses with (§7.1.2.2); 15 when not limited. */
  readonly clientMaxWindowBits: number;
}

/** What the local compressor and decompressor can honour. */
export interface DeflateCapabilities {
  /**
   * The smallest window the compressor can confine its back-references to (8 for zlib; 15 for
   * `CompressionStream`, which has no window option). A window below it that the peer imposes
   * is agreed to, and then nothing is compressed; options may not ask for one.
   */
  readonly minCompressWindowBits: number;
  /** Whether the compressor can carry its context from one message to the next. */
  readonly compressContextTakeover: boolean;
  /** Whether the decompressor can keep the peer's context from one message to the next. */
  readonly decompressContextTakeover: boolean;
}

/** Window bits an option may name: an integer 8–15. */
export function checkWindowBitsOption(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_WINDOW_BITS || value > MAX_WINDOW_BITS) {
    throw new InvalidArgumentError(`${name} must be an integer from ${MIN_WINDOW_BITS} to ${MAX_WINDOW_BITS}, got ${String(value)}`);
  }
}

/** Why a parameter list is not valid; `null` when it is. */
type ParseResult = { readonly params: DeflateParameters; readonly problem: null } | { readonly params: null; readonly problem: string };

/**
 * Parse a window-bits value. RFC 7692 §7.1.2.1: "The value MUST be a decimal integer value
 * without leading zeros between 8 to 15, inclusive" (the grammar `%x38-39 / "1" %x30-35`).
 */
function parseWindowBits(value: string): number | null {
  switch (value.length) {
    case 1:
      return value === '8' || value === '9' ? Number(value) : null;
    case 2:
      return value.charCodeAt(0) === 0x31 && value.charCodeAt(1) >= 0x30 && value.charCodeAt(1) <= 0x35 ? Number(value) : null;
    default:
      return null;
  }
}

/**
 * Check one element's parameters against RFC 7692 §7.1. `inOffer` allows the value-less
 * `client_max_window_bits` (§7.1.2.2), which a response may not carry.
 */
export function parseDeflateParameters(params: ExtensionParams, inOffer: boolean): ParseResult {
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = false;
  let serverMaxWindowBits: number | undefined;
  let clientMaxWindowBits: number | true | undefined;
  const seen = new Set<string>();
  for (const [name, value] of params) {
    // §7: "multiple extension parameters with the same name" are grounds to decline or fail.
    if (seen.has(name)) return { params: null, problem: `parameter ${name} appears more than once` };
    seen.add(name);
    switch (name) {
      case DeflateParam.SERVER_NO_CONTEXT_TAKEOVER:
      case DeflateParam.CLIENT_NO_CONTEXT_TAKEOVER:
        // §7.1.1.1, §7.1.1.2: "This extension parameter has no value."
        if (value !== true) return { params: null, problem: `parameter ${name} takes no value` };
        if (name === DeflateParam.SERVER_NO_CONTEXT_TAKEOVER) serverNoContextTakeover = true;
        else clientNoContextTakeover = true;
        break;
      case DeflateParam.SERVER_MAX_WINDOW_BITS: {
        // §7.1.2.1: the parameter "has a value".
        const bits = value === true ? null : parseWindowBits(value);
        if (bits === null) return { params: null, problem: `parameter ${name} needs a value from 8 to 15` };
        serverMaxWindowBits = bits;
        break;
      }
      case DeflateParam.CLIENT_MAX_WINDOW_BITS: {
        if (value === true) {
          // §7.1.2.2: "This parameter may have no value" in an offer; a response names the window.
          if (!inOffer) return { params: null, problem: `parameter ${name} needs a value from 8 to 15 in a response` };
          clientMaxWindowBits = true;
          break;
        }
        const bits = parseWindowBits(value);
        if (bits === null) return { params: null, problem: `parameter ${name} needs a value from 8 to 15` };
        clientMaxWindowBits = bits;
        break;
      }
      default:
        return { params: null, problem: `unknown parameter ${name.length > 64 ? `${name.slice(0, 64)}…` : name}` };
    }
  }
  return { params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits }, problem: null };
}

/** Serialize parameters as an element's `ExtensionParams`, in the RFC's order. */
export function serializeDeflateParameters(params: DeflateParameters): ExtensionParams {
  const out: Array<readonly [string, string | true]> = [];
  if (params.serverNoContextTakeover) out.push([DeflateParam.SERVER_NO_CONTEXT_TAKEOVER, true]);
  if (params.clientNoContextTakeover) out.push([DeflateParam.CLIENT_NO_CONTEXT_TAKEOVER, true]);
  if (params.serverMaxWindowBits !== undefined) out.push([DeflateParam.SERVER_MAX_WINDOW_BITS, String(params.serverMaxWindowBits)]);
  if (params.clientMaxWindowBits !== undefined) {
    out.push([DeflateParam.CLIENT_MAX_WINDOW_BITS, params.clientMaxWindowBits === true ? true : String(params.clientMaxWindowBits)]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------

/** How a server answers offers. */
export interface DeflateServerPolicy {
  /** Always ask the server's own compressor to reset after each message. */
  readonly serverNoContextTakeover: boolean;
  /** Always ask the client to reset its compressor after each message. */
  readonly clientNoContextTakeover: boolean;
  /** The largest window the server compresses with; undefined: 15, or what the client asks. */
  readonly serverMaxWindowBits: number | undefined;
  /**
   * The window the client should compress with. Offers without `client_max_window_bits`
   * (a client that cannot limit its window) are declined then, as `ws` does, so the
   * decompressor's memory stays as configured.
   */
  readonly clientMaxWindowBits: number | undefined;
}

/** The server's choice: the response's parameters and what they mean for both ends. */
export interface DeflateServerChoice {
  readonly response: DeflateParameters;
  readonly agreement: DeflateAgreement;
}

/**
 * Choose the first acceptable offer (RFC 6455 §9.1: offers come in the client's order of
 * preference) and build the response to it; null when every offer is declined.
 */
export function chooseDeflateOffer(
  offers: readonly ExtensionParams[],
  policy: DeflateServerPolicy,
  capabilities: DeflateCapabilities,
): DeflateServerChoice | null {
  for (const offer of offers) {
    const parsed = parseDeflateParameters(offer, true);
    // §7: an offer with an unknown parameter, an invalid value or a repeated parameter is declined.
    if (parsed.params === null) continue;
    const choice = answerOffer(parsed.params, policy, capabilities);
    if (choice !== null) return choice;
  }
  return null;
}

function answerOffer(offer: DeflateParameters, policy: DeflateServerPolicy, capabilities: DeflateCapabilities): DeflateServerChoice | null {
  // server_no_context_takeover, §7.1.1.1: "A server accepts an extension negotiation offer
  // that includes the "server_no_context_takeover" extension parameter by including the
  // "server_no_context_takeover" extension parameter in the corresponding extension
  // negotiation response". A server MAY include it without the offer: done when configured,
  // and when the compressor cannot carry its context over anyway.
  const serverNoContextTakeover = offer.serverNoContextTakeover || policy.serverNoContextTakeover || !capabilities.compressContextTakeover;

  // client_no_context_takeover, §7.1.1.2: a server MAY include it whether offered or not.
  // Echoing the client's hint lets the decompressor forget its context between messages;
  // it is required when the decompressor cannot keep it.
  const clientNoContextTakeover = offer.clientNoContextTakeover || policy.clientNoContextTakeover || !capabilities.decompressContextTakeover;

  // server_max_window_bits, §7.1.2.1: with the parameter in the offer, "A server accepts an
  // extension negotiation offer with this parameter by including the "server_max_window_bits"
  // extension parameter in the extension negotiation response to send back to the client with
  // the same or smaller value as the offer." Without it, the response may still limit the
  // server's own window.
  let serverMaxWindowBits: number | undefined = policy.serverMaxWindowBits;
  if (offer.serverMaxWindowBits !== undefined) {
    serverMaxWindowBits = Math.min(offer.serverMaxWindowBits, serverMaxWindowBits ?? MAX_WINDOW_BITS);
  }

  // client_max_window_bits, §7.1.2.2: "If a received extension negotiation offer doesn't have
  // the "client_max_window_bits" extension parameter, the corresponding extension negotiation
  // response to the offer MUST NOT include the "client_max_window_bits" extension parameter."
  // When the client named a value, it compresses within it whatever the response says.
  let clientMaxWindowBits: number | undefined;
  if (policy.clientMaxWindowBits !== undefined) {
    if (offer.clientMaxWindowBits === undefined) return null;
    clientMaxWindowBits = offer.clientMaxWindowBits === true ? policy.clientMaxWindowBits : Math.min(offer.clientMaxWindowBits, policy.clientMaxWindowBits);
  } else if (typeof offer.clientMaxWindowBits === 'number') {
    clientMaxWindowBits = offer.clientMaxWindowBits;
  }

  return {
    response: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
    agreement: {
      serverNoContextTakeover,
      clientNoContextTakeover,
      serverMaxWindowBits: serverMaxWindowBits ?? MAX_WINDOW_BITS,
      clientMaxWindowBits: clientMaxWindowBits ?? MAX_WINDOW_BITS,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------

/**
 * Check the server's response against the offers made, and return the agreement. A response
 * is accepted when it answers at least one of the offers correctly (RFC 7692 §5: it answers
 * one; which one is not said).
 *
 * @throws HandshakeError (101) naming the first problem, when it answers none.
 */
export function acceptDeflateResponse(response: ExtensionParams, offers: readonly DeflateParameters[]): DeflateAgreement {
  const parsed = parseDeflateParameters(response, false);
  if (parsed.params === null) throw responseError(parsed.problem);
  let firstProblem: string | null = null;
  for (const offer of offers) {
    const problem = responseProblem(parsed.params, offer);
    if (problem === null) {
      const params = parsed.params;
      return {
        serverNoContextTakeover: params.serverNoContextTakeover,
        // §7.1.1.2: in an offer, client_no_context_takeover is the client's word that it "is
        // not going to use context takeover" even when the response leaves it out.
        clientNoContextTakeover: params.clientNoContextTakeover || offer.clientNoContextTakeover,
        serverMaxWindowBits: params.serverMaxWindowBits ?? MAX_WINDOW_BITS,
        // §7.1.2.2: a client that named a window in its offer keeps within it even when the
        // response does not repeat it.
        clientMaxWindowBits: (params.clientMaxWindowBits as number | undefined) ?? (typeof offer.clientMaxWindowBits === 'number' ? offer.clientMaxWindowBits : MAX_WINDOW_BITS),
      };
    }
    firstProblem ??= problem;
  }
  throw responseError(firstProblem ?? 'no offer was made');
}

/** Why `response` is not a valid answer to `offer`, or null. */
function responseProblem(response: DeflateParameters, offer: DeflateParameters): string | null {
  // §7.1.1.1: a server that accepts an offer with server_no_context_takeover includes it.
  if (offer.serverNoContextTakeover && !response.serverNoContextTakeover) {
    return 'the response lacks server_no_context_takeover, which the offer asked for';
  }
  // §7.1.2.1: "the same or smaller value as the offer"; accepting means including it.
  if (offer.serverMaxWindowBits !== undefined) {
    if (response.serverMaxWindowBits === undefined) return `the response lacks server_max_window_bits, which the offer limited to ${offer.serverMaxWindowBits}`;
    if (response.serverMaxWindowBits > offer.serverMaxWindowBits) {
      return `server_max_window_bits=${response.serverMaxWindowBits} exceeds the offered ${offer.serverMaxWindowBits}`;
    }
  }
  // §7.1.2.2: "If a received extension negotiation offer doesn't have the
  // "client_max_window_bits" extension parameter, the corresponding extension negotiation
  // response to the offer MUST NOT include the "client_max_window_bits" extension parameter."
  if (response.clientMaxWindowBits !== undefined) {
    if (offer.clientMaxWindowBits === undefined) return 'the response has client_max_window_bits, which the offer did not include';
    if (typeof offer.clientMaxWindowBits === 'number' && (response.clientMaxWindowBits as number) > offer.clientMaxWindowBits) {
      return `client_max_window_bits=${String(response.clientMaxWindowBits)} exceeds the offered ${offer.clientMaxWindowBits}`;
    }
  }
  return null;
}

function responseError(problem: string): HandshakeError {
  return new HandshakeError(`invalid ${PERMESSAGE_DEFLATE} response (RFC 7692 §7.1): ${problem}`, 101);
}
