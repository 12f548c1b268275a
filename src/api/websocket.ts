/**
 * `WebSocket`: one class for both ends of a connection, with two faces on the same object.
 *
 * - The `ws` face: `on('message', (data, isBinary) => …)`, `send(data, options, cb)`,
 *   `ping`, `pong`, `close(code, reason)`, `terminate()`, `pause()` / `resume()`, the
 *   readyState constants, `binaryType` `'nodebuffer'` (default) | `'arraybuffer'` |
 *   `'fragments'` | `'blob'`. Code written for `ws` needs only its import changed.
 * - The WHATWG face (HTML §10.4 "WebSocket"): `addEventListener` / `removeEventListener` /
 *   `dispatchEvent`, `onopen`, `onmessage`, `onerror`, `onclose`, `MessageEvent` (text as a
 *   string, binary as `binaryType` says), `CloseEvent` (`wasClean`, `code`, `reason`) and
 *   `ErrorEvent`, so browser code runs as is. As in `ws`, the object is an `EventEmitter` and
 *   these methods share its listener list (`node-events.ts`): it is not an `EventTarget`.
 *   The WHATWG algorithm steps are numbered in comments where they are implemented.
 *
 * Beyond both: `send` returns false once `highWaterMark` bytes wait to be written, and
 * `'drain'` follows when they have all gone; `maxBufferedAmount` bounds the memory a peer
 * that never reads can pin; a heartbeat and an idle timeout are options; `for await (const
 * message of ws)` reads messages.
 *
 * The class holds no protocol logic: the core (`src/protocol`) decides about bytes and the
 * Node adapter (`src/adapters/node`) about sockets, timers and buffers.
 */
import type { Agent, ClientRequest as HttpClientRequest, IncomingMessage } from 'node:http';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConnectionDriver, type DriverOptions } from '../adapters/driver.js';
import { dialClient, type ClientTlsOptions, type PendingDial } from '../adapters/node/client.js';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../adapters/node/deflate.js';
import { toBuffer } from '../adapters/node/buffer.js';
import { defaultCodec } from '../adapters/node/codec.js';
import { nodeSha1 } from '../adapters/node/sha1.js';
import { attachSocket, nodeScheduler, type NodeSocket } from '../adapters/node/socket-binding.js';
import { attachStream } from '../adapters/node/http2-binding.js';
import type { ClientHttp2Session, Http2Stream } from 'node:http2';
import { dialHttp2 } from '../adapters/node/http2-client.js';
import { resolveTransportOptions, type TransportOptions } from '../adapters/types.js';
import type { Codec } from '../codec/types.js';
import type { ClientExtensionNegotiator } from '../handshake/extensions.js';
import { ClientConnection } from '../protocol/client-connection.js';
import type { Connection } from '../protocol/connection.js';
import type { Extension } from '../protocol/extension.js';
import type { TopicMember, TopicRegistry } from '../pubsub/topics.js';
import { dualError, ErrorCode, InvalidArgumentError, InvalidStateError, WebSocketError } from '../shared/errors.js';
import { webCryptoRandom } from '../shared/ports.js';
import { attachFace, type BinaryType, defineFaceSurface, FaceCore, type FaceEventListener, type FaceEventMap, type FaceHooks, type FaceSurface, type FaceTyping, type SendCallback, type SendData, type SendOptions } from './face.js';
import { EventEmitterTarget, type NodeAddEventListenerOptions } from './node-events.js';
import { type CompatSender, compatSender, type FrameSink } from './ws-private.js';
import { checkWsBehaviourOptions, limitsForMaxPayload, limitsOf, type WsBehaviourOptions } from './options.js';
import {
  type ClientTarget,
  fieldsForOtherOrigin,
  headerFields,
  leavesOrigin,
  maskingRandom,
  parseClientUrl,
  type RedirectOrigin,
  redirectOriginOf,
  requestHeaders,
  requestOptions,
  urlCredentials,
  withoutCredentials,
} from './client-options.js';

export type { BinaryType, SendCallback, SendData, SendOptions };
export { checkWsBehaviourOptions, limitsForMaxPayload, limitsOf };

