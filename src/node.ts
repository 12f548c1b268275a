/**
 * `wasmsocket` in Node: a `ws`-compatible `WebSocketServer` and `WebSocket` (which is also a
 * WHATWG `WebSocket` EventTarget), on real sockets.
 *
 * @example
 * ```ts
 * import { WebSocket, WebSocketServer } from 'wasmsocket';
 *
 * const wss = new WebSocketServer({ port: 8080 });
 * wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
 *
 * const ws = new WebSocket('ws://localhost:8080');
 * ws.onopen = () => ws.send('hello');
 * ws.onmessage = (event) => console.log(event.data);
 * ```
 *
 * @packageDocumentation
 */

export {
  DEFAULT_HANDSHAKE_TIMEOUT,
  WebSocket,
  type BinaryType,
  type ClientOptions,
  type Data,
  type RawData,
  type SendData,
  type SendOptions,
  type SocketOptions,
  type WebSocketEvents,
  type WebSocketOptions,
} from './api/websocket.js';
/** The `WebSocket` class, as `import WebSocket from 'ws'` gives it. */
export { WebSocket as default } from './api/websocket.js';
export {
  WebSocketServer,
  type PublishData,
  type PublishOptions,
  type ServerOptions,
  type RefusalHeaders,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientCallbackAsync,
  type VerifyClientCallbackSync,
  type VerifyClientInfo,
  type WebSocketServerEvents,
} from './api/server.js';
export type { Bus, BusDelivery } from './pubsub/bus.js';
export { ClusterBus, type ClusterBusPrimary } from './pubsub/cluster-bus.js';
export type { SlowSubscriberPolicy, TopicOptions } from './pubsub/topics.js';
export {
  createWebSocketStream,
  messages,
  sendMessageStream,
  type Message,
  type MessageChunks,
  type MessageIterator,
  type MessagesOptions,
  type SendMessageStreamOptions,
} from './api/streams.js';
export {
  WebSocketStream,
  WebSocketStreamError,
  type WebSocketCloseInfo,
  type WebSocketClosedInfo,
  type WebSocketOpenInfo,
  type WebSocketStreamChunk,
  type WebSocketStreamMessage,
  type WebSocketStreamOptions,
} from './api/websocket-stream.js';
export type { EventTargetEmitter, FaceEvents } from './api/events.js';
export type { FaceEventListener, FaceEventMap, FaceSurface } from './api/face.js';
export type { HeaderField } from './handshake/http.js';
export { CloseEvent, ErrorEvent, MessageEvent, type CloseEventInit, type ErrorEventInit, type MessageEventInit } from './api/events.js';
export { DEFAULT_TRANSPORT_OPTIONS, type BufferOverflowAction, type HeartbeatOptions, type TransportOptions } from './adapters/types.js';
export type { ClientTlsOptions } from './adapters/node/client.js';
export { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from './adapters/node/deflate.js';
export { sharedZlibQueue, ZlibQueue } from './adapters/node/deflate-queue.js';
export type { ClientExtensionNegotiator, ServerExtensionNegotiator } from './handshake/extensions.js';
export type { Extension, DecodeOutput } from './protocol/extension.js';
export { CloseCode, ReadyState } from './shared/constants.js';
export { ErrorCode, HandshakeError, InvalidArgumentError, InvalidStateError, ProtocolError, WebSocketError } from './shared/errors.js';
export { createCodec, createCodecSync, type Codec } from './codec/index.js';
