/**
 * The client's side of the opening handshake (RFC 6455 §4.1): build the request, then check
 * the server's response against it.
 *
 * ```ts
 * const request = buildClientRequest({ host: 'example.com', path: '/chat', random: webCryptoRandom });
 * socket.write(request.bytes);
 * // ... feed the socket into a ResponseHeadParser until it returns the head ...
 * const { protocol, extensions } = validateServerResponse(request, head);
 * ```
 *
 * Every failure of the response is a `HandshakeError` whose `status` is the status code the
 * server sent (101 when the response claimed success but broke a rule), so the caller can
 * tell "the server said no" (e.g. 403, with its headers in `error.headers`) from "the server
 * spoke the protocol wrongly".
 */

import { WEBSOCKET_VERSION } from '../shared/constants.js';
import { HandshakeError, InvalidArgumentError } from '../shared/errors.js';
import type { RandomSource, Sha1 } from '../shared/ports.js';
import { computeAcceptKey, generateKey } from './accept-key.js';
import { equalsIgnoreAsciiCase, hasClass, isHostChar, isToken, quoteForMessage, VCHAR } from './chars.js';
import {
  acceptServerExtensions,
  collectClientOffers,
  NO_EXTENSIONS,
  type ClientExtensionNegotiator,
  type ExtensionNegotiation,
  type NegotiatedExtension,
} from './extensions.js';
import { parseExtensionList, parseTokenList, serializeExtensionList, type ExtensionOffer } from './headers.js';
import {
  checkExtraHeaders,
  checkHeaderField,
  headerFieldsOf,
  HttpHeaders,
  serializeRequestHead,
  type HeaderField,
  type HttpResponseHead,
} from './http.js';

/** What `buildClientRequest` needs. */
export interface ClientRequestOptions<E = unknown> {
  /**
   * The host for the Host header (RFC 6455 §4.1 client requirement 4): a DNS name, an IPv4
   * address, or an IPv6 address with or without brackets.
   */
  readonly host: string;
  /** The port; included in Host only when it is not the default (80, or 443 when `secure`). */
  readonly port?: number;
  /** Whether the connection is `wss:` (decides the default port). Default false. */
  readonly secure?: boolean;
  /** The resource name: path and query, starting with `/` (RFC 6455 §3). Default `/`. */
  readonly path?: string;
  /** The Origin header, for clients that have one (RFC 6455 §4.1 client requirement 8, §10.2). */
  readonly origin?: string;
  /** Subprotocols to offer, most preferred first: distinct tokens (§4.1 client requirement 10). */
  readonly protocols?: readonly string[];
  /** Extensions to offer (§4.1 client requirement 11, §9.1). */
  readonly extensions?: readonly ClientExtensionNegotiator<E>[];
  /**
   * Fail the handshake when subprotocols were offered and the server selected none.
   * RFC 6455 lets such a client carry on without one (the server "MUST NOT" name one it does
   * not support, §4.2.2, and §4.1 fails only an unoffered one), so the default is false; the
   * WHATWG WebSocket and `ws` fail it, and their faces here set this.
   */
  readonly requireProtocol?: boolean;
  /**
   * More header fields (e.g. Authorization, Cookie, User-Agent). Names must be tokens and
   * values free of control characters; the fields this module writes itself (Host, Origin,
   * Upgrade, Connection, Sec-WebSocket-*) and body framing fields are refused.
   */
  readonly headers?: Iterable<HeaderField> | Readonly<Record<string, string>>;
  /** The source of the key's 16 random bytes; must be cryptographically strong (§10.3). */
  readonly random: RandomSource;
}

/** A built handshake request, and what the response will be checked against. */
export interface ClientRequest<E = unknown> {
  /** The Sec-WebSocket-Key sent. */
  readonly key: string;
  /** The request target (resource name). */
  readonly target: string;
  /** Every header field sent, in order. */
  readonly headers: HttpHeaders;
  /** The serialized request head, ready to write to the transport. */
  readonly bytes: Uint8Array;
  /** The subprotocols offered, in order. */
  readonly protocols: readonly string[];
  /** Whether a response that selects none of `protocols` fails (see the request option). */
  readonly requireProtocol: boolean;
  /** The negotiators that made at least one offer. */
  readonly extensions: readonly ClientExtensionNegotiator<E>[];
}

