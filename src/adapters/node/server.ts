/**
 * The server's opening handshake over Node's HTTP server: Node parses the request head and
 * emits `'upgrade'`; a `ServerConnection` (with `autoAccept: false`) validates it (RFC 6455
 * §4.2.1) and negotiates, then the application decides (`accept` / `reject`), and the socket
 * is handed to a `NodeConnection`.
 *
 * Every path ends the socket: a request the core refuses gets its HTTP error response, a
 * rejected one the application's status, and a handshake that outlives its deadline is
 * destroyed (a client that never finishes its request must not hold a socket).
 */
import { createServer, type IncomingMessage, type Server as HttpServer, STATUS_CODES } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Socket } from 'node:net';
import { setTimeout } from 'node:timers';
import type { ServerExtensionNegotiator } from '../../handshake/extensions.js';
import { HttpHeaders, type HeaderField, type HttpRequestHead } from '../../handshake/http.js';
import { buildErrorResponse, buildServerResponse, serverResponseHeaders, type ServerHandshake } from '../../handshake/server.js';
import type { Codec } from '../../codec/types.js';
import type { Extension } from '../../protocol/extension.js';
import type { ConnectionLimits } from '../../protocol/limits.js';
import { ServerConnection } from '../../protocol/server-connection.js';
import { HandshakeError, type WebSocketError } from '../../shared/errors.js';
import type { NodeSocket } from './socket-binding.js';
import { nodeSha1 } from './sha1.js';

/** The request head the core validates, from the message Node's HTTP parser produced. */
export function requestHeadOf(request: IncomingMessage): HttpRequestHead {
  const raw = request.rawHeaders;
  const fields: HeaderField[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) fields.push([raw[i]!, raw[i + 1]!]);
  return {
    method: request.method ?? 'GET',
    target: request.url ?? '/',
    version: { major: request.httpVersionMajor, minor: request.httpVersionMinor },
    headers: new HttpHeaders(fields),
  };
}

/** Handshake deadlines started when a socket connected (standalone servers), by socket. */
const connectionDeadlines = new WeakMap<object, { readonly timer: NodeJS.Timeout; readonly onClose: () => void }>();

/**
 * Destroy `socket` unless its opening handshake completes within `timeout` ms. For servers
 * whose every connection is a WebSocket candidate: the clock starts at the TCP connection, so
 * a client that never finishes its request head is dropped too.
 */
export function startHandshakeDeadline(socket: Socket, timeout: number): void {
  const timer = setTimeout(destroySocket, timeout, socket as { destroy(): unknown });
  timer.unref();
  const onClose = (): void => {
    clearTimeout(timer);
    connectionDeadlines.delete(socket);
  };
  connectionDeadlines.set(socket, { timer, onClose });
  socket.once('close', onClose);
}

function destroySocket(socket: { destroy(): unknown }): void {
  socket.destroy();
}

/** The request of an opening handshake: an HTTP/1.1 upgrade, or an HTTP/2 extended CONNECT (RFC 8441). */
export type HandshakeRequest = IncomingMessage | Http2ServerRequest;

/**
 * An opening handshake waiting for the application's decision, over either transport: a
 * `PendingUpgrade` (HTTP/1.1) or a `PendingStream` (HTTP/2, `http2-server.ts`).
 */
export interface PendingHandshake {
  /** The validated request's terms; null when the core refused it. */
  readonly handshake: object | null;
  /** Whether the handshake is over (answered, refused, timed out, or the client left). */
  readonly settled: boolean;
  /** The status line the `'headers'` event shows first. */
  readonly statusLine: string;
  /** Which HTTP carries the handshake. */
  readonly httpVersion: '1.1' | '2';
  /** The header fields of the success response as it stands. */
  responseHeaders(): HeaderField[];
  /** Split fields an application wants to add into those the response may carry and those it may not. */
  checkExtraHeaders(fields: readonly HeaderField[]): { accepted: HeaderField[]; refused: Array<{ field: HeaderField; error: Error }> };
  /** Send the success response (with `headers` added); the connection is OPEN. */
  accept(headers: readonly HeaderField[]): ServerConnection;
  /** Call `callback` if the handshake ends before it was answered. */
  whenAbandoned(callback: () => void): void;
  /**
   * Whether the core may call its `onWake` (asynchronous extensions can be negotiated): only
   * then does the face give `setWake` a waker, which an idle connection would otherwise hold.
   */
  readonly wakes: boolean;
  /** Where the core's `onWake` goes once a face drives it. */
  setWake(wake: () => void): void;
  /** Refuse with an HTTP error response (400–599). */
  reject(status: number, message: string, headers?: readonly HeaderField[]): void;
  /** Drop the handshake without an answer. */
  abort(): void;
}

