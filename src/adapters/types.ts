/**
 * What every adapter shares: the face an adapter reports a connection's life to, and the
 * transport policies (timers, backpressure) an adapter enforces around the Sans-I/O core.
 *
 * An adapter owns the transport, the timers and the buffers; the core (`src/protocol`) owns
 * every protocol decision. The face above the adapter (`src/api`) sees only these callbacks
 * and the adapter's methods, so the same face can later sit on another adapter.
 */
import type { NegotiatedExtension } from '../handshake/extensions.js';
import { serializeExtensionList } from '../handshake/headers.js';
import type { Extension } from '../protocol/extension.js';
import { InvalidArgumentError } from '../shared/errors.js';

/** The extensions in use as the response's Sec-WebSocket-Extensions value (`''` for none): the WHATWG `extensions` attribute. */
export function extensionsHeaderOf(extensions: readonly NegotiatedExtension<Extension>[]): string {
  return extensions.length === 0 ? '' : serializeExtensionList(extensions.map(({ name, params }) => ({ name, params })));
}

/**
 * Receives what happens on one connection, in order: the face above a `ConnectionDriver`. The
 * driver calls these from its own loop; they must not throw (a face reports its listeners'
 * exceptions itself). Byte views are the driver's own: a face that keeps one past the call
 * keeps the bytes as they are (they are not reused).
 */
export interface ConnectionSink {
  /** The opening handshake completed: the connection is OPEN. */
  onOpen(protocol: string | null, extensions: readonly NegotiatedExtension<Extension>[]): void;
  /** A whole message: `binary` false for text (valid UTF-8, not decoded to a string). */
  onMessage(data: Uint8Array, binary: boolean): void;
  /**
   * A piece of a message, as it arrived (only for connections made with `streamMessages`,
   * which then report no `onMessage`). Text pieces are checked UTF-8 so far; a piece may end
   * inside a character. The last piece may be empty.
   */
  onFragment(data: Uint8Array, binary: boolean, first: boolean, last: boolean): void;
  /** A ping arrived (its pong is queued unless auto-pong is off). */
  onPing(data: Uint8Array): void;
  /** A pong arrived. */
  onPong(data: Uint8Array): void;
  /** Something failed: the peer broke the protocol, the handshake failed, or a deadline passed. */
  onError(error: Error): void;
  /** The transport is closed; always the last call. */
  onClose(code: number, reason: string, wasClean: boolean): void;
  /** Outgoing data queued beyond the high-water mark has all been handed to the transport. */
  onDrain(): void;
}

/** What to do with a connection whose outgoing buffer passes `maxBufferedAmount`. */
export type BufferOverflowAction = 'close' | 'terminate';

/**
 * The heartbeat: a ping every `interval` ms; a peer that has not answered with a pong within
 * `timeout` ms of a ping is terminated (RFC 6455 §5.5.2: "A Ping frame may serve either as a
 * keepalive or as a means to verify that the remote endpoint is still responsive").
 */
export interface HeartbeatOptions {
  /** Milliseconds between pings (> 0). */
  readonly interval: number;
  /** Milliseconds to wait for the pong (> 0); default `interval`. */
  readonly timeout?: number;
}

/** Transport policies for one connection; every field has a default (`DEFAULT_TRANSPORT_OPTIONS`). */
export interface TransportOptions {
  /**
   * Milliseconds to wait, after a close frame was sent, for the peer to finish the closing
   * handshake and close the transport; then the transport is destroyed (close code 1006).
   */
  readonly closeTimeout: number;
  /** Ping the peer periodically and terminate it when it stops answering; null: off. */
  readonly heartbeat: HeartbeatOptions | null;
  /**
   * Close the connection (1001 Going Away) when nothing has been received for this many
   * milliseconds; 0: off.
   */
  readonly idleTimeout: number;
  /** `send` returns false once this many bytes of message data wait to be written. */
  readonly highWaterMark: number;
  /**
   * Most bytes of message data allowed to wait for a peer that does not read; beyond it,
   * `onBufferOverflow` happens. 0: no limit.
   */
  readonly maxBufferedAmount: number;
  /**
   * `close`: fail the connection with 1008 (Policy Violation) and stop accepting data, then
   * destroy it after `closeTimeout`; `terminate`: destroy the transport at once.
   */
  readonly onBufferOverflow: BufferOverflowAction;
}

/**
 * Defaults. The close timeout is `ws`'s 30 s. The high-water mark is 64 KiB, Node's stream
 * default since v22 and four full TCP segments' worth of a typical window. No buffer limit and
 * no heartbeat by default, as in `ws`: both are one option away.
 */
export const DEFAULT_TRANSPORT_OPTIONS: TransportOptions = Object.freeze({
  closeTimeout: 30_000,
  heartbeat: null,
  idleTimeout: 0,
  highWaterMark: 64 * 1024,
  maxBufferedAmount: 0,
  onBufferOverflow: 'close',
});

/**
 * A delay in milliseconds, checked: an integer from 0 (or 1) to the largest delay timers honour.
 *
 * @throws InvalidArgumentError for a value out of range.
 */
export function checkMilliseconds(name: string, value: number, allowZero: boolean): number {
  // 2^31 − 1 ms is the largest delay timers honour, in Node and in browsers (about 24.8 days).
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 0x7fffffff) {
    throw new InvalidArgumentError(`${name} must be an integer number of milliseconds from ${allowZero ? 0 : 1} to 2147483647, got ${String(value)}`);
  }
  return value;
}

function checkBytes(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

/**
 * Complete transport options with the defaults and check them (any adapter).
 *
 * @throws InvalidArgumentError for a value out of range.
 */
export function resolveTransportOptions(options: Partial<TransportOptions> = {}): TransportOptions {
  const closeTimeout = checkMilliseconds('closeTimeout', options.closeTimeout ?? DEFAULT_TRANSPORT_OPTIONS.closeTimeout, false);
  const idleTimeout = checkMilliseconds('idleTimeout', options.idleTimeout ?? 0, true);
  const highWaterMark = checkBytes('highWaterMark', options.highWaterMark ?? DEFAULT_TRANSPORT_OPTIONS.highWaterMark);
  const maxBufferedAmount = checkBytes('maxBufferedAmount', options.maxBufferedAmount ?? 0);
  const onBufferOverflow = options.onBufferOverflow ?? DEFAULT_TRANSPORT_OPTIONS.onBufferOverflow;
  if (onBufferOverflow !== 'close' && onBufferOverflow !== 'terminate') {
    throw new InvalidArgumentError(`onBufferOverflow must be "close" or "terminate", got ${JSON.stringify(onBufferOverflow)}`);
  }
  let heartbeat: HeartbeatOptions | null = null;
  if (options.heartbeat !== undefined && options.heartbeat !== null) {
    const interval = checkMilliseconds('heartbeat.interval', options.heartbeat.interval, false);
    const timeout = checkMilliseconds('heartbeat.timeout', options.heartbeat.timeout ?? interval, false);
    heartbeat = Object.freeze({ interval, timeout });
  }
  return Object.freeze({ closeTimeout, heartbeat, idleTimeout, highWaterMark, maxBufferedAmount, onBufferOverflow });
}