/** The agreed terms of a successful handshake. */
export interface ClientHandshakeResult<E = unknown> {
  /** The subprotocol the server selected, or null (the server sent none). */
  readonly protocol: string | null;
  /** The extensions in use, in the order the server listed them. */
  readonly extensions: readonly NegotiatedExtension<E>[];
  /** RSV bits the extensions own (`rsv1 << 2 | rsv2 << 1 | rsv3`). */
  readonly rsvBits: number;
  /** The server's response head. */
  readonly response: HttpResponseHead;
}

/** Header fields the handshake writes or forbids itself (lower case). */
export const MANAGED_REQUEST_FIELDS: ReadonlySet<string> = new Set([
  'host',
  'origin',
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-accept',
  'content-length',
  'transfer-encoding',
]);

/** The Host header value: `host[:port]`, IPv6 in brackets (RFC 7230 §5.4, RFC 3986 §3.2.2). */
export function hostHeader(host: string, port: number | undefined, secure: boolean): string {
  const literal = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const bracketed = literal.startsWith('[');
  const inner = bracketed ? literal.slice(1, -1) : literal;
  if (inner.length === 0 || (bracketed && !literal.endsWith(']'))) {
    throw new InvalidArgumentError(`invalid host ${JSON.stringify(host)}`);
  }
  for (let i = 0; i < inner.length; i++) {
    if (!isHostChar(inner.charCodeAt(i), bracketed)) throw new InvalidArgumentError(`invalid host ${JSON.stringify(host)}`);
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new InvalidArgumentError(`invalid port ${String(port)}: must be an integer 1–65535`);
  }
  const defaultPort = secure ? 443 : 80;
  return port === undefined || port === defaultPort ? literal : `${literal}:${port}`;
}

/** The resource name: `/` then VCHARs, no fragment (RFC 6455 §3: "Fragment identifiers are meaningless"). */
export function checkPath(path: string): void {
  if (!path.startsWith('/')) throw new InvalidArgumentError(`invalid path ${JSON.stringify(path)}: must start with "/"`);
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (!hasClass(code, VCHAR) || code === 0x23) {
      throw new InvalidArgumentError(
        `invalid path ${JSON.stringify(path)}: only visible ASCII without "#" is allowed (percent-encode the rest)`,
      );
    }
  }
}

/** Subprotocols must be distinct tokens (RFC 6455 §4.1 client requirement 10). */
export function checkProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol)) {
      throw new InvalidArgumentError(`invalid subprotocol ${JSON.stringify(protocol)}: must be an RFC 7230 token`);
    }
    if (seen.has(protocol)) throw new InvalidArgumentError(`subprotocol ${JSON.stringify(protocol)} is listed twice`);
    seen.add(protocol);
  }
}

/** What an opening request, RFC 6455 §4.1's Upgrade or RFC 8441's extended CONNECT, takes from its checked options. */
export interface CheckedRequestOptions<E> {
  /** The Host header's value, which is also the `:authority` of an extended CONNECT. */
  readonly hostValue: string;
  /** The application's extra header fields. */
  readonly extra: HeaderField[];
  /** The extension offers, in the order of the negotiators. */
  readonly offers: ExtensionOffer[];
  /** The negotiators that made an offer: those the response may accept. */
  readonly offered: ClientExtensionNegotiator<E>[];
}

/**
 * Check the options both opening requests share (host, port, path, origin, subprotocols,
 * extensions, extra fields) and collect the extension offers. `managed` names the fields the
 * application may not add.
 *
 * @throws InvalidArgumentError for an invalid host, port, path, origin, subprotocol list,
 *   extension configuration or extra header.
 */
