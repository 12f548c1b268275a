/**
 * The incremental frame parser: every frame-level rule of RFC 6455 §5, with each input also
 * split at every byte and in seeded random chunks, against every codec.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import { type Codec, ParseStatus } from '../../src/codec/types.js';
import { type FrameHandler, type FrameParserOptions, FrameParser } from '../../src/protocol/parser.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { ErrorCode, type ProtocolError } from '../../src/shared/errors.js';
import { chunkings, randomChunks, splitAt } from '../helpers/chunkings.js';
import { bytesOf, frame } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';

interface ParsedFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  length: number;
  payload: Uint8Array;
  pieces: Uint8Array[];
}

interface ParseResult {
  frames: ParsedFrame[];
  error: ProtocolError | null;
  /** Frames complete when the error was reported. */
  framesAtError: number;
  /** Index of the chunk during which the error was reported. */
  errorChunk: number;
}

const SERVER: FrameParserOptions = { expectMasked: true, allowedRsv: 0, maxPayload: 1 << 20 };
const CLIENT: FrameParserOptions = { expectMasked: false, allowedRsv: 0, maxPayload: 1 << 20 };

/** A handler that sees every frame as a start, its pieces and an end, whether it arrived whole or not. */
type PieceHandler = Omit<FrameHandler, 'onFrame'>;

/**
 * A parser whose whole frames (one `onFrame` call each) reach `handler` as a start, the
 * payload as one piece (none when empty) and an end, stopping where a callback says so.
 */
function parserOf(codec: Codec, options: FrameParserOptions, handler: PieceHandler): FrameParser {
  return new FrameParser(codec, options, {
    onFrame: (opcode, fin, rsv, payload) =>
      handler.onFrameStart(opcode, fin, rsv, payload.length) && (payload.length === 0 || handler.onFramePayload(payload)) && handler.onFrameEnd(),
    onFrameStart: (opcode, fin, rsv, length) => handler.onFrameStart(opcode, fin, rsv, length),
    onFramePayload: (data) => handler.onFramePayload(data),
    onFrameEnd: () => handler.onFrameEnd(),
    onFrameError: (error) => handler.onFrameError(error),
  });
}

/** Run `chunks` through a parser and record everything its handler saw. */
function parse(codec: Codec, chunks: readonly Uint8Array[], options: FrameParserOptions, stopAfter?: number): ParseResult {
  const result: ParseResult = { frames: [], error: null, framesAtError: -1, errorChunk: -1 };
  let current: ParsedFrame | null = null;
  let chunkIndex = 0;
  const parser = parserOf(codec, options, {
    onFrameStart(opcode, fin, rsv, length) {
      expect(current).toBeNull();
      current = { opcode, fin, rsv, length, payload: new Uint8Array(0), pieces: [] };
      return true;
    },
    onFramePayload(data) {
      expect(data.length).toBeGreaterThan(0);
      // Copy now: a view is only promised to stay valid because the parser owns the chunk.
      current!.pieces.push(data);
      current!.payload = bytesOf(current!.payload, data.slice());
      return true;
    },
    onFrameEnd() {
      expect(current!.payload.length).toBe(current!.length);
      result.frames.push(current!);
      current = null;
      return stopAfter === undefined || result.frames.length < stopAfter;
    },
    onFrameError(error) {
      expect(result.error).toBeNull();
      result.error = error;
      result.framesAtError = result.frames.length;
      result.errorChunk = chunkIndex;
    },
  });
  for (const chunk of chunks) {
    parser.receive(chunk);
    chunkIndex++;
  }
  return result;
}

/** What a parse should produce, for comparing across chunkings. */
function summary(result: ParseResult) {
  return {
    frames: result.frames.map(({ opcode, fin, rsv, payload }) => ({ opcode, fin, rsv, payload: Array.from(payload) })),
    error: result.error === null ? null : { code: result.error.code, closeCode: result.error.closeCode, message: result.error.message },
    framesAtError: result.framesAtError,
  };
}