/** How the server side of a handshake is negotiated. */
export interface UpgradeOptions {
  readonly codec: Codec;
  readonly limits: Partial<ConnectionLimits>;
  readonly extensions: readonly ServerExtensionNegotiator<Extension>[];
  readonly handleProtocols?: (offered: ReadonlySet<string>, request: HandshakeRequest) => string | false;
  readonly verifyOrigin?: (origin: string | undefined) => boolean;
  readonly autoPong: boolean;
  /** Report messages piece by piece (`fragment` events) instead of assembled. */
  readonly streamMessages: boolean;
  /** Milliseconds until an unfinished handshake is dropped (0: no deadline). */
  readonly handshakeTimeout: number;
  /**
   * A request the core refuses as malformed (4xx): return true to take the socket over and
   * answer it yourself (`ws`'s `'wsClientError'`); then nothing is written to it here.
   */
  readonly onClientError?: (error: HandshakeError) => boolean;
}

/**
 * What the core's callbacks may reach of a handshake. The core keeps its options for the life
 * of the connection, so its callbacks hold only this small object, whose request is dropped
 * once the handshake is over: an open connection keeps no HTTP request alive.
 */
interface HandshakeScope {
  request: IncomingMessage | null;
  wake: (() => void) | null;
}

function scopedCallbacks(
  scope: HandshakeScope,
  handleProtocols: UpgradeOptions['handleProtocols'],
  wakes: boolean,
): { onWake: (() => void) | undefined; handleProtocols: ((offered: ReadonlySet<string>) => string | false) | undefined } {
  return {
    // Only asynchronous extensions wake the core: without a negotiator it never calls onWake.
    onWake: wakes ? () => scope.wake?.() : undefined,
    handleProtocols: handleProtocols === undefined ? undefined : (offered) => handleProtocols(offered, scope.request!),
  };
}

/**
 * One opening handshake on an upgraded socket. After construction it has either failed (the
 * error response is on its way, `error` says why) or holds a valid request (`handshake`) that
 * waits for `accept` or `reject`.
 */
