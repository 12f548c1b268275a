/**
 * The client's opening handshake over HTTP/2 (RFC 8441): on a `ClientHttp2Session` — one made
 * here for this WebSocket, or one the application passed in and shares between several — the
 * core's extended CONNECT (`ClientConnection.extendedConnect`) goes out on a new stream once
 * the server's SETTINGS allow it, and the response's `:status` and fields go back to the core
 * (`receiveResponse`), which validates them. On a 200 the stream is attached to the driver.
 *
 * RFC 8441 §4: "A client MUST NOT send [the :protocol pseudo-header] unless the server has
 * sent SETTINGS_ENABLE_CONNECT_PROTOCOL with a value of 1." The server's SETTINGS frame is the
 * first frame of its connection preface (RFC 7540 §3.5), so once a PING sent here is
 * acknowledged the SETTINGS have arrived: a server that did not enable the extended CONNECT
 * gets the HTTP/1.1 upgrade instead (`onFallback`).
 *
 * A session made here is closed with its WebSocket's stream; a session passed in is never
 * closed here.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect as http2Connect, constants, type IncomingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import { isIP } from 'node:net';
import { setTimeout } from 'node:timers';
import type { HeaderField } from '../../handshake/http.js';
import type { ClientConnection } from '../../protocol/client-connection.js';
import { ReadyState } from '../../shared/constants.js';
import { ErrorCode, WebSocketError } from '../../shared/errors.js';
import type { ConnectionDriver } from '../driver.js';
import type { PendingDial } from './client.js';
import { attachStream } from './http2-binding.js';

/** How to reach the server over HTTP/2. */
export interface Http2DialOptions {
  /** `ws:` (h2c, prior knowledge) or `wss:` (TLS, ALPN `h2`), already validated. */
  readonly url: URL;
  /** Milliseconds until an unfinished handshake fails (0: no deadline). */
  readonly handshakeTimeout: number;
  /** The application's session to open the stream on; null: connect one for this WebSocket. */
  readonly session: ClientHttp2Session | null;
  /** Options for `http2.connect` (the TLS options, `lookup`, …) when a session is made here. */
  readonly connect: Readonly<Record<string, unknown>>;
}

/** What the face hears about the exchange. */
export interface Http2DialHooks {
  /** The server does not accept extended CONNECT (RFC 8441 §3): open the WebSocket over HTTP/1.1 instead. */
  onFallback(): void;
  /** The response arrived; the core validates it next. */
  onResponse(headers: IncomingHttpHeaders, stream: ClientHttp2Stream): void;
}

/** The response's fields as the core takes them (pseudo-header fields apart). */
function responseFields(headers: IncomingHttpHeaders): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) fields.push([name, item]);
    else fields.push([name, String(value)]);
  }
  return fields;
}

