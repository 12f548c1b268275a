/**
 * The server's opening handshake over HTTP/2 (RFC 8441): the extended CONNECT streams of a
 * `node:http2` server (h2c, or TLS with ALPN `h2`), each validated by the core
 * (`validateExtendedConnect`), decided by the application as an HTTP/1.1 upgrade is
 * (`PendingHandshake`), and answered `:status 200` — then the stream carries the frames.
 *
 * Which streams are ours: a CONNECT with `:protocol` (RFC 8441 §4). A plain CONNECT asks for a
 * TCP tunnel; it is left to the application's own `'stream'` or `'connect'` listeners, and
 * answered here (400) only when there are none, so that no request goes unanswered. Node's
 * compatibility layer (a server with `'request'` listeners) turns every CONNECT into a
 * `'connect'` event and answers 405 when nobody listens: the streams are taken from both
 * events, each once.
 *
 * Every path ends the stream and only the stream: a refused request gets its error response
 * (END_STREAM after the body), a handshake past its deadline or dropped by the application is
 * reset (RST_STREAM CANCEL, RFC 8441 §5), and a stream beyond the per-session cap is refused
 * (RST_STREAM REFUSED_STREAM, RFC 7540 §5.1.2). The session and its other streams go on.
 */
import {
  constants,
  type Http2SecureServer,
  type Http2Server,
  Http2ServerRequest,
  type Http2Session,
  type Http2Stream,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { setTimeout } from 'node:timers';
import {
  extendedConnectErrorResponse,
  extendedConnectResponseFields,
  type ExtendedConnectHandshake,
  type ExtendedConnectRequest,
  type StreamErrorResponse,
  validateExtendedConnect,
} from '../../handshake/extended-connect.js';
import { HttpHeaders, type HeaderField } from '../../handshake/http.js';
import type { Extension } from '../../protocol/extension.js';
import { ServerConnection } from '../../protocol/server-connection.js';
import { HandshakeError, InvalidArgumentError, type WebSocketError } from '../../shared/errors.js';
import type { PendingHandshake, UpgradeOptions } from './server.js';

/** An HTTP/2 server, plain (h2c) or secure. */
export type AnyHttp2Server = Http2Server | Http2SecureServer;

/** Whether `server` is a `node:http2` server (it can update the SETTINGS it sends). */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  return typeof (server as Partial<Http2Server>).updateSettings === 'function';
}

/**
 * The default cap on concurrent WebSocket streams per session: RFC 7540 §6.5.2 recommends
 * that SETTINGS_MAX_CONCURRENT_STREAMS "be no smaller than 100, so as to not unnecessarily
 * limit parallelism"; a browser opens one stream per WebSocket of a page.
 */
export const DEFAULT_MAX_STREAMS_PER_SESSION = 100;

/** The request as `validateExtendedConnect` takes it, from what Node's HTTP/2 parser produced. */
export function extendedConnectRequestOf(headers: IncomingHttpHeaders, rawHeaders: readonly string[]): ExtendedConnectRequest {
  const fields: HeaderField[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (!name.startsWith(':')) fields.push([name, rawHeaders[i + 1]!]);
  }
  const pseudo = (name: string): string | undefined => {
    const value = headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    method: pseudo(':method'),
    protocol: pseudo(':protocol'),
    scheme: pseudo(':scheme'),
    authority: pseudo(':authority'),
    path: pseudo(':path'),
    headers: new HttpHeaders(fields),
  };
}

/** `fields` as the header object `stream.respond` takes (repeated names become lists). */
function headerObject(status: number, fields: readonly HeaderField[]): Record<string, string | string[] | number> {
  const out: Record<string, string | string[] | number> = { ':status': status };
  for (const [name, value] of fields) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else out[name] = Array.isArray(existing) ? [...existing, value] : [String(existing), value];
  }
  return out;
}

