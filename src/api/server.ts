/**
 * `WebSocketServer`: the `ws` server API over Node's HTTP servers. Three modes, as in `ws`:
 * standalone (`{ port, host }`: it runs its own HTTP server), attached (`{ server }`: it takes
 * the `'upgrade'` requests of yours) and detached (`{ noServer: true }`: your framework calls
 * `handleUpgrade`). The opening handshake is validated and negotiated by the core (RFC 6455
 * §4.2); the hooks decide what the application must: `verifyClient`, an origin allow-list,
 * `handleProtocols`, a connection cap.
 *
 * Departures from `ws`, on purpose: `close()` also closes every client with 1001 (Going Away)
 * and waits for them, at most for their close timeout; the handshake has a deadline by default
 * (`handshakeTimeout`); `clientTracking: false` hides `clients` but the server still knows its
 * connections so that `close()` can close them.
 */
import { EventEmitter } from 'node:events';
import { type IncomingMessage, type OutgoingHttpHeaders, type Server as HttpServer, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../adapters/node/deflate.js';
import { defaultCodec } from '../adapters/node/codec.js';
import { Http2ServerRequest, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createUpgradeServer, type PendingHandshake, PendingUpgrade, refuseSocket, type UpgradeOptions } from '../adapters/node/server.js';
import {
  admitStream,
  type AnyHttp2Server,
  DEFAULT_MAX_STREAMS_PER_SESSION,
  isHttp2Server,
  listenForExtendedConnect,
  PendingStream,
  refuseStream,
  requestOfStream,
} from '../adapters/node/http2-server.js';
import type { NodeSocket } from '../adapters/node/socket-binding.js';
import { resolveTransportOptions, type TransportOptions } from '../adapters/types.js';
import type { Codec } from '../codec/types.js';
import type { ServerExtensionNegotiator } from '../handshake/extensions.js';
import { EncodedMessage } from '../protocol/encoded-message.js';
import type { Extension } from '../protocol/extension.js';
import type { Bus } from '../pubsub/bus.js';
import { checkTopic, TopicRegistry, type TopicOptions } from '../pubsub/topics.js';
import { CloseCode, ReadyState } from '../shared/constants.js';
import { isToken } from '../handshake/chars.js';
import { type HandshakeError, InvalidArgumentError } from '../shared/errors.js';
import { reportListenerError } from './events.js';
import { bytesOf, type FaceHooks, type SendData } from './face.js';
import {
  attachServerSideStream,
  attachServerSideWebSocket,
  checkWsBehaviourOptions,
  createServerSideWebSocket,
  DEFAULT_HANDSHAKE_TIMEOUT,
  limitsOf,
  serverSideTopics,
  type SocketOptions,
  wakeServerSideWebSocket,
  WebSocket,
} from './websocket.js';

/**
 * What `verifyClient` is told about a request (the `ws` shape). `origin` is typed `string`
 * as `ws` types it, but is undefined when the request has no Origin header (non-browser
 * clients need not send one), as in `ws`.
 */
export interface VerifyClientInfo<Request extends IncomingMessage = IncomingMessage> {
  /** The Origin header. */
  readonly origin: string;
  /** Whether the connection is TLS. */
  readonly secure: boolean;
  readonly req: Request;
}

/** Header fields of a refusal, as `ws` takes them: values are strings or numbers (`{ 'Retry-After': 120 }`). */
export type RefusalHeaders = OutgoingHttpHeaders;

/**
 * The answer of an asynchronous `verifyClient`: accept, or refuse with a status (default
 * 401), a body (default the status's reason phrase, as in `ws`) and headers.
 */
export type VerifyClientCallback = (result: boolean, code?: number, message?: string, headers?: RefusalHeaders) => void;

/** `ws`'s synchronous `verifyClient`: accept (true) or refuse with 401 (false). */
export type VerifyClientCallbackSync<Request extends IncomingMessage = IncomingMessage> = (info: VerifyClientInfo<Request>) => boolean;

/** `ws`'s asynchronous `verifyClient`: declares the callback as its second parameter and calls it once. */
export type VerifyClientCallbackAsync<Request extends IncomingMessage = IncomingMessage> = (info: VerifyClientInfo<Request>, callback: VerifyClientCallback) => void;

/**
 * Decide whether to accept a request: `ws`'s two forms (return a boolean; or declare the
 * callback as second parameter and call it, the return value then being ignored), or return
 * a promise of a boolean. A refusal is answered 401 unless the callback gives another status
 * (400–599), with its message as the body and its headers.
 */
export type VerifyClient = (info: VerifyClientInfo, callback: VerifyClientCallback) => boolean | PromiseLike<boolean> | void;

/** Options of `new WebSocketServer(options)`. Exactly one of `port`, `server` and `noServer`. */
export interface ServerOptions extends SocketOptions {
  /** Listen on this port (standalone; 0 picks a free one). */
  readonly port?: number;
  /** Listen on this address (standalone); default all interfaces. */
  readonly host?: string;
  /** `listen` backlog (standalone). */
  readonly backlog?: number;
  /**
   * Take the upgrade requests of this HTTP or HTTPS server — or the extended CONNECT streams
   * (RFC 8441) of this `node:http2` server, h2c or TLS (and with `allowHTTP1`, its HTTP/1.1
   * upgrades too). The HTTP/2 server is told to advertise SETTINGS_ENABLE_CONNECT_PROTOCOL:
   * attach before it accepts connections.
   */
  readonly server?: HttpServer | AnyHttp2Server;
  /**
   * Most WebSocket streams open at once on one HTTP/2 session (default 100); the server
   * advertises it as SETTINGS_MAX_CONCURRENT_STREAMS, and refuses a stream beyond it with
   * RST_STREAM REFUSED_STREAM.
   */
  readonly maxStreamsPerSession?: number;
  /** Attach to nothing: call `handleUpgrade` yourself. */
  readonly noServer?: boolean;
  /** Accept only requests for this path (the query is ignored). */
  readonly path?: string;
  /** Keep the connected clients in `clients`; default true. */
  readonly clientTracking?: boolean;
  /** Accept or refuse each request (after the core validated it). */
  readonly verifyClient?: VerifyClient;
  /**
   * The subprotocols this server speaks, most preferred first (python-websockets'
   * `subprotocols`): the first of them the client offered is selected. Without it (and
   * without `handleProtocols`) no subprotocol is selected and the response has no
   * Sec-WebSocket-Protocol — RFC 6455 §4.2.2 lets a server select only one it "is willing to
   * use" (`ws` selects the client's first offer; see the migration guide).
   */
  readonly protocols?: readonly string[];
  /**
   * Choose the subprotocol among those the client offered (called only when it offered any),
   * as in `ws`: return one of them, or false (or undefined) for none — then the response has
   * no Sec-WebSocket-Protocol. Not together with `protocols`.
   */
  readonly handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false | null | undefined;
  /**
   * Origins allowed to connect (RFC 6455 §10.2), compared ASCII case-insensitively; a request
   * from another origin gets 403 Forbidden. Requests without Origin (non-browser clients) are
   * allowed: Origin protects browsers, and any other client can send whatever it likes.
   */
  readonly allowedOrigins?: readonly string[];
  /** Most open connections (and handshakes in progress); beyond it, 503 Service Unavailable. Default unlimited. */
  readonly maxConnections?: number;
  /** Milliseconds a handshake may take (for a standalone server, from the TCP connection); 0: none. Default 30 000. */
  readonly handshakeTimeout?: number;
  /**
   * The class of the server-side sockets: `WebSocket` (the default) or a subclass of it, as
   * in `ws`. It is constructed as `ws` constructs it, `new WebSocket(null, undefined,
   * options)`; a subclass must pass its arguments on to `super`.
   */
  readonly WebSocket?: typeof WebSocket;
  /** Extensions the server supports, in its order of preference (RFC 6455 §9.1). */
  readonly extensions?: readonly ServerExtensionNegotiator<Extension>[];
  /**
   * Accept permessage-deflate (RFC 7692) offers: false (the default, as in `ws`), true with the
   * defaults, or options to tune it (window bits, context takeover, threshold, zlib's level
   * and memLevel, the concurrency of zlib work).
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateNodeOptions;
  /**
   * What carries `publish`ed messages to the servers of other processes or machines:
   * `new ClusterBus()` between the workers of `node:cluster`, a Redis bus between machines.
   * Without one, a message reaches this server's subscribers only. The bus serves this server
   * alone, and `close()` closes it.
   */
  readonly bus?: Bus;
}

/** Options of `WebSocketServer.publish`. */
export interface PublishOptions {
  /** Send as a binary message; default: binary unless `data` is a string. */
  readonly binary?: boolean;
  /**
   * False sends the message uncompressed to every subscriber. Default true: subscribers that
   * negotiated permessage-deflate without context takeover get it compressed (once per
   * window size), from the extension's threshold on.
   */
  readonly compress?: boolean;
  /** A subscriber not to send it to (usually the publisher's own connection). */
  readonly except?: WebSocket;
}

/** What `publish` takes: what `send` takes, but a Blob (which cannot be read synchronously). */
export type PublishData = Exclude<SendData, Blob | number | null | undefined>;

/** The core's `onWake` for a server-side socket (made here so it holds only the socket). */
function wakerOf(websocket: WebSocket): () => void {
  return () => wakeServerSideWebSocket(websocket);
}

/** Sockets `handleUpgrade` was called with: a second call is a misconfiguration (two upgrade handlers), as in `ws`. */
const upgradedSockets = new WeakSet<object>();

/**
 * The subprotocol choice of a server that speaks `protocols` (most preferred first): the first
 * of them the client offered (RFC 6455 §4.2.2: one the server "is willing to use").
 */
function chooserFor(protocols: readonly string[]): (offered: ReadonlySet<string>) => string | false {
  return (offered) => protocols.find((protocol) => offered.has(protocol)) ?? false;
}

/** `ws`'s header values (numbers, lists) as header fields. */
function refusalFields(headers: RefusalHeaders | undefined): Array<readonly [string, string]> {
  if (headers === undefined || headers === null) return [];
  const fields: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) fields.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
  }
  return fields;
}