/** Options common to client and server-side sockets. */
export interface SocketOptions extends Partial<TransportOptions>, WsBehaviourOptions {
  /** Largest message accepted, in bytes (1009 above it); 0 means no limit. Default 100 MiB. */
  readonly maxPayload?: number;
  /** Most fragments of one message (1009 above it); 0 means no limit. Default 100,000 (`ws`: 16,384). */
  readonly maxFragments?: number;
  /** Answer pings automatically (RFC 6455 §5.5.2); default true. */
  readonly autoPong?: boolean;
  /**
   * Hand each incoming message out piece by piece as it arrives — `'fragment'` events
   * `(data, isBinary, first, last)` — instead of assembling it into one `'message'`, so a
   * large message never has to fit in memory at once. `maxPayload` still bounds each message
   * and text is still checked as UTF-8 as it arrives (RFC 6455 §8.1). Default false.
   */
  readonly streamMessages?: boolean;
  /** The frame codec; default the process's shared one (`createCodecSync()`). */
  readonly codec?: Codec;
}

/**
 * The options of `https.request` (and so of `http.request` and `tls.connect`) a client passes
 * through, as `ws` does: `ciphers`, `pfx`, `localPort`, `hints`, `signal`, … (the request's
 * own fields are the client's to set).
 */
export type PassedRequestOptions = Omit<
  HttpsRequestOptions,
  | 'headers' | 'agent' | 'host' | 'hostname' | 'port' | 'path' | 'method' | 'protocol' | 'socketPath' | 'setHost' | 'timeout' | 'defaultPort'
  | 'auth' | 'createConnection' | 'lookup' | 'family' | 'localAddress' | 'signal'
  | 'ca' | 'cert' | 'key' | 'passphrase' | 'rejectUnauthorized' | 'servername' | 'maxVersion' | 'minVersion' | 'checkServerIdentity'
>;

/**
 * Options of a client (`new WebSocket(url, protocols, options)`): its own, and those of
 * `http.request` and `tls.connect`, which are passed through as in `ws`.
 */
