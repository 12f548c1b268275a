/**
 * The opening handshake over HTTP/2 (RFC 8441): an extended CONNECT with `:protocol =
 * websocket` on one stream, answered `:status 200`. Both sides, without I/O: the request's
 * checks and negotiation (server), the request's fields and the response's checks (client).
 *
 * What differs from HTTP/1.1 (RFC 6455 §4) is only how the request is framed. RFC 8441 §5:
 * the pseudo-header fields replace the request line, Host, Upgrade and Connection; "do not do
 * the processing of the Sec-WebSocket-Key and Sec-WebSocket-Accept header fields"; and
 * "Origin, Sec-WebSocket-Version, Sec-WebSocket-Protocol, and Sec-WebSocket-Extensions header
 * fields are used in the CONNECT request and response header fields as defined in [RFC6455]"
 * — so those go through the same functions as an HTTP/1.1 request (`negotiateRequestTerms`,
 * `acceptResponseTerms`), with the same options and the same error statuses.
 *
 * ```ts
 * const handshake = validateExtendedConnect(request, { handleProtocols, extensions });
 * stream.respond({ ':status': 200, ...Object.fromEntries(extendedConnectResponseFields(handshake)) });
 * ```
 */
import { utf8Encode } from '../shared/bytes.js';
import { WEBSOCKET_VERSION } from '../shared/constants.js';
import { HandshakeError, InvalidArgumentError } from '../shared/errors.js';
import { asciiLowerCase, equalsIgnoreAsciiCase, isValidHostHeader, quoteForMessage } from './chars.js';
import {
  acceptResponseTerms,
  checkRequestOptions,
  type ClientHandshakeResult,
  type ClientOffer,
  type ClientRequestOptions,
  MANAGED_REQUEST_FIELDS,
} from './client.js';
import { serializeExtensionList } from './headers.js';
import { checkExtraHeaders, HttpHeaders, type HeaderField, type HttpRequestHead } from './http.js';
import {
  badRequest,
  type HttpErrorDescription,
  MANAGED_ERROR_FIELDS,
  negotiateRequestTerms,
  type NegotiatedTerms,
  type ServerHandshakeOptions,
} from './server.js';

/** The HTTP version of an opening handshake over HTTP/2, as `HttpRequestHead.version` carries it. */
export const HTTP2_VERSION = Object.freeze({ major: 2, minor: 0 });

/**
 * A request as HTTP/2 delivers it (RFC 7540 §8.1.2.3): the pseudo-header fields apart
 * (undefined when absent), every other field in `headers`.
 */
export interface ExtendedConnectRequest {
  readonly method: string | undefined;
  /** `:protocol` (RFC 8441 §4). */
  readonly protocol: string | undefined;
  readonly scheme: string | undefined;
  readonly authority: string | undefined;
  readonly path: string | undefined;
  readonly headers: HttpHeaders;
}

/** A request that passed validation, and the terms the server agreed to. */
export interface ExtendedConnectHandshake<E = unknown> extends NegotiatedTerms<E> {
  /**
   * The request as the callbacks see it (`verifyOrigin`, `handleProtocols`): method
   * `CONNECT`, target `:path`, version 2.0, and the header fields with `:authority` as Host.
   */
  readonly request: HttpRequestHead;
}

/** Whether `request` is an extended CONNECT (RFC 8441 §4: a CONNECT that carries `:protocol`). */
export function isExtendedConnect(request: Pick<ExtendedConnectRequest, 'method' | 'protocol'>): boolean {
  return request.method === 'CONNECT' && request.protocol !== undefined;
}

/**
 * The fields RFC 7540 §8.1.2.2 calls connection-specific: "An endpoint MUST NOT generate an
 * HTTP/2 message containing connection-specific header fields; any message containing
 * connection-specific header fields MUST be treated as malformed". RFC 8441 §5 names
 * Connection and Upgrade for the CONNECT request in particular.
 */
const CONNECTION_SPECIFIC_FIELDS: ReadonlySet<string> = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding']);

/** Fields the application may not add to an extended CONNECT: what the handshake sets, or what HTTP/2 forbids. */
const FORBIDDEN_REQUEST_FIELDS: ReadonlySet<string> = new Set([...MANAGED_REQUEST_FIELDS, ...CONNECTION_SPECIFIC_FIELDS]);

/** Fields the application may not add to an error response on a stream. */
const FORBIDDEN_ERROR_FIELDS: ReadonlySet<string> = new Set([...MANAGED_ERROR_FIELDS, ...CONNECTION_SPECIFIC_FIELDS]);

