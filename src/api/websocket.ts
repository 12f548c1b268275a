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
import { ConnectionDriver } from '../adapters/driver.js';
import { dialClient, type ClientTlsOptions, type PendingDial } from '../adapters/node/client.js';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../adapters/node/deflate.js';
import { toBuffer } from '../adapters/node/buffer.js';
import { defaultCodec } from '../adapters/node/codec.js';
import { nodeSha1 } from '../adapters/node/sha1.js';
import { attachSocket, nodeScheduler, type NodeSocket } from '../adapters/node/socket-binding.js';
import { resolveTransportOptions, type TransportOptions } from '../adapters/types.js';
import type { Codec } from '../codec/types.js';
import type { ClientExtensionNegotiator } from '../handshake/extensions.js';
import { ClientConnection } from '../protocol/client-connection.js';
import type { Connection } from '../protocol/connection.js';
import type { Extension } from '../protocol/extension.js';
import { ErrorCode, WebSocketError } from '../shared/errors.js';
import { webCryptoRandom } from '../shared/ports.js';
import { type BinaryType, defineFaceSurface, domException, FACE, FaceCore, type FaceEventListener, type FaceEventMap, type FaceHooks, type FaceSurface, type FaceTyping, type SendCallback, type SendData, type SendOptions } from './face.js';
import { EventEmitterTarget, type NodeAddEventListenerOptions } from './node-events.js';
import { limitsForMaxPayload } from './options.js';
import { parseWebSocketUrl } from './url.js';

export type { BinaryType, SendCallback, SendData, SendOptions };
export { limitsForMaxPayload };

/** Options common to client and server-side sockets. */
export interface SocketOptions extends Partial<TransportOptions> {
  /** Largest message accepted, in bytes (1009 above it); 0 means no limit. Default 100 MiB. */
  readonly maxPayload?: number;
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

/** Options of a client (`new WebSocket(url, protocols, options)`). */
export interface WebSocketOptions extends SocketOptions, ClientTlsOptions {
  /** More request header fields (Authorization, Cookie, User-Agent, …). */
  readonly headers?: Readonly<Record<string, string>> | Iterable<HeaderField>;
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
  /** Extensions to offer (RFC 6455 §9.1), as negotiators. */
  readonly extensions?: readonly ClientExtensionNegotiator<Extension>[];
  /**
   * Offer permessage-deflate (RFC 7692): true (the default, as in `ws`) with the defaults,
   * options to tune it, or false not to offer it. Clients with the defaults share one pool of
   * zlib streams and the process-wide zlib queue.
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateNodeOptions;
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

/** The construction path of server-side sockets (not exported from the package). */
const SERVER_SIDE: unique symbol = Symbol('server-side');

// Set by the class's static block (it alone can reach the private fields).
let createServerSide: (init: ServerSideInit) => WebSocket;
let attachServerSide: (websocket: WebSocket, socket: NodeSocket) => void;
let wakeServerSide: (websocket: WebSocket) => void;

/** The Node faces' typing: text, binary data and close reasons reach `ws` listeners as `Buffer`s, as in `ws`. */
const NODE_TYPING: FaceTyping = {
  encodeText: (text) => Buffer.from(text, 'utf8'),
  wrapBytes: toBuffer,
  textForListeners: toBuffer,
  reasonForListeners: (reason) => Buffer.from(reason, 'utf8'),
};

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
 * reason: Buffer), `'error'` (error), `'drain'`, and on clients `'upgrade'` (response) and
 * `'unexpected-response'` (request, response).
 */
export class WebSocket extends EventEmitterTarget {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  /** @internal */
  readonly [FACE]: FaceCore;
  readonly #driver: ConnectionDriver;
  readonly #url: string;
  readonly #isServer: boolean;
  #pendingDial: PendingDial | null = null;

