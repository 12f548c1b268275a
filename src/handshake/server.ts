/**
 * The server's side of the opening handshake (RFC 6455 §4.2): check the client's request,
 * negotiate subprotocol and extensions, and build the 101 response or the error response.
 *
 * ```ts
 * let handshake;
 * try {
 *   handshake = validateClientRequest(head, { handleProtocols, extensions });
 * } catch (error) {
 *   if (error instanceof HandshakeError) socket.end(buildErrorResponse(error));
 *   throw error; // InvalidArgumentError: the server's own configuration or callback is wrong
 * }
 * socket.write(buildServerResponse(handshake));
 * ```
 */

import { utf8Encode } from '../shared/bytes.js';
import { WEBSOCKET_VERSION } from '../shared/constants.js';
import { HandshakeError, InvalidArgumentError } from '../shared/errors.js';
import type { Sha1 } from '../shared/ports.js';
import { computeAcceptKey } from './accept-key.js';
import { decodeBase64 } from './base64.js';
import { equalsIgnoreAsciiCase, isValidHostHeader, quoteForMessage } from './chars.js';
import {
  negotiateServerExtensions,
  NO_EXTENSIONS,
  type ExtensionNegotiation,
  type NegotiatedExtension,
  type ServerExtensionNegotiator,
} from './extensions.js';
import { parseExtensionList, parseSubprotocolList, parseTokenList, parseUpgradeList, serializeExtensionList } from './headers.js';
import { checkExtraHeaders, headerFieldsOf, serializeResponseHead, type HeaderField, type HttpRequestHead } from './http.js';

/** How the server negotiates. */
export interface ServerHandshakeOptions<E = unknown> {
  /**
   * Pick the subprotocol (RFC 6455 §4.2.2 /subprotocol/): one of `offered`, or false for none
   * — then no Sec-WebSocket-Protocol header is sent at all ("it MUST NOT send back a
   * |Sec-WebSocket-Protocol| header field"). Called only when the client offered at least
   * one. Without a callback the server selects none.
   */
  readonly handleProtocols?: (offered: ReadonlySet<string>, request: HttpRequestHead) => string | false;
  /** Extensions the server supports, in its order of preference. */
  readonly extensions?: readonly ServerExtensionNegotiator<E>[];
  /**
   * Decide on the Origin header (RFC 6455 §4.2.2 step 4, §10.2): return false to refuse the
   * connection with 403 Forbidden. `origin` is undefined when the client sent none (non-browser
   * clients need not). Without a hook every origin is accepted.
   */
  readonly verifyOrigin?: (origin: string | undefined, request: HttpRequestHead) => boolean;
}

/** A request that passed validation, and the terms the server agreed to. */
export interface ServerHandshake<E = unknown> {
  readonly request: HttpRequestHead;
  /** The client's Sec-WebSocket-Key. */
  readonly key: string;
  /** The selected subprotocol, or null. */
  readonly protocol: string | null;
  /** The extensions in use, in the order of the response. */
  readonly extensions: readonly NegotiatedExtension<E>[];
  /** RSV bits the extensions own (`rsv1 << 2 | rsv2 << 1 | rsv3`). */
  readonly rsvBits: number;
  /** The response's Sec-WebSocket-Extensions value, or null for none. */
  readonly extensionsHeader: string | null;
}

/** Options for `buildServerResponse`. */
export interface ServerResponseOptions {
  /** SHA-1 for Sec-WebSocket-Accept; defaults to the portable implementation. */
  readonly sha1?: Sha1;
  /** More header fields (e.g. Set-Cookie). The handshake's own fields are refused. */
  readonly headers?: Iterable<HeaderField> | Readonly<Record<string, string>>;
}

/** Header fields the 101 response writes itself, or that would give it a body (lower case). */
const MANAGED_RESPONSE_FIELDS: ReadonlySet<string> = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-version',
  'content-length',
  'transfer-encoding',
]);