export interface WebSocketOptions extends SocketOptions, ClientTlsOptions, PassedRequestOptions {
  /**
   * More request header fields (Authorization, Cookie, User-Agent, …). `Host` and `Origin`
   * may be set here too, as in `ws` (the `origin` option wins over an Origin field).
   */
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>> | Iterable<HeaderField>;
  /** The Origin header (RFC 6455 §4.1 client requirement 8). */
  readonly origin?: string;
  /** Milliseconds until an unfinished opening handshake fails; 0: none. Default 30 000. */
  readonly handshakeTimeout?: number;
  /** An `http.Agent` that provides the socket (e.g. through a proxy). */
  readonly agent?: Agent;
  /** IP family for the host name lookup (4 or 6). */
  readonly family?: number;
  /** Local address to connect from. */
  readonly localAddress?: string;
  /** The host name lookup (`dns.lookup`'s signature). */
  readonly lookup?: LookupFunction;
  /**
   * Make the connection yourself: called as `http.request` calls it, with the request's
   * options (host, port, the TLS options, …); return the socket (a `Duplex`).
   */
  readonly createConnection?: (options: Record<string, unknown>, callback?: (error: Error | null, socket: Duplex) => void) => Duplex;
  /** Basic credentials, `user:password` (`http.request`'s `auth`); the URL's user info wins, as in `ws`. */
  readonly auth?: string;
  /**
   * Called with the request instead of ending it, as in `ws`: add to it, then call
   * `request.end()`.
   */
  readonly finishRequest?: (request: HttpClientRequest, websocket: WebSocket) => void;
  /** Follow 3xx responses with a Location (default false, as in `ws`); each is reported by `'redirect'`. */
  readonly followRedirects?: boolean;
  /** Most redirects followed; one more fails the connection. Default 10, as in `ws`. */
  readonly maxRedirects?: number;
  /**
   * Fill each masking key (4 bytes) yourself, as `ws`'s `generateMask` does — for harnesses
   * only: RFC 6455 §5.3 wants keys from a strong source of entropy, which the default is.
   */
  readonly generateMask?: (mask: Buffer) => void;
  /** The protocol version: only 13 (RFC 6455), the default. */
  readonly protocolVersion?: number;
  /** Extensions to offer (RFC 6455 §9.1), as negotiators. */
  readonly extensions?: readonly ClientExtensionNegotiator<Extension>[];
  /**
   * Open the WebSocket on a stream of an HTTP/2 connection (RFC 8441): true connects a session
   * of its own (h2c for `ws:`, TLS with ALPN `h2` for `wss:`), closed with the WebSocket; or
   * pass a `ClientHttp2Session` (`http2.connect(origin)`) to share it between several
   * WebSockets — it is never closed by them. When the server's SETTINGS do not enable the
   * extended CONNECT, the WebSocket opens over HTTP/1.1 instead; `httpVersion` says which.
   */
  readonly http2?: boolean | ClientHttp2Session;
  /**
   * Offer permessage-deflate (RFC 7692): true (the default, as in `ws`) with the defaults,
   * options to tune it, or false not to offer it. Clients with the defaults share one pool of
   * zlib streams and the process-wide zlib queue.
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateNodeOptions;
}

/** `ws`'s default `maxRedirects`. */
const DEFAULT_MAX_REDIRECTS = 10;

/** What a client keeps for its handshake and the redirects it follows. */
interface ClientState {
  readonly options: WebSocketOptions;
  readonly transport: TransportOptions;
  /** What `http.request` gets of the options. */
  readonly request: Readonly<Record<string, unknown>>;
  /** The application's header fields. */
  readonly fields: readonly HeaderField[];
  readonly protocols: readonly string[];
  redirects: number;
  readonly maxRedirects: number;
  /** Where the first request went. */
  readonly origin: RedirectOrigin;
}

/** The default client handshake deadline: generous for slow networks, bounded for dead ones. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/** A header field: `[name, value]`. */
type HeaderField = readonly [name: string, value: string];

const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** The permessage-deflate negotiator of clients with the default settings, made on first use. */
let defaultClientDeflate: ClientExtensionNegotiator<Extension> | null = null;

/**
 * The extensions a client offers: its own, then permessage-deflate unless turned off or
 * already among its own (an explicit negotiator wins over the default one).
 */
function clientExtensions(options: WebSocketOptions): readonly ClientExtensionNegotiator<Extension>[] {
  const own = options.extensions ?? [];
  const deflate = options.perMessageDeflate ?? true;
  if (deflate === false || own.some((negotiator) => negotiator.name === PERMESSAGE_DEFLATE)) return own;
  const negotiator =
    deflate === true ? (defaultClientDeflate ??= perMessageDeflateNode().client) : perMessageDeflateNode(deflate).client;
  return [...own, negotiator];
}

/**
 * The server-side socket being constructed. A `WebSocketServer` constructs its sockets as
 * `ws` does — `new (options.WebSocket ?? WebSocket)(null, undefined, options)`, so that a
 * subclass's own constructor runs — with what the socket is made of set here for the
 * duration; `new WebSocket(null)` from anywhere else is an invalid URL.
 */
let serverSideInit: ServerSideInit | null = null;

// Set by the class's static block (it alone can reach the private fields).
let createServerSide: (init: ServerSideInit) => WebSocket;
let attachServerSide: (websocket: WebSocket, socket: NodeSocket) => void;
let attachServerSideOverStream: (websocket: WebSocket, stream: Http2Stream) => void;
let wakeServerSide: (websocket: WebSocket) => void;
let topicMemberOf: (websocket: WebSocket) => TopicMember | null;

/**
 * The Node faces' typing: text, binary data and close reasons reach `ws` listeners as
 * `Buffer`s, as in `ws`; the methods throw `ws`'s error classes with the WHATWG API's
 * DOMException names (`dualError`).
 */
const NODE_TYPING: FaceTyping = {
  encodeText: (text) => Buffer.from(text, 'utf8'),
  wrapBytes: toBuffer,
  textForListeners: toBuffer,
  reasonForListeners: (reason) => Buffer.from(reason, 'utf8'),
  error: (message, name, wsClass) => dualError(wsClass, message, name),
};

/** The driver options of the server-side sockets made last, kept for the next ones (see `serverDriverOptions`). */
let lastServerDriverOptions: { readonly transport: TransportOptions; readonly options: DriverOptions } | null = null;

/**
 * The driver options of a server-side socket: its server's transport options, with no
 * handshake deadline (the server ran it). The sockets of one server share one frozen object
 * rather than holding a copy each.
 */
function serverDriverOptions(transport: TransportOptions, synchronousEvents: boolean): DriverOptions {
  const last = lastServerDriverOptions;
  if (last !== null && last.transport === transport && last.options.synchronousEvents === synchronousEvents) return last.options;
  const options: DriverOptions = Object.freeze({ ...transport, handshakeTimeout: 0, synchronousEvents });
  lastServerDriverOptions = { transport, options };
  return options;
}

/** A server-side socket is open when the application gets it: it reports no open event. */
const SERVER_SIDE_HOOKS: FaceHooks = { announcesOpen: false };

/**
 * A WebSocket connection: a client (`new WebSocket(url)`) or a server-side socket (from a
 * `WebSocketServer`'s `'connection'` event). See the module comment for its two faces: it is
 * an `EventEmitter` with the `EventTarget` methods (`EventEmitterTarget`), as `ws`'s is, with
 * every face's members (`FaceSurface`), over one `ConnectionDriver` on the socket.
 *
 * Emitter events: `'open'`, `'message'` (data, isBinary), `'fragment'` (data, isBinary,
 * first, last; with `streamMessages`), `'ping'` (data), `'pong'` (data), `'close'` (code,
 * reason: Buffer), `'error'` (error), `'drain'`, and on clients `'upgrade'` (response),
 * `'unexpected-response'` (request, response) and `'redirect'` (url, request).
 */
export class WebSocket extends EventEmitterTarget {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  readonly #face: FaceCore;
  /** The current driver (a redirect replaces it before the connection opens). */
  #driver!: ConnectionDriver;
  #url = '';
  readonly #isServer: boolean;
  #pendingDial: PendingDial | null = null;
  /** A client's options and redirect state (null on a server-side socket). */
  #client: ClientState | null = null;
  /** The transport socket, once there is one (`_socket`). */
  #socket: NodeSocket | null = null;
  #sender: CompatSender | null = null;
  /** The server's topics (server-side sockets of a server), and this socket's subscriptions once it has any. */
  #topicRegistry: TopicRegistry | null = null;
  #topicMember: TopicMember | null = null;
  #httpVersion: '1.1' | '2' = '1.1';

