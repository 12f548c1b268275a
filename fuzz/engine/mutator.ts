/**
 * Mutations: the byte-level ones every coverage-guided fuzzer has (bit flips, interesting
 * bytes, inserts, deletes, duplicated ranges, splices with other corpus entries), and
 * frame-aware ones that know RFC 6455 §5.2's header layout — they find frame boundaries and
 * change FIN, RSV bits, opcodes, the mask bit and the length field (to the values at every
 * limit), insert whole frames, repeat a frame into a flood, and change how the data is split
 * into chunks (the input's split seed).
 */
import { buildFrame } from '../../test/codec/frame-builder.js';
import { INPUT_HEADER_LENGTH } from '../targets/types.js';
import type { Random } from './random.js';

/** Byte values at boundaries: length markers, opcodes with bits set, UTF-8 lead and continuation bytes. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x88, 0x89, 0x8a, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xfe, 0xff, 0x0d, 0x0a, 0x20, 0x2c, 0x22, 0x3b, 0x3d, 0x5c];

/** Payload lengths at the limits: 7/16/64-bit encodings, control frames, 2^31, 2^32, 2^53, the sign bit. */
const INTERESTING_LENGTHS: readonly bigint[] = [
  0n, 1n, 2n, 125n, 126n, 127n, 200n, 300n, 1000n, 1001n, 65535n, 65536n,
  2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n,
];

/** Payloads worth inserting: empty, text, invalid UTF-8 of each kind, close payloads. */
const INTERESTING_PAYLOADS: readonly Uint8Array[] = [
  new Uint8Array(0),
  new TextEncoder().encode('hello'),
  Uint8Array.of(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5), // κόσμε
  Uint8Array.of(0xc0, 0xaf), // overlong
  Uint8Array.of(0xed, 0xa0, 0x80), // surrogate
  Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
  Uint8Array.of(0xe2, 0x82), // truncated
  Uint8Array.of(0x03, 0xe8), // close 1000
  Uint8Array.of(0x03, 0xed), // close 1005 (reserved)
  Uint8Array.of(0x0f, 0xa0, 0x62, 0x79, 0x65), // close 4000 "bye"
  Uint8Array.of(0x03), // 1-byte close payload
  new Uint8Array(125).fill(0x61),
  new Uint8Array(126).fill(0x62),
];

/** A frame's place in the data: where it starts, its header and payload lengths. */
interface FrameSpan {
  readonly start: number;
  readonly headerLength: number;
  readonly payloadLength: number;
}

/** The frames at `data[from..]`, as far as their headers can be read. */
export function frameSpans(data: Uint8Array, from: number): FrameSpan[] {
  const spans: FrameSpan[] = [];
  let at = from;
  while (at + 2 <= data.length && spans.length < 4096) {
    const b1 = data[at + 1]!;
    let headerLength = 2;
    let payloadLength = b1 & 0x7f;
    if (payloadLength === 126) {
      if (at + 4 > data.length) break;
      payloadLength = (data[at + 2]! << 8) | data[at + 3]!;
      headerLength = 4;
    } else if (payloadLength === 127) {
      if (at + 10 > data.length) break;
      let value = 0;
      for (let i = 2; i < 10; i++) value = value * 256 + data[at + i]!;
      payloadLength = value;
      headerLength = 10;
    }
    if ((b1 & 0x80) !== 0) headerLength += 4;
    spans.push({ start: at, headerLength, payloadLength });
    if (payloadLength > data.length) break;
    at += headerLength + payloadLength;
  }
  return spans;
}

function insertAt(data: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + bytes.length);
  out.set(data.subarray(0, at), 0);
  out.set(bytes, at);
  out.set(data.subarray(at), at + bytes.length);
  return out;
}

function removeRange(data: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(data.length - (end - start));
  out.set(data.subarray(0, start), 0);
  out.set(data.subarray(end), start);
  return out;
}

function replaceRange(data: Uint8Array, start: number, end: number, bytes: Uint8Array): Uint8Array {
  return insertAt(removeRange(data, start, end), start, bytes);
}

/** Produces mutated inputs from corpus entries. */
export class Mutator {
  readonly #random: Random;
  readonly #maxLength: number;
  readonly #frameOffset: (input: Uint8Array) => number | null;

  /**
   * @param frameOffset where frames start in an input (the target's), null when it has none.
   */
  constructor(random: Random, maxLength: number, frameOffset: (input: Uint8Array) => number | null) {
    this.#random = random;
    this.#maxLength = maxLength;
    this.#frameOffset = frameOffset;
  }

