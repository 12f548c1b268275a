/**
 * `wasmsocket` in pages and workers (the package's `./web` entry, and `.` under the
 * `browser`, `worker` and `default` conditions): the Node client's API over the browser's own
 * `WebSocket`, the whole protocol over any WHATWG byte stream pair, and the codec — loaded
 * from bytes inlined in this module, compiled asynchronously, portable until then.
 *
 * @example The same client code as in Node
 * ```ts
 * import { WebSocket } from 'wasmsocket';
 * const ws = new WebSocket('wss://example.com/chat');
 * ws.on('message', (data, isBinary) => console.log(isBinary ? data : String(data)));
 * ```
 *
 * @example The protocol over a stream pair (a runtime's TCP socket, a tunnel, workers)
 * ```ts
 * import { StreamWebSocket } from 'wasmsocket/web';
 * const ws = StreamWebSocket.connect({ readable, writable }, 'ws://example.com/');
 * ```
 *
 * @packageDocumentation
 */

export { WebSocket, type BrowserWebSocketOptions } from './api/browser-websocket.js';
/** The `WebSocket` class, as `import WebSocket from 'wasmsocket'` gives it in Node. */
export { WebSocket as default } from './api/browser-websocket.js';
export {
  DEFAULT_STREAM_HANDSHAKE_TIMEOUT,
  StreamWebSocket,
  type WebStreamClientOptions,
  type WebStreamOptions,
  type WebStreamServerOptions,
} from './api/stream-websocket.js';
export { WebSocketFace, type BinaryType, type MessageData, type SendCallback, type SendData, type SendOptions } from './api/face.js';
export { messages, type Message, type MessageIterator, type MessagesOptions } from './api/message-iterator.js';
export type { EventTargetEmitter, FaceEvents } from './api/events.js';
export type { FaceEventListener, FaceEventMap, FaceSurface } from './api/face.js';
export type { HeaderField } from './handshake/http.js';
export type { ServerHandshakeOptions } from './handshake/server.js';
export { CloseEvent, ErrorEvent, MessageEvent, type CloseEventInit, type ErrorEventInit, type MessageEventInit } from './api/events.js';
export { createWebStreamPair, type WebStreamPair } from './adapters/web/stream-binding.js';
export { hasDeflateRawStreams, perMessageDeflateWeb } from './adapters/web/deflate-streams.js';
export { createWebCodec, sharedWebCodec, type WebCodec, type WebCodecOptions } from './adapters/web/codec.js';
export { DEFAULT_TRANSPORT_OPTIONS, type BufferOverflowAction, type HeartbeatOptions, type TransportOptions } from './adapters/types.js';
export type { ClientExtensionNegotiator, ServerExtensionNegotiator } from './handshake/extensions.js';
export type { Extension, DecodeOutput } from './protocol/extension.js';
export { CloseCode, ReadyState } from './shared/constants.js';
export { ErrorCode, HandshakeError, InvalidArgumentError, InvalidStateError, ProtocolError, WebSocketError } from './shared/errors.js';
export { createCodec, type Codec } from './codec/index.js';