export function checkRequestOptions<E>(options: Omit<ClientRequestOptions<E>, 'random'>, managed: ReadonlySet<string>): CheckedRequestOptions<E> {
  const { host, port, secure = false, path = '/', origin, protocols = [], extensions = [] } = options;
  if (typeof host !== 'string') throw new InvalidArgumentError('host must be a string');
  const hostValue = hostHeader(host, port, secure);
  checkPath(path);
  checkProtocols(protocols);
  if (origin !== undefined) checkHeaderField('Origin', origin);
  const extra = headerFieldsOf(options.headers);
  checkExtraHeaders(extra, managed);
  const offers = collectClientOffers(extensions);
  const offeredNames = new Set(offers.map((offer) => offer.name));
  return { hostValue, extra, offers, offered: extensions.filter((negotiator) => offeredNames.has(negotiator.name)) };
}

/**
 * Build the opening handshake request (RFC 6455 §4.1):
 *
 * ```
 * GET /path HTTP/1.1
 * Host: host[:port]
 * Upgrade: websocket
 * Connection: Upgrade
 * Sec-WebSocket-Key: <base64 of 16 random bytes>
 * Sec-WebSocket-Version: 13
 * [Origin, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions, extra headers]
 * ```
 *
 * @throws InvalidArgumentError for an invalid host, port, path, origin, subprotocol list,
 *   extension configuration or extra header.
 */
export function buildClientRequest<E = unknown>(options: ClientRequestOptions<E>): ClientRequest<E> {
  const { path = '/', origin, protocols = [], random, requireProtocol = false } = options;
  const { hostValue, extra, offers, offered } = checkRequestOptions(options, MANAGED_REQUEST_FIELDS);

  const key = generateKey(random);
  const fields: HeaderField[] = [
    ['Host', hostValue],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', String(WEBSOCKET_VERSION)],
  ];
  if (origin !== undefined) fields.push(['Origin', origin]);
  if (protocols.length > 0) fields.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  if (offers.length > 0) fields.push(['Sec-WebSocket-Extensions', serializeExtensionList(offers)]);
  fields.push(...extra);

  return {
    key,
    target: path,
    headers: new HttpHeaders(fields),
    bytes: serializeRequestHead('GET', path, fields),
    protocols: [...protocols],
    requireProtocol,
    extensions: offered,
  };
}

/** Read a header that must appear on exactly one line. */
function single(response: HttpResponseHead, name: string): string {
  const count = response.headers.count(name);
  if (count === 0) throw new HandshakeError(`the response has no ${name} header`, response.status);
  if (count > 1) throw new HandshakeError(`the response has more than one ${name} header`, response.status);
  return response.headers.get(name)!;
}

/** The checks of RFC 6455 §4.1 on a response whose status is 101; errors may carry any status. */
function checkSwitchingProtocols<E>(request: ClientRequest<E>, response: HttpResponseHead, sha1: Sha1 | undefined): ClientHandshakeResult<E> {
  const { headers } = response;

  // §4.1 client requirement 2: "If the response lacks an |Upgrade| header field or the
  // |Upgrade| header field contains a value that is not an ASCII case-insensitive match for
  // the value "websocket", the client MUST _Fail the WebSocket Connection_."
  const upgrade = single(response, 'Upgrade');
  if (!equalsIgnoreAsciiCase(upgrade, 'websocket')) {
    throw new HandshakeError(`the response's Upgrade header is ${quoteForMessage(upgrade)}, not "websocket"`, response.status);
  }

  // Requirement 3: Connection must hold the token "Upgrade" (ASCII case-insensitive).
  const connection = headers.get('Connection');
  if (connection === undefined) throw new HandshakeError('the response has no Connection header', response.status);
  if (!parseTokenList(connection, 'Connection').some((token) => equalsIgnoreAsciiCase(token, 'upgrade'))) {
    throw new HandshakeError(`the response's Connection header ${quoteForMessage(connection)} does not contain "Upgrade"`, response.status);
  }

  // Requirement 4: Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)).
  const accept = single(response, 'Sec-WebSocket-Accept');
  if (accept !== computeAcceptKey(request.key, sha1)) {
    throw new HandshakeError("the response's Sec-WebSocket-Accept does not match the key sent", response.status);
  }

  return { ...acceptResponseTerms(request, response), response };
}