/** Fields an error response writes itself (lower case). */
export const MANAGED_ERROR_FIELDS: ReadonlySet<string> = new Set(['connection', 'content-type', 'content-length', 'transfer-encoding']);

export function badRequest(message: string): HandshakeError {
  return new HandshakeError(message, 400);
}

/** A field that must appear on exactly one line (RFC 7230 §3.2.2: only list fields may repeat). */
function singleField(request: HttpRequestHead, name: string): string | undefined {
  const count = request.headers.count(name);
  if (count > 1) throw badRequest(`more than one ${name} header`);
  return count === 0 ? undefined : request.headers.get(name);
}

/**
 * Check a client's opening handshake (RFC 6455 §4.2.1) and negotiate (§4.2.2). In order:
 *
 * 1. method GET, else 405 with `Allow: GET`;
 * 2. HTTP/1.1 or higher, else 400;
 * 3. exactly one Host, a valid `host[:port]` (RFC 7230 §5.4: 400 otherwise);
 * 4. Upgrade listing `websocket` (ASCII case-insensitive), else 400;
 * 5. Connection listing `Upgrade` (ASCII case-insensitive), else 400;
 * 6. no body: no Transfer-Encoding and no non-zero Content-Length, since the bytes after the
 *    head are WebSocket frames, else 400;
 * 7. exactly one Sec-WebSocket-Key that decodes to 16 bytes, else 400;
 * 8. Sec-WebSocket-Version 13, else 426 with `Sec-WebSocket-Version: 13` (§4.4);
 * 9. at most one Origin, else 400; `verifyOrigin` false → 403;
 * 10. Sec-WebSocket-Protocol: distinct tokens (400 otherwise); `handleProtocols` picks one;
 * 11. Sec-WebSocket-Extensions: the §9.1 grammar (400 otherwise); the negotiators pick.
 *
 * @throws HandshakeError with the status (and headers) to answer with — see `buildErrorResponse`.
 * @throws InvalidArgumentError when `handleProtocols` returns a subprotocol the client did not
 *   offer, or the extension negotiators are misconfigured: errors of the server itself.
 *   Whatever `verifyOrigin`, `handleProtocols` or a negotiator throws passes through unchanged.
 */
export function validateClientRequest<E = unknown>(
  request: HttpRequestHead,
  options: ServerHandshakeOptions<E> = {},
): ServerHandshake<E> {
  const { headers } = request;

  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request". A wrong method is answered as HTTP
  // answers it: 405 with the allowed method (RFC 7231 §6.5.5).
  if (request.method !== 'GET') {
    throw new HandshakeError(`the method must be GET, not ${quoteForMessage(request.method)}`, 405, [['Allow', 'GET']]);
  }
  if (request.version.major < 1 || (request.version.major === 1 && request.version.minor < 1)) {
    throw badRequest(`HTTP/${request.version.major}.${request.version.minor} cannot upgrade: HTTP/1.1 or higher is required`);
  }

  // Item 2: "A |Host| header field containing the server's authority." RFC 7230 §5.4: a
  // request without Host, with several, or with an invalid one gets 400.
  const host = singleField(request, 'Host');
  if (host === undefined) throw badRequest('missing Host header');
  if (host === '') throw badRequest('empty Host header');
  if (!isValidHostHeader(host)) throw badRequest(`invalid Host header ${quoteForMessage(host)}`);

  // Item 3: "An |Upgrade| header field containing the value "websocket", treated as an ASCII
  // case-insensitive value."
  const upgrade = headers.get('Upgrade');
  if (upgrade === undefined) throw badRequest('missing Upgrade header');
  if (!parseUpgradeList(upgrade).some((protocol) => equalsIgnoreAsciiCase(protocol, 'websocket'))) {
    throw badRequest(`the Upgrade header ${quoteForMessage(upgrade)} does not contain "websocket"`);
  }

  // Item 4: "A |Connection| header field that includes the token "Upgrade", treated as an
  // ASCII case-insensitive value."
  const connection = headers.get('Connection');
  if (connection === undefined) throw badRequest('missing Connection header');
  if (!parseTokenList(connection, 'Connection').some((token) => equalsIgnoreAsciiCase(token, 'upgrade'))) {
    throw badRequest(`the Connection header ${quoteForMessage(connection)} does not contain "Upgrade"`);
  }

  // What follows the head is the first WebSocket frame; a request body would be read as one
  // (the framing confusion request smuggling is made of), so a request that declares one is
  // refused.
  if (headers.has('Transfer-Encoding')) throw badRequest('an upgrade request cannot have a body (Transfer-Encoding)');
  const contentLength = headers.get('Content-Length');
  if (contentLength !== undefined && contentLength !== '0') {
    throw badRequest('an upgrade request cannot have a body (Content-Length)');
  }

  // Item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when
  // decoded, is 16 bytes in length."
  const key = singleField(request, 'Sec-WebSocket-Key');
  if (key === undefined) throw badRequest('missing Sec-WebSocket-Key header');
  if (decodeBase64(key)?.length !== 16) {
    throw badRequest(`invalid Sec-WebSocket-Key ${quoteForMessage(key)}: must be the base64 encoding of 16 bytes`);
  }

  return { request, key, ...negotiateRequestTerms(request, options) };
}

