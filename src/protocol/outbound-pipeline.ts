/**
 * What a connection sends, in the order it was asked to: data frames through the negotiated
 * extensions' encoders, control frames, the close frame — serialized into chunks for one
 * vectored write (`take`).
 *
 * Theory of operation
 * -------------------
 * A frame nothing transforms is serialized at once. A frame of a message that extensions
 * transform goes through their `encode` in the order of the server's response (RFC 6455
 * §9.1); while an encode is pending (a compressor on a thread pool), every frame sent after
 * it — control frames too — waits behind it, so the peer receives frames in call order. When
 * the encode settles the pipeline carries on and calls the `wake` port.
 *
 * A message sent in fragments (§5.4) is transformed or not as its first frame decided, its
 * text checked to be UTF-8 across the fragments (§5.6); the RSV bits of the extensions that
 * transform it go on its first frame only (RFC 7692 §6).
 *
 * Rules
 * -----
 * - Output is cut from the thread's `FrameSlab`: a small frame, or a small chunk queued as it
 *   is (a handshake head, a shared frame), is copied there behind the chunk before it, so a
 *   batch of small frames is one chunk. Large server payloads are not copied: the serializer
 *   writes a header chunk and the caller's bytes. Large client payloads are masked (§5.3) in
 *   place when the pipeline owns them (an encoder's output), into a new buffer otherwise.
 * - A string is encoded once: a short one straight into its frame (`FrameSerializer.writeText`)
 *   when no extension may transform it and nothing waits, else into bytes as it goes.
 * - No closure and no array per frame; an object per frame only behind a pending encode.
 * - Once the connection is CLOSED (`stop`) nothing more is written.
 */
import type { MaskKeyPool } from '../codec/mask-key-pool.js';
import { type Codec, UTF8_ACCEPT, UTF8_INVALID } from '../codec/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import { utf8Encode } from '../shared/bytes.js';
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode } from '../shared/constants.js';
import { InvalidArgumentError, type ProtocolError } from '../shared/errors.js';
import type { CloseStatus } from './close.js';
import type { EncodedMessage } from './encoded-message.js';
import { type Extension, isPromiseLike, runEncoders } from './extension.js';
import type { FrameSlab } from './frame-slab.js';
import { asProtocolError } from './internal-error.js';
import { FrameSerializer } from './serializer.js';

// Returned when there is nothing: shared, so frozen (a caller that pushes onto one learns at once).
const NO_CHUNKS = Object.freeze([]) as unknown as Uint8Array[];
const NO_FRAMES = Object.freeze([]) as unknown as OutboundFrame[];

/** What the pipeline reports to its connection. */
export interface OutboundPort {
  /** The close frame was written into the output. */
  closeWritten(): void;
  /** An extension could not encode an outgoing frame, so the message cannot be completed: fail the connection. */
  fail(error: ProtocolError): void;
  /** Writing after a settled encode threw (a defect): fail the connection with 1011. */
  unexpected(error: unknown): void;
  /** Asynchronous work added bytes to send. */
  wake(): void;
}

/** A frame waiting behind a pending asynchronous encode. */
interface OutboundFrame {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  readonly payload: Uint8Array;
  readonly owned: boolean;
  readonly encoders: readonly Extension[] | null;
  /** A message framed elsewhere (`sendEncoded`); the fields above are unused then. */
  readonly encoded: EncodedMessage | null;
}

/** The message being sent in fragments. */
interface OutgoingMessage {
  readonly encoders: readonly Extension[] | null;
  /** Text: its UTF-8 is checked across fragments (`#sendUtf8`). */
  readonly text: boolean;
}

/** The frames a connection sends, in order, as bytes. */
export class OutboundPipeline {
  readonly #codec: Codec;
  readonly #serializer: FrameSerializer;
  readonly #port: OutboundPort;
  #extensions: readonly NegotiatedExtension<Extension>[] = [];
  /** The chunks not yet taken; the shared empty array when there are none (an idle connection holds none). */
  #output: Uint8Array[] = NO_CHUNKS;
  #pending = false;
  /** Frames behind a pending encode; the shared empty array when there are none. */
  #queue: OutboundFrame[] = NO_FRAMES;
  #sending: OutgoingMessage | null = null;
  /** UTF-8 state of the text message being sent in fragments. */
  #sendUtf8 = UTF8_ACCEPT;
  #closeSent: CloseStatus | null = null;
  #closeWritten = false;
  #stopped = false;
  /** The RSV bits the negotiated extensions claim: the only ones a shared frame may carry. */
  #extensionRsv = 0;
  /** Shared frames sent while a fragmented message was in progress: they follow its last frame. */
  #heldEncoded: EncodedMessage[] | null = null;

