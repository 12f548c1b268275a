/**
 * Byte views as Node's `Buffer`, the type `ws` code expects, without copying.
 */

/** `bytes` as a Buffer over the same memory (no copy). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
