/**
 * The WebSocket opening handshake (RFC 6455 §4) without I/O: an incremental HTTP/1.1 head
 * parser, request and response building and validation, subprotocol and extension
 * negotiation, Sec-WebSocket-Accept. Runs unchanged in Node, browsers and workers; SHA-1 and
 * randomness come in as ports.
 */

export { computeAcceptKey, generateKey } from './accept-key.js';
export { decodeBase64, encodeBase64 } from './base64.js';
export { isToken as isValidToken } from './chars.js';
export {
  buildClientRequest,
  validateServerResponse,
  type ClientHandshakeResult,
  type ClientRequest,
  type ClientRequestOptions,
} from './client.js';
export {
  acceptServerExtensions,
  collectClientOffers,
  negotiateServerExtensions,
  NO_EXTENSIONS,
  type ClientExtensionNegotiator,
  type ExtensionNegotiation,
  type NegotiatedExtension,
  type ServerExtensionAcceptance,
  type ServerExtensionNegotiator,
} from './extensions.js';
export {
  parseExtensionList,
  parseSubprotocolList,
  parseTokenList,
  parseUpgradeList,
  serializeExtensionList,
  type ExtensionOffer,
  type ExtensionParams,
} from './headers.js';
export {
  DEFAULT_HEAD_LIMITS,
  HttpHeaders,
  NEED_MORE,
  RequestHeadParser,
  ResponseHeadParser,
  serializeRequestHead,
  serializeResponseHead,
  type HeadComplete,
  type HeaderField,
  type HeadIncomplete,
  type HeadLimits,
  type HeadParseResult,
  type HttpRequestHead,
  type HttpResponseHead,
  type HttpVersion,
} from './http.js';
export {
  buildErrorResponse,
  buildServerResponse,
  serverResponseHeaders,
  validateClientRequest,
  type HttpErrorDescription,
  type ServerHandshake,
  type ServerHandshakeOptions,
  type ServerResponseOptions,
} from './server.js';
export { sha1 } from './sha1.js';