export class PendingUpgrade implements PendingHandshake {
  readonly socket: NodeSocket;
  readonly statusLine = 'HTTP/1.1 101 Switching Protocols';
  readonly httpVersion = '1.1';
  readonly wakes: boolean;
  readonly #connection: ServerConnection;
  #timer: NodeJS.Timeout | null = null;
  #settled = false;
  readonly #scope: HandshakeScope;
  #handshake: ServerHandshake<Extension> | null = null;
  #error: WebSocketError | null = null;
  #abandoned: (() => void) | null = null;
  readonly #onError = (): void => {
    this.#settle();
    this.socket.destroy();
  };
  readonly #onClose = (): void => {
    const abandoned = this.#abandoned;
    this.#settle();
    abandoned?.();
  };

  constructor(request: IncomingMessage, socket: NodeSocket, head: Uint8Array, options: UpgradeOptions) {
    this.socket = socket;
    socket.on('error', this.#onError);
    socket.once('close', this.#onClose);
    const scope: HandshakeScope = (this.#scope = { request, wake: null });
    this.wakes = options.extensions.length > 0;
    const callbacks = scopedCallbacks(scope, options.handleProtocols, this.wakes);
    this.#connection = new ServerConnection({
      codec: options.codec,
      limits: options.limits,
      autoAccept: false,
      autoPong: options.autoPong,
      streamMessages: options.streamMessages,
      allocate: Buffer.allocUnsafe,
      sha1: nodeSha1,
      extensions: options.extensions,
      handleProtocols: callbacks.handleProtocols,
      verifyOrigin: options.verifyOrigin,
      onWake: callbacks.onWake,
    });
    const existing = connectionDeadlines.get(socket);
    if (existing !== undefined) {
      // The deadline started at the TCP connection (a standalone server) goes on.
      this.#timer = existing.timer;
      socket.removeListener('close', existing.onClose);
      connectionDeadlines.delete(socket);
    } else if (options.handshakeTimeout > 0) {
      this.#timer = setTimeout(destroySocket, options.handshakeTimeout, socket as { destroy(): unknown });
      this.#timer.unref();
    }
    const connection = this.#connection;
    connection.receiveRequest(requestHeadOf(request));
    // Frames the client sent right after its request are held by the core until accept().
    if (head.length > 0) connection.receiveData(head);
    for (const event of connection.eventsReceived()) {
      if (event.type === 'request') this.#handshake = event.handshake;
      else if (event.type === 'error') this.#error = event.error;
    }
    if (this.#handshake !== null) return;
    const error = this.#error;
    if (error instanceof HandshakeError && error.status >= 400 && error.status < 500 && options.onClientError?.(error) === true) {
      // The application answers: the core's response is dropped, the socket is its own.
      this.#settle();
      this.#connection.abort();
      this.socket.removeListener('close', this.#onClose);
      return;
    }
    this.#finishRefused();
  }

  /** The validated request and the terms agreed so far; null when the core refused it. */
  get handshake(): ServerHandshake<Extension> | null {
    return this.#handshake;
  }

  /** The header fields of the 101 response as it stands (the handshake's own); empty once the handshake is over. */
  responseHeaders(): HeaderField[] {
    const handshake = this.#handshake;
    return handshake === null ? [] : serverResponseHeaders(handshake, nodeSha1);
  }

  /**
   * Split header fields an application wants to add to the 101 response into those it may
   * add and those it may not (the handshake's own, such as Sec-WebSocket-Accept, or invalid
   * ones), each refused one with the reason.
   */
  checkExtraHeaders(fields: readonly HeaderField[]): { accepted: HeaderField[]; refused: Array<{ field: HeaderField; error: Error }> } {
    const accepted: HeaderField[] = [];
    const refused: Array<{ field: HeaderField; error: Error }> = [];
    const handshake = this.#handshake;
    for (const field of fields) {
      try {
        if (handshake !== null) buildServerResponse(handshake, { sha1: nodeSha1, headers: [field] });
        accepted.push(field);
      } catch (error) {
        refused.push({ field, error: error as Error });
      }
    }
    return { accepted, refused };
  }

  /** Why the core refused the request (its error response has been sent). */
  get error(): WebSocketError | null {
    return this.#error;
  }

  /**
   * Whether the handshake is over: accepted, rejected, refused, timed out, the socket failed,
   * or the client went away (its socket is no longer readable or writable, as `ws` checks).
   */
  get settled(): boolean {
    const socket = this.socket;
    return this.#settled || socket.destroyed || !socket.readable || !socket.writable;
  }

  /**
   * Accept: the core queues 101 Switching Protocols (with `headers` added) and is OPEN. The
   * caller hands the socket and the returned connection to a `NodeConnection`, whose `wake`
   * must be given to `setWake` (asynchronous extensions call it).
   *
   * @throws InvalidArgumentError for an invalid extra header (then nothing was sent).
   */
  accept(headers: readonly HeaderField[]): ServerConnection {
    this.#connection.accept({ headers });
    this.#settle();
    this.socket.removeListener('error', this.#onError);
    this.socket.removeListener('close', this.#onClose);
    return this.#connection;
  }

  /** Call `callback` if the socket closes (a deadline, the client left) before the handshake was answered. */
  whenAbandoned(callback: () => void): void {
    if (this.settled) callback();
    else this.#abandoned = callback;
  }

  /** Where the core's `onWake` goes once a `NodeConnection` drives it. */
  setWake(wake: () => void): void {
    this.#scope.wake = wake;
  }

  /**
   * Refuse with an HTTP error response (400–599) and close the socket.
   *
   * @throws InvalidArgumentError for a status outside 400–599 or an invalid header.
   */
  reject(status: number, message: string, headers: readonly HeaderField[] = []): void {
    if (this.settled) return;
    this.#connection.reject(status, message, headers);
    this.#finishRefused();
  }

  /** Drop the handshake: destroy the socket without an answer. */
  abort(): void {
    this.#settle();
    this.socket.destroy();
  }

  /** Send the error response the core queued and close the socket once it is written. */
  #finishRefused(): void {
    this.#settle();
    const socket = this.socket;
    const response = this.#connection.dataToSend();
    this.#connection.abort();
    if (socket.destroyed) return;
    socket.once('finish', () => socket.destroy());
    socket.cork();
    for (const chunk of response) socket.write(chunk);
    socket.uncork();
    socket.end();
  }

  #settle(): void {
    this.#settled = true;
    this.#abandoned = null;
    this.#scope.request = null;
    this.#handshake = null;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}

/**
 * Answer on a socket that will not be upgraded, with no connection state (a path that does
 * not match, a server that is closing): an HTTP error response, then close.
 */
export function refuseSocket(socket: NodeSocket, status: number, message: string): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(buildErrorResponse({ status, message }));
}

/**
 * An HTTP server for a standalone WebSocket server: upgrade requests go to `onUpgrade`, plain
 * requests get 426 Upgrade Required (RFC 6455 §4.2.2 has the server answer a non-WebSocket
 * request with HTTP), and every connection must complete its handshake within
 * `handshakeTimeout` ms (0: no deadline).
 */
export function createUpgradeServer(
  onUpgrade: (request: IncomingMessage, socket: NodeSocket, head: Buffer) => void,
  handshakeTimeout: number,
): HttpServer {
  const server = createServer((_request, response) => {
    const body = `${STATUS_CODES[426]}: this server speaks WebSocket only\n`;
    response.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', Upgrade: 'websocket', 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
  });
  if (handshakeTimeout > 0) server.on('connection', (socket: Socket) => startHandshakeDeadline(socket, handshakeTimeout));
  server.on('upgrade', onUpgrade);
  return server;
}
