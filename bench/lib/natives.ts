/**
 * The native and reference competitors, loaded the way `ws` loads them, with a check that the
 * native builds (not their JavaScript fallbacks) are what is measured.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface BufferUtil {
  mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  unmask(buffer: Uint8Array, mask: Uint8Array): void;
}

/** A `ws` Receiver, driven directly: `write(chunk)` parses and emits 'message' synchronously. */
export interface WsReceiver {
  write(chunk: Uint8Array): boolean;
  on(event: 'message', listener: (data: Uint8Array, isBinary: boolean) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}
type WsReceiverConstructor = new (options: { isServer: boolean; maxPayload: number; allowSynchronousEvents: boolean }) => WsReceiver;

function assertNative(name: string, fn: unknown): void {
  if (typeof fn !== 'function' || !Function.prototype.toString.call(fn).includes('[native code]')) {
    throw new Error(`${name} loaded its JavaScript fallback, not the native build: the comparison would be meaningless`);
  }
}

export function loadBufferUtil(): BufferUtil {
  const bufferUtil = require('bufferutil') as BufferUtil;
  assertNative('bufferutil', bufferUtil.unmask);
  assertNative('bufferutil', bufferUtil.mask);
  return bufferUtil;
}

export function loadUtf8Validate(): (data: Uint8Array) => boolean {
  const validate = require('utf-8-validate') as (data: Uint8Array) => boolean;
  assertNative('utf-8-validate', validate);
  return validate;
}

export function loadWsReceiver(): WsReceiverConstructor {
  // ws/lib/receiver.js, through the package's exports map (`WebSocket.Receiver`).
  return (require('ws') as { Receiver: WsReceiverConstructor }).Receiver;
}

/** `ws`'s JavaScript unmask loop (lib/buffer-util.js `_unmask`), used below its native threshold. */
export function wsUnmaskLoop(buffer: Uint8Array, mask: Uint8Array): void {
  for (let i = 0; i < buffer.length; i++) buffer[i]! ^= mask[i & 3]!;
}