/** The events of a `WebSocketServer` and their arguments (typed `on` / `once` / `off`). */
export interface WebSocketServerEvents {
  /**
   * A WebSocket opened. Typed as `ws` types it; over HTTP/2 (`websocket.httpVersion === '2'`)
   * `request` is Node's `Http2ServerRequest` (`headers`, `url`, `method`, `socket`,
   * `httpVersion` "2.0"), and so in every hook that gets the request.
   */
  connection: [websocket: WebSocket, request: IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
  headers: [headers: string[], request: IncomingMessage];
  /** A malformed request (the error says why, with the status it would get); answer on `socket` (over HTTP/2, the stream) yourself. */
  wsClientError: [error: HandshakeError, socket: Duplex, request: IncomingMessage];
}

type ServerListener<K extends keyof WebSocketServerEvents> = (this: WebSocketServer, ...args: WebSocketServerEvents[K]) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

// Typed overloads of the emitter methods for the events above (declaration merging: no code).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocketServer {
  on<K extends keyof WebSocketServerEvents>(event: K, listener: ServerListener<K>): this;
  on(event: string | symbol, listener: AnyListener): this;
  once<K extends keyof WebSocketServerEvents>(event: K, listener: ServerListener<K>): this;
  once(event: string | symbol, listener: AnyListener): this;
  off<K extends keyof WebSocketServerEvents>(event: K, listener: ServerListener<K>): this;
  off(event: string | symbol, listener: AnyListener): this;
  addListener<K extends keyof WebSocketServerEvents>(event: K, listener: ServerListener<K>): this;
  addListener(event: string | symbol, listener: AnyListener): this;
  removeListener<K extends keyof WebSocketServerEvents>(event: K, listener: ServerListener<K>): this;
  removeListener(event: string | symbol, listener: AnyListener): this;
}