/** The request's fields as the object `session.request` takes (repeated names as lists). */
function requestHeaders(fields: readonly HeaderField[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of fields) {
    const existing = headers[name];
    headers[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return headers;
}

/** `http2.connect` for `url`, with SNI for host names (RFC 6066 §3: never for an IP address literal). */
function connectSession(url: URL, options: Readonly<Record<string, unknown>>): ClientHttp2Session {
  const secure = url.protocol === 'wss:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const origin = `${secure ? 'https' : 'http'}://${url.host}`;
  const tls: Record<string, unknown> = {};
  if (secure) {
    tls.rejectUnauthorized = options.rejectUnauthorized ?? true;
    tls.servername = options.servername !== undefined ? options.servername : isIP(host) === 0 ? host : '';
  }
  return http2Connect(origin, { ...options, ...tls } as SecureClientSessionOptions);
}

/** Sessions whose server SETTINGS have arrived, and the dials waiting for them on the others. */
const settingsKnown = new WeakSet<ClientHttp2Session>();
const waitingForSettings = new WeakMap<ClientHttp2Session, Array<(error: Error | null) => void>>();

/**
 * Call `callback` once the server's first SETTINGS frame has arrived on `session`: when it is
 * reported (`'remoteSettings'`), or when a PING is answered, since the server's SETTINGS come
 * first in its connection preface (RFC 7540 §3.5) and frames arrive in order. One PING per
 * session, however many WebSockets wait on it.
 */
function whenSettingsKnown(session: ClientHttp2Session, callback: (error: Error | null) => void): void {
  if (settingsKnown.has(session) || session.remoteSettings.enableConnectProtocol === true) {
    callback(null);
    return;
  }
  const waiting = waitingForSettings.get(session);
  if (waiting !== undefined) {
    waiting.push(callback);
    return;
  }
  const callbacks = [callback];
  waitingForSettings.set(session, callbacks);
  const known = (error: Error | null): void => {
    if (waitingForSettings.get(session) !== callbacks) return;
    waitingForSettings.delete(session);
    session.removeListener('remoteSettings', onSettings);
    if (error === null) settingsKnown.add(session);
    for (const waiter of callbacks) waiter(error);
  };
  const onSettings = (): void => known(null);
  session.once('remoteSettings', onSettings);
  const ping = (): void => {
    try {
      session.ping((error) => known(error));
    } catch (error) {
      known(error as Error);
    }
  };
  if (session.connecting) session.once('connect', ping);
  else ping();
}

/**
 * Run the opening handshake of `connection` (made with `http2: true`), which `driver` runs,
 * over an HTTP/2 session. On a 200 the stream is attached to `driver`; on anything else the
 * driver reports an error and the close; without the server's SETTINGS_ENABLE_CONNECT_PROTOCOL,
 * `hooks.onFallback` is called and nothing else happens here.
 */
export function dialHttp2(driver: ConnectionDriver, connection: ClientConnection, options: Http2DialOptions, hooks: Http2DialHooks): PendingDial {
  const request = connection.extendedConnect!;
  const owned = options.session === null;
  let session: ClientHttp2Session;
  try {
    session = options.session ?? connectSession(options.url, options.connect);
  } catch (error) {
    queueMicrotask(() => driver.failDetached(error as Error));
    return { abort: () => {} };
  }
  let settled = false;
  let stream: ClientHttp2Stream | null = null;
  let timer: NodeJS.Timeout | null = null;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    if (timer !== null) clearTimeout(timer);
    session.removeListener('error', onSessionError);
    session.removeListener('close', onSessionClose);
    session.setMaxListeners(Math.max(0, session.getMaxListeners() - 1));
    return true;
  };
  const closeOwned = (): void => {
    if (owned && !session.destroyed) session.close();
  };
  const fail = (error: Error): void => {
    if (!settle()) return;
    if (stream !== null && !stream.closed) stream.close(constants.NGHTTP2_CANCEL); // RFC 8441 §5
    closeOwned();
    driver.failDetached(error);
  };
  const onSessionError = (error: Error): void => fail(error);
  const onSessionClose = (): void => fail(new WebSocketError('the HTTP/2 session closed before the opening handshake completed', ErrorCode.HANDSHAKE));
  // A session of our own reports its errors here; the application's reports them to the application.
  if (owned) session.on('error', onSessionError);
  // Every WebSocket opening on a shared session listens for its close meanwhile.
  session.setMaxListeners(session.getMaxListeners() + 1);
  session.once('close', onSessionClose);

  if (options.handshakeTimeout > 0) {
    timer = setTimeout(() => fail(new WebSocketError(`the opening handshake did not complete within ${options.handshakeTimeout} ms`, ErrorCode.TIMEOUT)), options.handshakeTimeout);
    timer.unref();
  }

  const open = (): void => {
    if (settled) return;
    if (session.remoteSettings.enableConnectProtocol !== true) {
      settle();
      closeOwned();
      hooks.onFallback();
      return;
    }
    let opened: ClientHttp2Stream;
    try {
      opened = stream = session.request(requestHeaders(request.fields), { endStream: false });
    } catch (error) {
      fail(error as Error);
      return;
    }
    const onStreamError = (error: Error): void => fail(error);
    const onStreamClose = (): void => fail(new WebSocketError('the server closed the stream before answering the extended CONNECT', ErrorCode.HANDSHAKE));
    opened.on('error', onStreamError);
    opened.once('close', onStreamClose);
    opened.once('response', (headers) => {
      if (!settle()) return;
      opened.removeListener('error', onStreamError);
      opened.removeListener('close', onStreamClose);
      hooks.onResponse(headers, opened);
      connection.receiveResponse(Number(headers[':status']), responseFields(headers));
      if (connection.state === ReadyState.CONNECTING) {
        // The core refused the response: it reports why (the status, and its fields), then 1006.
        opened.on('error', () => {});
        if (!opened.closed) opened.close(constants.NGHTTP2_CANCEL);
        closeOwned();
        connection.receiveEof();
        driver.deliverDetached();
        return;
      }
      if (owned) opened.once('close', closeOwned);
      attachStream(driver, opened);
    });
  };
  whenSettingsKnown(session, (error) => (error === null ? open() : fail(error)));

  return {
    abort(error: Error): void {
      fail(error);
    },
  };
}
