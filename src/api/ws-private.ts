/**
 * The parts of `ws`'s private surface that widely used libraries reach into, so that they
 * work on wasmsocket unchanged (compatibility members, not API to build on):
 *
 * - `ws._socket`: the underlying `net.Socket` (`remoteAddress`, `setKeepAlive`, and `unref()`
 *   for engine.io-client's `autoUnref`);
 * - `ws._sender.sendFrame(frames, cb)`: how engine.io writes a broadcast that socket.io's
 *   adapter framed once with `ws.Sender.frame()`.
 *
 * `sendFrame` does not write the bytes past the connection (that would put them out of order
 * with what the connection has queued, and around its state): it reads the frame's header
 * and sends the frame's payload as the same frame — same opcode and FIN, uncompressed, the
 * payload not copied (a server does not mask; a client masks with its own fresh key, RFC 6455
 * §5.3). What is saved is what made the frame worth sharing: the application encoding the
 * message once for every recipient.
 */
import { InvalidArgumentError } from '../shared/errors.js';
import { concatBytes } from '../shared/bytes.js';
import type { SendCallback } from './face.js';

/** What a socket's compatibility `_sender` needs of the socket. */
export interface FrameSink {
  send(data: Uint8Array, options: { binary: boolean; fin: boolean; compress: boolean }, callback?: SendCallback): boolean;
  ping(data: Uint8Array, mask: undefined, callback?: SendCallback): void;
  pong(data: Uint8Array, mask: undefined, callback?: SendCallback): void;
  close(code?: number, reason?: Uint8Array): void;
}

/** `ws`'s `Sender`, as far as libraries use it. */
export interface CompatSender {
  /**
   * Send a frame `ws.Sender.frame(data, options)` built (one buffer, or the header and the
   * payload). `callback` is called as a `send` callback is.
   *
   * @throws InvalidArgumentError for bytes that are not one whole frame, or a frame with RSV
   *   bits (a compressed frame belongs to the connection that compressed it).
   */
  sendFrame(frames: readonly Uint8Array[], callback?: SendCallback): void;
}

/** A parsed frame: its header fields and its payload (unmasked). */
interface Frame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** Read one whole frame (RFC 6455 §5.2) from `frames`. */
function parseFrame(frames: readonly Uint8Array[]): Frame {
  if (frames.length === 0 || frames.length > 2) throw new InvalidArgumentError('sendFrame takes a frame as one buffer, or as its header and its payload');
  const head = frames[0]!;
  if (head.length < 2) throw new InvalidArgumentError('a frame has at least 2 bytes of header');
  const fin = (head[0]! & 0x80) !== 0;
  const rsv = (head[0]! >> 4) & 0x7;
  const opcode = head[0]! & 0x0f;
  const masked = (head[1]! & 0x80) !== 0;
  let length = head[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (head.length < 4) throw new InvalidArgumentError('the frame header is cut short');
    length = (head[2]! << 8) | head[3]!;
    offset = 4;
  } else if (length === 127) {
    if (head.length < 10) throw new InvalidArgumentError('the frame header is cut short');
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    length = view.getUint32(2) * 2 ** 32 + view.getUint32(6);
    offset = 10;
  }
  const key = masked ? head.subarray(offset, offset + 4) : null;
  if (masked) offset += 4;
  if (head.length < offset) throw new InvalidArgumentError('the frame header is cut short');
  const rest = head.subarray(offset);
  const payload = frames.length === 2 ? (rest.length === 0 ? frames[1]! : concatBytes([rest, frames[1]!])) : rest;
  if (payload.length !== length) throw new InvalidArgumentError(`the frame says ${length} bytes of payload and carries ${payload.length}`);
  if (key === null) return { fin, rsv, opcode, payload };
  const unmasked = new Uint8Array(length);
  for (let i = 0; i < length; i++) unmasked[i] = payload[i]! ^ key[i & 3]!;
  return { fin, rsv, opcode, payload: unmasked };
}

/** The compatibility `_sender` of `socket`. */
export function compatSender(socket: FrameSink): CompatSender {
  return {
    sendFrame(frames: readonly Uint8Array[], callback?: SendCallback): void {
      const { fin, rsv, opcode, payload } = parseFrame(frames);
      if (rsv !== 0) throw new InvalidArgumentError('sendFrame cannot send a frame with RSV bits set (a compressed frame belongs to the connection that compressed it)');
      switch (opcode) {
        case 0x0:
        case 0x1:
        case 0x2:
          // A continuation goes on with the message in progress (its type is that message's).
          socket.send(payload, { binary: opcode !== 0x1, fin, compress: false }, callback);
          return;
        case 0x8:
          socket.close(payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : undefined, payload.subarray(2));
          if (callback !== undefined) queueMicrotask(() => (callback as (error: Error | null) => void)(null));
          return;
        case 0x9:
          socket.ping(payload, undefined, callback);
          return;
        case 0xa:
          socket.pong(payload, undefined, callback);
          return;
        default:
          throw new InvalidArgumentError(`sendFrame cannot send a frame with the reserved opcode 0x${opcode.toString(16)}`);
      }
    },
  };
}