/**
 * Send an error response and end the stream. The client's side may still be open (its
 * CONNECT had no END_STREAM): RFC 7540 §8.1 lets a server that sent a complete response "request
 * that the client abort transmission of a request without error by sending a RST_STREAM with
 * an error code of NO_ERROR", which Node sends once the response is written.
 */
function sendErrorResponse(stream: ServerHttp2Stream, response: StreamErrorResponse): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond(headerObject(response.status, response.headers));
  stream.end(response.body);
  stream.close(constants.NGHTTP2_NO_ERROR);
}

function resetStream(stream: Http2Stream): void {
  if (!stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
}

function wakerOf(scope: { wake: (() => void) | null }): () => void {
  return () => scope.wake?.();
}

function disposeAll(handshake: ExtendedConnectHandshake<Extension>): void {
  for (const { extension } of handshake.extensions) {
    try {
      extension.dispose?.();
    } catch {
      // A declined extension's cleanup cannot change the outcome.
    }
  }
}

/**
 * One extended CONNECT. After construction it has either been refused (the error response is
 * on its way, `error` says why) or holds a valid request (`handshake`) that waits for
 * `accept` or `reject`.
 */
export class PendingStream implements PendingHandshake {
  readonly stream: ServerHttp2Stream;
  readonly statusLine = 'HTTP/2 200';
  readonly httpVersion = '2';
  readonly #options: UpgradeOptions;
  #handshake: ExtendedConnectHandshake<Extension> | null = null;
  #error: WebSocketError | null = null;
  #settled = false;
  #timer: NodeJS.Timeout | null = null;
  #abandoned: (() => void) | null = null;
  #wakes = false;
  /**
   * Where the core's `onWake` goes. The core keeps its options for the life of the connection,
   * so its callback holds only this small object, not the handshake (and its request).
   */
  readonly #wakeScope: { wake: (() => void) | null } = { wake: null };
  readonly #onClose = (): void => {
    const abandoned = this.#abandoned;
    this.#settle();
    abandoned?.();
  };

  constructor(stream: ServerHttp2Stream, request: Http2ServerRequest, options: UpgradeOptions) {
    this.stream = stream;
    this.#options = options;
    stream.once('close', this.#onClose);
    // A stream error (a reset) ends the handshake; it never reaches the session.
    stream.on('error', this.#onClose);
    if (options.handshakeTimeout > 0) {
      this.#timer = setTimeout(resetStream, options.handshakeTimeout, stream);
      this.#timer.unref();
    }
    const handleProtocols = options.handleProtocols;
    try {
      this.#handshake = validateExtendedConnect<Extension>(extendedConnectRequestOf(request.headers, request.rawHeaders), {
        extensions: options.extensions,
        handleProtocols: handleProtocols === undefined ? undefined : (offered) => handleProtocols(offered, request),
        verifyOrigin: options.verifyOrigin,
      });
      return;
    } catch (error) {
      this.#refuse(error);
    }
  }

  get handshake(): ExtendedConnectHandshake<Extension> | null {
    return this.#handshake;
  }

  /** Why the core refused the request (its error response has been sent). */
  get error(): WebSocketError | null {
    return this.#error;
  }

  get settled(): boolean {
    const stream = this.stream;
    return this.#settled || stream.destroyed || stream.closed;
  }

  responseHeaders(): HeaderField[] {
    const handshake = this.#handshake;
    return handshake === null ? [] : extendedConnectResponseFields(handshake);
  }

  checkExtraHeaders(fields: readonly HeaderField[]): { accepted: HeaderField[]; refused: Array<{ field: HeaderField; error: Error }> } {
    const accepted: HeaderField[] = [];
    const refused: Array<{ field: HeaderField; error: Error }> = [];
    for (const field of fields) {
      try {
        extendedConnectResponseFields({ protocol: null, extensions: [], rsvBits: 0, extensionsHeader: null }, [field]);
        accepted.push(field);
      } catch (error) {
        refused.push({ field, error: error as Error });
      }
    }
    return { accepted, refused };
  }

  /**
   * Accept: respond `:status 200` with the agreed subprotocol and extensions (and `headers`),
   * and return the connection, OPEN with those terms; the caller runs it over the stream.
   *
   * @throws InvalidArgumentError for an invalid extra header (then nothing was sent).
   */
  accept(headers: readonly HeaderField[]): ServerConnection {
    const handshake = this.#handshake;
    if (handshake === null || this.settled) throw new InvalidArgumentError('the extended CONNECT is not waiting for an answer');
    const fields = extendedConnectResponseFields(handshake, headers);
    const options = this.#options;
    const connection = new ServerConnection({
      codec: options.codec,
      limits: options.limits,
      autoPong: options.autoPong,
      streamMessages: options.streamMessages,
      allocate: Buffer.allocUnsafe,
      // Only asynchronous extensions wake the core (see `PendingHandshake.wakes`).
      onWake: handshake.extensions.length > 0 ? wakerOf(this.#wakeScope) : undefined,
      established: { protocol: handshake.protocol, extensions: handshake.extensions },
    });
    this.#wakes = handshake.extensions.length > 0;
    this.#handshake = null;
    this.#settle();
    this.stream.removeListener('close', this.#onClose);
    this.stream.removeListener('error', this.#onClose);
    this.stream.respond(headerObject(200, fields));
    return connection;
  }

  whenAbandoned(callback: () => void): void {
    if (this.settled) callback();
    else this.#abandoned = callback;
  }

  /** Whether the core may call its `onWake`: known once accepted, with the extensions agreed. */
  get wakes(): boolean {
    return this.#wakes;
  }

  setWake(wake: () => void): void {
    this.#wakeScope.wake = wake;
  }

  /**
   * Refuse with an HTTP error response (400–599), which ends the stream.
   *
   * @throws InvalidArgumentError for a status outside 400–599 or an invalid header.
   */
  reject(status: number, message: string, headers: readonly HeaderField[] = []): void {
    if (this.settled) return;
    this.#respondError(extendedConnectErrorResponse({ status, message, headers }));
  }

  /** Drop the handshake: reset the stream (RST_STREAM CANCEL) without an answer. */
  abort(): void {
    this.#settle();
    resetStream(this.stream);
  }

  /**
   * The request failed the core's checks: answer with its status (RFC 6455 §4.2.1 "return an
   * HTTP response with an appropriate error code"), or hand it to the application
   * (`onClientError`); a fault of the server's own is a 500 that tells the client nothing more.
   */
  #refuse(error: unknown): void {
    if (!(error instanceof HandshakeError) || error.status < 400 || error.status > 599) {
      this.#error = new HandshakeError(`internal error: ${error instanceof Error ? error.message : String(error)}`, 500);
      this.#respondError(extendedConnectErrorResponse({ status: 500, message: 'internal server error' }));
      return;
    }
    this.#error = error;
    if (error.status < 500 && this.#options.onClientError?.(error) === true) {
      // The application answers on the stream; nothing is written here.
      this.#settle();
      this.stream.removeListener('close', this.#onClose);
      return;
    }
    this.#respondError(extendedConnectErrorResponse(error));
  }

  #respondError(response: StreamErrorResponse): void {
    const handshake = this.#handshake;
    if (handshake !== null) disposeAll(handshake);
    this.#settle();
    sendErrorResponse(this.stream, response);
  }

  #settle(): void {
    this.#settled = true;
    this.#abandoned = null;
    this.#handshake = null;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}

/** WebSocket streams open or in their handshake, by session: the per-session cap counts them. */
const streamsBySession = new WeakMap<Http2Session, number>();

/**
 * Count `stream` against its session's cap; false (and the stream refused with RST_STREAM
 * REFUSED_STREAM, RFC 7540 §5.1.2, which tells the client it may retry) when the session
 * already has `cap` of them.
 */
export function admitStream(stream: ServerHttp2Stream, cap: number): boolean {
  const session = stream.session;
  if (session === undefined) return false;
  const count = streamsBySession.get(session) ?? 0;
  if (count >= cap) {
    stream.close(constants.NGHTTP2_REFUSED_STREAM);
    return false;
  }
  streamsBySession.set(session, count + 1);
  stream.once('close', () => streamsBySession.set(session, (streamsBySession.get(session) ?? 1) - 1));
  return true;
}

/** Streams already taken by `listenForExtendedConnect` (from `'stream'` or from `'connect'`). */
const takenStreams = new WeakSet<Http2Stream>();
/** The request of each extended CONNECT stream, made once however many servers look at it. */
const requests = new WeakMap<Http2Stream, Http2ServerRequest>();

/**
 * The request object of `stream` (Node's compatibility `Http2ServerRequest`, what the hooks
 * get), made once per stream from the fields of its `'stream'` event; without its raw fields,
 * from the header object.
 */
export function requestOfStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): Http2ServerRequest {
  let request = requests.get(stream);
  if (request === undefined) {
    const raw = rawHeaders ?? Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((item) => [name, item]) : value === undefined ? [] : [name, String(value)]));
    requests.set(stream, (request = new Http2ServerRequest(stream, headers, {}, raw)));
  }
  return request;
}

