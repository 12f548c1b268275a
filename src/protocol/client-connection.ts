/**
 * The client end of a connection: CONNECTING sends the opening request (RFC 6455 §4.1) and
 * validates the server's response with the handshake module; the bytes after the response's
 * head are the first frames. Every frame the client sends is masked with a fresh key (§5.3).
 */
import { createMaskKeyPool } from '../codec/mask-key-pool.js';
import { buildClientRequest, validateServerResponse, type ClientRequest, type ClientRequestOptions } from '../handshake/client.js';
import { buildExtendedConnect, type ExtendedConnect, validateExtendedConnectResponse } from '../handshake/extended-connect.js';
import { HttpHeaders, ResponseHeadParser, type HeaderField, type HeadLimits, type HttpResponseHead } from '../handshake/http.js';
import { ReadyState } from '../shared/constants.js';
import { InvalidArgumentError, InvalidStateError, WebSocketError } from '../shared/errors.js';
import type { RandomSource, Sha1 } from '../shared/ports.js';
import type { ConnectionOptions } from './connection-options.js';
import { Connection } from './connection.js';
import type { Extension } from './extension.js';
import { internalError } from './internal-error.js';

/**
 * Options of a client connection: the common ones and the request's (`host`, `path`,
 * `protocols`, `extensions`, `origin`, `headers`, …; see `ClientRequestOptions`).
 */
export interface ClientConnectionOptions extends ConnectionOptions, Omit<ClientRequestOptions<Extension>, 'host' | 'random'> {
  /** The server's host, for the Host header; required unless `established`. */
  readonly host?: string;
  /**
   * A cryptographically strong random source (`webCryptoRandom`, exported beside this class):
   * the handshake key and the masking keys come from it (RFC 6455 §5.3, §10.3).
   */
  readonly random: RandomSource;
  /** SHA-1 to check Sec-WebSocket-Accept; default the portable implementation. */
  readonly sha1?: Sha1;
  /** Limits on the response head; default `DEFAULT_HEAD_LIMITS`. */
  readonly headLimits?: HeadLimits;
  /**
   * Open over HTTP/2 (RFC 8441): the request is an extended CONNECT whose header fields the
   * adapter sends on a stream (`extendedConnect`), nothing is written as bytes, and the
   * response is handed over with `receiveResponse` (`:status` 200, no Sec-WebSocket-Accept).
   */
  readonly http2?: boolean;
}

/**
 * A client-side connection. The opening request is queued at construction: write
 * `dataToSend()` as soon as the transport connects.
 *
 * @example
 * const conn = new ClientConnection({ codec: portableCodec, random: webCryptoRandom, host: 'example.com', path: '/chat' });
 * socket.write(conn.dataToSend());      // the request
 * conn.receiveData(bytes);              // the response, and maybe frames after it
 * for (const event of conn.eventsReceived()) if (event.type === 'open') conn.sendText('hello');
 */
export class ClientConnection extends Connection {
  readonly #request: ClientRequest<Extension> | null;
  readonly #extendedConnect: ExtendedConnect<Extension> | null = null;
  readonly #headParser: ResponseHeadParser;
  readonly #sha1: Sha1 | undefined;
  /** The response head arrived (parsed here or handed over): later handshake bytes are frames. */
  #responseReceived = false;

  /**
   * @throws InvalidArgumentError for an invalid host, path, subprotocol list, extension
   *   configuration, header or limit (see `buildClientRequest`), or no random source.
   */
  constructor(options: ClientConnectionOptions) {
    if (typeof options.random !== 'function') throw new InvalidArgumentError('a client needs a random source to mask its frames (RFC 6455 §5.3)');
    super('client', options, createMaskKeyPool(options.random));
    this.#sha1 = options.sha1;
    this.#headParser = new ResponseHeadParser(options.headLimits);
    if (options.established !== undefined) {
      this.#request = null;
      this.establish(options.established);
      return;
    }
    if (options.host === undefined) throw new InvalidArgumentError('host is required to build the opening request');
    if (options.http2 === true) {
      this.#request = null;
      this.#extendedConnect = buildExtendedConnect<Extension>({ ...options, host: options.host });
      return;
    }
    this.#request = buildClientRequest<Extension>({ ...options, host: options.host });
    this.writeHandshake(this.#request.bytes);
  }

  /** The extended CONNECT to send on an HTTP/2 stream (with `http2`); else null. */
  get extendedConnect(): ExtendedConnect<Extension> | null {
    return this.#extendedConnect;
  }

  /** The opening request sent (its key, headers and offers); null when `established`. */
  get request(): ClientRequest<Extension> | null {
    return this.#request;
  }

  /**
   * Hand over a response head that an HTTP client already parsed (Node's `http.request`
   * `'upgrade'` or `'response'`), instead of its bytes: its status (and reason phrase) and its
   * header fields in order. Bytes that followed the head go to `receiveData` afterwards.
   *
   * @throws InvalidStateError unless a response is awaited (CONNECTING, nothing received yet).
   */
  receiveResponse(status: number, headers: Iterable<HeaderField>, reason = ''): void {
    if (this.#responseReceived || this.state !== ReadyState.CONNECTING || (this.#request === null && this.#extendedConnect === null)) {
      throw new InvalidStateError('cannot receive a response: the connection is not waiting for one');
    }
    this.#responseReceived = true;
    const extendedConnect = this.#extendedConnect;
    if (extendedConnect !== null) {
      let agreed;
      try {
        agreed = validateExtendedConnectResponse(extendedConnect, status, headers);
      } catch (error) {
        this.#fail(error);
        return;
      }
      this.completeHandshake(agreed.protocol, agreed.extensions, agreed.response, null);
      return;
    }
    this.#handleResponse({ version: { major: 1, minor: 1 }, status, reason, headers: new HttpHeaders(headers) }, null);
  }

  // Once the response head arrived (parsed here or handed over) the handshake has completed or
  // failed: later bytes are frames, or discarded, and never come here.
  protected override receiveHandshakeData(data: Uint8Array): void {
    let result;
    try {
      result = this.#headParser.push(data);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (!result.done) return;
    this.#responseReceived = true;
    this.#handleResponse(result.head, result.rest);
  }

  #handleResponse(head: HttpResponseHead, rest: Uint8Array | null): void {
    let agreed;
    try {
      // §4.1: "If the server's response does not conform to the requirements for the
      // server's handshake as defined in this section and in Section 4.2.2, the client MUST
      // _Fail the WebSocket Connection_."
      agreed = validateServerResponse(this.#request!, head, this.#sha1);
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.completeHandshake(agreed.protocol, agreed.extensions, agreed.response, rest);
  }

  /** Fail the handshake with what went wrong: the response's fault, or (anything but a `WebSocketError`) ours. */
  #fail(error: unknown): void {
    this.failHandshake(error instanceof WebSocketError ? error : internalError(error), null);
  }
}