const enum ServerState {
  RUNNING,
  CLOSING,
  CLOSED,
}

/**
 * A WebSocket server. Events: `'connection'` (ws, request), `'listening'`, `'error'`
 * (error), `'close'`, `'headers'` (headers: string[], request — add lines to the 101
 * response), `'wsClientError'` (error, socket, request — a malformed request, yours to answer).
 */
export class WebSocketServer extends EventEmitter {
  /** The options in force. */
  readonly options: Readonly<ServerOptions>;
  readonly #transport: TransportOptions;
  readonly #webSocketClass: typeof WebSocket;
  readonly #handshakeTimeout: number;
  /** The extensions offered to negotiate, permessage-deflate included when enabled. */
  readonly #extensions: readonly ServerExtensionNegotiator<Extension>[];
  readonly #maxConnections: number;
  readonly #verifyOrigin: ((origin: string | undefined) => boolean) | undefined;
  readonly #httpServer: HttpServer | AnyHttp2Server | null;
  readonly #maxStreamsPerSession: number;
  readonly #ownsServer: boolean;
  readonly #connections = new Set<WebSocket>();
  readonly #clients: Set<WebSocket> | undefined;
  readonly #pending = new Set<PendingHandshake>();
  readonly #codec: Codec;
  readonly #topics: TopicRegistry;
  readonly #bus: Bus | null;
  #state = ServerState.RUNNING;
  #detach: (() => void) | null = null;

