/**
 * What Node gives the core: SHA-1 from `node:crypto`, the process-wide codec, and zero-copy
 * conversion of the core's byte views to `Buffer`.
 */
import { createHash } from 'node:crypto';
import { createCodecSync } from '../../codec/select.js';
import type { Codec } from '../../codec/types.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import type { Sha1 } from '../../shared/ports.js';
import { DEFAULT_TRANSPORT_OPTIONS, type HeartbeatOptions, type TransportOptions } from '../types.js';

/** SHA-1 through OpenSSL (the Sha1 port; RFC 6455 §4.2.2 Sec-WebSocket-Accept). */
export const nodeSha1: Sha1 = (data) => createHash('sha1').update(data).digest();

let processCodec: Codec | undefined;

/**
 * The codec every connection of this process uses unless given another: `createCodecSync()`
 * (wasm with SIMD where it runs and `WASMSOCKET_NO_WASM` is unset, else portable), created on
 * first use. One wasm instance serves every connection: calls are synchronous and never
 * interleave.
 */
export function defaultCodec(): Codec {
  return (processCodec ??= createCodecSync());
}

/** `bytes` as a Buffer over the same memory (no copy). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkMilliseconds(name: string, value: number, allowZero: boolean): number {
  // 2^31 − 1 ms is the largest delay Node's timers honour (about 24.8 days).
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
 * Complete transport options with the defaults and check them.
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
