/**
 * The server end of a connection: CONNECTING reads the client's opening request (RFC 6455
 * §4.2.1) with the handshake module, answers 101 Switching Protocols (§4.2.2) or an HTTP error
 * — then closes — and the bytes after the request's head are the first frames.
 */
import { RequestHeadParser, type HeadLimits, type HeaderField, type HttpRequestHead } from '../handshake/http.js';
import {
  buildErrorResponse,
  buildServerResponse,
  type ServerHandshake,
  type ServerHandshakeOptions,
  type ServerResponseOptions,
  validateClientRequest,
} from '../handshake/server.js';
import { ReadyState } from '../shared/constants.js';
import { HandshakeError, InvalidStateError, WebSocketError } from '../shared/errors.js';
import type { Sha1 } from '../shared/ports.js';
import type { ConnectionOptions } from './connection-options.js';
import { Connection, STATE_NAMES } from './connection.js';
import type { Extension } from './extension.js';

/** Options of a server connection: the common ones, and how to answer the opening request. */
export interface ServerConnectionOptions extends ConnectionOptions, ServerHandshakeOptions<Extension> {
  /**
   * Accept every valid request at once (default true). With false, a valid request is
   * reported as a `request` event and waits for `accept()` or `reject()` — for decisions that
   * need the application (authentication, say); bytes that arrive meanwhile are held.
   */
  readonly autoAccept?: boolean;
  /** More header fields for the 101 response (e.g. Set-Cookie). */
  readonly responseHeaders?: ServerResponseOptions['headers'];
  /** SHA-1 for Sec-WebSocket-Accept; default the portable implementation. */
  readonly sha1?: Sha1;
  /** Limits on the request head; default `DEFAULT_HEAD_LIMITS`. */
  readonly headLimits?: HeadLimits;
}

/** The body of the 500 response when the server's own configuration fails the handshake. */
const INTERNAL_ERROR_RESPONSE = { status: 500, message: 'internal server error' } as const;

/**
 * A server-side connection. Feed it the bytes of an accepted TCP connection from the first
 * byte of the HTTP request, or hand it a request head parsed elsewhere (`receiveRequest`).
 *
 * @example
 * const conn = new ServerConnection({ codec: portableCodec });
 * conn.receiveData(bytes);              // the request, and maybe frames after it
 * socket.write(conn.dataToSend());      // the 101 response (or the error response)
 * for (const event of conn.eventsReceived()) if (event.type === 'message') conn.sendBinary(event.data);
 */
export class ServerConnection extends Connection {
  /**
   * The handshake's options, until the handshake is answered: an open connection keeps none
   * of them (the application's callbacks, and what they hold, are released with them).
   */
  #options: ServerConnectionOptions | null;
  /** Created with the first request byte and dropped once the head is parsed. */
  #headParser: RequestHeadParser | null = null;
  #headReceived = false;
  /** The validated request, until the handshake is answered. */
  #handshake: ServerHandshake<Extension> | null = null;

  /**
   * @throws InvalidArgumentError for invalid limits.
   */
  constructor(options: ServerConnectionOptions) {
    super('server', options, null);
    this.#options = options;
    if (options.established !== undefined) {
      this.#headReceived = true;
      this.#options = null;
      this.establish(options.established);
    }
  }

  /**
   * Hand over a request head that an HTTP server already parsed (Node's `'upgrade'` event),
   * instead of its bytes: its method, target, version and `new HttpHeaders(fields)`. Bytes that
   * followed the head go to `receiveData` afterwards.
   *
   * @throws InvalidStateError if a request was already received.
   */
  receiveRequest(head: HttpRequestHead): void {
    if (this.#headReceived || this.state !== ReadyState.CONNECTING) {
      throw new InvalidStateError(`cannot receive a request: the connection is ${this.#stateDescription()}`);
    }
    this.#headReceived = true;
    this.#handleRequest(head, null);
  }

  /**
   * Accept the request reported by the `request` event: send 101 Switching Protocols with
   * the negotiated subprotocol and extensions; the connection is OPEN.
   *
   * @param options.headers more response header fields (replacing `responseHeaders`).
   * @throws InvalidStateError if no request is waiting.
   * @throws InvalidArgumentError for an invalid header (nothing is sent; try again).
   */
  accept(options: { readonly headers?: ServerResponseOptions['headers'] } = {}): void {
    const handshake = this.#waitingHandshake('accept');
    const own = this.#options!;
    const response = buildServerResponse(handshake, { sha1: own.sha1, headers: options.headers ?? own.responseHeaders });
    this.#open(handshake, response);
  }