  /**
   * Open a connection to `url` (a `ws:` or `wss:` URL; `http:` and `https:` map to them).
   *
   * @param protocols subprotocols to offer, most preferred first (or the options).
   * @throws `SyntaxError` for an invalid URL, a scheme other than ws/wss/http/https/ws+unix,
   *   a URL with a fragment (RFC 6455 §3), or invalid or repeated subprotocols — before any
   *   connection is made: a `SyntaxError` as `ws` throws, which is also what the WHATWG
   *   API's DOMException is named (`dualError`).
   * @throws InvalidArgumentError for an invalid option (a header, a limit).
   */
  constructor(url: string | URL, protocols?: string | readonly string[] | WebSocketOptions, options?: WebSocketOptions) {
    super();
    if (url === null && serverSideInit !== null) {
      const init = serverSideInit;
      serverSideInit = null;
      const face = (this.#face = attachFace(this, new FaceCore(this, this.faceEvents(), NODE_TYPING, init.hooks ?? SERVER_SIDE_HOOKS)));
      this.#isServer = true;
      const synchronousEvents = (init.options as WsBehaviourOptions).allowSynchronousEvents ?? true;
      face.engine = this.#driver = new ConnectionDriver(init.connection, face.sink, serverDriverOptions(init.transport, synchronousEvents), nodeScheduler);
      this.#topicRegistry = init.topics;
      // The handshake is done: the terms are known before the application gets the socket.
      face.setTerms(init.connection.protocol, init.connection.extensions);
      this.#httpVersion = init.httpVersion ?? '1.1';
      return;
    }
    const face = (this.#face = attachFace(this, new FaceCore(this, this.faceEvents(), NODE_TYPING, { abortHandshake: () => this.#abortHandshake() })));
    this.#isServer = false;
    // ws refuses a null subprotocol list (a WHATWG WebSocket would offer "null").
    if (protocols === null) throw dualError(SyntaxError, 'invalid subprotocol list: null', 'SyntaxError');
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as WebSocketOptions;
      protocols = undefined;
    }
    const opts: WebSocketOptions = options ?? {};
    checkWsBehaviourOptions(opts);
    if (opts.protocolVersion !== undefined && opts.protocolVersion !== 13) {
      throw new RangeError(`unsupported protocol version ${String(opts.protocolVersion)}: RFC 6455 defines 13`);
    }
    const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new InvalidArgumentError(`maxRedirects must be a non-negative integer, got ${String(maxRedirects)}`);

    // WHATWG "new WebSocket(url, protocols)" steps 1–9: the URL record and the subprotocols
    // (and ws's ws+unix: URLs).
    const target = parseClientUrl(url, protocols as string | readonly string[] | undefined, NODE_TYPING.error);
    this.#client = {
      options: opts,
      transport: resolveTransportOptions(opts),
      request: requestOptions(opts),
      fields: headerFields(opts.headers),
      protocols: target.protocols,
      redirects: 0,
      maxRedirects,
      origin: redirectOriginOf(target),
    };
    // 12. Establish a WebSocket connection, in parallel.
    this.#dial(target, this.#client.fields, opts.auth);
  }

