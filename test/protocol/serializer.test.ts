/**
 * The connection's frame writer (RFC 6455 §5.1–§5.3): frames are cut from the thread's slab, a
 * small one as one chunk (header and payload, behind the chunk before it), a large server
 * payload as the caller's bytes behind a header chunk; a client's are masked with a fresh key
 * from its pool. Frames are read back with the test reader, which shares no code with the codecs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createMaskKeyPool } from '../../src/codec/mask-key-pool.js';
import type { Codec } from '../../src/codec/types.js';
import { COPY_BELOW, FrameSlab } from '../../src/protocol/frame-slab.js';
import { FrameSerializer, serializeFrame } from '../../src/protocol/serializer.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { bytesOf, readFrames } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';
const payloadOf = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);

/** A pool that hands out keys 01 02 03 04, 05 06 07 08, … and counts its refills. */
function countingPool(): { pool: ReturnType<typeof createMaskKeyPool>; refills: () => number } {
  let refills = 0;
  let next = 1;
  const pool = createMaskKeyPool((target) => {
    refills++;
    for (let i = 0; i < target.length; i++) target[i] = next++ & 0xff;
  }, 64);
  return { pool, refills: () => refills };
}

/** A slab of its own, over memory whose buffers it records, so a test sees where chunks live. */
function recordingSlab(): { slab: FrameSlab; buffers: ArrayBufferLike[] } {
  const buffers: ArrayBufferLike[] = [];
  const allocate = (length: number): Uint8Array => {
    const bytes = new Uint8Array(length).fill(0xee);
    buffers.push(bytes.buffer);
    return bytes;
  };
  return { slab: FrameSlab.for(allocate), buffers };
}

const MIXED_TEXT = 'chat привет κόσμε 你好 🎉 ok';

