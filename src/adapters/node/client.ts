/**
 * The client's opening handshake over Node's HTTP client: the `ClientConnection` builds the
 * request (RFC 6455 §4.1), `http.request` / `https.request` carries it (so agents, proxies
 * and TLS options work as everywhere in Node), and the response head Node parsed goes back to
 * the core as it is (`receiveResponse`), which validates it: the status, Sec-WebSocket-Accept,
 * the subprotocol, the extensions.
 *
 * Failures end in the sink as one error then a close with 1006: the transport's own error
 * (ECONNREFUSED, a TLS certificate error), a deadline, or the core's `HandshakeError`.
 */
import { type ClientRequest as HttpClientRequest, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { HeaderField } from '../../handshake/http.js';
import type { ClientConnection } from '../../protocol/client-connection.js';
import { ErrorCode, WebSocketError } from '../../shared/errors.js';
import type { ConnectionDriver } from '../driver.js';
import { attachSocket } from './socket-binding.js';

/**
 * TLS options for `wss:`, passed through to `tls.connect` (see Node's `tls.connect`); every
 * other option of `tls.connect` and `http.request` (`maxVersion`, `ciphers`,
 * `checkServerIdentity`, `lookup`, `localPort`, …) passes through as well.
 */
export interface ClientTlsOptions {
  /** Trusted CA certificates (PEM), replacing the default roots. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate (PEM) and its key, for servers that ask for one. */
  readonly cert?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly key?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly passphrase?: string;
  /** Verify the server's certificate (default true). */
  readonly rejectUnauthorized?: boolean;
  /** The SNI server name; default the URL's host name unless it is an IP address. */
  readonly servername?: string;
  /** Newest and oldest TLS versions to allow (e.g. `'TLSv1.2'`). */
  readonly maxVersion?: TlsConnectionOptions['maxVersion'];
  readonly minVersion?: TlsConnectionOptions['minVersion'];
  /** Check the server's certificate against its name yourself (`tls.checkServerIdentity`'s signature). */
  readonly checkServerIdentity?: TlsConnectionOptions['checkServerIdentity'];
}

/** How to reach the server. */
export interface DialOptions {
  /** `ws:`, `wss:` or `ws+unix:`, already validated. */
  readonly url: URL;
  /** For `ws+unix:`: the socket's path (the URL's resource name is the request's). */
  readonly socketPath?: string;
  /** Milliseconds until an unfinished handshake fails (0: no deadline). */
  readonly handshakeTimeout: number;
  /**
   * What `http.request` / `https.request` takes besides the request itself, passed through as
   * `ws` passes its options: `agent`, `family`, `localAddress`, `lookup`, `createConnection`,
   * `auth`, the TLS options, … The connection it opens gets them too.
   */
  readonly request: Readonly<Record<string, unknown>>;
  /**
   * Called with the request instead of ending it (`ws`'s `finishRequest`): the application
   * may add to it and must call `request.end()`.
   */
  readonly finishRequest?: (request: HttpClientRequest) => void;
}

/** What the face hears about the HTTP exchange (the `ws` events `upgrade`, `unexpected-response`, `redirect`). */
export interface DialHooks {
  /** The request was made and not yet sent (a redirect's: `'redirect'` is emitted here). */
  onRequest?(request: HttpClientRequest): void;
  /** A 101 response arrived; the core validates it next. */
  onUpgrade(response: IncomingMessage): void;
  /**
   * A response other than 101 arrived. Return `'redirect'` when the face follows it (the
   * request is dropped and nothing is reported for it); true when the application took it
   * over: then, as in `ws`, nothing more is reported and the request is the application's,
   * until it closes the WebSocket (`abort`: then the error and the close follow). Otherwise
   * (false) the connection fails with the core's `HandshakeError`.
   */
  onUnexpectedResponse(request: HttpClientRequest, response: IncomingMessage): boolean | 'redirect';
}

/** An opening handshake in flight. */
export interface PendingDial {
  /** Give up: destroy the request; `error` is reported, then the close (1006). */
  abort(error: Error): void;
}

/** Options the request itself decides: the application's values for these are not passed through. */
const REQUEST_OWN = ['host', 'hostname', 'port', 'path', 'method', 'headers', 'setHost', 'protocol', 'socketPath', 'timeout', 'defaultPort'];

/**
 * `net.connect` for a request's options, as `ws` connects: Node hands `createConnection` the
 * whole request options, whose `path` is the request's, so the socket path replaces it.
 */
function netConnectFor(options: Record<string, unknown>): Socket {
  return netConnect({ ...options, path: options.socketPath } as unknown as NetConnectOpts);
}

/** `tls.connect` for a request's options, with SNI for host names (RFC 6066 §3: never for an IP address literal). */
function tlsConnectFor(options: Record<string, unknown>): Socket {
  const host = options.host as string;
  const servername = options.servername !== undefined ? options.servername : isIP(host) === 0 ? host : '';
  return tlsConnect({ ...options, path: undefined, servername } as TlsConnectionOptions);
}

/** The request's header fields as the object `http.request` takes (repeated names joined, RFC 7230 §3.2.2). */
function headerObject(fields: Iterable<HeaderField>): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of fields) {
    const existing = headers[name];
    headers[name] = existing === undefined ? value : `${existing}, ${value}`;
  }
  return headers;
}

