/**
 * `StreamWebSocket`: a WebSocket — client or server, opening handshake included — over any
 * WHATWG byte stream pair (`{ readable, writable }`): a runtime's TCP socket, a tunnel, or a
 * `TransformStream` pair between two workers. The protocol is wasmsocket's own core, so
 * everything the Node client does is here too: pings and pongs, any close code RFC 6455
 * allows, fragments, backpressure both ways, the transport timers.
 *
 * Its surface is every face's (`WebSocketFace`), over the one `ConnectionDriver`: `ws` events and methods, the WHATWG
 * `WebSocket` attributes and events, and `for await (const message of ws)`.
 *
 * @example A client over a runtime's TCP socket
 * ```ts
 * const socket = connect({ hostname: 'example.com', port: 80 });   // { readable, writable }
 * const ws = StreamWebSocket.connect(socket, 'ws://example.com/chat', ['chat']);
 * ws.on('open', () => ws.send('hello'));
 * ws.on('message', (data, isBinary) => console.log(isBinary ? data : String(data)));
 * ```
 *
 * @example Both ends in two workers
 * ```ts
 * const [clientEnd, serverEnd] = createWebStreamPair();
 * serverWorker.postMessage(serverEnd, [serverEnd.readable, serverEnd.writable]);
 * clientWorker.postMessage(clientEnd, [clientEnd.readable, clientEnd.writable]);
 * // server worker:  const ws = StreamWebSocket.accept(event.data);
 * // client worker:  const ws = StreamWebSocket.connect(event.data, 'ws://localhost/');
 * ```
 */
import { ConnectionDriver } from '../adapters/driver.js';
import { sharedWebCodec } from '../adapters/web/codec.js';
import { StreamBinding, webScheduler, type WebStreamPair } from '../adapters/web/stream-binding.js';
import { checkMilliseconds, resolveTransportOptions, type TransportOptions } from '../adapters/types.js';
import type { Codec } from '../codec/types.js';
import type { ClientExtensionNegotiator } from '../handshake/extensions.js';
import type { HeaderField } from '../handshake/http.js';
import type { ServerHandshakeOptions } from '../handshake/server.js';
import { ClientConnection } from '../protocol/client-connection.js';
import type { Connection } from '../protocol/connection.js';
import type { Extension } from '../protocol/extension.js';
import type { ConnectionLimits } from '../protocol/limits.js';
import { ServerConnection } from '../protocol/server-connection.js';
import { type RandomSource, webCryptoRandom } from '../shared/ports.js';
import { faceOf, makeAccessorsEnumerable, WebSocketFace } from './face.js';
import { limitsForMaxPayload } from './options.js';
import { parseWebSocketUrl } from './url.js';

/** The default handshake deadline over a stream pair: 30 s, as the Node client's. */
export const DEFAULT_STREAM_HANDSHAKE_TIMEOUT = 30_000;

/** Options of both ends: the transport policies (`TransportOptions`, `handshakeTimeout`) and the connection's. */
export interface WebStreamOptions extends Partial<TransportOptions> {
  /**
   * Milliseconds the opening handshake may take before the streams are aborted; 0: no
   * deadline. Default 30 000, as the Node client's. Bounds what a peer that connects and says
   * nothing can hold.
   */
  readonly handshakeTimeout?: number;
  /** Largest message accepted, in bytes (1009 above it); 0 means no limit. Default 100 MiB. */
  readonly maxPayload?: number;
  /** Finer limits on what is received (`ConnectionLimits`); `maxPayload` sets the message and frame sizes. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Answer pings automatically (RFC 6455 §5.5.2); default true. */
  readonly autoPong?: boolean;
  /**
   * Hand each incoming message out piece by piece as it arrives (`'fragment'` events) instead
   * of assembling it, as the Node socket's option of that name. Default false.
   */
  readonly streamMessages?: boolean;
  /** The frame codec; default the thread's shared web codec (portable at once, wasm once loaded). */
  readonly codec?: Codec;
}

/** Options of `StreamWebSocket.connect`. */
export interface WebStreamClientOptions extends WebStreamOptions {
  /** More request header fields (Authorization, Cookie, User-Agent, …). */
  readonly headers?: Readonly<Record<string, string>> | Iterable<HeaderField>;
  /** The Origin header (RFC 6455 §4.1 client requirement 8). */
  readonly origin?: string;
  /** Extensions to offer (RFC 6455 §9.1), as negotiators. */
  readonly extensions?: readonly ClientExtensionNegotiator<Extension>[];
  /** The source of the handshake key and the masking keys; default Web Crypto. Must be cryptographically strong (§10.3). */
  readonly random?: RandomSource;
}

