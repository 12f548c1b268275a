/**
 * `wasmsocket/protocol`: the Sans-I/O WebSocket core (RFC 6455 §4–§7). A connection takes the
 * bytes a transport received and returns events and the bytes to send; it never does I/O,
 * never starts a timer and never reads a platform global, so the same code runs in Node, a
 * page and a worker. The frame codec (portable or wasm) and the random source are injected.
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
 * import { ClientConnection } from 'wasmsocket/protocol';
 * const client = new ClientConnection({ codec, random: webCryptoRandom, host: 'example.com', path: '/chat' });
 * for (const chunk of client.dataToSend()) socket.write(chunk);   // GET /chat HTTP/1.1 …
 * // on 'open': client.sendText('hello'); client.sendClose(1000);
 * ```
 *
 * Asynchronous extensions (permessage-deflate on a thread pool) finish outside any call: pass
 * `onWake` and run the same pump from it. See `Extension` for writing one.
 *
 * @packageDocumentation
 */

export { ClientConnection, type ClientConnectionOptions } from './client-connection.js';
export { parseClosePayload, serializeClosePayload, truncateReason, type CloseStatus } from './close.js';
export {
  Connection,
  STATE_NAMES,
  type ConnectionOptions,
  type ConnectionSide,
  type EstablishedTerms,
} from './connection.js';
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
export type { DecodeOutput, Extension } from './extension.js';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './limits.js';
export { FrameParser, type FrameHandler, type FrameParserOptions } from './parser.js';
export { FrameSerializer, serializeFrame, type FrameSpec } from './serializer.js';
export { ServerConnection, type ServerConnectionOptions } from './server-connection.js';

// permessage-deflate (RFC 7692) over an injected engine.
export * from './extensions/index.js';

// The opening handshake (RFC 6455 §4) is published here too: callers that parse HTTP
// themselves build on it, and the connection options and events speak its types.
export * from '../handshake/index.js';

// The vocabulary a caller of the core needs, from the shared layer.
export { CloseCode, isValidCloseCode, Opcode, ReadyState } from '../shared/constants.js';
export {
  ErrorCode,
  HandshakeError,
  InvalidArgumentError,
  InvalidStateError,
  ProtocolError,
  WebSocketError,
} from '../shared/errors.js';
export type { RandomSource, Sha1 } from '../shared/ports.js';
