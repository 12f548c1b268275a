/**
 * Message assembly (RFC 6455 §5.4, §6.2): the pieces of the frames a connection processes, in
 * order, become whole control frames and `message` events — or, with `streamMessages`,
 * `fragment` events as the bytes arrive — after the negotiated extensions decoded them.
 *
 * Theory of operation
 * -------------------
 * The connection checks every frame against the message limits as it is parsed (`admit`),
 * possibly well ahead of processing, and then hands the frames over in order: `frameStart`,
 * any number of `framePayload` pieces, `frameEnd`. A control frame's pieces are collected
 * into its payload and reported whole (`AssemblyPort.control`); the pieces of a data message
 * are kept until its last frame ends, or handed out one behind (so the last can say `last`).
 *
 * A message whose first frame carries RSV bits goes through the extensions that claimed them
 * (§9.1: in the reverse of the response's order); their output is counted against
 * `maxMessageSize` as it is produced, and decoded text is checked to be UTF-8 as it is
 * produced (§8.1, RFC 7692 §6). A decode that returns a promise is reported to the port
 * (`decodePending`), which holds the frames after it and calls `resume` once it settled.
 *
 * Rules
 * -----
 * - No copy for a message that arrived in one piece: it is handed out as a view of the
 *   received chunk. A message in several pieces is copied once, when it is joined.
 * - No array and no closure per frame or per message; one event object per message.
 * - Text that was not transformed was checked by the codec as it was parsed (§8.1 "fail
 *   fast"); only decoded text is checked here.
 */
import { type Codec, UTF8_ACCEPT, UTF8_INVALID } from '../codec/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode } from '../shared/constants.js';
import { ErrorCode, ProtocolError } from '../shared/errors.js';
import type { FragmentReceivedEvent, MessageReceivedEvent } from './events.js';
import { type DecodeOutput, type Extension, isPromiseLike, runDecoders } from './extension.js';
import { asProtocolError } from './internal-error.js';
import type { ConnectionLimits } from './limits.js';

const EMPTY = new Uint8Array(0);

const allocateZeroed = (length: number): Uint8Array => new Uint8Array(length);

/** What the assembler reports to its connection. */
export interface AssemblyPort {
  /** A message, or with `streamMessages` a piece of one. */
  emit(event: MessageReceivedEvent | FragmentReceivedEvent): void;
  /** A whole control frame (ping, pong or close), in order with the messages. */
  control(opcode: number, payload: Uint8Array): void;
  /** A violation in a message (its decoded size or text, an extension's verdict): fail the connection. */
  fail(error: ProtocolError): void;
  /** A decode went pending: hold the frames after it and call `resume(fin)` once `decoding` settled. */
  decodePending(decoding: PromiseLike<void>, fin: boolean): void;
  /** Whether input is no longer processed (the connection failed or is closing). */
  inputClosed(): boolean;
}

/**
 * A piece of a message in several pieces, as it is kept until the message is assembled: a
 * view of the received chunk when it is most of that chunk, else a copy — so a peer that
 * spreads a message thinly over many large reads (tiny fragments between pings, say) cannot
 * make the connection hold much more memory than the message itself.
 */
export function compactPiece(piece: Uint8Array): Uint8Array {
  return piece.length * 2 < piece.buffer.byteLength ? piece.slice() : piece;
}

/** Turns the frames a connection processes into control frames and messages. */
export class MessageAssembler {
  readonly #limits: ConnectionLimits;
  readonly #codec: Codec;
  readonly #streamMessages: boolean;
  readonly #port: AssemblyPort;
  readonly #allocate: (length: number) => Uint8Array;
  #extensions: readonly NegotiatedExtension<Extension>[] = [];

  // Wire-level accounting, as frames are parsed (ahead of processing when a decode is pending).
  #wireMessageSize = 0;
  #wireFragments = 0;

  // The frame being processed.
  #frameOpcode = 0;
  #frameFin = false;
  #frameRemaining = 0;
  /** A control frame's payload collected from several pieces; made for the first such frame. */
  #controlBuffer: Uint8Array | null = null;
  #controlLength = 0;
  #controlPayload: Uint8Array | null = null;