  /**
   * @param maskKeys the key pool a client masks with; null on a server.
   * @param slab the memory output is written into (`FrameSlab.for` the connection's `allocate`).
   */
  constructor(codec: Codec, maskKeys: MaskKeyPool | null, slab: FrameSlab, port: OutboundPort) {
    this.#codec = codec;
    this.#serializer = maskKeys === null ? FrameSerializer.forServer(codec, slab) : new FrameSerializer(codec, maskKeys, slab);
    this.#port = port;
  }

  /** Whether a message sent with `fin` false is in progress. */
  get sendingFragmented(): boolean {
    return this.#sending !== null;
  }

  /** The close frame sent (or queued), if any; code 1005 stands for an empty one. */
  get closeSent(): CloseStatus | null {
    return this.#closeSent;
  }

  /** Whether the close frame is in the output (it may still wait for the adapter to write it). */
  get closeWritten(): boolean {
    return this.#closeWritten;
  }

  /** The extensions the opening handshake agreed, in the order of the server's response. */
  useExtensions(extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#extensions = extensions;
    let rsv = 0;
    for (const { rsvBits } of extensions) rsv |= rsvBits;
    this.#extensionRsv = rsv;
  }

  /** Queue bytes that are not a frame (a handshake request or response head). */
  writeRaw(bytes: Uint8Array): void {
    this.#serializer.slab.append(this.#chunks(), bytes);
  }

  /** The chunks to write since the last call; the array is the caller's (an empty one is shared and frozen). */
  take(): Uint8Array[] {
    const output = this.#output;
    if (output.length === 0) return NO_CHUNKS;
    this.#output = NO_CHUNKS;
    return output;
  }

  /** The connection is CLOSED: nothing more is written, even when a pending encode settles. */
  stop(): void {
    this.#stopped = true;
  }

  /** A text message or its first fragment, and the size of its payload; see `Connection.sendText`. */
  sendText(data: string | Uint8Array, fin: boolean, compress: boolean): number {
    if (typeof data === 'string') {
      // A string's encoding is whole characters: nothing to check.
      const length = this.#sendString(Opcode.TEXT, data, fin, compress);
      this.#sendUtf8 = UTF8_ACCEPT;
      return length;
    }
    const payload = checkBytes(data);
    const utf8 = this.#checkText(payload, UTF8_ACCEPT, fin);
    this.#sendData(Opcode.TEXT, payload, fin, false, compress);
    this.#sendUtf8 = utf8;
    return payload.length;
  }

  /** A binary message or its first fragment, and the size of its payload; see `Connection.sendBinary`. */
  sendBinary(data: Uint8Array, fin: boolean, compress: boolean): number {
    const payload = checkBytes(data);
    this.#sendData(Opcode.BINARY, payload, fin, false, compress);
    return payload.length;
  }

  /** The next fragment of the message in progress (`sendingFragmented` must be true), and the size of its payload. */
  sendContinuation(data: string | Uint8Array, fin: boolean): number {
    const text = this.#sending!.text;
    let utf8 = this.#sendUtf8;
    if (typeof data === 'string' && (!text || utf8 === UTF8_ACCEPT)) {
      const length = this.#sendString(Opcode.CONTINUATION, data, fin, true);
      this.#sendUtf8 = UTF8_ACCEPT;
      return length;
    }
    // Bytes, or a string behind a character the fragments before it left unfinished: checked.
    const owned = typeof data === 'string';
    const payload = owned ? utf8Encode(data) : checkBytes(data);
    if (text) utf8 = this.#checkText(payload, utf8, fin);
    this.#sendData(Opcode.CONTINUATION, payload, fin, owned, true);
    this.#sendUtf8 = fin ? UTF8_ACCEPT : utf8;
    return payload.length;
  }