/** What a request's negotiation agreed to, over either transport (RFC 6455 §4.2.1 items 6–9). */
export type NegotiatedTerms<E> = Omit<ServerHandshake<E>, 'request' | 'key'>;

/**
 * The rules an opening request follows over HTTP/1.1 and over HTTP/2 alike (RFC 8441 §5: the
 * request "follows the rules" of RFC 6455 §4.2.1 for these fields): Sec-WebSocket-Version 13,
 * the origin, the subprotocol and the extensions.
 *
 * @throws HandshakeError, InvalidArgumentError as `validateClientRequest` (items 8–11).
 */
export function negotiateRequestTerms<E>(request: HttpRequestHead, options: ServerHandshakeOptions<E>): NegotiatedTerms<E> {
  const { headers } = request;

  // Item 6: "A |Sec-WebSocket-Version| header field, with a value of 13." §4.4: a version
  // the server does not speak gets 426 with the versions it supports. A request without the
  // field is malformed, not of another version: 400 (as ws answers), with the version too.
  const version = headers.get('Sec-WebSocket-Version');
  if (version !== String(WEBSOCKET_VERSION)) {
    throw new HandshakeError(
      version === undefined
        ? 'missing Sec-WebSocket-Version header: this server speaks version 13'
        : `unsupported Sec-WebSocket-Version ${quoteForMessage(version)}: this server speaks version 13`,
      version === undefined ? 400 : 426,
      [['Sec-WebSocket-Version', String(WEBSOCKET_VERSION)]],
    );
  }

  // Item 7 and §4.2.2 step 4: the server may refuse an origin; "If the server does not wish to
  // accept this connection, it MUST return an appropriate HTTP error code (e.g., 403 Forbidden)".
  const origin = singleField(request, 'Origin');
  if (options.verifyOrigin !== undefined && !options.verifyOrigin(origin, request)) {
    throw new HandshakeError(
      origin === undefined ? 'a request without Origin is not allowed' : `origin ${quoteForMessage(origin)} is not allowed`,
      403,
    );
  }

  // Item 8 and §4.2.2 /subprotocol/ (seed 002): one of the client's values, or none.
  let protocol: string | null = null;
  const protocolHeader = headers.get('Sec-WebSocket-Protocol');
  if (protocolHeader !== undefined && options.handleProtocols !== undefined) {
    const offered: ReadonlySet<string> = new Set(parseSubprotocolList(protocolHeader));
    const chosen = options.handleProtocols(offered, request);
    if (chosen !== false) {
      if (typeof chosen !== 'string' || !offered.has(chosen)) {
        throw new InvalidArgumentError(
          `handleProtocols returned ${JSON.stringify(chosen)}, which the client did not offer: return one of the offered subprotocols or false`,
        );
      }
      protocol = chosen;
    }
  } else if (protocolHeader !== undefined) {
    parseSubprotocolList(protocolHeader); // malformed is 400 even when no subprotocol is wanted
  }

  // Item 9 and §9.1: extensions.
  let negotiation: ExtensionNegotiation<E> = NO_EXTENSIONS;
  let extensionsHeader: string | null = null;
  const extensionHeader = headers.get('Sec-WebSocket-Extensions');
  if (extensionHeader !== undefined) {
    const offers = parseExtensionList(extensionHeader);
    const { negotiation: agreed, response } = negotiateServerExtensions(offers, options.extensions ?? []);
    negotiation = agreed;
    if (response.length > 0) extensionsHeader = serializeExtensionList(response);
  }

  return { protocol, extensions: negotiation.extensions, rsvBits: negotiation.rsvBits, extensionsHeader };
}