  /**
   * @param callback called on `'listening'` (standalone).
   * @throws TypeError unless exactly one of `port`, `server`, `noServer` is given.
   * @throws InvalidArgumentError for an invalid option.
   */
  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const modes = Number(options.port !== undefined) + Number(options.server !== undefined) + Number(options.noServer === true);
    if (modes !== 1) throw new TypeError('exactly one of the "port", "server" and "noServer" options must be given');
    this.options = { clientTracking: true, ...options };
    this.#transport = resolveTransportOptions(options);
    checkWsBehaviourOptions(options);
    const webSocketClass = options.WebSocket ?? WebSocket;
    if (typeof webSocketClass !== 'function' || (webSocketClass !== WebSocket && !(webSocketClass.prototype instanceof WebSocket))) {
      throw new InvalidArgumentError('the WebSocket option must be the WebSocket class or a class that extends it');
    }
    this.#webSocketClass = webSocketClass;
    this.#handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const deflate = options.perMessageDeflate ?? false;
    // One set of negotiators per server: its connections share the zlib stream pool.
    this.#extensions = deflate === false
      ? options.extensions ?? []
      : [...(options.extensions ?? []), perMessageDeflateNode(deflate === true ? {} : deflate).server];
    if (!Number.isInteger(this.#handshakeTimeout) || this.#handshakeTimeout < 0) {
      throw new InvalidArgumentError(`handshakeTimeout must be a non-negative integer, got ${String(this.#handshakeTimeout)}`);
    }
    this.#maxConnections = options.maxConnections ?? Number.POSITIVE_INFINITY;
    if (!(this.#maxConnections > 0)) throw new InvalidArgumentError(`maxConnections must be positive, got ${String(options.maxConnections)}`);
    limitsOf(options);
    if (options.protocols !== undefined) {
      if (!Array.isArray(options.protocols) || !options.protocols.every((protocol) => typeof protocol === 'string' && isToken(protocol))) {
        throw new InvalidArgumentError('protocols must be a list of subprotocol names (RFC 7230 tokens)');
      }
      if (options.handleProtocols !== undefined) throw new InvalidArgumentError('give protocols (what the server speaks) or handleProtocols (your own choice), not both');
    }
    if (options.allowedOrigins !== undefined) {
      const allowed = new Set(options.allowedOrigins.map((origin) => origin.toLowerCase()));
      this.#verifyOrigin = (origin) => origin === undefined || allowed.has(origin.toLowerCase());
    }
    this.#clients = this.options.clientTracking ? new Set() : undefined;
    this.#codec = options.codec ?? defaultCodec();
    const bus = (this.#bus = options.bus ?? null);
    if (bus !== null && (typeof bus.attach !== 'function' || typeof bus.publish !== 'function' || typeof bus.interest !== 'function' || typeof bus.close !== 'function')) {
      throw new InvalidArgumentError('bus must have attach, publish, interest and close methods (the Bus interface)');
    }
    this.#topics = new TopicRegistry(this.#codec, bus === null ? null : (topic, interested) => bus.interest(topic, interested));
    bus?.attach((topic, payload, binary) => this.#deliverFromBus(topic, payload, binary));
    this.#maxStreamsPerSession = options.maxStreamsPerSession ?? DEFAULT_MAX_STREAMS_PER_SESSION;
    if (!Number.isInteger(this.#maxStreamsPerSession) || this.#maxStreamsPerSession < 1 || this.#maxStreamsPerSession > 0xffffffff) {
      throw new InvalidArgumentError(`maxStreamsPerSession must be an integer from 1 to 4294967295, got ${String(options.maxStreamsPerSession)}`);
    }

    const emitConnection = (websocket: WebSocket, request: IncomingMessage): void => {
      // A throwing 'connection' listener is reported like any listener's exception, never
      // left to escape through Node's 'upgrade' event as an uncaught one.
      try {
        this.emit('connection', websocket, request);
      } catch (error) {
        reportListenerError(error);
      }
    };
    const onUpgrade = (request: IncomingMessage, socket: NodeSocket, head: Buffer): void => {
      if (!this.shouldHandle(request) && this.#httpServer!.listenerCount('upgrade') > 1) return; // another handler's path
      this.handleUpgrade(request, socket, head, emitConnection);
    };
    if (options.port !== undefined) {
      this.#httpServer = createUpgradeServer(onUpgrade, this.#handshakeTimeout);
      this.#ownsServer = true;
      this.#listen(this.#httpServer);
      this.#httpServer.listen(options.port, options.host, options.backlog, callback);
    } else if (options.server !== undefined) {
      this.#httpServer = options.server;
      this.#ownsServer = false;
      this.#listen(this.#httpServer);
      this.#httpServer.on('upgrade', onUpgrade);
      const server = this.#httpServer;
      const detachStreams = isHttp2Server(server)
        ? listenForExtendedConnect(server, this.#maxStreamsPerSession, (request) => this.shouldHandle(request), (stream, request) => this.handleStream(stream, request, emitConnection as unknown as (websocket: WebSocket, request: Http2ServerRequest) => void))
        : null;
      const detach = this.#detach!;
      this.#detach = () => {
        detach();
        detachStreams?.();
        server.removeListener('upgrade', onUpgrade);
      };
      if (callback !== undefined) this.once('listening', callback);
    } else {
      this.#httpServer = null;
      this.#ownsServer = false;
    }
  }

  /**
   * The connected clients. Typed as `ws` types it; with `clientTracking: false` it is
   * undefined, as in `ws`.
   */
  get clients(): Set<WebSocket> {
    return this.#clients as Set<WebSocket>;
  }

  /**
   * The address the HTTP server is bound to (null before it listens).
   * @throws Error in `noServer` mode.
   */
  address(): AddressInfo | string | null {
    if (this.options.noServer === true) throw new Error('the server is in "noServer" mode: it has no address');
    return this.#httpServer?.address() ?? null;
  }

  /** Whether to take `request` (the `path` option); override for other rules. */
  shouldHandle(request: IncomingMessage | Http2ServerRequest): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === path;
  }

  /**
   * Run the opening handshake on an upgrade request: the core validates it (RFC 6455 §4.2.1;
   * 400/403/405/426 otherwise), then the path, the connection cap, `verifyClient` and the
   * `'headers'` listeners have their say, and `callback` gets the open socket. A client that
   * goes away meanwhile (while an asynchronous `verifyClient` decides) never reaches it.
   *
   * @throws Error when called a second time with the same socket (two upgrade handlers, as
   *   `ws` reports it).
   */
  handleUpgrade(request: IncomingMessage, socket: NodeSocket, head: Buffer, callback: (websocket: WebSocket, request: IncomingMessage) => void): void {
    if (upgradedSockets.has(socket)) {
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    }
    upgradedSockets.add(socket);
    if (this.#state !== ServerState.RUNNING) {
      refuseSocket(socket, 503, 'the server is closing');
      return;
    }
    if (!this.shouldHandle(request)) {
      refuseSocket(socket, 400, `no WebSocket endpoint at ${request.url ?? '/'}`);
      return;
    }
    if (this.#connections.size + this.#pending.size >= this.#maxConnections) {
      refuseSocket(socket, 503, 'too many connections: try again later');
      return;
    }
    const upgrade = new PendingUpgrade(request, socket, head, this.#upgradeOptions(socket, request));
    this.#admit(upgrade, request, callback);
  }

  /**
   * Run the opening handshake of an HTTP/2 extended CONNECT (RFC 8441), as `handleUpgrade`
   * runs an HTTP/1.1 one: the core validates it (RFC 8441 §4, §5 and the RFC 6455 rules it
   * keeps), then the per-session stream cap, the path, the connection cap, `verifyClient` and
   * the `'headers'` listeners have their say, the stream is answered 200 and `callback` gets
   * the open socket. For servers attached with `server`, this happens by itself; in `noServer`
   * mode call it from an HTTP/2 server's `'stream'` event with the stream's header object, or
   * from the compatibility API's `'connect'` event with its request (the server must send
   * SETTINGS_ENABLE_CONNECT_PROTOCOL: `settings: { enableConnectProtocol: true }`).
   */
  handleStream(stream: ServerHttp2Stream, requestOrHeaders: Http2ServerRequest | IncomingHttpHeaders, callback: (websocket: WebSocket, request: Http2ServerRequest) => void): void {
    const request = requestOrHeaders instanceof Http2ServerRequest ? requestOrHeaders : requestOfStream(stream, requestOrHeaders);
    if (!admitStream(stream, this.#maxStreamsPerSession)) return;
    if (this.#state !== ServerState.RUNNING) {
      refuseStream(stream, 503, 'the server is closing');
      return;
    }
    if (!this.shouldHandle(request)) {
      refuseStream(stream, 400, `no WebSocket endpoint at ${request.url}`);
      return;
    }
    if (this.#connections.size + this.#pending.size >= this.#maxConnections) {
      refuseStream(stream, 503, 'too many connections: try again later');
      return;
    }
    // The hooks are typed with ws's IncomingMessage; over HTTP/2 they get the stream's request.
    const compatRequest = request as unknown as IncomingMessage;
    const pending = new PendingStream(stream, request, this.#upgradeOptions(stream, compatRequest));
    this.#admit(pending, compatRequest, callback as unknown as (websocket: WebSocket, request: IncomingMessage) => void);
  }

  /** How the core validates and negotiates this server's handshakes; a malformed one goes to `'wsClientError'` listeners, with `socket`. */
  #upgradeOptions(socket: Duplex, request: IncomingMessage): UpgradeOptions {
    const options = this.options;
    const handleProtocols = options.handleProtocols;
    return {
      codec: options.codec ?? defaultCodec(),
      limits: limitsOf(options),
      extensions: this.#extensions,
      // RFC 6455 §4.2.2: a subprotocol the server speaks, or none (ws agrees to the client's first).
      handleProtocols:
        handleProtocols !== undefined
          ? (offered, req) => handleProtocols(new Set(offered), req as IncomingMessage) || false
          : options.protocols !== undefined
            ? chooserFor(options.protocols)
            : undefined,
      verifyOrigin: this.#verifyOrigin,
      autoPong: options.autoPong ?? true,
      streamMessages: options.streamMessages ?? false,
      handshakeTimeout: this.#handshakeTimeout,
      // As ws: with 'wsClientError' listeners, a malformed request is the application's to answer.
      onClientError:
        this.listenerCount('wsClientError') > 0
          ? (error) => {
              this.emit('wsClientError', error, socket, request);
              return true;
            }
          : undefined,
    };
  }

  /** A handshake the core validated (or refused): the application decides, then `#complete`. */
  #admit(upgrade: PendingHandshake, request: IncomingMessage, callback: (websocket: WebSocket, request: IncomingMessage) => void): void {
    if (upgrade.handshake === null) return; // refused by the core: its error response is on its way, or wsClientError's
    this.#pending.add(upgrade);
    upgrade.whenAbandoned(() => this.#pending.delete(upgrade));
    const verifyClient = this.options.verifyClient;
    if (verifyClient === undefined) {
      this.#complete(upgrade, request, callback);
      return;
    }
    const decide = (verified: unknown, code?: number, message?: string, headers?: RefusalHeaders): void => {
      if (upgrade.settled) {
        // The client went away (or the deadline passed) while verifyClient decided.
        this.#pending.delete(upgrade);
        upgrade.abort();
        return;
      }
      if (verified === true) {
        this.#complete(upgrade, request, callback);
        return;
      }
      this.#pending.delete(upgrade);
      // As ws: 401 unless told otherwise, the reason phrase as the body unless given one.
      const status = code || 401;
      try {
        upgrade.reject(status, message || (STATUS_CODES[status] ?? 'the server refused the connection'), refusalFields(headers));
      } catch (error) {
        // An invalid status or header from the application: refuse plainly, report it.
        upgrade.reject(401, STATUS_CODES[401]!);
        this.#reportError(error);
      }
    };
    const info: VerifyClientInfo = {
      origin: request.headers.origin as string,
      secure: Boolean((request.socket as { encrypted?: boolean }).encrypted),
      req: request,
    };
    try {
      if (verifyClient.length >= 2) {
        verifyClient(info, decide);
        return;
      }
      const result = verifyClient(info, decide);
      if (typeof result === 'object' && result !== null && typeof result.then === 'function') {
        result.then(
          (verified) => decide(verified === true),
          (error: unknown) => {
            decide(false, 500, 'internal server error');
            this.#reportError(error);
          },
        );
      } else {
        decide(result === true);
      }
    } catch (error) {
      decide(false, 500, 'internal server error');
      this.#reportError(error);
    }
  }

  /**
   * Send `data` to every subscriber of `topic` (`ws.subscribe(topic)`), on this server and,
   * through the `bus`, on the others. The message is framed once, and compressed once per
   * window size for the subscribers that agreed to permessage-deflate without context
   * takeover: every subscriber's connection queues the same bytes, written with whatever else
   * it sends in this tick. Messages published to one topic reach each subscriber in publish
   * order. Bytes are not copied: leave them unchanged until written.
   *
   * A subscriber that does not read meets its connection's `maxBufferedAmount` policy, or, on
   * a topic configured with `slowSubscribers: 'drop'`, misses the messages published while its
   * `bufferedAmount` is at or above its `highWaterMark` (`droppedMessages` counts them).
   *
   * @returns how many of this server's subscribers it was sent to.
   * @throws InvalidArgumentError for a topic that is not a string of at most 4096
   *   characters, or text bytes that are not UTF-8.
   */
  publish(topic: string, data: PublishData, options: PublishOptions = {}): number {
    checkTopic(topic);
    const content = typeof data === 'string' ? data : bytesOf(data);
    const binary = options.binary ?? typeof data !== 'string';
    const bus = this.#bus;
    if (bus === null && this.#topics.subscribers(topic) === 0) return 0;
    const message = EncodedMessage.frame(this.#codec, content, binary);
    const except = options.except === undefined ? null : serverSideTopics(options.except);
    const reached = this.#topics.publish(topic, message, { compress: options.compress ?? true, except });
    bus?.publish(topic, message.payload, binary);
    return reached;
  }

  /** How many of this server's connections subscribe to `topic`. */
  subscribers(topic: string): number {
    return this.#topics.subscribers(topic);
  }

  /** Set how `topic` treats slow subscribers (see `TopicOptions`); the options stay while the server runs. */
  configureTopic(topic: string, options: TopicOptions): void {
    this.#topics.configure(topic, options);
  }

  /**
   * How many messages to `topic` were not sent, one per subscriber each was dropped for: to a
   * slow subscriber (`slowSubscribers: 'drop'`), or to every subscriber while the topic's
   * messages waiting for compression held 64 MiB (a publisher faster than zlib).
   */
  droppedMessages(topic: string): number {
    return this.#topics.droppedMessages(topic);
  }

  /** A message another node published: to this server's subscribers (nothing goes back to the bus). */
  #deliverFromBus(topic: string, payload: Uint8Array, binary: boolean): void {
    try {
      if (this.#topics.subscribers(topic) === 0) return;
      this.#topics.publish(topic, EncodedMessage.frame(this.#codec, payload, binary), { compress: true, except: null });
    } catch (error) {
      // A bus carrying a bad topic or text that is not UTF-8 (another publisher than ours).
      this.#reportError(error);
    }
  }

  /**
   * An error of the application's own making (a throwing `verifyClient`, a header a
   * `'headers'` listener may not add): emitted as `'error'` when the server has listeners for
   * it, else reported like a throwing listener (it never throws out of the upgrade).
   */
  #reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else reportListenerError(error);
  }

  /**
   * Stop accepting connections, close every client with 1001 (Going Away) and emit `'close'`
   * when they are all closed (each within its close timeout) and the HTTP server too (when the
   * server runs its own).
   */
  close(callback?: (error?: Error) => void): void {
    if (this.#state === ServerState.CLOSED) {
      if (callback !== undefined) queueMicrotask(() => callback(new Error('the server is not running')));
      return;
    }
    if (callback !== undefined) this.once('close', callback);
    if (this.#state === ServerState.CLOSING) return;
    this.#state = ServerState.CLOSING;
    this.#detach?.();
    this.#detach = null;
    for (const upgrade of this.#pending) upgrade.abort();
    this.#pending.clear();
    for (const websocket of this.#connections) {
      if (websocket.readyState === ReadyState.OPEN) websocket.close(CloseCode.GOING_AWAY, 'server shutting down');
    }
    let httpClosed = !this.#ownsServer;
    let busClosing = false;
    const finish = (): void => {
      if (this.#state !== ServerState.CLOSING || !httpClosed || this.#connections.size > 0) return;
      // Last, once every subscriber has left (and the bus was told): the bus.
      if (this.#bus !== null && !busClosing) {
        busClosing = true;
        this.#bus.close().then(closeTheServer, (error: unknown) => {
          this.#reportError(error);
          closeTheServer();
        });
      } else if (this.#bus === null) {
        closeTheServer();
      }
    };
    const closeTheServer = (): void => {
      this.#state = ServerState.CLOSED;
      this.emit('close');
    };
    this.#onConnectionsEmpty = finish;
    if (this.#ownsServer) {
      this.#httpServer!.close(() => {
        httpClosed = true;
        finish();
      });
    }
    queueMicrotask(finish);
  }

  #onConnectionsEmpty: (() => void) | null = null;

  #listen(server: HttpServer | AnyHttp2Server): void {
    const onListening = (): void => {
      this.emit('listening');
    };
    const onError = (error: Error): void => {
      this.emit('error', error);
    };
    server.on('listening', onListening);
    server.on('error', onError);
    this.#detach = () => {
      server.removeListener('listening', onListening);
      server.removeListener('error', onError);
    };
  }

  #complete(upgrade: PendingHandshake, request: IncomingMessage, callback: (websocket: WebSocket, request: IncomingMessage) => void): void {
    this.#pending.delete(upgrade);
    if (upgrade.settled) {
      upgrade.abort();
      return;
    }
    if (this.#state !== ServerState.RUNNING) {
      upgrade.reject(503, 'the server is closing');
      return;
    }
    let extra: Array<readonly [name: string, value: string]> = [];
    if (this.listenerCount('headers') > 0) {
      // ws's 'headers' event hands the response as lines (status line first), which listeners
      // may add "Name: value" lines to; what they add becomes header fields of the response.
      const lines = [upgrade.statusLine, ...upgrade.responseHeaders().map(([name, value]) => `${name}: ${value}`)];
      const original = lines.length;
      this.emit('headers', lines, request);
      const added = lines.slice(original).map((line): readonly [string, string] => {
        const colon = line.indexOf(':');
        return colon === -1 ? [line, ''] : [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      });
      // A line the handshake owns (Sec-WebSocket-Accept, Upgrade, …) or an invalid one is left
      // out of the response, and reported; the connection goes ahead with the others.
      const { accepted, refused } = upgrade.checkExtraHeaders(added);
      extra = accepted;
      for (const { field, error } of refused) {
        this.#reportError(new InvalidArgumentError(`a 'headers' listener added ${JSON.stringify(`${field[0]}: ${field[1]}`)}, which the 101 response cannot carry: ${error.message}`));
      }
    }
    let connection;
    try {
      connection = upgrade.accept(extra);
    } catch (error) {
      upgrade.reject(500, 'internal server error');
      this.#reportError(error);
      return;
    }
    let websocket: WebSocket;
    try {
      websocket = createServerSideWebSocket({
        connection,
        transport: this.#transport,
        webSocketClass: this.#webSocketClass,
        options: this.options,
        httpVersion: upgrade.httpVersion,
        topics: this.#topics,
        hooks: this.#socketHooks,
      });
    } catch (error) {
      // The application's subclass threw in its constructor: the connection cannot be served.
      connection.abort();
      upgrade.abort();
      this.#reportError(error);
      return;
    }
    if (!websocket.isServer) {
      // A subclass that did not hand its arguments to WebSocket's constructor made a client.
      websocket.terminate();
      connection.abort();
      upgrade.abort();
      this.#reportError(new InvalidArgumentError("the WebSocket option's constructor must pass its arguments to WebSocket's (super(...arguments))"));
      return;
    }
    this.#track(websocket);
    if (upgrade.wakes) upgrade.setWake(wakerOf(websocket));
    try {
      callback(websocket, request);
    } finally {
      // A 'connection' listener that throws still leaves an attached, working connection, as
      // in ws (whose socket is set before its 'connection' event).
      if (upgrade instanceof PendingStream) attachServerSideStream(websocket, upgrade.stream);
      else attachServerSideWebSocket(websocket, (upgrade as PendingUpgrade).socket);
    }
  }

  /** Count `websocket` among the connections until it closes (`#untrack`, from its face's `closed` hook). */
  #track(websocket: WebSocket): WebSocket {
    this.#connections.add(websocket);
    this.#clients?.add(websocket);
    return websocket;
  }

  /**
   * The hooks of this server's sockets: one object for all of them, so that a socket costs no
   * close listener of the server's own (a closure, and an array of listeners once the
   * application adds one).
   */
  readonly #socketHooks: FaceHooks = {
    announcesOpen: false,
    // Before the application's close listeners.
    closed: (owner) => this.#untrack(owner as WebSocket),
  };

  /** A tracked socket closed. */
  #untrack(websocket: WebSocket): void {
    // A closed socket is in no topic.
    serverSideTopics(websocket)?.leaveAll();
    if (!this.#connections.delete(websocket)) return;
    this.#clients?.delete(websocket);
    // After the application's own close listeners of this socket have run.
    if (this.#connections.size === 0 && this.#onConnectionsEmpty !== null) queueMicrotask(this.#onConnectionsEmpty);
  }
}