/** Options of `StreamWebSocket.accept`: the handshake hooks (subprotocol, origin, extensions) and more. */
export interface WebStreamServerOptions extends WebStreamOptions, ServerHandshakeOptions<Extension> {
  /** More header fields for the 101 response (e.g. Set-Cookie). */
  readonly responseHeaders?: Readonly<Record<string, string>> | Iterable<HeaderField>;
}

/** See the module comment. */
export class StreamWebSocket extends WebSocketFace {
  readonly #driver: ConnectionDriver;
  readonly #url: string;

  /**
   * Connect as a client (`new WebSocket(url, protocols, options)` over `streams`): send the
   * opening request for `url` and run the protocol once the server accepts. The streams must
   * already reach the server — through TCP, and TLS for `wss:`; the URL gives the Host
   * header, the resource name and the default port.
   *
   * @throws DOMException `SyntaxError` for an invalid URL, a scheme other than ws, wss, http
   *   or https, a fragment (RFC 6455 §3), or invalid or repeated subprotocols.
   * @throws InvalidArgumentError for an invalid option. @throws TypeError if a stream is locked.
   */
  static connect(
    streams: WebStreamPair,
    url: string | URL,
    protocols?: string | readonly string[] | WebStreamClientOptions,
    options: WebStreamClientOptions = {},
  ): StreamWebSocket {
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as WebStreamClientOptions;
      protocols = undefined;
    }
    const target = parseWebSocketUrl(url, protocols as string | readonly string[] | undefined);
    const record = target.url;
    return new StreamWebSocket(
      streams,
      (onWake) =>
        new ClientConnection({
          codec: options.codec ?? sharedWebCodec(),
          random: options.random ?? webCryptoRandom,
          host: record.hostname,
          port: record.port === '' ? undefined : Number(record.port),
          secure: record.protocol === 'wss:',
          path: `${record.pathname}${record.search}`,
          origin: options.origin,
          protocols: target.protocols,
          // As the WHATWG WebSocket and ws do (see the Node client).
          requireProtocol: true,
          extensions: options.extensions,
          headers: options.headers,
          limits: limitsForMaxPayload(options.maxPayload, options.limits),
          streamMessages: options.streamMessages,
          autoPong: options.autoPong,
          onWake,
        }),
      options,
      record.href,
    );
  }

  /**
   * Serve one connection over `streams`: read the client's opening request, answer it (101
   * Switching Protocols, or an HTTP error response and close), and run the protocol.
   *
   * @throws InvalidArgumentError for an invalid option. @throws TypeError if a stream is locked.
   */
  static accept(streams: WebStreamPair, options: WebStreamServerOptions = {}): StreamWebSocket {
    return new StreamWebSocket(
      streams,
      (onWake) =>
        new ServerConnection({
          codec: options.codec ?? sharedWebCodec(),
          handleProtocols: options.handleProtocols,
          verifyOrigin: options.verifyOrigin,
          extensions: options.extensions,
          responseHeaders: options.responseHeaders,
          limits: limitsForMaxPayload(options.maxPayload, options.limits),
          streamMessages: options.streamMessages,
          autoPong: options.autoPong,
          onWake,
        }),
      options,
      '',
    );
  }

  private constructor(streams: WebStreamPair, createConnection: (onWake: () => void) => Connection, options: WebStreamOptions, url: string) {
    super();
    this.#url = url;
    // 0: no deadline.
    const handshakeTimeout = checkMilliseconds('handshakeTimeout', options.handshakeTimeout ?? DEFAULT_STREAM_HANDSHAKE_TIMEOUT, true);
    const transport = resolveTransportOptions(options);
    let driver: ConnectionDriver | null = null;
    const connection = createConnection(() => driver?.wake());
    driver = this.#driver = new ConnectionDriver(connection, faceOf(this).sink, { ...transport, handshakeTimeout }, webScheduler);
    faceOf(this).engine = driver;
    const binding = new StreamBinding(streams, driver);
    // Events come after the caller could add listeners, as a browser fires them from tasks.
    queueMicrotask(() => {
      driver.attach(binding);
      binding.start();
    });
  }

  /** The URL connected to (`''` for the server's end). */
  override get url(): string {
    return this.#url;
  }

  /**
   * Which HTTP carried the opening handshake, as the Node socket's `httpVersion` says it: always
   * `'1.1'`, because this socket runs the RFC 6455 §4 Upgrade over the byte streams it is given.
   */
  get httpVersion(): '1.1' {
    return '1.1';
  }

  /** Whether this is the server's end of the connection (`accept`). */
  get isServer(): boolean {
    return this.#driver.connection.side === 'server';
  }
}
makeAccessorsEnumerable(StreamWebSocket);