/**
 * The header fields of the 101 response (RFC 6455 §4.2.2 step 5), without extras:
 * Upgrade, Connection, Sec-WebSocket-Accept, and Sec-WebSocket-Protocol /
 * Sec-WebSocket-Extensions only when something was agreed.
 */
export function serverResponseHeaders(handshake: ServerHandshake<unknown>, sha1?: Sha1): HeaderField[] {
  const fields: HeaderField[] = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', computeAcceptKey(handshake.key, sha1)],
  ];
  if (handshake.protocol !== null) fields.push(['Sec-WebSocket-Protocol', handshake.protocol]);
  if (handshake.extensionsHeader !== null) fields.push(['Sec-WebSocket-Extensions', handshake.extensionsHeader]);
  return fields;
}

/**
 * The 101 Switching Protocols response for an accepted handshake.
 *
 * @throws InvalidArgumentError if an extra header is invalid or is one the handshake sets.
 */
export function buildServerResponse(handshake: ServerHandshake<unknown>, options: ServerResponseOptions = {}): Uint8Array {
  const extra = headerFieldsOf(options.headers);
  checkExtraHeaders(extra, MANAGED_RESPONSE_FIELDS);
  return serializeResponseHead(101, 'Switching Protocols', [...serverResponseHeaders(handshake, options.sha1), ...extra]);
}

export const REASON_PHRASES: ReadonlyMap<number, string> = new Map([
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [408, 'Request Timeout'],
  [414, 'URI Too Long'],
  [426, 'Upgrade Required'],
  [429, 'Too Many Requests'],
  [431, 'Request Header Fields Too Large'],
  [500, 'Internal Server Error'],
  [503, 'Service Unavailable'],
]);

/** What an error response is made of; a `HandshakeError` is one. */
export interface HttpErrorDescription {
  /** 400–599. */
  readonly status: number;
  /** Sent as the plain-text body. */
  readonly message: string;
  /** Extra fields, e.g. `Sec-WebSocket-Version: 13` with a 426, `Allow: GET` with a 405. */
  readonly headers?: Iterable<HeaderField>;
}

/**
 * An HTTP error response that ends the connection: the status line, the error's own headers,
 * `Connection: close`, `Content-Type: text/plain; charset=utf-8`, `Content-Length`, and the
 * message as the body.
 *
 * @example socket.end(buildErrorResponse(handshakeError));
 * @throws InvalidArgumentError if the status is not 400–599 or a header is invalid or one this
 *   function sets.
 */
export function buildErrorResponse(error: HttpErrorDescription): Uint8Array {
  const { status, message } = error;
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new InvalidArgumentError(`an error response needs a status 400–599, got ${String(status)}`);
  }
  const extra = [...(error.headers ?? [])];
  checkExtraHeaders(extra, MANAGED_ERROR_FIELDS);
  // The message as it is, no newline added: ws's refusals ("Forbidden") byte for byte.
  const body = utf8Encode(message);
  const head = serializeResponseHead(status, REASON_PHRASES.get(status) ?? (status < 500 ? 'Client Error' : 'Server Error'), [
    ...extra,
    ['Connection', 'close'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
