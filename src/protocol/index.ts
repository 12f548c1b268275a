/**
 * `wasmsocket/protocol`: the Sans-I/O WebSocket core (RFC 6455 §4–§7). A connection takes the
 * bytes a transport received and returns events and the bytes to send; it never does I/O,
 * never starts a timer and never reads a platform global, so the same code runs in Node, a
 * page and a worker. The frame codec (portable or wasm) and the random source are injected
 * (`webCryptoRandom`, exported here, is the platform's strong one, for the application to pass).
 *
 * @example A server connection, driven by a socket
 * ```ts
 * import { ServerConnection } from 'wasmsocket/protocol';
 * import { portableCodec } from 'wasmsocket/codec';
 *
 * const conn = new ServerConnection({ codec: portableCodec, limits: { maxMessageSize: 1 << 20 } });
 * socket.on('data', (bytes) => { conn.receiveData(bytes); pump(); });
 * socket.on('end', () => { conn.receiveEof(); pump(); });
 *
 * function pump() {
 *   for (const event of conn.eventsReceived()) {
 *     switch (event.type) {
 *       case 'message': conn.sendBinary(event.data); break;           // echo
 *       case 'close':   console.log(event.code, event.reason, event.wasClean); break;
 *       case 'error':   console.warn(event.error.code, event.error.message); break;
 *     }
 *   }
 *   for (const chunk of conn.dataToSend()) socket.write(chunk);
 *   if (conn.shouldCloseTransport()) socket.end();
 *   else if (conn.closeExpected()) armCloseTimeout(() => { socket.destroy(); conn.receiveEof(); pump(); });
 * }
 * ```
 *
 * @example A client, with the handshake request queued at construction
 * ```ts
 * import { ClientConnection, webCryptoRandom } from 'wasmsocket/protocol';
 * const client = new ClientConnection({ codec, random: webCryptoRandom, host: 'example.com', path: '/chat' });
 * for (const chunk of client.dataToSend()) socket.write(chunk);   // GET /chat HTTP/1.1 …
 * // on 'open': client.sendText('hello'); client.sendClose(1000);
 * ```
 *
 * Asynchronous extensions (permessage-deflate on a thread pool) finish outside any call: pass
 * `onWake` and run the same pump from it. See `Extension` for writing one, and
 * `createPerMessageDeflate` for permessage-deflate over a DEFLATE engine of your own (the
 * Node and web entries offer theirs: `perMessageDeflateNode`, `perMessageDeflateWeb`).
 *
 * The opening handshake runs inside the connections; what is published of it here is what
 * their options, events and methods speak: the HTTP heads (`HttpHeaders`, to hand
 * `ServerConnection.receiveRequest` a request parsed elsewhere), the extension negotiators,
 * and the head limits.
 *
 * @packageDocumentation
 */

// The connections and how they are configured.
export { ClientConnection, type ClientConnectionOptions } from './client-connection.js';
export type { ConnectionOptions, ConnectionSide, EstablishedTerms } from './connection-options.js';
export { Connection } from './connection.js';
export { EncodedMessage } from './encoded-message.js';
export { ServerConnection, type ServerConnectionOptions } from './server-connection.js';
export type { CloseStatus } from './close.js';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './limits.js';

// What they report.
export type {
  CloseReceivedEvent,
  ConnectionClosedEvent,
  ConnectionErrorEvent,
  ConnectionEvent,
  FragmentReceivedEvent,
  MessageReceivedEvent,
  OpenEvent,
  PingReceivedEvent,
  PongReceivedEvent,
  UpgradeRequestEvent,
} from './events.js';

// Extensions (RFC 6455 §9): the runtime interface, the negotiators of the opening handshake,
// and permessage-deflate (RFC 7692) over an injected raw DEFLATE engine.
export type { DecodeOutput, Extension } from './extension.js';
export type {
  ClientExtensionNegotiator,
  NegotiatedExtension,
  ServerExtensionAcceptance,
  ServerExtensionNegotiator,
} from '../handshake/extensions.js';
export type { ExtensionParams } from '../handshake/headers.js';
export {
  createPerMessageDeflate,
  invalidDeflateData,
  type DeflateCapabilities,
  type DeflateEngine,
  type DeflateMessageEnd,
  type DeflateOfferOptions,
  type DeflateStreamParameters,
  type PerMessageDeflateNegotiators,
  type PerMessageDeflateOptions,
  type RawDeflater,
  type RawInflater,
} from './extensions/index.js';

// The opening handshake's vocabulary, as the connections' options, events and methods use it.
export type { ClientRequest } from '../handshake/client.js';
export {
  DEFAULT_HEAD_LIMITS,
  HttpHeaders,
  type HeaderField,
  type HeadLimits,
  type HttpRequestHead,
  type HttpResponseHead,
  type HttpVersion,
} from '../handshake/http.js';
export type { ServerHandshake } from '../handshake/server.js';

// From the shared layer: constants, errors and the ports a connection takes.
export { CloseCode, ReadyState } from '../shared/constants.js';
export {
  ErrorCode,
  HandshakeError,
  InvalidArgumentError,
  InvalidStateError,
  ProtocolError,
  WebSocketError,
} from '../shared/errors.js';
export { webCryptoRandom, type RandomSource, type Sha1 } from '../shared/ports.js';