  /**
   * Open a connection to `url` (a `ws:` or `wss:` URL; `http:` and `https:` map to them).
   *
   * @param protocols subprotocols to offer, most preferred first (or the options).
   * @throws DOMException `SyntaxError` for an invalid URL, a scheme other than ws/wss/http/https,
   *   a URL with a fragment (RFC 6455 §3), or invalid or repeated subprotocols — before any
   *   connection is made.
   * @throws InvalidArgumentError for an invalid option (a header, a limit).
   */
  constructor(url: string | URL, protocols?: string | readonly string[] | WebSocketOptions, options?: WebSocketOptions);
  constructor(url: string | URL, protocols?: string | readonly string[] | WebSocketOptions, options?: WebSocketOptions, server?: ServerSideInit) {
    super();
    if ((url as unknown) === SERVER_SIDE) {
      const init = server!;
      const face = (this[FACE] = new FaceCore(this, this.faceEvents(), NODE_TYPING, SERVER_SIDE_HOOKS));
      this.#url = '';
      this.#isServer = true;
      face.engine = this.#driver = new ConnectionDriver(init.connection, face.sink, { ...init.transport, handshakeTimeout: 0 }, nodeScheduler);
      // The handshake is done: the terms are known before the application gets the socket.
      face.setTerms(init.connection.protocol, init.connection.extensions);
      return;
    }
    const face = (this[FACE] = new FaceCore(this, this.faceEvents(), NODE_TYPING, { abortHandshake: () => this.#abortHandshake() }));
    this.#isServer = false;
    // ws refuses a null subprotocol list (a WHATWG WebSocket would offer "null").
    if (protocols === null) throw domException('invalid subprotocol list: null', 'SyntaxError');
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as WebSocketOptions;
      protocols = undefined;
    }
    const opts: WebSocketOptions = options ?? {};

    // WHATWG "new WebSocket(url, protocols)" steps 1–9: the URL record and the subprotocols.
    const { url: record, protocols: offered } = parseWebSocketUrl(url, protocols as string | readonly string[] | undefined);
    // 10. Set this's url to urlRecord.
    this.#url = record.href;

    const transport = resolveTransportOptions(opts);
    const handshakeTimeout = opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    let driver: ConnectionDriver | null = null;
    const connection = new ClientConnection({
      codec: opts.codec ?? defaultCodec(),
      random: webCryptoRandom,
      sha1: nodeSha1,
      host: record.hostname,
      port: record.port === '' ? undefined : Number(record.port),
      secure: record.protocol === 'wss:',
      path: `${record.pathname}${record.search}`,
      origin: opts.origin,
      protocols: offered,
      // WHATWG "establish a WebSocket connection" and ws both fail a response that selects
      // none of the offered subprotocols (RFC 6455 would let it open without one).
      requireProtocol: true,
      extensions: clientExtensions(opts),
      headers: withCredentials(record, opts.headers),
      limits: limitsForMaxPayload(opts.maxPayload),
      autoPong: opts.autoPong,
      streamMessages: opts.streamMessages,
      onWake: () => driver?.wake(),
    });
    // The HTTP exchange has its own deadline (dialClient); the driver needs none.
    face.engine = driver = this.#driver = new ConnectionDriver(connection, face.sink, { ...transport, handshakeTimeout: 0 }, nodeScheduler);
    // 12. Establish a WebSocket connection, in parallel.
    this.#pendingDial = dialClient(
      driver,
      connection,
      {
        url: record,
        handshakeTimeout,
        agent: opts.agent,
        family: opts.family,
        localAddress: opts.localAddress,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        passphrase: opts.passphrase,
        rejectUnauthorized: opts.rejectUnauthorized,
        servername: opts.servername,
      },
      {
        onUpgrade: (response) => {
          this.#pendingDial = null;
          this.emit('upgrade', response);
        },
        onUnexpectedResponse: (request: HttpClientRequest, response: IncomingMessage) => {
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

  static {
    // Server-side sockets are built by `WebSocketServer` through these, not through the
    // public constructor.
    createServerSide = (init) => new (WebSocket as unknown as new (...args: unknown[]) => WebSocket)(SERVER_SIDE, undefined, undefined, init);
    attachServerSide = (websocket, socket) => void attachSocket(websocket.#driver, socket);
    wakeServerSide = (websocket) => websocket.#driver.wake();
  }

  protected override eventFor(type: string, args: readonly unknown[]): Event {
    return this[FACE].eventFor(type, args);
  }

  /** The URL connected to (`''` on a server-side socket). */
  get url(): string {
    return this.#url;
  }

  /** Whether this socket is the server's end of the connection. */
  get isServer(): boolean {
    return this.#isServer;
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
  export type ServerOptions = import('./server.js').ServerOptions;
  /** permessage-deflate options. */
  export type PerMessageDeflateOptions = PerMessageDeflateNodeOptions;
  export type VerifyClientCallbackSync<Request extends IncomingMessage = IncomingMessage> = import('./server.js').VerifyClientCallbackSync<Request>;
  export type VerifyClientCallbackAsync<Request extends IncomingMessage = IncomingMessage> = import('./server.js').VerifyClientCallbackAsync<Request>;
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

/** Run a server-side socket's loop after asynchronous work (the core's `onWake`). @internal */
export function wakeServerSideWebSocket(websocket: WebSocket): void {
  wakeServerSide(websocket);
}

/** Add `Authorization: Basic` for a URL's user info, as browsers and `ws` do. */
function withCredentials(url: URL, headers: WebSocketOptions['headers']): Iterable<HeaderField> | Readonly<Record<string, string>> | undefined {
  if (url.username === '' && url.password === '') return headers;
  const fields: HeaderField[] =
    headers === undefined ? [] : Symbol.iterator in headers ? [...(headers as Iterable<HeaderField>)] : Object.entries(headers as Record<string, string>);
  if (fields.some(([name]) => name.toLowerCase() === 'authorization')) return fields;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  fields.push(['Authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`]);
  return fields;
}