/**
 * Check an extended CONNECT (RFC 8441 §4, §5) and negotiate. In order:
 *
 * 1. `:method` CONNECT, else 405 with `Allow: CONNECT`;
 * 2. a `:protocol`, else 400: a CONNECT without one asks for a TCP tunnel (RFC 7540 §8.3);
 * 3. `:protocol` "websocket" (§5 "MUST have a value of "websocket""), else 501 Not Implemented,
 *    as RFC 9220 §3 has a server answer a `:protocol` it does not support;
 * 4. `:scheme` "http" or "https" (§5), `:path` in origin form and `:authority` a valid
 *    `host[:port]` (§4: "the :scheme and :path pseudo-header fields ... MUST also be
 *    included"), else 400;
 * 5. no connection-specific fields (Connection, Upgrade, …) and no body (Content-Length other
 *    than 0), else 400: the stream's DATA is WebSocket frames;
 * 6. the rules shared with HTTP/1.1: Sec-WebSocket-Version 13 (426 otherwise, 400 when
 *    missing), the origin (403), the subprotocol and the extensions (400 when malformed).
 *
 * A Sec-WebSocket-Key, if sent, is ignored (§5: its processing "has been superseded by the
 * :protocol pseudo-header field").
 *
 * @throws HandshakeError with the status (and header fields) to answer with.
 * @throws InvalidArgumentError as `validateClientRequest`: errors of the server itself.
 */
export function validateExtendedConnect<E = unknown>(request: ExtendedConnectRequest, options: ServerHandshakeOptions<E> = {}): ExtendedConnectHandshake<E> {
  if (request.method !== 'CONNECT') {
    throw new HandshakeError(`a WebSocket over HTTP/2 opens with CONNECT, not ${quoteForMessage(request.method ?? '')}`, 405, [['Allow', 'CONNECT']]);
  }
  const { protocol, scheme, authority, path, headers } = request;
  if (protocol === undefined) throw badRequest('a CONNECT without :protocol asks for a tunnel; a WebSocket needs :protocol websocket (RFC 8441 §4)');
  if (!equalsIgnoreAsciiCase(protocol, 'websocket')) {
    throw new HandshakeError(`the :protocol ${quoteForMessage(protocol)} is not supported: this server speaks "websocket"`, 501);
  }
  if (scheme !== 'http' && scheme !== 'https') {
    throw badRequest(scheme === undefined ? 'missing :scheme (RFC 8441 §4)' : `the :scheme must be "http" or "https", not ${quoteForMessage(scheme)}`);
  }
  if (path === undefined) throw badRequest('missing :path (RFC 8441 §4)');
  if (!path.startsWith('/')) throw badRequest(`the :path ${quoteForMessage(path)} must start with "/"`);
  if (authority === undefined || authority === '') throw badRequest('missing :authority (RFC 8441 §5)');
  if (!isValidHostHeader(authority)) throw badRequest(`invalid :authority ${quoteForMessage(authority)}`);
  for (const [name] of headers) {
    const lower = asciiLowerCase(name);
    if (CONNECTION_SPECIFIC_FIELDS.has(lower)) throw badRequest(`the connection-specific field ${name} is not allowed in HTTP/2 (RFC 7540 §8.1.2.2)`);
  }
  const contentLength = headers.get('Content-Length');
  if (contentLength !== undefined && contentLength !== '0') throw badRequest('an extended CONNECT cannot have a body (Content-Length)');

  // The callbacks see the request as HTTP/1.1 would have carried it: :authority is the Host.
  const head: HttpRequestHead = {
    method: 'CONNECT',
    target: path,
    version: HTTP2_VERSION,
    headers: headers.has('Host') ? headers : new HttpHeaders([['host', authority], ...headers]),
  };
  return { request: head, ...negotiateRequestTerms(head, options) };
}

/** Fields the application may not add to a response: what the handshake sets, or what HTTP/2 forbids. */
const MANAGED_RESPONSE_FIELDS: ReadonlySet<string> = new Set([
  ...CONNECTION_SPECIFIC_FIELDS,
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-version',
  'content-length',
]);

/**
 * The header fields of the 200 response (RFC 8441 §5, without `:status`): Sec-WebSocket-Protocol
 * and Sec-WebSocket-Extensions when something was agreed, then `extra`. No
 * Sec-WebSocket-Accept (§5).
 *
 * @throws InvalidArgumentError if an extra field is invalid or one the handshake sets.
 */
export function extendedConnectResponseFields(handshake: NegotiatedTerms<unknown>, extra: Iterable<HeaderField> = []): HeaderField[] {
  const fields: HeaderField[] = [];
  if (handshake.protocol !== null) fields.push(['sec-websocket-protocol', handshake.protocol]);
  if (handshake.extensionsHeader !== null) fields.push(['sec-websocket-extensions', handshake.extensionsHeader]);
  const added = [...extra];
  checkExtraHeaders(added, MANAGED_RESPONSE_FIELDS);
  for (const [name, value] of added) fields.push([asciiLowerCase(name), value]);
  return fields;
}