  /**
   * Refuse the request reported by the `request` event with an HTTP error response (e.g. 401,
   * 403); the transport is then to be closed (`shouldCloseTransport()`).
   *
   * @param message the plain-text body.
   * @throws InvalidStateError if no request is waiting.
   * @throws InvalidArgumentError for a status outside 400–599 or an invalid header.
   */
  reject(status: number, message = 'the server refused the connection', headers?: Iterable<HeaderField>): void {
    const handshake = this.#waitingHandshake('reject');
    const response = buildErrorResponse({ status, message, headers });
    this.#handshake = null;
    disposeAll(handshake);
    this.failHandshake(null, response);
  }

  protected override receiveHandshakeData(data: Uint8Array): void {
    if (this.#headReceived) {
      // Waiting for accept()/reject(). §4.1 has the client wait for the response before
      // sending frames; one that does not is held to the backlog limit.
      if (!this.deferData(data)) {
        this.#refuse(new HandshakeError(`more than ${this.limits.maxReceiveBacklog} bytes arrived before the handshake completed`, 400));
      }
      return;
    }
    let result;
    try {
      result = (this.#headParser ??= new RequestHeadParser(this.#options!.headLimits)).push(data);
    } catch (error) {
      this.#headParser = null;
      this.#refuse(error);
      return;
    }
    if (!result.done) return;
    this.#headParser = null;
    this.#headReceived = true;
    this.#handleRequest(result.head, result.rest);
  }

  protected override releaseHandshake(): void {
    const handshake = this.#handshake;
    this.#handshake = null;
    if (handshake !== null) disposeAll(handshake);
  }

  #handleRequest(head: HttpRequestHead, rest: Uint8Array | null): void {
    const options = this.#options!;
    let handshake: ServerHandshake<Extension>;
    try {
      handshake = validateClientRequest<Extension>(head, options);
    } catch (error) {
      this.#refuse(error);
      return;
    }
    this.#handshake = handshake;
    if (rest !== null && !this.deferData(rest)) {
      this.#refuse(new HandshakeError(`more than ${this.limits.maxReceiveBacklog} bytes arrived before the handshake completed`, 400));
      return;
    }
    if (options.autoAccept === false) {
      this.emit({ type: 'request', handshake });
      return;
    }
    let response: Uint8Array;
    try {
      response = buildServerResponse(handshake, { sha1: options.sha1, headers: options.responseHeaders });
    } catch (error) {
      this.#refuse(error);
      return;
    }
    this.#open(handshake, response);
  }

  #open(handshake: ServerHandshake<Extension>, response: Uint8Array): void {
    this.#handshake = null;
    this.#options = null;
    this.writeHandshake(response);
    this.completeHandshake(handshake.protocol, handshake.extensions, handshake.request, null);
  }

  /**
   * Answer a failed handshake. §4.2.1: "If the server, while reading the handshake, finds
   * that the client did not send a handshake that matches the description below ..., the
   * server MUST stop processing the client's handshake and return an HTTP response with an
   * appropriate error code (such as 400 Bad Request)." A fault of the server's own (its
   * callbacks, its headers) is a 500 that tells the client nothing more.
   */
  #refuse(error: unknown): void {
    this.releaseHandshake();
    if (error instanceof HandshakeError && error.status >= 400 && error.status <= 599) {
      this.failHandshake(error, buildErrorResponse(error));
      return;
    }
    const reported =
      error instanceof WebSocketError ? error : new HandshakeError(`internal error: ${error instanceof Error ? error.message : String(error)}`, 500);
    this.failHandshake(reported, buildErrorResponse(INTERNAL_ERROR_RESPONSE));
  }

  #waitingHandshake(action: string): ServerHandshake<Extension> {
    const handshake = this.#handshake;
    if (handshake === null || this.state !== ReadyState.CONNECTING || this.handshakeFailed) {
      throw new InvalidStateError(`cannot ${action}: no opening request is waiting (the connection is ${this.#stateDescription()})`);
    }
    return handshake;
  }

  #stateDescription(): string {
    if (this.state === ReadyState.CONNECTING) {
      if (this.handshakeFailed) return 'CONNECTING, and its handshake failed';
      if (this.#handshake !== null) return 'CONNECTING, with a request waiting';
      // Validation is calling the application back (`handleProtocols`, a negotiator).
      if (this.#headReceived) return 'CONNECTING, past its request';
    }
    return STATE_NAMES[this.state];
  }
}

function disposeAll(handshake: ServerHandshake<Extension>): void {
  for (const { extension } of handshake.extensions) {
    try {
      extension.dispose?.();
    } catch {
      // A declined extension's cleanup cannot change the outcome.
    }
  }
}
