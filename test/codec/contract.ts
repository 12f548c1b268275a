/**
 * The codec contract suite: one set of expectations, run unchanged against every codec
 * implementation (portable, wasm debug, wasm release). The portable codec is the reference;
 * anything it does here, every implementation must do. No node:* imports: the same suite runs
 * in a browser worker.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import {
  type Codec,
  Fragment,
  type FragmentState,
  FrameError,
  FrameTable,
  frameHeaderLength,
  type ParseOptions,
  ParseStatus,
  UTF8_ACCEPT,
  UTF8_INVALID,
} from '../../src/codec/types.js';
import { utf8Cases } from '../vectors/utf8.js';
import { buildFrame, concat } from './frame-builder.js';

const SERVER: ParseOptions = { expectMasked: true, allowedRsv: 0, maxPayload: 100 * 1024 * 1024, validateUtf8: true };
const CLIENT: ParseOptions = { ...SERVER, expectMasked: false };
const KEY = fromHex('37fa213d');

function freshState(): FragmentState {
  return { fragment: Fragment.NONE, utf8: UTF8_ACCEPT };
}

/** The validator state after each piece of `data` cut at `cuts` (ascending), fed in order. */
export function utf8StatesThrough(codec: Codec, data: Uint8Array, cuts: readonly number[]): number[] {
  const states: number[] = [];
  let state = UTF8_ACCEPT;
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    state = codec.utf8Step(data.subarray(at, cut), state);
    states.push(state);
    at = cut;
  }
  return states;
}

/** Deterministic pseudo-random bytes (xorshift32) so failures reproduce. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function referenceMask(data: Uint8Array, key: Uint8Array, phase: number): Uint8Array {
  return data.map((b, i) => b ^ key[(phase + i) & 3]!);
}

interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  headerLength: number;
  payload: string;
  maskKey: string;
}

/** Parse `bytes` as one chunk and return the described frames plus the table's outcome. */
function parseAll(codec: Codec, bytes: Uint8Array, options: ParseOptions, state = freshState(), capacity = 64) {
  const table = new FrameTable(capacity);
  const chunk = bytes.slice(); // parseFrames unmasks in place
  codec.parseFrames(chunk, table, options, state);
  const frames: ParsedFrame[] = [];
  for (let row = 0; row < table.count; row++) {
    frames.push({
      fin: table.fin(row),
      rsv: table.rsv(row),
      opcode: table.opcode(row),
      masked: table.masked(row),
      headerLength: table.headerLength(row),
      payload: toHex(table.payload(row)),
      maskKey: toHex(table.maskKey(row)),
    });
  }
  return {
    frames,
    status: table.status,
    consumed: table.consumed,
    needed: table.needed,
    partialHeader: table.partialHeader,
    partialPayloadLength: table.partialPayloadLength,
    errorOffset: table.errorOffset,
    state: { ...state },
    table,
  };
}