/** An error response on a stream: the status, its header fields (lower case) and a plain-text body. */
export interface StreamErrorResponse {
  readonly status: number;
  readonly headers: HeaderField[];
  readonly body: Uint8Array;
}

/**
 * The error response to a refused extended CONNECT: the status, the error's own fields (a
 * 426's Sec-WebSocket-Version), `content-type` and `content-length`, and the message as the
 * body — `buildErrorResponse` for a stream, which has no `Connection: close` to send: the
 * response's END_STREAM ends it.
 *
 * @throws InvalidArgumentError if the status is not 400–599 or a header is invalid or one this
 *   function sets.
 */
export function extendedConnectErrorResponse(error: HttpErrorDescription): StreamErrorResponse {
  const { status, message } = error;
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new InvalidArgumentError(`an error response needs a status 400–599, got ${String(status)}`);
  }
  const extra = [...(error.headers ?? [])];
  checkExtraHeaders(extra, FORBIDDEN_ERROR_FIELDS);
  const body = utf8Encode(message);
  return {
    status,
    headers: [
      ...extra.map(([name, value]): HeaderField => [asciiLowerCase(name), value]),
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.length)],
    ],
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// The client's side
// ---------------------------------------------------------------------------------------------

/** What `buildExtendedConnect` needs: the HTTP/1.1 request's options, less the key's random source. */
export type ExtendedConnectOptions<E = unknown> = Omit<ClientRequestOptions<E>, 'random'>;

/** A built extended CONNECT, and what the response will be checked against. */
export interface ExtendedConnect<E = unknown> extends ClientOffer<E> {
  /** The pseudo-header fields, then the header fields, names in lower case (RFC 7540 §8.1.2). */
  readonly fields: readonly HeaderField[];
}

/**
 * Build the extended CONNECT (RFC 8441 §5):
 *
 * ```
 * :method = CONNECT   :protocol = websocket   :scheme = http|https
 * :path = /path?query  :authority = host[:port]
 * sec-websocket-version = 13  [origin, sec-websocket-protocol, sec-websocket-extensions, extra fields]
 * ```
 *
 * @throws InvalidArgumentError as `buildClientRequest`, and for an extra field HTTP/2 forbids.
 */
export function buildExtendedConnect<E = unknown>(options: ExtendedConnectOptions<E>): ExtendedConnect<E> {
  const { secure = false, path = '/', origin, protocols = [], requireProtocol = false } = options;
  const { hostValue: authority, extra, offers, offered } = checkRequestOptions(options, FORBIDDEN_REQUEST_FIELDS);
  const fields: HeaderField[] = [
    [':method', 'CONNECT'],
    [':protocol', 'websocket'],
    [':scheme', secure ? 'https' : 'http'],
    [':path', path],
    [':authority', authority],
    ['sec-websocket-version', String(WEBSOCKET_VERSION)],
  ];
  if (origin !== undefined) fields.push(['origin', origin]);
  if (protocols.length > 0) fields.push(['sec-websocket-protocol', protocols.join(', ')]);
  if (offers.length > 0) fields.push(['sec-websocket-extensions', serializeExtensionList(offers)]);
  for (const [name, value] of extra) fields.push([asciiLowerCase(name), value]);
  return { fields, protocols: [...protocols], requireProtocol, extensions: offered };
}

/**
 * Check the response to an extended CONNECT: `:status` 200 (RFC 8441 §5: "If the server agrees
 * to the WebSocket connection, it MUST respond with a 200 (OK) status code"), then the
 * subprotocol and the extensions as RFC 6455 §4.1 checks them. There is no
 * Sec-WebSocket-Accept to check (§5).
 *
 * @throws HandshakeError with `status` the response's status; for a status other than 200,
 *   `headers` holds the response's fields.
 */
export function validateExtendedConnectResponse<E>(request: ExtendedConnect<E>, status: number, fields: Iterable<HeaderField>): ClientHandshakeResult<E> {
  const headers = new HttpHeaders(fields);
  if (status !== 200) {
    throw new HandshakeError(`the server answered ${status} instead of 200 to the extended CONNECT`, status, [...headers]);
  }
  const response = { version: HTTP2_VERSION, status, reason: '', headers };
  try {
    return { ...acceptResponseTerms(request, response), response };
  } catch (error) {
    // Grammar and negotiator errors carry a server-side status (400): report the response's.
    if (error instanceof HandshakeError && error.status !== status) throw new HandshakeError(error.message, status, error.headers, error.code);
    throw error;
  }
}
