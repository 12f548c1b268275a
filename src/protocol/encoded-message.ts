/**
 * A message framed once for many connections: what a server's `publish` hands every
 * subscriber. The frame's header and payload (RFC 6455 §5.2) are made once, and each
 * connection queues references to the same bytes (`Connection.sendEncoded`), so a message
 * to 10,000 subscribers is framed once, not 10,000 times.
 *
 * Only server frames can be shared: a client masks every frame with a fresh key (§5.3), so no
 * two of its frames are alike. A message transformed by an extension (permessage-deflate
 * without context takeover, RFC 7692 §7.1.1) can be shared by the connections whose
 * negotiated terms let them read it; choosing those is the sender's task, and the connection
 * checks what it can: that the frame's RSV bits are those of a negotiated extension (§5.2).
 */
import { type Codec, frameHeaderLength, UTF8_ACCEPT } from '../codec/types.js';
import { utf8Encode } from '../shared/bytes.js';
import { Opcode } from '../shared/constants.js';
import { InvalidArgumentError } from '../shared/errors.js';

/**
 * Below this many payload bytes the header and the payload are copied into one buffer, once
 * per message, so that a subscriber that gets one message in a tick writes that buffer as it
 * is; from it on, the payload is shared as it is, never copied. The driver merges chunks
 * below the same size into one buffer per write (`COPY_BELOW` in src/adapters/driver.ts).
 */
const CONTIGUOUS_BELOW = 4096;

/** One whole, unmasked data frame whose bytes any number of server connections may queue. */
export class EncodedMessage {
  /** The frame's bytes, in order: one buffer, or the header and the payload. Never changed. */
  readonly chunks: readonly Uint8Array[];
  /** Whether the message is binary (opcode 0x2) or text (0x1). */
  readonly binary: boolean;
  /** The RSV bits of the frame (`rsv1 << 2 | rsv2 << 1 | rsv3`): those of the extension that transformed it. */
  readonly rsv: number;
  /** The message's payload before any transform: what it counts in a connection's `bufferedAmount`. */
  readonly payload: Uint8Array;
  /** The frame's payload as sent (the transformed bytes, or `payload`). */
  readonly framePayload: Uint8Array;
  /** Only the constructor makes frames that connections send whole (`isEncodedMessage`). */
  readonly #framed = true;

  private constructor(codec: Codec, payload: Uint8Array, framePayload: Uint8Array, binary: boolean, rsv: number) {
    const length = framePayload.length;
    const headerLength = frameHeaderLength(length, false);
    const opcode = binary ? Opcode.BINARY : Opcode.TEXT;
    if (length < CONTIGUOUS_BELOW) {
      const frame = new Uint8Array(headerLength + length);
      codec.encodeHeader(frame, 0, true, rsv, opcode, length, null);
      frame.set(framePayload, headerLength);
      this.chunks = [frame];
    } else {
      const header = new Uint8Array(headerLength);
      codec.encodeHeader(header, 0, true, rsv, opcode, length, null);
      this.chunks = [header, framePayload];
    }
    this.binary = binary;
    this.rsv = rsv;
    this.payload = payload;
    this.framePayload = framePayload;
    Object.freeze(this);
  }

  /**
   * Frame a message once. A string is encoded as UTF-8; bytes sent as text must be UTF-8
   * (RFC 6455 §5.6: a text payload "is text data encoded as UTF-8"). Bytes are not copied
   * from `CONTIGUOUS_BELOW` on: leave them unchanged while connections hold the message.
   *
   * @throws InvalidArgumentError for text bytes that are not UTF-8, or data that is neither a
   *   string nor a Uint8Array.
   */
  static frame(codec: Codec, data: string | Uint8Array, binary: boolean): EncodedMessage {
    let payload: Uint8Array;
    if (typeof data === 'string') {
      payload = utf8Encode(data);
    } else {
      if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a string or a Uint8Array');
      if (!binary && codec.utf8Step(data, UTF8_ACCEPT) !== UTF8_ACCEPT) {
        throw new InvalidArgumentError('text payload is not valid UTF-8 (RFC 6455 §5.6)');
      }
      payload = data;
    }
    return new EncodedMessage(codec, payload, payload, binary, 0);
  }

  /**
   * The same message with its payload transformed by an extension (`framePayload`, marked
   * with that extension's `rsv` bits): e.g. compressed once for every connection that agreed
   * to permessage-deflate without context takeover.
   *
   * @throws InvalidArgumentError for RSV bits outside 1–7.
   */
  transformed(codec: Codec, framePayload: Uint8Array, rsv: number): EncodedMessage {
    if (!Number.isInteger(rsv) || rsv < 1 || rsv > 7) throw new InvalidArgumentError(`a transformed message carries RSV bits 1–7, got ${String(rsv)}`);
    return new EncodedMessage(codec, this.payload, framePayload, this.binary, rsv);
  }

  /** Whether `value` was made by `EncodedMessage.frame` (or `transformed`): only such frames are sent whole. */
  static isEncodedMessage(value: unknown): value is EncodedMessage {
    return typeof value === 'object' && value !== null && #framed in value;
  }
}
