/**
 * An HTTP/2 stream (`Http2Stream`, the stream of an extended CONNECT, RFC 8441) as the
 * `ByteTransport` of a `ConnectionDriver`. A stream is a Node `Duplex`, so it is bound as a
 * socket is (`SocketBinding`): `'data'` → `receive`, `'end'` (the peer's END_STREAM) →
 * `peerEnded`, `'close'` → `transportClosed`, `'drain'` → `transportDrained`. What differs is
 * how it ends, and what backs it up:
 *
 * - RFC 8441 §5: "Orderly TCP-level closures are represented as END_STREAM flags ... RST
 *   exceptions are represented with the RST_STREAM frame ... with the CANCEL error code".
 *   `end()` ends the stream with END_STREAM after the queued DATA; `abort()` resets it with
 *   RST_STREAM CANCEL. Either touches this stream only: the session and its other streams go on.
 * - A stream the peer resets (`'aborted'`, or `'error'` for a code other than NO_ERROR and
 *   CANCEL) fails the connection: the close is 1006 (RFC 6455 §7.1.5, no closing handshake).
 * - A write completes once nghttp2 took its DATA frames, which it does only within the
 *   stream's flow-control window (RFC 7540 §5.2): a peer that does not read stops the
 *   completions, so `writableLength` — and the driver's `bufferedAmount` — grows on this
 *   stream alone, up to `maxBufferedAmount`, while its siblings keep their windows.
 */
import { constants, type Http2Stream } from 'node:http2';
import { ErrorCode, WebSocketError } from '../../shared/errors.js';
import type { ConnectionDriver } from '../driver.js';
import { type NodeSocket, SocketBinding } from './socket-binding.js';

const DRIVER: unique symbol = Symbol('wasmsocket.http2.driver');
type StreamWithDriver = Http2Stream & { [DRIVER]?: ConnectionDriver };

/** The error codes of RFC 7540 §7, by value. */
const HTTP2_ERROR_NAMES = [
  'NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED',
] as const;

/** The name of an HTTP/2 error code (RFC 7540 §7), for messages. */
export function http2ErrorName(code: number): string {
  return HTTP2_ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

function onAborted(this: StreamWithDriver): void {
  const driver = this[DRIVER]!;
  driver.transportFailed(
    new WebSocketError(`the peer reset the HTTP/2 stream (RST_STREAM ${http2ErrorName(this.rstCode ?? constants.NGHTTP2_CANCEL)})`, ErrorCode.INVALID_STATE),
  );
}

/** See the module comment. */
export class Http2StreamBinding extends SocketBinding {
  readonly stream: Http2Stream;

  /** Bind `stream` (its response sent, or received) to `driver`: it reads from now on. */
  constructor(stream: Http2Stream, driver: ConnectionDriver) {
    super(stream as unknown as NodeSocket, driver);
    this.stream = stream;
    (stream as StreamWithDriver)[DRIVER] = driver;
    stream.on('aborted', onAborted);
  }

  override abort(): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      // Closed already: 'close' has been emitted, or is on its way.
      if (stream.destroyed) process.nextTick(() => (stream as StreamWithDriver)[DRIVER]!.transportClosed());
      return;
    }
    stream.close(constants.NGHTTP2_CANCEL);
  }
}

/**
 * Run `driver` over `stream`. A stream closed before it was handed over ends the connection at
 * once (1006).
 */
export function attachStream(driver: ConnectionDriver, stream: Http2Stream): Http2StreamBinding {
  const binding = new Http2StreamBinding(stream, driver);
  if (stream.destroyed || stream.closed) driver.terminate();
  driver.attach(binding);
  return binding;
}