  /**
   * One opening handshake: a core connection and its driver (a redirect makes new ones), and
   * the HTTP exchange. 10. Set this's url to urlRecord.
   */
  #dial(target: ClientTarget, fields: readonly HeaderField[], auth: string | undefined, http1 = false): void {
    const client = this.#client!;
    const opts = client.options;
    const http2 = !http1 && opts.http2 !== undefined && opts.http2 !== false && target.socketPath === undefined;
    const record = target.url;
    this.#url = record.href;
    const headers = requestHeaders(fields, opts.origin, urlCredentials(record) ?? auth);
    const hostName = headers.host?.name ?? (target.socketPath === undefined ? record.hostname : 'localhost');
    const mask = opts.generateMask === undefined ? null : maskingRandom(opts.generateMask);
    const face = this.#face;
    let driver: ConnectionDriver | null = null;
    const connection = new ClientConnection({
      codec: opts.codec ?? defaultCodec(),
      random: mask?.random ?? webCryptoRandom,
      sha1: nodeSha1,
      // Messages assembled from many reads land in one Buffer, sized once from the header, and
      // frames are written into a Buffer slab, which the socket takes without converting.
      allocate: Buffer.allocUnsafe,
      host: hostName,
      port: headers.host !== undefined ? headers.host.port : record.port === '' ? undefined : Number(record.port),
      secure: record.protocol === 'wss:',
      path: target.path,
      origin: headers.origin,
      protocols: target.protocols,
      // WHATWG "establish a WebSocket connection" and ws both fail a response that selects
      // none of the offered subprotocols (RFC 6455 would let it open without one).
      requireProtocol: true,
      extensions: clientExtensions(opts),
      headers: headers.fields,
      limits: limitsOf(opts),
      autoPong: opts.autoPong,
      streamMessages: opts.streamMessages,
      onWake: () => driver?.wake(),
      http2,
    });
    mask?.handshakeKeyTaken();
    // The HTTP exchange has its own deadline (dialClient); the driver needs none.
    face.engine = driver = this.#driver = new ConnectionDriver(
      connection,
      face.sink,
      { ...client.transport, handshakeTimeout: 0, synchronousEvents: opts.allowSynchronousEvents ?? true },
      nodeScheduler,
    );
    if (http2) {
      this.#httpVersion = '2';
      this.#pendingDial = dialHttp2(
        driver,
        connection,
        {
          url: record,
          handshakeTimeout: opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
          session: opts.http2 === true ? null : (opts.http2 as ClientHttp2Session),
          connect: client.request,
        },
        {
          onFallback: () => {
            this.#httpVersion = '1.1';
            this.#dial(target, fields, auth, true);
          },
          onResponse: (_headers, stream) => {
            this.#pendingDial = null;
            this.#socket = (stream.session?.socket ?? null) as NodeSocket | null;
          },
        },
      );
      return;
    }
    const finishRequest = opts.finishRequest;
    this.#pendingDial = dialClient(
      driver,
      connection,
      {
        url: record,
        socketPath: target.socketPath,
        handshakeTimeout: opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        request: client.request,
        finishRequest: finishRequest === undefined ? undefined : (request) => finishRequest(request, this),
      },
      {
        onRequest: (request) => {
          if (client.redirects > 0) this.emit('redirect', this.#url, request);
        },
        onUpgrade: (response) => {
          this.#pendingDial = null;
          this.#socket = response.socket;
          this.emit('upgrade', response);
        },
        onUnexpectedResponse: (request: HttpClientRequest, response: IncomingMessage) => {
          const location = response.headers.location;
          const status = response.statusCode ?? 0;
          if (opts.followRedirects === true && location !== undefined && status >= 300 && status < 400) {
            this.#redirect(driver!, location, fields, auth);
            return 'redirect';
          }
          // As ws: with a listener, the response is the application's and nothing else is
          // reported (the socket stays CONNECTING until it calls close() or terminate()).
          if (this.listenerCount('unexpected-response') === 0) {
            this.#pendingDial = null;
            return false;
          }
          this.emit('unexpected-response', request, response);
          return true;
        },
      },
    );
  }

  /**
   * Follow a redirect as `ws` does (its `followRedirects`): at most `maxRedirects`; to
   * another origin than the first request's, without Authorization, Cookie and credentials
   * (and Host, for another host) unless a `'redirect'` listener takes care of the headers.
   */
  #redirect(from: ConnectionDriver, location: string, fields: readonly HeaderField[], auth: string | undefined): void {
    const client = this.#client!;
    this.#pendingDial = null;
    if (++client.redirects > client.maxRedirects) {
      from.failDetached(new WebSocketError(`more than ${client.maxRedirects} redirects (maxRedirects)`, ErrorCode.HANDSHAKE));
      return;
    }
    let target: ClientTarget;
    try {
      target = parseClientUrl(new URL(location, this.#url), client.protocols, NODE_TYPING.error);
    } catch (error) {
      from.failDetached(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    let nextFields = fields;
    let nextAuth = auth;
    if (this.listenerCount('redirect') === 0) {
      const { crossOrigin, otherHost } = leavesOrigin(client.origin, target);
      if (crossOrigin) {
        nextFields = fieldsForOtherOrigin(fields, otherHost);
        nextAuth = undefined;
        // The next URL's own credentials go with it only within the origin either.
        target = { ...target, url: withoutCredentials(target.url) };
      }
    }
    this.#dial(target, nextFields, nextAuth);
  }

  static {
    // Server-side sockets are built by `WebSocketServer` through these, not through the
    // public constructor.
    createServerSide = (init) => {
      serverSideInit = init;
      try {
        return new (init.webSocketClass as unknown as new (...args: unknown[]) => WebSocket)(null, undefined, init.options);
      } finally {
        serverSideInit = null;
      }
    };
    attachServerSide = (websocket, socket) => {
      websocket.#socket = socket;
      attachSocket(websocket.#driver, socket);
    };
    wakeServerSide = (websocket) => websocket.#driver.wake();
    attachServerSideOverStream = (websocket, stream) => {
      // The session's socket, as Node hands it out for a stream: its address, never its bytes.
      websocket.#socket = (stream.session?.socket ?? null) as NodeSocket | null;
      attachStream(websocket.#driver, stream);
    };
    topicMemberOf = (websocket) => websocket.#topicMember;
  }

  /**
   * Subscribe this server-side socket to `topic`: the server's `publish(topic, …)` then sends
   * it every message published to the topic (topics match exactly; no wildcards). A socket
   * leaves all its topics when it closes. Returns false when it already subscribes, or is closed.
   *
   * @throws InvalidStateError on a client (topics are its server's).
   * @throws InvalidArgumentError for a topic that is not a string of at most 4096 characters.
   */
  subscribe(topic: string): boolean {
    return this.#topics('subscribe').subscribe(topic);
  }

  /** Stop receiving what is published to `topic`; false when not subscribed. @throws InvalidStateError on a client. */
  unsubscribe(topic: string): boolean {
    if (this.#topicMember !== null) return this.#topicMember.unsubscribe(topic);
    this.#registryFor('unsubscribe');
    return false;
  }

  /** Whether this socket subscribes to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.#topicMember?.topics.has(topic) ?? false;
  }

  /** The topics this socket subscribes to, in the order it subscribed (a copy). */
  get topics(): string[] {
    return this.#topicMember === null ? [] : [...this.#topicMember.topics];
  }

  #topics(action: string): TopicMember {
    return (this.#topicMember ??= this.#registryFor(action).member(this.#driver));
  }

  #registryFor(action: string): TopicRegistry {
    const registry = this.#topicRegistry;
    if (registry === null) throw new InvalidStateError(`cannot ${action}: topics belong to a WebSocketServer's sockets, and this is a client`);
    return registry;
  }

  protected override eventFor(type: string, args: readonly unknown[]): Event {
    return this.#face.eventFor(type, args);
  }

  /** The URL connected to (`''` on a server-side socket). */
  get url(): string {
    return this.#url;
  }

  /**
   * Which HTTP carried the opening handshake: `'1.1'` for an Upgrade on its own TCP connection
   * (RFC 6455 §4), `'2'` for an extended CONNECT on a stream of an HTTP/2 connection (RFC 8441),
   * whose frames then travel on that stream.
   */
  get httpVersion(): '1.1' | '2' {
    return this.#httpVersion;
  }

  /** Whether this socket is the server's end of the connection. */
  get isServer(): boolean {
    return this.#isServer;
  }

  /**
   * Compatibility member: the underlying `net.Socket` (a `tls.TLSSocket` for `wss:`), as
   * `ws`'s `_socket` — for `remoteAddress`, `setKeepAlive`, `unref()` (engine.io-client's
   * `autoUnref`). Null until the connection is open on a client. Write to it and the
   * connection breaks: send through the WebSocket.
   */
  get _socket(): Socket | null {
    return this.#socket as Socket | null;
  }

  /**
   * Compatibility member: `ws`'s `_sender`, as far as libraries use it —
   * `sendFrame(frames, cb)` sends a frame `ws.Sender.frame()` built (engine.io's pre-encoded
   * broadcasts), in order with everything else sent (see `ws-private.ts`).
   */
  get _sender(): CompatSender {
    return (this.#sender ??= compatSender(this as unknown as FrameSink));
  }

  #abortHandshake(): void {
    const dial = this.#pendingDial;
    this.#pendingDial = null;
    if (dial !== null) dial.abort(new WebSocketError('the WebSocket was closed before the connection was established', ErrorCode.HANDSHAKE));
    // Past the HTTP exchange (an 'upgrade' listener closing): drop the socket; 1006 follows.
    else this.#driver.terminate();
  }
}
// Every face's members (typed by the interface below), and ws's enumerable accessors.
defineFaceSurface(WebSocket);

// The server's types under names of their own, so that the namespace's members of the same
// names can refer to them (in one declaration bundle a member would otherwise name itself).
type ServerOptionsOfServer = import('./server.js').ServerOptions;
type SyncVerifyClient<Request extends IncomingMessage> = import('./server.js').VerifyClientCallbackSync<Request>;
type AsyncVerifyClient<Request extends IncomingMessage> = import('./server.js').VerifyClientCallbackAsync<Request>;

/**
 * The names `ws` code uses for its types, on the class as in `@types/ws`
 * (`WebSocket.Data`, `WebSocket.RawData`, `WebSocket.ClientOptions`, `WebSocket.MessageEvent`, …).
 */
// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace WebSocket {
  /** A message as `'message'` listeners get it: a `Buffer` (text too, as in `ws`), or as `binaryType` says. */
  export type RawData = Buffer | ArrayBuffer | Buffer[];
  /** A message payload: `RawData` or a string. */
  export type Data = string | Buffer | ArrayBuffer | Buffer[];
  /** Certificate and key data. */
  export type CertMeta = string | string[] | Buffer | Buffer[];
  /** Options of a client. */
  export type ClientOptions = WebSocketOptions;
  /** Options of a server. */
  export type ServerOptions = ServerOptionsOfServer;
  /** permessage-deflate options. */
  export type PerMessageDeflateOptions = PerMessageDeflateNodeOptions;
  export type VerifyClientCallbackSync<Request extends IncomingMessage = IncomingMessage> = SyncVerifyClient<Request>;
  export type VerifyClientCallbackAsync<Request extends IncomingMessage = IncomingMessage> = AsyncVerifyClient<Request>;
  export type Event = globalThis.Event;
  export type MessageEvent = globalThis.MessageEvent;
  export type CloseEvent = globalThis.CloseEvent;
  export type ErrorEvent = globalThis.ErrorEvent;
  export type WebSocketEventMap = FaceEventMap;
  export type EventListenerOptions = NodeAddEventListenerOptions;
}

/** `WebSocket.RawData`: what `'message'` listeners get. */
export type RawData = WebSocket.RawData;
/** `WebSocket.Data`. */
export type Data = WebSocket.Data;
/** `ws`'s name for the client's options (`WebSocketOptions`). */
export type ClientOptions = WebSocketOptions;

/** The emitter events of a `WebSocket` and their arguments (typed `on` / `once` / `off`). */
export interface WebSocketEvents {
  open: [];
  /** `data`: a Buffer for text; for binary as `binaryType` says. */
  message: [data: WebSocket.RawData | Blob, isBinary: boolean];
  /** With `streamMessages`: a piece of a message as it arrived (text pieces are bytes). */
  fragment: [data: Buffer, isBinary: boolean, first: boolean, last: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  drain: [];
  upgrade: [response: IncomingMessage];
  'unexpected-response': [request: HttpClientRequest, response: IncomingMessage];
  /** With `followRedirects`: the URL redirected to, and its request (not sent yet). */
  redirect: [url: string, request: HttpClientRequest];
}

type WebSocketListener<K extends keyof WebSocketEvents> = (this: WebSocket, ...args: WebSocketEvents[K]) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

// Every face's members, and typed overloads of the emitter methods for the events above
// (declaration merging: no code).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocket extends FaceSurface {
  addEventListener<K extends keyof FaceEventMap>(type: K, listener: FaceEventListener<FaceEventMap[K]>, options?: boolean | NodeAddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | NodeAddEventListenerOptions): void;
  removeEventListener<K extends keyof FaceEventMap>(type: K, listener: FaceEventListener<FaceEventMap[K]>): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void;
  on<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  on(type: string, listener: AnyListener): this;
  once<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  once(type: string, listener: AnyListener): this;
  off<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  off(type: string, listener: AnyListener): this;
  addListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  addListener(type: string, listener: AnyListener): this;
  removeListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  removeListener(type: string, listener: AnyListener): this;
  prependListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  prependListener(type: string, listener: AnyListener): this;
  prependOnceListener<K extends keyof WebSocketEvents>(type: K, listener: WebSocketListener<K>): this;
  prependOnceListener(type: string, listener: AnyListener): this;
}

/** What a `WebSocketServer` gives a server-side socket. @internal */
export interface ServerSideInit {
  readonly connection: Connection;
  readonly transport: TransportOptions;
  /** The class to construct: `WebSocket` or a subclass (the server's `WebSocket` option). */
  readonly webSocketClass: typeof WebSocket;
  /** The server's options, handed to the constructor as `ws` hands them. */
  readonly options: object;
  /** The server's topics (`subscribe`, `publish`). */
  readonly topics: TopicRegistry | null;
  /** Which HTTP carried the handshake; default 1.1. */
  readonly httpVersion?: '1.1' | '2';
  /** The face's hooks (the server's, which hear of the close first); default: no open event, nothing else. */
  readonly hooks?: FaceHooks;
}

/** Create a server-side socket over an accepted connection (for `WebSocketServer`). @internal */
export function createServerSideWebSocket(init: ServerSideInit): WebSocket {
  return createServerSide(init);
}

/**
 * Start a server-side socket on its upgraded `socket`: write the 101 response and deliver
 * what came with the request (for `WebSocketServer`). @internal
 */
export function attachServerSideWebSocket(websocket: WebSocket, socket: NodeSocket): void {
  attachServerSide(websocket, socket);
}

/** A server-side socket's subscriptions, if it ever subscribed (for `WebSocketServer`). @internal */
export function serverSideTopics(websocket: WebSocket): TopicMember | null {
  return topicMemberOf(websocket);
}

/** Start a server-side socket on the HTTP/2 stream of its extended CONNECT (RFC 8441), answered 200 (for `WebSocketServer`). @internal */
export function attachServerSideStream(websocket: WebSocket, stream: Http2Stream): void {
  attachServerSideOverStream(websocket, stream);
}

/** Run a server-side socket's loop after asynchronous work (the core's `onWake`). @internal */
export function wakeServerSideWebSocket(websocket: WebSocket): void {
  wakeServerSide(websocket);
}