  /**
   * Send `text` as a data frame: encoded straight into its frame when no extension may
   * transform it (none negotiated, `compress` false, or a fragmented message that its first
   * frame left untransformed) and nothing waits to be written before it; else encoded into
   * bytes that take the usual way (an extension decides on the message's size). Returns the
   * size of the payload.
   */
  #sendString(opcode: number, text: string, fin: boolean, compress: boolean): number {
    const transformable = opcode === Opcode.CONTINUATION ? this.#sending!.encoders !== null : compress && this.#extensions.length > 0;
    if (!transformable && !this.#stopped && !this.#pending && this.#queue.length === 0) {
      const length = this.#serializer.writeText(this.#chunks(), fin, 0, opcode, text);
      if (length >= 0) {
        this.#trackMessage(opcode, fin, null);
        if (fin && this.#heldEncoded !== null) this.#releaseHeldEncoded();
        return length;
      }
    }
    const payload = utf8Encode(text);
    this.#sendData(opcode, payload, fin, true, compress);
    return payload.length;
  }

  /** A ping or a pong. @throws InvalidArgumentError for a payload over 125 bytes. */
  sendControl(opcode: number, data: string | Uint8Array): void {
    const owned = typeof data === 'string';
    const payload = owned ? utf8Encode(data) : checkBytes(data);
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if (payload.length > MAX_CONTROL_PAYLOAD) {
      throw new InvalidArgumentError(`control frame payload of ${payload.length} bytes; at most ${MAX_CONTROL_PAYLOAD} are allowed`);
    }
    // §5.4: "Control frames themselves MUST NOT be fragmented": FIN is set, and no extension sees them.
    this.#queueFrame(opcode, true, 0, payload, owned, null);
  }

  /**
   * A message framed elsewhere, its bytes queued as they are; see `Connection.sendEncoded`.
   * §5.4: "the fragments of one message MUST NOT be interleaved between the fragments of
   * another": while a fragmented message is in progress it waits for that message's last frame.
   *
   * @throws InvalidArgumentError for a frame whose RSV bits no negotiated extension claims
   *   (§5.2: "MUST be 0 unless an extension is negotiated that defines meanings").
   */
  sendEncoded(message: EncodedMessage): void {
    if ((message.rsv & ~this.#extensionRsv) !== 0) {
      throw new InvalidArgumentError(`the message's RSV bits (${message.rsv}) belong to no extension negotiated on this connection (RFC 6455 §5.2)`);
    }
    if (this.#sending !== null) (this.#heldEncoded ??= []).push(message);
    else this.#queueEncoded(message);
  }

  /** The close frame, its `payload` serialized from `code` (undefined: none) and `reason`. */
  sendClose(code: number | undefined, reason: string, payload: Uint8Array): void {
    this.#closeSent = { code: code ?? CloseCode.NO_STATUS_RECEIVED, reason };
    this.#queueFrame(Opcode.CLOSE, true, 0, payload, true, null);
  }

  #sendData(opcode: number, payload: Uint8Array, fin: boolean, owned: boolean, compress: boolean): void {
    let encoders: readonly Extension[] | null;
    let rsv = 0;
    if (opcode === Opcode.CONTINUATION) {
      encoders = this.#sending!.encoders;
    } else {
      // The first frame decides for the whole message; its continuations follow (above) with
      // RSV 0 (RFC 7692 §6: RSV1 on the first frame only). §5.2: only the RSV bits of the
      // extensions that transform the message are set.
      encoders = compress ? this.#encodersFor(opcode === Opcode.BINARY, fin ? payload.length : undefined) : null;
      if (encoders !== null) for (const { rsvBits, extension } of this.#extensions) if (encoders.includes(extension)) rsv |= rsvBits;
    }
    this.#trackMessage(opcode, fin, encoders);
    this.#queueFrame(opcode, fin, rsv, payload, owned, encoders);
    // The fragmented message ended: the shared frames sent meanwhile follow it.
    if (fin && this.#heldEncoded !== null) this.#releaseHeldEncoded();
  }

  /** A data frame is sent: a first frame without FIN starts a fragmented message, a continuation with FIN ends it. */
  #trackMessage(opcode: number, fin: boolean, encoders: readonly Extension[] | null): void {
    if (opcode === Opcode.CONTINUATION) {
      if (fin) this.#sending = null;
    } else if (!fin) {
      this.#sending = { encoders, text: opcode === Opcode.TEXT };
    }
  }

  /** The extensions that transform an outgoing message, in the response's order (§9.1). */
  #encodersFor(binary: boolean, size: number | undefined): readonly Extension[] | null {
    const extensions = this.#extensions;
    if (extensions.length === 0) return null;
    let encoders: Extension[] | null = null;
    for (const { rsvBits, extension } of extensions) {
      // An extension marks the messages it transforms with its RSV bits; one without bits
      // could not tell the peer, so it transforms nothing.
      if (rsvBits !== 0 && (extension.shouldEncode?.(binary, size) ?? true)) (encoders ??= []).push(extension);
    }
    return encoders;
  }

  /** Advance the UTF-8 state of outgoing text over `payload`; throw if it cannot be UTF-8. */
  #checkText(payload: Uint8Array, state: number, fin: boolean): number {
    const next = this.#codec.utf8Step(payload, state);
    if (next === UTF8_INVALID) throw new InvalidArgumentError('text payload is not valid UTF-8 (RFC 6455 §5.6)');
    if (fin && next !== UTF8_ACCEPT) throw new InvalidArgumentError('text message would end inside a UTF-8 character (RFC 6455 §5.6)');
    return next;
  }