export function defineCodecContract(name: string, makeCodec: () => Codec | Promise<Codec>): void {
  describe(`${name} codec contract`, () => {
    let codec: Codec;
    const get = async () => (codec ??= await makeCodec());

    describe('mask', () => {
      it('§5.7 unmasks the RFC example "Hello"', async () => {
        const c = await get();
        const payload = fromHex('7f9f4d5158');
        expect(c.mask(payload, KEY, 0)).toBe(1);
        expect(new TextDecoder().decode(payload)).toBe('Hello');
      });

      it('matches the reference at every length 0..300, every phase, every alignment', async () => {
        const c = await get();
        const backing = pseudoRandomBytes(300 + 8, 7);
        for (let length = 0; length <= 300; length += length < 70 ? 1 : 13) {
          for (let phase = 0; phase < 4; phase++) {
            for (let align = 0; align < 4; align++) {
              const data = backing.slice().subarray(align, align + length);
              const expected = referenceMask(data, KEY, phase);
              expect(c.mask(data, KEY, phase)).toBe((phase + length) & 3);
              expect(toHex(data)).toBe(toHex(expected));
            }
          }
        }
      });

      it('unmasks a payload piece by piece with the returned phase, at every split', async () => {
        const c = await get();
        const plain = pseudoRandomBytes(150, 3);
        const whole = referenceMask(plain, KEY, 0);
        for (let split = 0; split <= plain.length; split++) {
          const data = whole.slice();
          const phase = c.mask(data.subarray(0, split), KEY, 0);
          c.mask(data.subarray(split), KEY, phase);
          expect(toHex(data)).toBe(toHex(plain));
        }
      });

      it('handles large payloads (1 MiB) and leaves bytes outside the view untouched', async () => {
        const c = await get();
        const backing = pseudoRandomBytes((1 << 20) + 2, 11);
        const data = backing.subarray(1, backing.length - 1);
        const expected = referenceMask(data, KEY, 2);
        const before = [backing[0], backing[backing.length - 1]];
        c.mask(data, KEY, 2);
        expect(data.every((b, i) => b === expected[i])).toBe(true);
        expect([backing[0], backing[backing.length - 1]]).toEqual(before);
      });

      it('maskInto masks into the target at an offset and leaves the source intact', async () => {
        const c = await get();
        for (const length of [0, 1, 5, 16, 63, 64, 65, 125, 1000, 70000]) {
          const source = pseudoRandomBytes(length, length + 1);
          const copy = source.slice();
          const target = new Uint8Array(length + 7).fill(0xaa);
          expect(c.maskInto(source, KEY, target, 3, 1)).toBe((1 + length) & 3);
          expect(toHex(source)).toBe(toHex(copy));
          expect(toHex(target.subarray(3, 3 + length))).toBe(toHex(referenceMask(source, KEY, 1)));
          expect([...target.subarray(0, 3), ...target.subarray(3 + length)].every((b) => b === 0xaa)).toBe(true);
        }
      });

      it('maskInto refuses a target without room', async () => {
        const c = await get();
        expect(() => c.maskInto(new Uint8Array(10), KEY, new Uint8Array(12), 3)).toThrow(RangeError);
      });
    });

    describe('UTF-8 validation', () => {
      for (const tc of utf8Cases) {
        it(`${tc.valid ? 'accepts' : 'rejects'} ${tc.name}, whole and at every split`, async () => {
          const c = await get();
          expect(c.validateUtf8(tc.bytes)).toBe(tc.valid);
          for (let split = 0; split <= tc.bytes.length; split++) {
            const afterFirst = c.utf8Step(tc.bytes.subarray(0, split), UTF8_ACCEPT);
            const afterSecond = c.utf8Step(tc.bytes.subarray(split), afterFirst);
            const first = afterFirst !== UTF8_INVALID;
            const second = afterSecond !== UTF8_INVALID;
            expect(afterSecond === UTF8_ACCEPT).toBe(tc.valid);
            if (tc.failsAt !== null) {
              // Fail fast (§8.1): the verdict comes with the chunk holding the offending byte.
              expect(first).toBe(tc.failsAt >= split);
              expect(second).toBe(false);
            } else {
              expect(first).toBe(true);
              expect(second).toBe(true);
            }
          }
        });
      }

      it('fails at the first invalid byte, byte by byte', async () => {
        const c = await get();
        for (const tc of utf8Cases.filter((t) => t.failsAt !== null)) {
          let state = UTF8_ACCEPT;
          for (let i = 0; i < tc.bytes.length; i++) {
            state = c.utf8Step(tc.bytes.subarray(i, i + 1), state);
            expect(state === UTF8_INVALID).toBe(i >= tc.failsAt!);
          }
        }
      });

      it('uses the canonical state numbering', async () => {
        const c = await get();
        const expectations: Array<[string, number]> = [
          ['', 0], ['c2', 1], ['e1', 2], ['f1', 3], ['e0', 4], ['ed', 5], ['f0', 6], ['f4', 7],
          ['e0a0', 1], ['f090', 2], ['f1 80 80', 1], ['80', UTF8_INVALID],
        ];
        for (const [hex, state] of expectations) expect(c.utf8Step(fromHex(hex), UTF8_ACCEPT), hex).toBe(state);
        expect(c.utf8Step(fromHex('41'), UTF8_INVALID)).toBe(UTF8_INVALID);
      });

      it('validates every code point boundary of long mixed inputs at unaligned offsets', async () => {
        const c = await get();
        const text = utf8Encode('ASCII run '.repeat(20) + 'κόσμε мир 世界 🌍🚀 ' .repeat(30) + 'end');
        for (let offset = 0; offset < 4; offset++) {
          const backing = new Uint8Array(text.length + offset);
          backing.set(text, offset);
          expect(c.validateUtf8(backing.subarray(offset))).toBe(true);
          const broken = backing.slice();
          broken[offset + 250] = 0xff;
          expect(c.validateUtf8(broken.subarray(offset))).toBe(false);
        }
      });
    });

    describe('parseFrames: RFC 6455 §5.7 examples', () => {
      it('§5.7 a single-frame unmasked text message (client side)', async () => {
        const r = parseAll(await get(), fromHex('810548656c6c6f'), CLIENT);
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.consumed).toBe(7);
        expect(r.frames).toEqual([
          { fin: true, rsv: 0, opcode: Opcode.TEXT, masked: false, headerLength: 2, payload: toHex(utf8Encode('Hello')), maskKey: '00000000' },
        ]);
      });

      it('§5.7 a single-frame masked text message (server side)', async () => {
        const r = parseAll(await get(), fromHex('818537fa213d7f9f4d5158'), SERVER);
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.frames).toEqual([
          { fin: true, rsv: 0, opcode: Opcode.TEXT, masked: true, headerLength: 6, payload: toHex(utf8Encode('Hello')), maskKey: '37fa213d' },
        ]);
      });

      it('§5.7 a fragmented unmasked text message', async () => {
        const r = parseAll(await get(), fromHex('010348656c 80026c6f'), CLIENT);
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.frames.map((f) => [f.fin, f.opcode, f.payload])).toEqual([
          [false, Opcode.TEXT, toHex(utf8Encode('Hel'))],
          [true, Opcode.CONTINUATION, toHex(utf8Encode('lo'))],
        ]);
        expect(r.state).toEqual({ fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
      });

      it('§5.7 unmasked ping and masked pong', async () => {
        const c = await get();
        const ping = parseAll(c, fromHex('890548656c6c6f'), CLIENT);
        expect(ping.frames[0]).toMatchObject({ opcode: Opcode.PING, payload: toHex(utf8Encode('Hello')) });
        const pong = parseAll(c, fromHex('8a8537fa213d7f9f4d5158'), SERVER);
        expect(pong.frames[0]).toMatchObject({ opcode: Opcode.PONG, masked: true, payload: toHex(utf8Encode('Hello')) });
      });

      it('§5.7 256 bytes binary in a 16-bit length and 64 KiB in a 64-bit length', async () => {
        const c = await get();
        const small = pseudoRandomBytes(256, 1);
        const r1 = parseAll(c, concat(fromHex('827e0100'), small), CLIENT);
        expect(r1.frames).toEqual([{ fin: true, rsv: 0, opcode: 2, masked: false, headerLength: 4, payload: toHex(small), maskKey: '00000000' }]);
        const big = pseudoRandomBytes(65536, 2);
        const r2 = parseAll(c, concat(fromHex('827f0000000000010000'), big), CLIENT);
        expect(r2.frames[0]!.headerLength).toBe(10);
        expect(r2.frames[0]!.payload).toBe(toHex(big));
      });
    });

    describe('parseFrames: batches, splits and partial frames', () => {
      it('describes every frame of a chunk in one call, interleaving control frames', async () => {
        const bytes = concat(
          buildFrame({ opcode: Opcode.TEXT, fin: false, payload: utf8Encode('ab'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.PING, payload: utf8Encode('p'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.CONTINUATION, payload: utf8Encode('cd'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(300).fill(7), maskKey: KEY }),
          buildFrame({ opcode: Opcode.CLOSE, payload: fromHex('03e8'), maskKey: KEY }),
        );
        const r = parseAll(await get(), bytes, SERVER);
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.consumed).toBe(bytes.length);
        expect(r.frames.map((f) => f.opcode)).toEqual([1, 9, 0, 2, 8]);
        expect(r.frames[4]!.payload).toBe('03e8');
      });

      it('reports NEED_MORE with the exact bytes needed at every split of a chunk', async () => {
        const c = await get();
        const frames = [
          buildFrame({ opcode: Opcode.TEXT, payload: utf8Encode('héllo'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.BINARY, payload: pseudoRandomBytes(200, 5), maskKey: KEY }),
          buildFrame({ opcode: Opcode.BINARY, payload: pseudoRandomBytes(70000, 6), maskKey: KEY }),
        ];
        const bytes = concat(...frames);
        const ends = [frames[0]!.length, frames[0]!.length + frames[1]!.length, bytes.length];
        const step = (split: number) => (split < 400 || split > bytes.length - 20 ? 1 : 997);
        for (let split = 0; split <= bytes.length; split += step(split)) {
          const r = parseAll(c, bytes.subarray(0, split), SERVER);
          const complete = ends.filter((e) => e <= split).length;
          expect(r.frames.length).toBe(complete);
          const frameStart = complete === 0 ? 0 : ends[complete - 1]!;
          expect(r.consumed).toBe(frameStart);
          if (split === frameStart) {
            expect(r.status).toBe(ParseStatus.OK);
            continue;
          }
          expect(r.status).toBe(ParseStatus.NEED_MORE);
          const frameEnd = ends[complete]!;
          const headerLength = [6, 8, 14][complete]!;
          if (split - frameStart >= headerLength) {
            expect(r.partialHeader).toBe(true);
            expect(r.partialPayloadLength).toBe(frameEnd - frameStart - headerLength);
            expect(r.needed).toBe(frameEnd - split);
            expect(r.table.payloadLength(complete)).toBe(split - frameStart - headerLength);
            expect(r.table.headerOffset(complete) - r.table.dataOffset).toBe(frameStart);
            expect(toHex(r.table.maskKey(complete))).toBe(toHex(KEY));
          } else {
            expect(r.partialHeader).toBe(false);
            // Before the second byte the header length is unknown: 2 bytes are needed.
            expect(r.needed).toBe(split - frameStart < 2 ? 2 - (split - frameStart) : headerLength - (split - frameStart));
          }
        }
      });

      it('leaves a partial frame payload masked for the caller to stream', async () => {
        const c = await get();
        const payload = pseudoRandomBytes(100, 9);
        const frame = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY });
        const r = parseAll(c, frame.subarray(0, 50), SERVER);
        expect(r.partialHeader).toBe(true);
        expect(toHex(r.table.data.subarray(r.table.dataOffset + 6, r.table.dataOffset + 50))).toBe(toHex(frame.subarray(6, 50)));
      });

      it('stops when the table is full and resumes from consumed', async () => {
        const c = await get();
        const one = buildFrame({ opcode: Opcode.BINARY, payload: fromHex('0102'), maskKey: KEY });
        const bytes = concat(one, one, one, one, one);
        const r = parseAll(c, bytes, SERVER, freshState(), 2);
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.frames.length).toBe(2);
        expect(r.consumed).toBe(2 * one.length);
        const rest = parseAll(c, bytes.subarray(r.consumed), SERVER, freshState(), 8);
        expect(rest.frames.length).toBe(3);
        expect(rest.frames.every((f) => f.payload === '0102')).toBe(true);
      });

      it('accepts a non-minimal length encoding (the minimal rule binds senders, §5.2)', async () => {
        const c = await get();
        const r = parseAll(c, buildFrame({ opcode: Opcode.BINARY, payload: fromHex('aa'), lengthBits: 64 }), CLIENT);
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.frames[0]).toMatchObject({ headerLength: 10, payload: 'aa' });
      });

      it('reports exact lengths up to 2^53 − 1 for a partial frame', async () => {
        const c = await get();
        const header = buildFrame({ opcode: Opcode.BINARY, declaredLength: 2n ** 53n - 1n });
        const r = parseAll(c, header, { ...CLIENT, maxPayload: Number.MAX_SAFE_INTEGER });
        expect(r.status).toBe(ParseStatus.NEED_MORE);
        expect(r.partialHeader).toBe(true);
        expect(r.partialPayloadLength).toBe(Number.MAX_SAFE_INTEGER);
        expect(r.needed).toBe(Number.MAX_SAFE_INTEGER);
      });
    });

    describe('parseFrames: rejections', () => {
      const reject = async (bytes: Uint8Array, options: ParseOptions, error: number, state = freshState()) => {
        const r = parseAll(await get(), bytes, options, state);
        expect(r.status).toBe(error);
        return r;
      };

      it('§5.2 RSV bits without a negotiated extension → 1002', async () => {
        for (const rsv of [1, 2, 4, 7]) {
          await reject(buildFrame({ opcode: Opcode.TEXT, rsv, maskKey: KEY }), SERVER, FrameError.RSV_NOT_ALLOWED);
        }
      });

      it('§5.2 RSV1 is allowed on a first data frame when negotiated, not on control or continuation frames', async () => {
        const c = await get();
        const options = { ...SERVER, allowedRsv: 4 };
        const ok = parseAll(c, buildFrame({ opcode: Opcode.TEXT, rsv: 4, payload: fromHex('ff'), maskKey: KEY }), options);
        expect(ok.status).toBe(ParseStatus.OK); // not validated: the payload is transformed
        expect(ok.frames[0]!.rsv).toBe(4);
        await reject(buildFrame({ opcode: Opcode.PING, rsv: 4, maskKey: KEY }), options, FrameError.RSV_NOT_ALLOWED);
        const fragmented = concat(
          buildFrame({ opcode: Opcode.TEXT, rsv: 4, fin: false, payload: fromHex('ff'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.CONTINUATION, rsv: 4, payload: fromHex('ff'), maskKey: KEY }),
        );
        const r = await reject(fragmented, options, FrameError.RSV_NOT_ALLOWED);
        expect(r.frames.length).toBe(1);
        expect(r.state.fragment).toBe(Fragment.OPAQUE);
        await reject(buildFrame({ opcode: Opcode.TEXT, rsv: 2, maskKey: KEY }), options, FrameError.RSV_NOT_ALLOWED);
      });

      it('§5.2 reserved opcodes 0x3–0x7 and 0xB–0xF → 1002', async () => {
        for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
          await reject(buildFrame({ opcode, maskKey: KEY }), SERVER, FrameError.RESERVED_OPCODE);
        }
      });

      it('§5.5 fragmented control frames → 1002', async () => {
        for (const opcode of [Opcode.CLOSE, Opcode.PING, Opcode.PONG]) {
          await reject(buildFrame({ opcode, fin: false, maskKey: KEY }), SERVER, FrameError.CONTROL_FRAGMENTED);
        }
      });

      it('§5.5 control frames over 125 bytes → 1002, even with a 16-bit length of 125', async () => {
        await reject(buildFrame({ opcode: Opcode.PING, payload: new Uint8Array(126), maskKey: KEY }), SERVER, FrameError.CONTROL_TOO_LONG);
        await reject(buildFrame({ opcode: Opcode.PING, payload: new Uint8Array(125), lengthBits: 16, maskKey: KEY }), SERVER, FrameError.CONTROL_TOO_LONG);
        // Fail fast: two bytes are enough to know.
        await reject(buildFrame({ opcode: Opcode.CLOSE, payload: new Uint8Array(200) }).subarray(0, 2), CLIENT, FrameError.CONTROL_TOO_LONG);
        const ok = parseAll(await get(), buildFrame({ opcode: Opcode.PING, payload: new Uint8Array(125), maskKey: KEY }), SERVER);
        expect(ok.status).toBe(ParseStatus.OK);
      });

      it('§5.1 a server rejects an unmasked frame; a client rejects a masked frame', async () => {
        await reject(buildFrame({ opcode: Opcode.TEXT, payload: utf8Encode('hi') }), SERVER, FrameError.EXPECTED_MASK);
        await reject(buildFrame({ opcode: Opcode.TEXT, payload: utf8Encode('hi'), maskKey: KEY }), CLIENT, FrameError.UNEXPECTED_MASK);
      });

      it('§5.2 a 64-bit length with the most significant bit set → 1002', async () => {
        const r = await reject(buildFrame({ opcode: Opcode.BINARY, declaredLength: 2n ** 63n }).subarray(0, 10), CLIENT, FrameError.LENGTH_MSB_SET);
        expect(r.errorOffset).toBe(0);
        await reject(buildFrame({ opcode: Opcode.BINARY, declaredLength: 2n ** 64n - 1n }).subarray(0, 10), CLIENT, FrameError.LENGTH_MSB_SET);
      });

      it('§7.4.1 a payload over the maximum → 1009, decided from the header alone', async () => {
        const options = { ...SERVER, maxPayload: 1000 };
        await reject(buildFrame({ opcode: Opcode.BINARY, declaredLength: 1001, maskKey: KEY }).subarray(0, 4), options, FrameError.PAYLOAD_TOO_BIG);
        const ok = parseAll(await get(), buildFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(1000), maskKey: KEY }), options);
        expect(ok.status).toBe(ParseStatus.OK);
        for (const length of [2n ** 53n, 2n ** 62n, 2n ** 63n - 1n]) {
          await reject(buildFrame({ opcode: Opcode.BINARY, declaredLength: length }).subarray(0, 10), { ...CLIENT, maxPayload: Number.MAX_SAFE_INTEGER }, FrameError.PAYLOAD_TOO_BIG);
        }
        await reject(buildFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(1) }), { ...CLIENT, maxPayload: 0 }, FrameError.PAYLOAD_TOO_BIG);
      });

      it('§5.4 a continuation frame with no message in progress → 1002', async () => {
        await reject(buildFrame({ opcode: Opcode.CONTINUATION, payload: fromHex('00'), maskKey: KEY }), SERVER, FrameError.UNEXPECTED_CONTINUATION);
      });

      it('§5.4 a new data frame inside a fragmented message → 1002', async () => {
        const bytes = concat(
          buildFrame({ opcode: Opcode.BINARY, fin: false, payload: fromHex('00'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.PING, maskKey: KEY }),
          buildFrame({ opcode: Opcode.TEXT, payload: fromHex('41'), maskKey: KEY }),
        );
        const r = await reject(bytes, SERVER, FrameError.EXPECTED_CONTINUATION);
        expect(r.frames.map((f) => f.opcode)).toEqual([Opcode.BINARY, Opcode.PING]);
        expect(r.errorOffset).toBe(bytes.length - 7);
        expect(r.consumed).toBe(bytes.length - 7);
      });

      it('§8.1 invalid UTF-8 in a text frame → 1007, and the frames before it are kept', async () => {
        const bytes = concat(
          buildFrame({ opcode: Opcode.BINARY, payload: fromHex('ff'), maskKey: KEY }),
          buildFrame({ opcode: Opcode.TEXT, payload: fromHex('cebae1bdb9cf83cebcceb5eda080656469746564'), maskKey: KEY }),
        );
        const r = await reject(bytes, SERVER, FrameError.INVALID_UTF8);
        expect(r.frames.length).toBe(1);
        expect(r.errorOffset).toBe(7);
      });

      it('§8.1 a text message ending mid-sequence → 1007', async () => {
        await reject(buildFrame({ opcode: Opcode.TEXT, payload: fromHex('41c2'), maskKey: KEY }), SERVER, FrameError.INVALID_UTF8);
      });

      it('§8.1 UTF-8 state carries across fragments: a code point split between frames is valid', async () => {
        const c = await get();
        const euro = fromHex('e282ac');
        for (let split = 0; split <= 3; split++) {
          const bytes = concat(
            buildFrame({ opcode: Opcode.TEXT, fin: false, payload: euro.subarray(0, split), maskKey: KEY }),
            buildFrame({ opcode: Opcode.PONG, payload: fromHex('ff'), maskKey: KEY }),
            buildFrame({ opcode: Opcode.CONTINUATION, payload: euro.subarray(split), maskKey: KEY }),
          );
          const r = parseAll(c, bytes, SERVER);
          expect(r.status).toBe(ParseStatus.OK);
          expect(r.state).toEqual({ fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
        }
      });

      it('§8.1 fails fast on a fragment with an invalid byte before the message ends', async () => {
        const c = await get();
        const state = freshState();
        const first = parseAll(c, buildFrame({ opcode: Opcode.TEXT, fin: false, payload: fromHex('41e2'), maskKey: KEY }), SERVER, state);
        expect(first.status).toBe(ParseStatus.OK);
        expect(first.state).toEqual({ fragment: Fragment.TEXT, utf8: 2 });
        const second = parseAll(c, buildFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: fromHex('41'), maskKey: KEY }), SERVER, state);
        expect(second.status).toBe(FrameError.INVALID_UTF8);
        expect(state).toEqual({ fragment: Fragment.TEXT, utf8: 2 }); // unchanged by the failing frame
      });

      it('does not validate text when validateUtf8 is off, nor binary ever', async () => {
        const c = await get();
        const bad = buildFrame({ opcode: Opcode.TEXT, fin: false, payload: fromHex('ff'), maskKey: KEY });
        const r = parseAll(c, bad, { ...SERVER, validateUtf8: false });
        expect(r.status).toBe(ParseStatus.OK);
        expect(r.state.fragment).toBe(Fragment.OPAQUE);
        expect(parseAll(c, buildFrame({ opcode: Opcode.BINARY, payload: fromHex('ff'), maskKey: KEY }), SERVER).status).toBe(ParseStatus.OK);
      });

      it('checks in the documented order: RSV before opcode before control rules before masking', async () => {
        // Reserved opcode AND unmasked: the opcode error wins.
        await reject(buildFrame({ opcode: 3 }), SERVER, FrameError.RESERVED_OPCODE);
        // RSV AND reserved opcode: RSV wins.
        await reject(buildFrame({ opcode: 3, rsv: 1 }), SERVER, FrameError.RSV_NOT_ALLOWED);
        // Fragmented control AND unmasked: control wins.
        await reject(buildFrame({ opcode: Opcode.PING, fin: false }), SERVER, FrameError.CONTROL_FRAGMENTED);
        // Unexpected continuation AND unmasked: continuation wins.
        await reject(buildFrame({ opcode: Opcode.CONTINUATION }), SERVER, FrameError.UNEXPECTED_CONTINUATION);
        // Unmasked AND too big: masking wins.
        await reject(buildFrame({ opcode: Opcode.BINARY, declaredLength: 5000 }), { ...SERVER, maxPayload: 10 }, FrameError.EXPECTED_MASK);
      });
    });

    describe('encodeHeader', () => {
      it('§5.2 uses the minimal length encoding at every boundary', async () => {
        const c = await get();
        const cases: Array<[number, string]> = [
          [0, '8200'], [125, '827d'], [126, '827e007e'], [65535, '827effff'],
          [65536, '827f0000000000010000'], [2 ** 32, '827f0000000100000000'],
          [Number.MAX_SAFE_INTEGER, '827f001fffffffffffff'],
        ];
        for (const [length, hex] of cases) {
          const target = new Uint8Array(14);
          const n = c.encodeHeader(target, 0, true, 0, Opcode.BINARY, length, null);
          expect(n).toBe(frameHeaderLength(length, false));
          expect(toHex(target.subarray(0, n))).toBe(hex);
        }
      });

      it('§5.2 writes FIN, RSV, opcode, MASK and the key at an offset', async () => {
        const c = await get();
        const target = new Uint8Array(20);
        const n = c.encodeHeader(target, 3, false, 4, Opcode.TEXT, 5, KEY);
        expect(n).toBe(6);
        expect(toHex(target.subarray(3, 9))).toBe('418537fa213d');
      });

      it('round-trips through parseFrames', async () => {
        const c = await get();
        for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
          const payload = pseudoRandomBytes(length, length);
          const frame = new Uint8Array(frameHeaderLength(length, true) + length);
          const h = c.encodeHeader(frame, 0, true, 0, Opcode.BINARY, length, KEY);
          c.maskInto(payload, KEY, frame, h, 0);
          const r = parseAll(c, frame, SERVER);
          expect(r.status).toBe(ParseStatus.OK);
          expect(r.frames[0]!.payload).toBe(toHex(payload));
        }
      });

      it('rejects lengths that are not safe non-negative integers', async () => {
        const c = await get();
        for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
          expect(() => c.encodeHeader(new Uint8Array(14), 0, true, 0, 2, bad, null)).toThrow(RangeError);
        }
      });
    });
  });
}