/** What a client offered that the response's terms are checked against, over either transport. */
export type ClientOffer<E> = Pick<ClientRequest<E>, 'protocols' | 'requireProtocol' | 'extensions'>;

/**
 * The checks a successful response passes over HTTP/1.1 and over HTTP/2 alike (RFC 8441 §5:
 * Sec-WebSocket-Protocol and Sec-WebSocket-Extensions "are used in the CONNECT request and
 * response header fields as defined in [RFC6455]"): RFC 6455 §4.1 client requirements 5 and 6.
 *
 * @throws HandshakeError with the response's status.
 */
export function acceptResponseTerms<E>(request: ClientOffer<E>, response: HttpResponseHead): Omit<ClientHandshakeResult<E>, 'response'> {
  const { headers } = response;

  // Requirement 6: a subprotocol "that was not present in the client's handshake" fails the
  // connection; §4.2.2 allows the server at most one, as a single token.
  let protocol: string | null = null;
  if (headers.has('Sec-WebSocket-Protocol')) {
    const value = single(response, 'Sec-WebSocket-Protocol');
    if (!isToken(value)) {
      throw new HandshakeError(`the response's Sec-WebSocket-Protocol ${quoteForMessage(value)} is not a single subprotocol`, response.status);
    }
    if (!request.protocols.includes(value)) {
      throw new HandshakeError(`the server selected subprotocol ${quoteForMessage(value)}, which was not offered`, response.status);
    }
    protocol = value;
  } else if (request.requireProtocol && request.protocols.length > 0) {
    throw new HandshakeError('the server selected none of the subprotocols offered', response.status);
  }

  // Requirement 5: extensions only if offered (see acceptServerExtensions).
  let negotiation: ExtensionNegotiation<E> = NO_EXTENSIONS;
  const extensionsHeader = headers.get('Sec-WebSocket-Extensions');
  if (extensionsHeader !== undefined) {
    negotiation = acceptServerExtensions(parseExtensionList(extensionsHeader), request.extensions);
  }

  return { protocol, extensions: negotiation.extensions, rsvBits: negotiation.rsvBits };
}

/**
 * Check the server's response to `request` (RFC 6455 §4.1, "the client MUST validate the
 * server's response as follows"): status 101; `Upgrade: websocket`; `Connection` containing
 * `Upgrade`; `Sec-WebSocket-Accept` matching the key; a subprotocol only if one was offered,
 * at most one; extensions only if offered, each at most once, with RSV bits that do not
 * clash, and accepted by their negotiator.
 *
 * @param sha1 SHA-1 for the accept check; defaults to the portable implementation.
 * @throws HandshakeError with `status` the response's status code. For a status other than
 *   101, `headers` holds the response's header fields (a redirect's Location, a 401's
 *   WWW-Authenticate), since RFC 6455 §4.1 leaves such responses to HTTP procedures.
 */
export function validateServerResponse<E>(request: ClientRequest<E>, response: HttpResponseHead, sha1?: Sha1): ClientHandshakeResult<E> {
  if (response.status !== 101) {
    const reason = response.reason === '' ? '' : ` ${quoteForMessage(response.reason)}`;
    throw new HandshakeError(
      `the server answered ${response.status}${reason} instead of 101 Switching Protocols`,
      response.status,
      [...response.headers],
    );
  }
  try {
    return checkSwitchingProtocols(request, response, sha1);
  } catch (error) {
    // Grammar errors and negotiators' errors carry a server-side status (400); report the
    // status this response actually had.
    if (error instanceof HandshakeError && error.status !== response.status) {
      throw new HandshakeError(error.message, response.status, error.headers, error.code);
    }
    throw error;
  }
}