  /** A new input from `base`, with 1, 2, 4 or 8 stacked mutations; `corpus` supplies splices. */
  mutate(base: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
    const random = this.#random;
    let input: Uint8Array = base.length >= INPUT_HEADER_LENGTH ? base.slice() : new Uint8Array(INPUT_HEADER_LENGTH);
    const count = 1 << random.below(4);
    for (let i = 0; i < count; i++) {
      const offset = this.#frameOffset(input);
      input = offset !== null && random.chance(1, 2) ? this.#mutateFrames(input, offset) : this.#mutateBytes(input, corpus);
      if (input.length > this.#maxLength) input = input.slice(0, this.#maxLength);
    }
    return input;
  }

  #mutateBytes(input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
    const random = this.#random;
    const dataStart = INPUT_HEADER_LENGTH;
    const dataLength = input.length - dataStart;
    const position = (): number => dataStart + random.below(dataLength + 1);
    switch (random.below(10)) {
      case 0: // flip a bit
        if (dataLength > 0) input[dataStart + random.below(dataLength)]! ^= 1 << random.below(8);
        return input;
      case 1: // an interesting byte
        if (dataLength > 0) input[dataStart + random.below(dataLength)] = random.pick(INTERESTING_BYTES);
        return input;
      case 2: { // insert random bytes
        const bytes = new Uint8Array(random.between(1, 8));
        random.fill(bytes);
        return insertAt(input, position(), bytes);
      }
      case 3: { // delete a range
        if (dataLength === 0) return input;
        const start = dataStart + random.below(dataLength);
        return removeRange(input, start, Math.min(input.length, start + random.between(1, 16)));
      }
      case 4: { // duplicate a range elsewhere
        if (dataLength === 0) return input;
        const start = dataStart + random.below(dataLength);
        const piece = input.slice(start, Math.min(input.length, start + random.between(1, 64)));
        return insertAt(input, position(), piece);
      }
      case 5: { // splice: this input's prefix, another's suffix
        const other = random.pick(corpus);
        if (other.length <= dataStart) return input;
        const cut = position();
        const from = dataStart + random.below(other.length - dataStart);
        const out = new Uint8Array(cut + other.length - from);
        out.set(input.subarray(0, cut), 0);
        out.set(other.subarray(from), cut);
        return out;
      }
      case 6: { // insert a piece of another input
        const other = random.pick(corpus);
        if (other.length <= dataStart) return input;
        const from = dataStart + random.below(other.length - dataStart);
        return insertAt(input, position(), other.slice(from, Math.min(other.length, from + random.between(1, 128))));
      }
      case 7: // a new split seed (sometimes 0: one chunk)
        new DataView(input.buffer, input.byteOffset).setUint32(1, random.chance(1, 8) ? 0 : random.next(), true);
        return input;
      case 8: // flip a flag
        input[0]! ^= 1 << random.below(8);
        return input;
      default: // truncate
        return dataLength === 0 ? input : input.slice(0, dataStart + random.below(dataLength));
    }
  }

  #mutateFrames(input: Uint8Array, offset: number): Uint8Array {
    const random = this.#random;
    const spans = frameSpans(input, offset);
    const span = spans.length === 0 ? null : random.pick(spans);
    const boundary = (): number => (spans.length === 0 ? offset : random.chance(1, 4) ? input.length : random.pick(spans).start);
    switch (random.below(9)) {
      case 0: // FIN
        if (span !== null) input[span.start]! ^= 0x80;
        return input;
      case 1: // RSV bits
        if (span !== null) input[span.start]! ^= 0x10 << random.below(3);
        return input;
      case 2: // opcode
        if (span !== null) input[span.start] = (input[span.start]! & 0xf0) | (random.chance(3, 4) ? random.pick([0, 1, 2, 8, 9, 10]) : random.below(16));
        return input;
      case 3: // mask bit
        if (span !== null && span.start + 1 < input.length) input[span.start + 1]! ^= 0x80;
        return input;
      case 4: { // the length field, re-encoded with a value at a limit (the payload bytes stay)
        if (span === null) return input;
        const length = random.chance(3, 4) ? random.pick(INTERESTING_LENGTHS) : BigInt(random.below(70000));
        const masked = (input[span.start + 1]! & 0x80) !== 0;
        const bits = random.chance(1, 4) ? random.pick([7, 16, 64] as const) : length < 126n ? 7 : length < 65536n ? 16 : 64;
        const header: number[] = [input[span.start]!];
        const maskBit = masked ? 0x80 : 0;
        if (bits === 7) header.push(maskBit | Number(length & 0x7fn));
        else if (bits === 16) header.push(maskBit | 126, Number((length >> 8n) & 0xffn), Number(length & 0xffn));
        else {
          header.push(maskBit | 127);
          for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((length >> shift) & 0xffn));
        }
        const oldLengthEnd = span.start + span.headerLength - (masked ? 4 : 0);
        return replaceRange(input, span.start, Math.min(input.length, oldLengthEnd), Uint8Array.from(header));
      }
      case 5: { // insert a whole frame
        const opcode = random.chance(1, 8) ? random.below(16) : random.pick([0, 1, 2, 8, 9, 10]);
        const masked = spans.length > 0 ? (input[spans[0]!.start + 1]! & 0x80) !== 0 : random.chance(1, 2);
        const key = new Uint8Array(4);
        random.fill(key);
        const payload = random.chance(3, 4) ? random.pick(INTERESTING_PAYLOADS) : randomBytes(random, random.below(300));
        const frame = buildFrame({ opcode, payload, fin: random.chance(3, 4), rsv: random.chance(1, 8) ? random.below(8) : 0, maskKey: masked ? key : null });
        return insertAt(input, boundary(), frame);
      }
      case 6: { // repeat a frame: a flood of it
        if (span === null) return input;
        const end = Math.min(input.length, span.start + span.headerLength + span.payloadLength);
        const frame = input.slice(span.start, end);
        const times = random.between(2, 64);
        const flood = new Uint8Array(frame.length * times);
        for (let i = 0; i < times; i++) flood.set(frame, i * frame.length);
        return insertAt(input, end, flood);
      }
      case 7: { // cut inside a frame
        if (span === null) return input;
        const end = Math.min(input.length, span.start + span.headerLength + span.payloadLength);
        return input.slice(0, span.start + random.below(end - span.start + 1));
      }
      default: { // drop a frame
        if (span === null) return input;
        const end = Math.min(input.length, span.start + span.headerLength + span.payloadLength);
        return removeRange(input, span.start, end);
      }
    }
  }
}

function randomBytes(random: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  random.fill(bytes);
  return bytes;
}
