/**
 * What Node gives the core: SHA-1 from `node:crypto`, the process-wide codec, and zero-copy
 * conversion of the core's byte views to `Buffer`.
 */
import { createHash } from 'node:crypto';
import { createCodecSync } from '../../codec/select.js';
import type { Codec } from '../../codec/types.js';
import type { Sha1 } from '../../shared/ports.js';

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