  // The message being processed.
  #binary = false;
  #decoders: readonly Extension[] | null = null;
  #decodeFinished = false;
  #decodedSize = 0;
  #decodedUtf8 = UTF8_ACCEPT;
  /** The message's first piece, and the pieces after it (kept apart so a one-piece message touches no array). */
  #firstPart: Uint8Array | null = null;
  #parts: Uint8Array[] | null = null;
  #partsLength = 0;
  /**
   * An unfragmented message whose payload spans reads: its length is its frame's, known from
   * the header, so it is made once and each piece is copied into place as it arrives — no
   * received chunk is kept, and there is no join at the end (`#partsLength` counts the bytes in).
   */
  #whole: Uint8Array | null = null;
  /** Stream mode: the piece held back until the next one shows whether it is the last. */
  #streamHeld: Uint8Array | null = null;
  #streamFirst = true;

  /** Where the decoders deliver (`#pushDecoded`); made for the first transformed message. */
  #decodeOutput: DecodeOutput | null = null;

  /** A `DecodeOutput` for one assembler, its methods on a shared prototype. */
  static readonly #Output = class implements DecodeOutput {
    readonly #assembler: MessageAssembler;
    constructor(assembler: MessageAssembler) {
      this.#assembler = assembler;
    }
    push(bytes: Uint8Array): boolean {
      return this.#assembler.#pushDecoded(bytes);
    }
    get remaining(): number {
      return Math.max(0, this.#assembler.#limits.maxMessageSize - this.#assembler.#decodedSize);
    }
  };

  /** @param allocate memory for an assembled message (see `ConnectionOptions.allocate`). */
  constructor(limits: ConnectionLimits, codec: Codec, streamMessages: boolean, port: AssemblyPort, allocate: (length: number) => Uint8Array = allocateZeroed) {
    this.#limits = limits;
    this.#codec = codec;
    this.#streamMessages = streamMessages;
    this.#port = port;
    this.#allocate = allocate;
  }

  /** The extensions the opening handshake agreed, in the order of the server's response. */
  useExtensions(extensions: readonly NegotiatedExtension<Extension>[]): void {
    this.#extensions = extensions;
  }

  /**
   * Check a frame against the message limits as it is parsed; returns the violation, if any.
   * (The codec already holds a single frame to min(maxFrameSize, maxMessageSize).)
   */
  admit(opcode: number, length: number): ProtocolError | null {
    if (opcode === Opcode.CONTINUATION) {
      const limits = this.#limits;
      if (++this.#wireFragments > limits.maxFragments) {
        return new ProtocolError(`message of more than ${limits.maxFragments} fragments`, ErrorCode.TOO_MANY_FRAGMENTS, CloseCode.MESSAGE_TOO_BIG);
      }
      this.#wireMessageSize += length;
      // §7.4.1 1009: "a message that is too big for it to process".
      if (this.#wireMessageSize > limits.maxMessageSize) {
        return new ProtocolError(
          `message of more than ${limits.maxMessageSize} bytes (${this.#wireMessageSize} so far)`,
          ErrorCode.MESSAGE_TOO_BIG,
          CloseCode.MESSAGE_TOO_BIG,
        );
      }
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      this.#wireMessageSize = length;
      this.#wireFragments = 1;
    }
    return null;
  }