describe.each(protocolCodecs)('FrameSerializer, %s codec', (_name, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe('server side: never masks (§5.1)', () => {
    it(`writes a frame under ${COPY_BELOW} bytes as one chunk, header and a copy of the payload, with the minimal length (§5.2)`, () => {
      const serializer = new FrameSerializer(codec, null, recordingSlab().slab);
      expect(serializer.masks).toBe(false);
      for (const [length, lengthField] of [[1, 1], [125, 125], [126, 126], [COPY_BELOW - 1, 126]] as const) {
        const payload = payloadOf(length);
        const out: Uint8Array[] = [];
        const size = serializer.write(out, true, 0, Opcode.BINARY, payload, false);
        expect(out, `${length}`).toHaveLength(1);
        expect(size).toBe(out[0]!.length);
        const [read] = readFrames(out);
        expect(read).toMatchObject({ fin: true, rsv: 0, opcode: Opcode.BINARY, masked: false, lengthField });
        expect(read!.payload).toEqual(payloadOf(length));
      }
    });

    it('writes a larger payload itself, not a copy, behind a header chunk from the slab', () => {
      const { slab, buffers } = recordingSlab();
      const serializer = new FrameSerializer(codec, null, slab);
      for (const [length, lengthField] of [[COPY_BELOW, 126], [65535, 126], [65536, 127]] as const) {
        const payload = payloadOf(length);
        const out: Uint8Array[] = [];
        const size = serializer.write(out, true, 0, Opcode.BINARY, payload, false);
        expect(out, `${length}`).toHaveLength(2);
        expect(out[1]).toBe(payload);
        expect(buffers).toContain(out[0]!.buffer);
        expect(size).toBe(out[0]!.length + length);
        expect(readFrames(out)[0]).toMatchObject({ opcode: Opcode.BINARY, masked: false, lengthField });
      }
    });

    it('writes an empty frame as its header alone, with FIN and RSV as given', () => {
      const out: Uint8Array[] = [];
      expect(new FrameSerializer(codec, null, recordingSlab().slab).write(out, false, 0b100, Opcode.TEXT, new Uint8Array(0), true)).toBe(2);
      expect(out).toHaveLength(1);
      expect(Array.from(out[0]!)).toEqual([0x40 | Opcode.TEXT, 0x00]);
    });

    it('appends to what is already in the output list', () => {
      const out: Uint8Array[] = [Uint8Array.of(9)];
      new FrameSerializer(codec, null, recordingSlab().slab).write(out, true, 0, Opcode.PING, Uint8Array.of(1), false);
      expect(out[0]).toEqual(Uint8Array.of(9));
      expect(readFrames(out.slice(1))[0]!.payload).toEqual(Uint8Array.of(1));
    });

    it('frames written one after another are one chunk; one another connection wrote between them is not part of it', () => {
      const { slab } = recordingSlab();
      const serializer = new FrameSerializer(codec, null, slab);
      const other = new FrameSerializer(codec, null, slab);
      const out: Uint8Array[] = [];
      for (let i = 0; i < 10; i++) serializer.write(out, true, 0, Opcode.BINARY, payloadOf(100 + i), false);
      expect(out).toHaveLength(1);
      const elsewhere: Uint8Array[] = [];
      other.write(elsewhere, true, 0, Opcode.TEXT, Uint8Array.of(0x61), false);
      serializer.write(out, true, 0, Opcode.BINARY, payloadOf(5), false);
      expect(out).toHaveLength(2);
      expect(readFrames(out).map((f) => f.payload.length)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 5]);
      expect(readFrames(elsewhere)[0]!.payload).toEqual(Uint8Array.of(0x61));
    });

    it('never writes again over bytes it handed out: a full slab is replaced by a new one', () => {
      const { slab, buffers } = recordingSlab();
      const serializer = new FrameSerializer(codec, null, slab);
      const first: Uint8Array[] = [];
      serializer.write(first, true, 0, Opcode.BINARY, payloadOf(3000), false);
      const kept = Uint8Array.from(first[0]!);
      // Over 64 KiB of frames, each in an output list of its own.
      for (let i = 0; i < 40; i++) serializer.write([], true, 0, Opcode.BINARY, payloadOf(COPY_BELOW - 1), false);
      expect(buffers.length).toBeGreaterThan(1);
      expect(first[0]).toEqual(kept);
    });

    it('encodes a string straight into its frame (writeText), with the minimal length for its UTF-8 (§5.2)', () => {
      const serializer = new FrameSerializer(codec, null, recordingSlab().slab);
      const ascii = (n: number): string => 'abcdefghij'.repeat(Math.ceil(n / 10)).slice(0, n);
      for (const text of ['', 'é', MIXED_TEXT, ascii(41), ascii(42), ascii(125), ascii(126), MIXED_TEXT.repeat(20), ascii(Math.ceil(COPY_BELOW / 3) - 1)]) {
        const out: Uint8Array[] = [];
        const expected = utf8Encode(text);
        expect(serializer.writeText(out, true, 0, Opcode.TEXT, text)).toBe(expected.length);
        expect(out).toHaveLength(1);
        const [read] = readFrames(out);
        expect(read).toMatchObject({ fin: true, opcode: Opcode.TEXT, masked: false, lengthField: expected.length < 126 ? expected.length : 126 });
        expect(read!.payload).toEqual(expected);
      }
    });

    it('writes nothing for a string whose UTF-8 might reach the copy limit', () => {
      const out: Uint8Array[] = [];
      expect(new FrameSerializer(codec, null, recordingSlab().slab).writeText(out, true, 0, Opcode.TEXT, 'a'.repeat(Math.ceil(COPY_BELOW / 3)))).toBe(-1);
      expect(out).toHaveLength(0);
    });
  });

  describe('client side: every frame masked with a fresh key (§5.3)', () => {
    it('a payload it does not own is masked into one chunk with the header; the caller\'s bytes stay intact', () => {
      const { pool } = countingPool();
      const serializer = new FrameSerializer(codec, pool, recordingSlab().slab);
      expect(serializer.masks).toBe(true);
      for (const length of [1, 125, 126, 300, COPY_BELOW, 65536]) {
        const payload = payloadOf(length);
        const out: Uint8Array[] = [];
        const size = serializer.write(out, true, 0, Opcode.BINARY, payload, false);
        expect(out).toHaveLength(1);
        expect(size).toBe(out[0]!.length);
        // (every, not toEqual: toEqual walks a 64 KiB typed array for most of a second.)
        const original = payloadOf(length);
        expect(payload.every((b, i) => b === original[i])).toBe(true);
        const [read] = readFrames(out);
        expect(read!.masked).toBe(true);
        expect(read!.payload.length).toBe(length);
        expect(read!.payload.every((b, i) => b === payload[i])).toBe(true);
      }
    });

    it(`a payload of ${COPY_BELOW} bytes or more that it owns is masked in place, behind a separate header chunk`, () => {
      const serializer = new FrameSerializer(codec, countingPool().pool, recordingSlab().slab);
      const payload = payloadOf(5000);
      const out: Uint8Array[] = [];
      const size = serializer.write(out, false, 0, Opcode.TEXT, payload, true);
      expect(out).toHaveLength(2);
      expect(out[1]).toBe(payload);
      expect(size).toBe(out[0]!.length + 5000);
      const [read] = readFrames(bytesOf(out));
      expect(read).toMatchObject({ fin: false, opcode: Opcode.TEXT, masked: true });
      expect(read!.payload).toEqual(payloadOf(5000));
      // The bytes on the wire are the masked ones: the payload array now holds them.
      expect(payload).not.toEqual(payloadOf(5000));
    });

    it('an empty frame is one chunk: header and key', () => {
      const out: Uint8Array[] = [];
      expect(new FrameSerializer(codec, countingPool().pool, recordingSlab().slab).write(out, true, 0, Opcode.PONG, new Uint8Array(0), true)).toBe(6);
      expect(out).toHaveLength(1);
      expect(readFrames(out)[0]).toMatchObject({ opcode: Opcode.PONG, masked: true, lengthField: 0 });
    });

    it('takes a new key from the pool for every frame, owned or not, bytes or a string', () => {
      const { pool, refills } = countingPool();
      const serializer = new FrameSerializer(codec, pool, recordingSlab().slab);
      const out: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        if (i % 3 === 2) serializer.writeText(out, true, 0, Opcode.TEXT, MIXED_TEXT);
        else serializer.write(out, true, 0, Opcode.BINARY, payloadOf(10), i % 2 === 0);
      }
      const frames = readFrames(bytesOf(out));
      const keys = frames.map((f) => Array.from(f.maskKey!).join(','));
      expect(new Set(keys).size).toBe(20);
      expect(keys.slice(0, 2)).toEqual(['1,2,3,4', '5,6,7,8']);
      expect(frames[2]!.payload).toEqual(utf8Encode(MIXED_TEXT));
      // 64 bytes of randomness serve 16 keys: 20 frames take two refills.
      expect(refills()).toBe(2);
    });

    it('masks a string encoded into its frame, whatever header its UTF-8 needs', () => {
      const serializer = new FrameSerializer(codec, countingPool().pool, recordingSlab().slab);
      for (const text of ['', MIXED_TEXT, 'x'.repeat(126), MIXED_TEXT.repeat(30)]) {
        const out: Uint8Array[] = [];
        const expected = utf8Encode(text);
        expect(serializer.writeText(out, false, 0, Opcode.TEXT, text)).toBe(expected.length);
        const [read] = readFrames(out);
        expect(read).toMatchObject({ fin: false, opcode: Opcode.TEXT, masked: true, lengthField: expected.length < 126 ? expected.length : 126 });
        expect(read!.payload).toEqual(expected);
      }
    });
  });

  describe('serializeFrame', () => {
    it('§5.5 writes control frames of up to 125 bytes', () => {
      for (const opcode of [Opcode.CLOSE, Opcode.PING, Opcode.PONG]) {
        const [read] = readFrames(serializeFrame(codec, { opcode, payload: payloadOf(125) }));
        expect(read).toMatchObject({ fin: true, opcode, lengthField: 125 });
        expect(read!.payload).toEqual(payloadOf(125));
      }
    });

    it('refuses opcodes that are not integers 0–15 and RSV bits that are not integers 0–7', () => {
      for (const opcode of [-1, 16, 1.5, Number.NaN]) expect(() => serializeFrame(codec, { opcode }), String(opcode)).toThrow(`unknown opcode ${opcode}`);
      for (const rsv of [-1, 1.5]) expect(() => serializeFrame(codec, { opcode: Opcode.TEXT, rsv }), String(rsv)).toThrow(`RSV bits must be 0–7, got ${rsv}`);
    });
  });
});