  /** Write a frame now, or queue it behind a pending asynchronous encode (order is kept). */
  #queueFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array, owned: boolean, encoders: readonly Extension[] | null): void {
    if (!this.#pending && this.#queue.length === 0 && encoders === null) {
      this.#writeFrame(opcode, fin, rsv, payload, owned);
      return;
    }
    this.#frames().push({ opcode, fin, rsv, payload, owned, encoders, encoded: null });
    this.#pump();
  }

  /** Write a shared frame now, or queue it behind a pending asynchronous encode. */
  #queueEncoded(message: EncodedMessage): void {
    if (!this.#pending && this.#queue.length === 0) this.#writeEncoded(message);
    else this.#frames().push({ opcode: Opcode.CONTINUATION, fin: true, rsv: 0, payload: message.payload, owned: false, encoders: null, encoded: message });
  }

  #releaseHeldEncoded(): void {
    const held = this.#heldEncoded!;
    this.#heldEncoded = null;
    for (const message of held) this.#queueEncoded(message);
  }

  #writeEncoded(message: EncodedMessage): void {
    if (this.#stopped) return;
    const output = this.#chunks();
    const slab = this.#serializer.slab;
    for (const chunk of message.chunks) slab.append(output, chunk);
  }

  /** The output, to append to. */
  #chunks(): Uint8Array[] {
    const output = this.#output;
    return output === NO_CHUNKS ? (this.#output = []) : output;
  }

  /** The queue behind a pending encode, to append to. */
  #frames(): OutboundFrame[] {
    const queue = this.#queue;
    return queue === NO_FRAMES ? (this.#queue = []) : queue;
  }

  #pump(): void {
    while (!this.#pending && this.#queue.length > 0) {
      const frame = this.#queue.shift()!;
      if (frame.encoded !== null) {
        this.#writeEncoded(frame.encoded);
        continue;
      }
      if (frame.encoders === null) {
        this.#writeFrame(frame.opcode, frame.fin, frame.rsv, frame.payload, frame.owned);
        continue;
      }
      let result: Uint8Array | PromiseLike<Uint8Array>;
      try {
        result = runEncoders(frame.encoders, frame.payload, frame.fin);
      } catch (error) {
        this.#encodeFailed(error);
        continue;
      }
      if (!isPromiseLike<Uint8Array>(result)) {
        this.#writeFrame(frame.opcode, frame.fin, frame.rsv, result, false);
        continue;
      }
      this.#pending = true;
      Promise.resolve(result).then(
        (encoded) => this.#settled(frame, encoded, false, undefined),
        (error: unknown) => this.#settled(frame, null, true, error),
      );
    }
  }

  #settled(frame: OutboundFrame, encoded: Uint8Array | null, failed: boolean, error: unknown): void {
    this.#pending = false;
    try {
      if (failed) this.#encodeFailed(error);
      else this.#writeFrame(frame.opcode, frame.fin, frame.rsv, encoded!, false);
      this.#pump();
    } catch (unexpected) {
      this.#port.unexpected(unexpected);
    }
    this.#port.wake();
  }

  /**
   * An extension could not encode an outgoing frame. The message cannot be completed, so the
   * frames queued after it are dropped (a close frame is kept) and the connection fails.
   */
  #encodeFailed(error: unknown): void {
    this.#queue = this.#queue.filter((frame) => frame.opcode === Opcode.CLOSE);
    this.#sending = null;
    this.#heldEncoded = null;
    this.#port.fail(asProtocolError(error));
  }

  #writeFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array, owned: boolean): void {
    if (this.#stopped) return;
    this.#serializer.write(this.#chunks(), fin, rsv, opcode, payload, owned);
    if (opcode === Opcode.CLOSE) {
      this.#closeWritten = true;
      this.#port.closeWritten();
    }
  }
}

function checkBytes(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a string or a Uint8Array');
  return data;
}