  /** A frame starts (its header was parsed). */
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): void {
    this.#frameOpcode = opcode;
    this.#frameFin = fin;
    this.#frameRemaining = length;
    if (opcode >= Opcode.CLOSE) {
      this.#controlPayload = null;
      this.#controlLength = 0;
    } else if (opcode !== Opcode.CONTINUATION) {
      // §6.2: the message's type is its first frame's opcode.
      this.#binary = opcode === Opcode.BINARY;
      this.#decoders = rsv === 0 ? null : this.#decodersFor(rsv);
      this.#decodeFinished = false;
      this.#decodedSize = 0;
      this.#decodedUtf8 = UTF8_ACCEPT;
      this.#streamFirst = true;
    }
  }

  /** The next piece of the frame's payload, unmasked (a view of the received chunk). */
  framePayload(data: Uint8Array): void {
    const remaining = (this.#frameRemaining -= data.length);
    if (this.#frameOpcode >= Opcode.CLOSE) {
      // A control frame is reported whole: its one piece as it is, or its pieces collected.
      if (remaining === 0 && this.#controlLength === 0) {
        this.#controlPayload = data;
      } else {
        (this.#controlBuffer ??= new Uint8Array(MAX_CONTROL_PAYLOAD)).set(data, this.#controlLength);
        this.#controlLength += data.length;
      }
      return;
    }
    const endsMessage = this.#frameFin && remaining === 0;
    if (this.#decoders !== null) {
      this.#decode(data, endsMessage);
      return;
    }
    // A piece of an unfragmented message that spans reads goes into its one buffer (the
    // parser may have unmasked it there already: `payloadDestination`).
    const whole = this.#whole ?? (remaining > 0 && this.#keepsWhole() ? (this.#whole = this.#allocate(data.length + remaining)) : null);
    if (whole !== null) {
      const at = this.#partsLength;
      if (data.buffer !== whole.buffer || data.byteOffset !== whole.byteOffset + at) whole.set(data, at);
      this.#partsLength = at + data.length;
      return;
    }
    this.#deliverPiece(data);
    if (!endsMessage) this.#flushPieces(false);
  }

  /**
   * Where the payload of the frame just started goes, if it is an unfragmented message that
   * is kept whole (not streamed, not transformed): its one buffer, of the frame's payload
   * length, for the parser to unmask the pieces into as they arrive. Else null.
   */
  payloadDestination(): Uint8Array | null {
    if (this.#whole !== null || this.#frameRemaining === 0 || !this.#keepsWhole()) return null;
    this.#partsLength = 0;
    return (this.#whole = this.#allocate(this.#frameRemaining));
  }

  /** Whether the current frame is a whole message, assembled untransformed (see `#whole`). */
  #keepsWhole(): boolean {
    const opcode = this.#frameOpcode;
    return this.#frameFin && (opcode === Opcode.TEXT || opcode === Opcode.BINARY) && this.#decoders === null && !this.#streamMessages;
  }

  /** The frame ended. */
  frameEnd(): void {
    const opcode = this.#frameOpcode;
    if (opcode >= Opcode.CLOSE) {
      const payload =
        this.#controlPayload ?? (this.#controlLength === 0 ? EMPTY : this.#controlBuffer!.slice(0, this.#controlLength));
      this.#port.control(opcode, payload);
      return;
    }
    // A transformed message whose last piece went to the decoders is finished by them.
    if (!this.#frameFin || this.#decodeFinished) return;
    if (this.#decoders !== null) this.#decode(EMPTY, true);
    else this.#finishMessage();
  }

  /** The decode reported by `AssemblyPort.decodePending` settled: carry on with the message. */
  resume(fin: boolean): void {
    if (fin) this.#finishMessage();
    else this.#flushPieces(false);
  }

  /** Forget the message in progress (input ended inside it). */
  drop(): void {
    this.#firstPart = null;
    this.#parts = null;
    this.#partsLength = 0;
    this.#whole = null;
    this.#streamHeld = null;
    this.#decoders = null;
  }

  /** The extensions that decode a message whose first frame carries `rsv`, in decoding order. */
  #decodersFor(rsv: number): readonly Extension[] | null {
    const extensions = this.#extensions;
    let decoders: Extension[] | null = null;
    // §9.1: incoming data goes through the extensions in the reverse of the response's order.
    for (let i = extensions.length - 1; i >= 0; i--) {
      const negotiated = extensions[i]!;
      if ((negotiated.rsvBits & rsv) !== 0) (decoders ??= []).push(negotiated.extension);
    }
    return decoders;
  }

  #decode(data: Uint8Array, fin: boolean): void {
    if (fin) this.#decodeFinished = true;
    let result: void | PromiseLike<void>;
    try {
      const output = (this.#decodeOutput ??= new MessageAssembler.#Output(this));
      result = runDecoders(this.#decoders!, data, fin, output, this.#limits.maxMessageSize);
    } catch (error) {
      this.#port.fail(asProtocolError(error));
      return;
    }
    // The connection may have failed during the call (its output refused past the limit):
    // then nothing waits for the result, even a pending one.
    if (this.#port.inputClosed()) return;
    if (isPromiseLike<void>(result)) this.#port.decodePending(result, fin);
    else this.resume(fin);
  }

  /** `DecodeOutput.push`: count, check and deliver decoded bytes. */
  #pushDecoded(bytes: Uint8Array): boolean {
    // No decoders: the message was finished or dropped (the connection failed, or closed).
    if (this.#decoders === null) return false;
    const size = this.#decodedSize + bytes.length;
    const limit = this.#limits.maxMessageSize;
    if (size > limit) {
      // The bytes over the limit are refused before they are kept: a decompression bomb
      // costs at most `limit` bytes here.
      this.#port.fail(new ProtocolError(`decoded message exceeds the limit of ${limit} bytes`, ErrorCode.MESSAGE_TOO_BIG, CloseCode.MESSAGE_TOO_BIG));
      return false;
    }
    if (bytes.length === 0) return true;
    this.#decodedSize = size;
    if (!this.#binary) {
      // §8.1 on decoded text, as it is produced (RFC 7692 §6: the payload after decompression is the text).
      const utf8 = this.#codec.utf8Step(bytes, this.#decodedUtf8);
      this.#decodedUtf8 = utf8;
      if (utf8 === UTF8_INVALID) {
        this.#port.fail(new ProtocolError('invalid UTF-8 in text message', ErrorCode.INVALID_UTF8, CloseCode.INVALID_PAYLOAD));
        return false;
      }
    }
    this.#deliverPiece(bytes);
    return true;
  }

  #deliverPiece(data: Uint8Array): void {
    if (this.#streamMessages) {
      if (this.#streamHeld !== null) this.#emitFragment(this.#streamHeld, false);
      this.#streamHeld = data;
    } else {
      if (this.#firstPart === null) this.#firstPart = data;
      else (this.#parts ??= []).push(compactPiece(data));
      this.#partsLength += data.length;
    }
  }

  /** Stream mode: hand out the piece held back (held so the last one can say `last`). */
  #flushPieces(last: boolean): void {
    if (!this.#streamMessages) return;
    const held = this.#streamHeld;
    if (held !== null) {
      this.#streamHeld = null;
      this.#emitFragment(held, last);
    } else if (last) {
      this.#emitFragment(EMPTY, true);
    }
  }

  #emitFragment(data: Uint8Array, last: boolean): void {
    this.#port.emit({ type: 'fragment', binary: this.#binary, data, first: this.#streamFirst, last });
    this.#streamFirst = false;
  }

  #finishMessage(): void {
    if (this.#decoders !== null && !this.#binary && this.#decodedUtf8 !== UTF8_ACCEPT) {
      this.#port.fail(new ProtocolError('invalid UTF-8 in text message: it ends inside a character', ErrorCode.INVALID_UTF8, CloseCode.INVALID_PAYLOAD));
      return;
    }
    this.#decoders = null;
    if (this.#streamMessages) {
      this.#flushPieces(true);
      return;
    }
    // §5.4, §6.2: the message is the concatenation of its fragments, in the order they arrived.
    const first = this.#firstPart;
    const parts = this.#parts;
    let data: Uint8Array;
    if (this.#whole !== null) {
      data = this.#whole;
      this.#whole = null;
    } else if (first === null) {
      data = EMPTY;
    } else if (parts === null) {
      // The message arrived in one piece: hand out the view itself, no copy.
      data = first;
    } else {
      data = this.#allocate(this.#partsLength);
      data.set(first, 0);
      let offset = first.length;
      for (const part of parts) {
        data.set(part, offset);
        offset += part.length;
      }
      this.#parts = null;
    }
    this.#firstPart = null;
    this.#partsLength = 0;
    this.#port.emit({ type: 'message', binary: this.#binary, data });
  }
}
