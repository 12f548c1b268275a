/**
 * The connection's frame writer (RFC 6455 §5.1–§5.3): a server's frames are a header and the
 * caller's payload itself; a client's are masked with a fresh key from its pool, in place when
 * the payload belongs to the connection and into a new buffer otherwise. Frames are read back
 * with the test reader, which shares no code with the codecs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createMaskKeyPool } from '../../src/codec/mask-key-pool.js';
import type { Codec } from '../../src/codec/types.js';
import { FrameSerializer, serializeFrame } from '../../src/protocol/serializer.js';
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

describe.each(protocolCodecs)('FrameSerializer, %s codec', (_name, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe('server side: never masks (§5.1)', () => {
    it('writes a header chunk and the payload itself, not a copy, with the minimal length (§5.2)', () => {
      const serializer = new FrameSerializer(codec, null);
      expect(serializer.masks).toBe(false);
      for (const [length, lengthField] of [[1, 1], [125, 125], [126, 126], [65535, 126], [65536, 127]] as const) {
        const payload = payloadOf(length);
        const out: Uint8Array[] = [];
        const size = serializer.write(out, true, 0, Opcode.BINARY, payload, false);
        expect(out).toHaveLength(2);
        expect(out[1], `${length}`).toBe(payload);
        expect(size).toBe(out[0]!.length + length);
        const [read] = readFrames(out);
        expect(read).toMatchObject({ fin: true, rsv: 0, opcode: Opcode.BINARY, masked: false, lengthField });
      }
    });

    it('writes an empty frame as its header alone, with FIN and RSV as given', () => {
      const out: Uint8Array[] = [];
      expect(new FrameSerializer(codec, null).write(out, false, 0b100, Opcode.TEXT, new Uint8Array(0), true)).toBe(2);
      expect(out).toHaveLength(1);
      expect(Array.from(out[0]!)).toEqual([0x40 | Opcode.TEXT, 0x00]);
    });

    it('appends to what is already in the output list', () => {
      const out: Uint8Array[] = [Uint8Array.of(9)];
      new FrameSerializer(codec, null).write(out, true, 0, Opcode.PING, Uint8Array.of(1), false);
      expect(out[0]).toEqual(Uint8Array.of(9));
      expect(readFrames(out.slice(1))[0]!.payload).toEqual(Uint8Array.of(1));
    });
  });

  describe('client side: every frame masked with a fresh key (§5.3)', () => {
    it('a payload it does not own is masked into a new buffer with the header; the caller\'s bytes stay intact', () => {
      const { pool } = countingPool();
      const serializer = new FrameSerializer(codec, pool);
      expect(serializer.masks).toBe(true);
      for (const length of [1, 125, 126, 300, 65536]) {
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

    it('a payload it owns is masked in place, behind a separate header chunk', () => {
      const serializer = new FrameSerializer(codec, countingPool().pool);
      const payload = payloadOf(200);
      const out: Uint8Array[] = [];
      const size = serializer.write(out, false, 0, Opcode.TEXT, payload, true);
      expect(out).toHaveLength(2);
      expect(out[1]).toBe(payload);
      expect(size).toBe(out[0]!.length + 200);
      const [read] = readFrames(bytesOf(out));
      expect(read).toMatchObject({ fin: false, opcode: Opcode.TEXT, masked: true });
      expect(read!.payload).toEqual(payloadOf(200));
      // The bytes on the wire are the masked ones: the payload array now holds them.
      expect(payload).not.toEqual(payloadOf(200));
    });

    it('an empty frame is one chunk: header and key', () => {
      const out: Uint8Array[] = [];
      expect(new FrameSerializer(codec, countingPool().pool).write(out, true, 0, Opcode.PONG, new Uint8Array(0), true)).toBe(6);
      expect(out).toHaveLength(1);
      expect(readFrames(out)[0]).toMatchObject({ opcode: Opcode.PONG, masked: true, lengthField: 0 });
    });

    it('takes a new key from the pool for every frame, owned or not', () => {
      const { pool, refills } = countingPool();
      const serializer = new FrameSerializer(codec, pool);
      const out: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) serializer.write(out, true, 0, Opcode.BINARY, payloadOf(10), i % 2 === 0);
      const keys = readFrames(bytesOf(out)).map((f) => Array.from(f.maskKey!).join(','));
      expect(new Set(keys).size).toBe(20);
      expect(keys.slice(0, 2)).toEqual(['1,2,3,4', '5,6,7,8']);
      // 64 bytes of randomness serve 16 keys: 20 frames take two refills.
      expect(refills()).toBe(2);
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
