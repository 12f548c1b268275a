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
import { type Agent, type ClientRequest as HttpClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { HeaderField } from '../../handshake/http.js';
import type { ClientConnection } from '../../protocol/client-connection.js';
import { ErrorCode, WebSocketError } from '../../shared/errors.js';
import type { ConnectionDriver } from '../driver.js';
import { attachSocket } from './socket-binding.js';

/** TLS options passed through to `tls.connect` for `wss:` (see Node's `tls.connect`). */
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
}

/** How to reach the server. */
export interface DialOptions extends ClientTlsOptions {
  /** `ws:` or `wss:`, already validated. */
  readonly url: URL;
  /** Milliseconds until an unfinished handshake fails (0: no deadline). */
  readonly handshakeTimeout: number;
  /** An `http.Agent` (e.g. a proxy agent) that provides the socket; default a direct connection. */
  readonly agent?: Agent;
  /** IP address family for the host name lookup (4 or 6). */
  readonly family?: number;
  /** Local interface to connect from. */
  readonly localAddress?: string;
}

/** What the face hears about the HTTP exchange (the `ws` events `upgrade` and `unexpected-response`). */
export interface DialHooks {
  /** A 101 response arrived; the core validates it next. */
  onUpgrade(response: IncomingMessage): void;
  /**
   * A response other than 101 arrived. Return true when the application took it over: then,
   * as in `ws`, nothing more is reported and the request is the application's, until it
   * closes the WebSocket (`abort`: then the error and the close follow). Otherwise the
   * connection fails with the core's `HandshakeError`.
   */
  onUnexpectedResponse(request: HttpClientRequest, response: IncomingMessage): boolean;
}

/** An opening handshake in flight. */
export interface PendingDial {
  /** Give up: destroy the request; `error` is reported, then the close (1006). */
  abort(error: Error): void;
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

  const tlsOptions: TlsConnectionOptions = {
    ca: options.ca as TlsConnectionOptions['ca'],
    cert: options.cert as TlsConnectionOptions['cert'],
    key: options.key as TlsConnectionOptions['key'],
    passphrase: options.passphrase,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    // RFC 6066 §3: SNI carries a host name, never an IP address literal.
    servername: options.servername ?? (isIP(host) === 0 ? host : ''),
  };
  const httpReq = (secure ? httpsRequest : httpRequest)({
    host,
    port,
    path: request.target,
    method: 'GET',
    headers: headerObject(request.headers),
    setHost: false,
    agent: options.agent,
    family: options.family,
    localAddress: options.localAddress,
    ...tlsOptions,
    // Without an agent the socket is ours alone: connect directly, not through the global
    // keep-alive agent (an upgraded socket never returns to a pool).
    createConnection:
      options.agent === undefined
        ? (): Socket => {
            const target = { host, port, family: options.family, localAddress: options.localAddress };
            return secure ? tlsConnect({ ...target, ...tlsOptions }) : netConnect(target);
          }
        : undefined,
  });

  if (options.handshakeTimeout > 0) {
    timer = setTimeout(() => fail(new WebSocketError(`the opening handshake did not complete within ${options.handshakeTimeout} ms`, ErrorCode.TIMEOUT)), options.handshakeTimeout);
    timer.unref();
  }

  httpReq.on('error', (error) => fail(error));
  httpReq.on('response', (response) => {
    if (!settle()) return;
    if (hooks.onUnexpectedResponse(httpReq, response)) {
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
  httpReq.end();

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