/**
 * Take the extended CONNECT streams of `server` that `wants` (see the module comment) and hand
 * each, with its request, to `onStream`. A stream another listener may want (a
 * `WebSocketServer` for another path, a tunnel proxy) is left to it. The server is told to
 * send SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3) and SETTINGS_MAX_CONCURRENT_STREAMS
 * `maxStreams` to the sessions it opens from now on (the setting counts every stream of a
 * session, WebSocket or not). Returns what detaches the listeners.
 */
export function listenForExtendedConnect(
  server: AnyHttp2Server,
  maxStreams: number,
  wants: (request: Http2ServerRequest) => boolean,
  onStream: (stream: ServerHttp2Stream, request: Http2ServerRequest) => void,
): () => void {
  server.updateSettings({ enableConnectProtocol: true, maxConcurrentStreams: maxStreams });
  const take = (stream: ServerHttp2Stream, tunnel: boolean, others: number, requestOf: () => Http2ServerRequest): void => {
    if (takenStreams.has(stream) || stream.destroyed) return;
    // A plain CONNECT (a tunnel), or another path's WebSocket, is another listener's if there is one.
    if (tunnel && others > 0) return;
    const request = requestOf();
    if (!wants(request) && others > 0) return;
    takenStreams.add(stream);
    onStream(stream, request);
  };
  const onRawStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    if (headers[':method'] !== 'CONNECT') return;
    // With the compatibility layer installed (it listens to 'stream' too), a CONNECT arrives
    // as 'connect' as well: what is left here goes there.
    const others = server.listenerCount('stream') - 1 + Math.max(0, server.listenerCount('connect') - 1);
    take(stream, headers[':protocol'] === undefined, others, () => requestOfStream(stream, headers, rawHeaders));
  };
  const onConnect = (request: Http2ServerRequest): void => {
    take(request.stream, request.headers[':protocol'] === undefined, server.listenerCount('connect') - 1, () => request);
  };
  server.on('stream', onRawStream);
  server.on('connect', onConnect as (...args: unknown[]) => void);
  return () => {
    server.removeListener('stream', onRawStream);
    server.removeListener('connect', onConnect as (...args: unknown[]) => void);
  };
}

/** Answer a stream that will not be a WebSocket (a path that does not match, a server that is closing) with an error response. */
export function refuseStream(stream: ServerHttp2Stream, status: number, message: string): void {
  sendErrorResponse(stream, extendedConnectErrorResponse({ status, message }));
}