/** Parse `bytes` whole, then under every chunking; every chunking must agree with the whole. */
function parseEveryWay(codec: Codec, bytes: Uint8Array, options: FrameParserOptions, randomCount = 8): ReturnType<typeof summary> {
  const whole = summary(parse(codec, [bytes.slice()], options));
  for (const { name, chunks } of chunkings(bytes, { randomCount })) {
    expect(summary(parse(codec, chunks, options)), name).toEqual(whole);
  }
  return whole;
}

const payloadOf = (length: number, seed = 1): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

/**
 * Assert two byte arrays are equal, reporting the first difference. `toEqual` compares typed
 * arrays element by element through its generic algorithm: most of a second at 64 KiB.
 */
function expectBytes(actual: Uint8Array, expected: Uint8Array, label = 'payload'): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let at = 0;
  while (at < actual.length && actual[at] === expected[at]) at++;
  expect(at === actual.length ? null : { at, actual: actual[at], expected: expected[at] }, `${label}: first difference`).toBeNull();
}

describe.each(protocolCodecs)('FrameParser, %s codec', (_name, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe('§5.2 base framing', () => {
    it('§5.2 parses text, binary, ping, pong and close frames at every split', () => {
      const frames = [
        frame(Opcode.TEXT, 'hello', { mask: true }),
        frame(Opcode.BINARY, payloadOf(20), { mask: true }),
        frame(Opcode.PING, 'ping!', { mask: true }),
        frame(Opcode.PONG, '', { mask: true }),
        frame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8), { mask: true }),
      ];
      const result = parseEveryWay(codec, bytesOf(frames), SERVER);
      expect(result.error).toBeNull();
      expect(result.frames.map((f) => f.opcode)).toEqual([Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG, Opcode.CLOSE]);
      expect(result.frames[0]!.payload).toEqual(Array.from(utf8Encode('hello')));
      expect(result.frames[1]!.payload).toEqual(Array.from(payloadOf(20)));
    });

    it('§5.2 reads 7-bit, 16-bit and 64-bit lengths at their boundaries', () => {
      for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
        const payload = payloadOf(length, length);
        const bytes = frame(Opcode.BINARY, payload, { mask: true });
        const chunkSets = [
          [bytes.slice()],
          // Splits inside the header and just after it, then the payload in random pieces.
          ...[1, 2, 3, 4, 5, 9, 10, 13, 14].filter((at) => at < bytes.length).map((at) => splitAt(bytes, [at])),
          randomChunks(bytes, length, 4096),
        ];
        for (const chunks of chunkSets) {
          const result = parse(codec, chunks, SERVER);
          expect(result.error).toBeNull();
          expect(result.frames).toHaveLength(1);
          expectBytes(result.frames[0]!.payload, payload, `${length} bytes`);
        }
      }
    });

    it('§5.2 a frame with a non-minimal length encoding is accepted (only senders must be minimal)', () => {
      const header = Uint8Array.of(0x82, 126, 0, 5);
      const result = parseEveryWay(codec, bytesOf(header, Uint8Array.of(1, 2, 3, 4, 5)), CLIENT);
      expect(result.error).toBeNull();
      expect(result.frames[0]!.payload).toEqual([1, 2, 3, 4, 5]);
    });

    it('§5.2 reserved opcodes 0x3–0x7 and 0xB–0xF → 1002, named in the reason', () => {
      for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
        const result = parseEveryWay(codec, bytesOf(frame(Opcode.TEXT, 'ok'), frame(opcode, 'x')), CLIENT, 2);
        expect(result.frames).toHaveLength(1);
        expect(result.error).toMatchObject({ code: ErrorCode.RESERVED_OPCODE, closeCode: 1002, message: `reserved opcode 0x${opcode.toString(16)}` });
      }
    });

    it('§5.2 a reserved opcode is reported from the first two bytes, before the rest of the frame arrives', () => {
      const bytes = frame(0x3, payloadOf(300));
      const result = parse(codec, splitAt(bytes, [2, 4]), CLIENT);
      expect(result.error?.code).toBe(ErrorCode.RESERVED_OPCODE);
      expect(result.errorChunk).toBe(0);
    });

    it('§5.2 RSV bits on a reserved opcode: the RSV rule is checked first, and the reason names the opcode', () => {
      const result = parseEveryWay(codec, frame(0x3, 'x', { rsv: 4 }), CLIENT, 2);
      expect(result.error).toMatchObject({
        code: ErrorCode.RSV_NOT_ALLOWED,
        message: 'RSV bits 100 set on an 0x3 frame without a negotiated extension that allows them',
      });
    });

    it('§5.2 RSV bits without a negotiated extension → 1002, naming the bits', () => {
      for (const rsv of [1, 2, 4, 7]) {
        const result = parseEveryWay(codec, frame(Opcode.BINARY, 'x', { rsv }), CLIENT, 2);
        expect(result.error).toMatchObject({ code: ErrorCode.RSV_NOT_ALLOWED, closeCode: 1002 });
        expect(result.error!.message).toContain(rsv.toString(2).padStart(3, '0'));
      }
    });

    it('§5.2 a negotiated RSV bit is allowed on the first frame of a data message only', () => {
      const options = { ...CLIENT, allowedRsv: 0b100 };
      const ok = parseEveryWay(codec, bytesOf(frame(Opcode.TEXT, 'a', { rsv: 4, fin: false }), frame(Opcode.CONTINUATION, 'b')), options, 2);
      expect(ok.error).toBeNull();
      expect(ok.frames.map((f) => f.rsv)).toEqual([4, 0]);
      const onContinuation = parseEveryWay(codec, bytesOf(frame(Opcode.TEXT, 'a', { fin: false }), frame(Opcode.CONTINUATION, 'b', { rsv: 4 })), options, 2);
      expect(onContinuation.error?.code).toBe(ErrorCode.RSV_NOT_ALLOWED);
      const onControl = parseEveryWay(codec, frame(Opcode.PING, '', { rsv: 4 }), options, 2);
      expect(onControl.error?.code).toBe(ErrorCode.RSV_NOT_ALLOWED);
    });

    it('§5.2 a 64-bit length with the most significant bit set → 1002', () => {
      const bytes = Uint8Array.of(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1);
      const result = parseEveryWay(codec, bytes, CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.LENGTH_MSB_SET, closeCode: 1002 });
    });

    it('§7.4.1 a frame longer than the limit → 1009 from its header, before its payload arrives', () => {
      const options = { ...CLIENT, maxPayload: 1000 };
      const bytes = frame(Opcode.BINARY, payloadOf(1001));
      const result = parse(codec, splitAt(bytes, [4, 500]), options);
      expect(result.error).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_BIG, closeCode: 1009, message: 'frame payload of 1001 bytes exceeds the limit of 1000' });
      expect(result.errorChunk).toBe(0);
      expect(parse(codec, [frame(Opcode.BINARY, payloadOf(1000))], options).error).toBeNull();
    });

    it('§7.4.1 a 64-bit length above 2^53 is refused without being read as a number', () => {
      const bytes = Uint8Array.of(0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
      const result = parseEveryWay(codec, bytes, CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_BIG, closeCode: 1009 });
    });
  });

  describe('§5.1 and §5.3 masking', () => {
    it('§5.3 unmasks client frames with the key phase carried across every split', () => {
      const payload = payloadOf(300, 9);
      const key = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
      const result = parseEveryWay(codec, bytesOf(frame(Opcode.BINARY, payload, { mask: key }), frame(Opcode.TEXT, 'tail', { mask: key })), SERVER, 16);
      expect(result.frames[0]!.payload).toEqual(Array.from(payload));
      expect(result.frames[1]!.payload).toEqual(Array.from(utf8Encode('tail')));
    });

    it('§5.1 a server receiving an unmasked frame → 1002', () => {
      const result = parseEveryWay(codec, frame(Opcode.TEXT, 'hi'), SERVER);
      expect(result.error).toMatchObject({ code: ErrorCode.EXPECTED_MASK, closeCode: 1002 });
    });

    it('§5.1 a client receiving a masked frame → 1002', () => {
      const result = parseEveryWay(codec, frame(Opcode.TEXT, 'hi', { mask: true }), CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.UNEXPECTED_MASK, closeCode: 1002 });
    });
  });

  describe('§5.4 fragmentation', () => {
    it('§5.4 a fragmented message with control frames in between, at every split', () => {
      const bytes = bytesOf(
        frame(Opcode.TEXT, 'Hel', { fin: false, mask: true }),
        frame(Opcode.PING, 'p', { mask: true }),
        frame(Opcode.CONTINUATION, 'lo, ', { fin: false, mask: true }),
        frame(Opcode.PONG, 'q', { mask: true }),
        frame(Opcode.CONTINUATION, 'world', { mask: true }),
      );
      const result = parseEveryWay(codec, bytes, SERVER);
      expect(result.error).toBeNull();
      expect(result.frames.map((f) => [f.opcode, f.fin])).toEqual([
        [Opcode.TEXT, false],
        [Opcode.PING, true],
        [Opcode.CONTINUATION, false],
        [Opcode.PONG, true],
        [Opcode.CONTINUATION, true],
      ]);
    });

    it('§5.4 a continuation frame with no message in progress → 1002', () => {
      const result = parseEveryWay(codec, frame(Opcode.CONTINUATION, 'x'), CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.UNEXPECTED_CONTINUATION, closeCode: 1002 });
    });

    it('§5.4 a new data frame inside a fragmented message → 1002', () => {
      const result = parseEveryWay(codec, bytesOf(frame(Opcode.BINARY, 'a', { fin: false }), frame(Opcode.TEXT, 'b')), CLIENT);
      expect(result.frames).toHaveLength(1);
      expect(result.error).toMatchObject({ code: ErrorCode.EXPECTED_CONTINUATION, closeCode: 1002 });
    });

    it('§5.4 a new data frame inside a fragmented message is caught even when the first fragment was streamed', () => {
      const bytes = bytesOf(frame(Opcode.BINARY, payloadOf(200), { fin: false }), frame(Opcode.TEXT, 'b'));
      const result = parse(codec, splitAt(bytes, [50, 150]), CLIENT);
      expect(result.error?.code).toBe(ErrorCode.EXPECTED_CONTINUATION);
    });

    it('§5.4 a binary message whose middle fragment is streamed across chunks, then a text message', () => {
      const bytes = bytesOf(
        frame(Opcode.BINARY, 'ab', { fin: false }),
        frame(Opcode.CONTINUATION, payloadOf(300), { fin: false }),
        frame(Opcode.CONTINUATION, 'cd'),
        frame(Opcode.TEXT, 'ok'),
      );
      const result = parseEveryWay(codec, bytes, CLIENT, 4);
      expect(result.error).toBeNull();
      expect(result.frames.map((f) => [f.opcode, f.fin, f.payload.length])).toEqual([
        [Opcode.BINARY, false, 2],
        [Opcode.CONTINUATION, false, 300],
        [Opcode.CONTINUATION, true, 2],
        [Opcode.TEXT, true, 2],
      ]);
    });

    it('§5.5 fragmented control frames → 1002', () => {
      const result = parseEveryWay(codec, frame(Opcode.PING, 'x', { fin: false }), CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.CONTROL_FRAGMENTED, closeCode: 1002 });
    });

    it('§5.5 control frames over 125 bytes → 1002, with the length in the reason', () => {
      const result = parseEveryWay(codec, frame(Opcode.PONG, payloadOf(126)), CLIENT, 2);
      expect(result.error).toMatchObject({ code: ErrorCode.CONTROL_TOO_LONG, closeCode: 1002, message: 'a pong frame with an extended payload length (control frames carry at most 125 bytes)' });
    });
  });

  describe('§8.1 UTF-8 of text, as it arrives', () => {
    it('§8.1 a code point split across fragments and chunks is valid', () => {
      const euro = utf8Encode('€'); // e2 82 ac
      const bytes = bytesOf(
        frame(Opcode.TEXT, euro.subarray(0, 1), { fin: false }),
        frame(Opcode.CONTINUATION, euro.subarray(1, 2), { fin: false }),
        frame(Opcode.CONTINUATION, bytesOf(euro.subarray(2), utf8Encode(' ok'))),
      );
      expect(parseEveryWay(codec, bytes, CLIENT).error).toBeNull();
    });

    it('§8.1 invalid UTF-8 → 1007 as soon as the invalid byte arrives, mid-frame', () => {
      const payload = bytesOf(utf8Encode('a'.repeat(1000)), Uint8Array.of(0xff), utf8Encode('b'.repeat(1000)));
      const bytes = frame(Opcode.TEXT, payload);
      // The invalid byte is in the second chunk; the frame ends in the fourth.
      const result = parse(codec, splitAt(bytes, [500, 1010, 1500]), CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.INVALID_UTF8, closeCode: 1007 });
      expect(result.errorChunk).toBe(1);
    });

    it('§8.1 invalid UTF-8 in a continuation → 1007 before the message ends', () => {
      const bytes = bytesOf(frame(Opcode.TEXT, 'ok', { fin: false }), frame(Opcode.CONTINUATION, Uint8Array.of(0xc0, 0x80), { fin: false }));
      const result = parseEveryWay(codec, bytes, CLIENT);
      expect(result.error?.code).toBe(ErrorCode.INVALID_UTF8);
      expect(result.framesAtError).toBe(1);
    });

    it('§8.1 a text message ending inside a character → 1007, also when its last frame is streamed', () => {
      const bytes = bytesOf(frame(Opcode.TEXT, bytesOf(utf8Encode('x'.repeat(300)), Uint8Array.of(0xe2, 0x82))));
      const result = parseEveryWay(codec, bytes, CLIENT);
      expect(result.error).toMatchObject({ code: ErrorCode.INVALID_UTF8, closeCode: 1007 });
    });

    it('§8.1 binary payloads and text transformed by an extension are not validated here', () => {
      const options = { ...CLIENT, allowedRsv: 0b100 };
      const bytes = bytesOf(frame(Opcode.BINARY, Uint8Array.of(0xff)), frame(Opcode.TEXT, Uint8Array.of(0xff, 0xfe), { rsv: 4, fin: false }), frame(Opcode.CONTINUATION, Uint8Array.of(0xc0)));
      expect(parseEveryWay(codec, bytes, options).error).toBeNull();
    });
  });

  describe('streaming and copies', () => {
    it('a frame split across chunks is streamed as views of the chunks, never re-buffered', () => {
      const payload = payloadOf(10_000);
      const bytes = frame(Opcode.BINARY, payload);
      const chunks = splitAt(bytes, [3000, 6000, 9000]);
      const result = parse(codec, chunks, CLIENT);
      const pieces = result.frames[0]!.pieces;
      expect(pieces).toHaveLength(4);
      pieces.forEach((piece, i) => expect(piece.buffer).toBe(chunks[i]!.buffer));
      expectBytes(result.frames[0]!.payload, payload);
    });

    it('a frame that arrives whole is handed out as a view of its chunk', () => {
      const chunk = bytesOf(frame(Opcode.BINARY, payloadOf(50)), frame(Opcode.BINARY, payloadOf(60)));
      const result = parse(codec, [chunk], CLIENT);
      expect(result.frames.map((f) => f.pieces[0]!.buffer)).toEqual([chunk.buffer, chunk.buffer]);
      expect(result.frames[1]!.payload).toEqual(payloadOf(60));
    });

    it('a frame that arrives whole is one handler call with its payload; one split across chunks is a start, pieces and an end', () => {
      const whole = frame(Opcode.BINARY, payloadOf(40));
      const split = frame(Opcode.TEXT, 'streamed text');
      const empty = frame(Opcode.PING);
      const chunk = bytesOf(whole, empty, split.subarray(0, 5));
      const seen: unknown[] = [];
      const parser = new FrameParser(codec, CLIENT, {
        onFrame: (opcode, fin, rsv, payload) => (seen.push(['frame', opcode, fin, rsv, Array.from(payload)]), true),
        onFrameStart: (opcode, fin, rsv, length) => (seen.push(['start', opcode, fin, rsv, length]), true),
        onFramePayload: (data) => (seen.push(['payload', new TextDecoder().decode(data)]), true),
        onFrameEnd: () => (seen.push(['end']), true),
        onFrameError: (error) => expect.fail(error.message),
      });
      parser.receive(chunk.slice());
      parser.receive(split.slice(5));
      expect(seen).toEqual([
        ['frame', Opcode.BINARY, true, 0, Array.from(payloadOf(40))],
        ['frame', Opcode.PING, true, 0, []],
        ['start', Opcode.TEXT, true, 0, 13],
        ['payload', 'str'],
        ['payload', 'eamed text'],
        ['end'],
      ]);
    });

    it('payloads of whole frames are views of the chunk of its class (its Symbol.species), as subarray would make them', () => {
      class Bytes extends Uint8Array {}
      // As Node's Buffer, whose views are made by its species (FastBuffer), not by Buffer itself.
      class SpeciesView extends Uint8Array {}
      class WithSpecies extends Uint8Array {
        static get [Symbol.species]() {
          return SpeciesView;
        }
      }
      const bytes = bytesOf(frame(Opcode.BINARY, payloadOf(40), { mask: true }), frame(Opcode.TEXT, 'héllo', { mask: true }));
      for (const chunk of [new Uint8Array(bytes), new Bytes(bytes), new WithSpecies(bytes)]) {
        const payloads: Uint8Array[] = [];
        const parser = new FrameParser(codec, SERVER, {
          onFrame: (_opcode, _fin, _rsv, payload) => (payloads.push(payload), true),
          onFrameStart: () => expect.fail('whole frames only'),
          onFramePayload: () => expect.fail('whole frames only'),
          onFrameEnd: () => expect.fail('whole frames only'),
          onFrameError: (error) => expect.fail(error.message),
        });
        parser.receive(chunk);
        const viewClass = chunk.subarray(0, 1).constructor;
        expect(viewClass).toBe(chunk instanceof WithSpecies ? SpeciesView : chunk.constructor);
        expect(payloads.map((payload) => payload.constructor)).toEqual([viewClass, viewClass]);
        expect(payloads.every((payload) => payload.buffer === chunk.buffer)).toBe(true);
        expectBytes(payloads[0]!, payloadOf(40));
        expect(new TextDecoder().decode(payloads[1])).toBe('héllo');
      }
    });

    it('a streamed frame is unmasked straight into the handler\'s payload destination, one of the wrong length is not used', () => {
      const payload = payloadOf(3000);
      const bytes = frame(Opcode.BINARY, payload, { mask: true });
      for (const extra of [0, 1]) {
        const destination = new Uint8Array(payload.length + extra);
        const pieces: Uint8Array[] = [];
        const parser = new FrameParser(codec, SERVER, {
          onFrame: () => expect.fail('the frame is split'),
          onFrameStart: () => true,
          payloadDestination: () => destination,
          onFramePayload: (data) => (pieces.push(data), true),
          onFrameEnd: () => true,
          onFrameError: (error) => expect.fail(error.message),
        });
        for (const chunk of splitAt(bytes, [10, 1500, 1501])) parser.receive(chunk);
        expect(bytesOf(...pieces.map((p) => p.slice()))).toEqual(payload);
        if (extra === 0) {
          pieces.forEach((piece) => expect(piece.buffer).toBe(destination.buffer));
          expect(destination).toEqual(payload);
        } else {
          pieces.forEach((piece) => expect(piece.buffer).not.toBe(destination.buffer));
          expect(destination.every((b) => b === 0)).toBe(true);
        }
      }
    });

    it('a chunk with more frames than the table has rows is parsed in several passes', () => {
      const frames = Array.from({ length: 50 }, (_, i) => frame(Opcode.BINARY, payloadOf(i), { mask: true }));
      for (const chunks of [[bytesOf(frames)], randomChunks(bytesOf(frames), 3, 40)]) {
        const result = parse(codec, chunks, { ...SERVER, tableCapacity: 3 });
        expect(result.error).toBeNull();
        expect(result.frames.map((f) => f.payload)).toEqual(frames.map((_, i) => payloadOf(i)));
      }
    });

    it('after an error, everything received is discarded', () => {
      const chunks = [frame(Opcode.CONTINUATION, 'x'), frame(Opcode.TEXT, 'later')];
      const result = parse(codec, chunks, CLIENT);
      expect(result.error?.code).toBe(ErrorCode.UNEXPECTED_CONTINUATION);
      expect(result.frames).toHaveLength(0);
    });

    it('atFrameBoundary is true only between frames: not with part of a header or a payload held', () => {
      const parser = parserOf(codec, CLIENT, { onFrameStart: () => true, onFramePayload: () => true, onFrameEnd: () => true, onFrameError: () => {} });
      const bytes = frame(Opcode.BINARY, payloadOf(200));
      expect(parser.atFrameBoundary).toBe(true);
      parser.receive(bytes.slice(0, 1));
      expect(parser.atFrameBoundary).toBe(false);
      parser.receive(bytes.slice(1, 100));
      expect(parser.atFrameBoundary).toBe(false);
      parser.receive(bytes.slice(100));
      expect(parser.atFrameBoundary).toBe(true);
      expect(parser.stopped).toBe(false);
    });

    const stopCases = [
      ['start', 'a frame long enough to be streamed', frame(Opcode.BINARY, payloadOf(300))],
      ['payload', 'a frame long enough to be streamed', frame(Opcode.BINARY, payloadOf(300))],
      ['end', 'a frame long enough to be streamed', frame(Opcode.BINARY, payloadOf(300))],
      ['start', 'an empty frame', frame(Opcode.PONG)],
      ['end', 'an empty frame', frame(Opcode.PONG)],
    ] as const;
    for (const [callback, what, stopFrame] of stopCases) {
      it(`a handler that returns false from on-frame-${callback} of ${what} stops the parser there, however the bytes are split`, () => {
        const bytes = bytesOf(frame(Opcode.TEXT, 'one'), stopFrame, frame(Opcode.TEXT, 'three'));
        for (const { name, chunks } of chunkings(bytes, { randomCount: 4 })) {
          const seen: string[] = [];
          let frames = 0;
          // Stop at the second frame.
          const stopHere = (event: string) => {
            seen.push(event);
            return !(event === callback && frames === 1);
          };
          const parser = parserOf(codec, CLIENT, {
            onFrameStart: () => stopHere('start'),
            onFramePayload: () => stopHere('payload'),
            onFrameEnd: () => {
              const go = stopHere('end');
              frames++;
              return go;
            },
            onFrameError: () => seen.push('error'),
          });
          for (const chunk of chunks) parser.receive(chunk);
          expect(parser.stopped, name).toBe(true);
          expect(seen.at(-1), name).toBe(callback);
          expect(seen.filter((e) => e === 'start'), name).toHaveLength(2);
          expect(seen.filter((e) => e === 'end'), name).toHaveLength(callback === 'end' ? 2 : 1);
          expect(seen, name).not.toContain('error');
        }
      });
    }

    it('§8.1 a handler that refuses a frame at its start is not told of the invalid UTF-8 in it', () => {
      const bytes = bytesOf(frame(Opcode.TEXT, 'ok'), frame(Opcode.TEXT, Uint8Array.of(0x61, 0xff)));
      for (const { name, chunks } of chunkings(bytes, { randomCount: 2 })) {
        const seen: string[] = [];
        const parser = parserOf(codec, CLIENT, {
          onFrameStart: () => (seen.push('start'), seen.length === 1),
          onFramePayload: () => (seen.push('payload'), true),
          onFrameEnd: () => (seen.push('end'), true),
          onFrameError: () => seen.push('error'),
        });
        for (const chunk of chunks) parser.receive(chunk);
        // (The payload of 'ok' comes in as many pieces as the chunking cuts it into.)
        expect(seen.filter((event) => event !== 'payload'), name).toEqual(['start', 'end', 'start']);
      }
    });

    it('a parse nested in a handler gets a table of its own and leaves the outer parse intact', () => {
      const inner: number[][] = [];
      const outer: number[][] = [];
      const innerParser = parserOf(codec, CLIENT, {
        onFrameStart: () => true,
        onFramePayload: (data) => (inner.push(Array.from(data)), true),
        onFrameEnd: () => true,
        onFrameError: (error) => expect.fail(error.message),
      });
      const outerParser = parserOf(codec, CLIENT, {
        onFrameStart: () => true,
        onFramePayload: (data) => (outer.push(Array.from(data)), true),
        onFrameEnd: () => {
          if (outer.length === 1) innerParser.receive(bytesOf(frame(Opcode.BINARY, Uint8Array.of(7)), frame(Opcode.BINARY, Uint8Array.of(8, 9))));
          return true;
        },
        onFrameError: (error) => expect.fail(error.message),
      });
      outerParser.receive(bytesOf(frame(Opcode.BINARY, Uint8Array.of(1)), frame(Opcode.BINARY, Uint8Array.of(2, 3)), frame(Opcode.BINARY, Uint8Array.of(4, 5, 6))));
      expect(outer).toEqual([[1], [2, 3], [4, 5, 6]]);
      expect(inner).toEqual([[7], [8, 9]]);
    });

    it('stop() discards everything received after it, even the rest of a frame in progress', () => {
      const seen: string[] = [];
      const parser = parserOf(codec, CLIENT, {
        onFrameStart: () => (seen.push('start'), true),
        onFramePayload: () => (seen.push('payload'), true),
        onFrameEnd: () => (seen.push('end'), true),
        onFrameError: () => seen.push('error'),
      });
      const bytes = frame(Opcode.BINARY, payloadOf(100));
      parser.receive(bytes.slice(0, 50));
      expect(parser.stopped).toBe(false);
      parser.stop();
      expect(parser.stopped).toBe(true);
      parser.receive(bytes.slice(50));
      parser.receive(frame(Opcode.TEXT, 'later'));
      expect(seen).toEqual(['start', 'payload']);
    });

    it('a handler that returns false stops the parser for good', () => {
      const bytes = bytesOf(frame(Opcode.TEXT, 'one'), frame(Opcode.TEXT, 'two'), frame(Opcode.TEXT, 'three'));
      for (const { name, chunks } of chunkings(bytes, { randomCount: 2 })) {
        const result = parse(codec, chunks, CLIENT, 1);
        expect(result.frames, name).toHaveLength(1);
        expect(result.error).toBeNull();
      }
    });
  });
});

describe('FrameParser over a defective codec', () => {
  it('fails with 1011 rather than hold 14 or more bytes as an incomplete header', () => {
    const claimsNeedMore: Codec = {
      ...portableCodec,
      parseFrames(chunk, table) {
        Object.assign(table, { count: 0, status: ParseStatus.NEED_MORE, consumed: 0, needed: 1, partialHeader: false });
        Object.assign(table, { data: chunk, dataOffset: 0, transient: false });
      },
    };
    const result = parse(claimsNeedMore, [new Uint8Array(20)], CLIENT);
    expect(result.error).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      closeCode: 1011,
      message: 'codec reported an incomplete header of 20 bytes',
    });
  });
});