/** The response's header fields in order, as Node received them. */
function responseFields(response: IncomingMessage): HeaderField[] {
  const raw = response.rawHeaders;
  const fields: HeaderField[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) fields.push([raw[i]!, raw[i + 1]!]);
  return fields;
}


/**
 * Open the transport and run the opening handshake of `connection`, which `driver` runs. On a
 * 101 the socket is attached to `driver` once the core has the response; on anything else
 * the driver reports an error and the close.
 */
export function dialClient(driver: ConnectionDriver, connection: ClientConnection, options: DialOptions, hooks: DialHooks): PendingDial {
  const { url } = options;
  const secure = url.protocol === 'wss:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const request = connection.request!;
  // The core queued the request bytes; http.request sends the same request from its fields.
  connection.dataToSend();

  let settled = false;
  /** The application took the response over (`'unexpected-response'`): it decides what happens next. */
  let handedOver = false;
  let timer: NodeJS.Timeout | null = null;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    if (timer !== null) clearTimeout(timer);
    return true;
  };
  const fail = (error: Error): void => {
    if (!settle()) return;
    httpReq.destroy();
    driver.failDetached(error);
  };

  const passed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options.request)) if (!REQUEST_OWN.includes(name) && value !== undefined) passed[name] = value;
  if (secure) passed.rejectUnauthorized ??= true;
  const socketPath = options.socketPath;
  const httpReq = (secure ? httpsRequest : httpRequest)({
    ...passed,
    host: socketPath === undefined ? host : 'localhost',
    port: socketPath === undefined ? port : undefined,
    socketPath,
    path: request.target,
    method: 'GET',
    headers: headerObject(request.headers),
    setHost: false,
    // Without an agent the socket is ours alone: connect directly, not through the global
    // keep-alive agent (an upgraded socket never returns to a pool).
    createConnection: passed.agent === undefined ? ((passed.createConnection as undefined | (() => Socket)) ?? (secure ? tlsConnectFor : netConnectFor)) : undefined,
  } as RequestOptions);
  hooks.onRequest?.(httpReq);

  if (options.handshakeTimeout > 0) {
    timer = setTimeout(() => fail(new WebSocketError(`the opening handshake did not complete within ${options.handshakeTimeout} ms`, ErrorCode.TIMEOUT)), options.handshakeTimeout);
    timer.unref();
  }

  httpReq.on('error', (error) => fail(error));
  httpReq.on('response', (response) => {
    if (!settle()) return;
    const outcome = hooks.onUnexpectedResponse(httpReq, response);
    if (outcome === 'redirect') {
      response.resume();
      httpReq.destroy();
      return;
    }
    if (outcome) {
      handedOver = true;
      return;
    }
    response.resume();
    httpReq.destroy();
    // The core reports the status (and the headers, e.g. a redirect's Location) in its HandshakeError.
    connection.receiveResponse(response.statusCode ?? 0, responseFields(response), response.statusMessage ?? '');
    connection.receiveEof();
    driver.deliverDetached();
  });
  httpReq.on('upgrade', (response, socket: Socket, head: Buffer) => {
    if (!settle()) {
      socket.destroy();
      return;
    }
    hooks.onUpgrade(response);
    connection.receiveResponse(response.statusCode ?? 0, responseFields(response), response.statusMessage ?? '');
    attachSocket(driver, socket, head.length > 0 ? [head] : []);
  });
  if (options.finishRequest !== undefined) options.finishRequest(httpReq);
  else httpReq.end();

  return {
    abort(error: Error): void {
      if (handedOver) {
        // Closed by the application after it took the response: the error, then the close (1006).
        handedOver = false;
        httpReq.destroy();
        driver.failDetached(error);
        return;
      }
      fail(error);
    },
  };
}
