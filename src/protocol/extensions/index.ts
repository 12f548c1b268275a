/**
 * Extensions of the WebSocket protocol that the core knows how to run: permessage-deflate
 * (RFC 7692) over an injected raw DEFLATE engine. The engines live in the adapters:
 * `perMessageDeflateNode` (node:zlib) and `perMessageDeflateWeb` (CompressionStream).
 */
export {
  invalidDeflateData,
  type DeflateEngine,
  type DeflateMessageEnd,
  type DeflateStreamParameters,
  type RawDeflater,
  type RawInflater,
} from './deflate-engine.js';
export {
  acceptDeflateResponse,
  chooseDeflateOffer,
  DEFLATE_RSV_BITS,
  DeflateParam,
  MAX_WINDOW_BITS,
  MIN_WINDOW_BITS,
  parseDeflateParameters,
  PERMESSAGE_DEFLATE,
  serializeDeflateParameters,
  type DeflateAgreement,
  type DeflateCapabilities,
  type DeflateParameters,
  type DeflateServerChoice,
  type DeflateServerPolicy,
} from './deflate-params.js';
export {
  createMessageCompressor,
  createMessageDecompressor,
  createPerMessageDeflate,
  DEFAULT_DEFLATE_THRESHOLD,
  DEFLATE_TRAILER,
  PerMessageDeflate,
  type DeflateOfferOptions,
  type MessageCompressor,
  type MessageDecompressor,
  type PerMessageDeflateNegotiators,
  type PerMessageDeflateOptions,
} from './permessage-deflate.js';
