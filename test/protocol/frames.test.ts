/**
 * Close payloads (RFC 6455 §5.5.1, §7.4) and one-piece frame serialization (§5.2, §5.3).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { parseClosePayload, serializeClosePayload, truncateReason } from '../../src/protocol/close.js';
import { serializeFrame } from '../../src/protocol/serializer.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { ErrorCode, InvalidArgumentError, ProtocolError } from '../../src/shared/errors.js';
import { readFrames } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';

describe.each(protocolCodecs)('frames and close payloads, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe('§5.5.1 close payloads', () => {
    it('§5.5.1 round-trips a code and a UTF-8 reason', () => {
      const payload = serializeClosePayload(4001, 'résumé');
      expect(Array.from(payload.subarray(0, 2))).toEqual([0x0f, 0xa1]);
      expect(parseClosePayload(payload, codec)).toEqual({ code: 4001, reason: 'résumé' });
    });

    it('§7.1.5 an empty payload means no status code: 1005', () => {
      expect(serializeClosePayload()).toEqual(new Uint8Array(0));
      expect(parseClosePayload(new Uint8Array(0), codec)).toEqual({ code: 1005, reason: '' });
    });

    it('§5.5.1 a 1-byte payload is a protocol error', () => {
      expect(() => parseClosePayload(Uint8Array.of(3), codec)).toThrow(ProtocolError);
      try {
        parseClosePayload(Uint8Array.of(3), codec);
      } catch (error) {
        expect(error).toMatchObject({ code: ErrorCode.INVALID_CLOSE_PAYLOAD, closeCode: 1002 });
      }
    });

    it('§7.4.1 a received code that may not be sent is a protocol error; every code that may be sent is accepted', () => {
      for (let code = 0; code < 65536; code++) {
        const payload = Uint8Array.of(code >> 8, code & 0xff);
        const allowed = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
        if (allowed) expect(parseClosePayload(payload, codec).code).toBe(code);
        else expect(() => parseClosePayload(payload, codec), `code ${code}`).toThrow(`invalid close code ${code}`);
      }
    });

    it('§8.1 a reason that is not UTF-8 is a 1007', () => {
      try {
        parseClosePayload(Uint8Array.of(0x03, 0xe8, 0xc0, 0xaf), codec);
        expect.unreachable();
      } catch (error) {
        expect(error).toMatchObject({ code: ErrorCode.INVALID_UTF8, closeCode: 1007 });
      }
    });

    it('§7.4.1 refuses to build a close frame with a code that may not be sent or a reason that does not fit', () => {
      for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5]) expect(() => serializeClosePayload(code), `code ${code}`).toThrow(InvalidArgumentError);
      expect(() => serializeClosePayload(1000, 'x'.repeat(124))).toThrow(InvalidArgumentError);
      expect(serializeClosePayload(1000, 'x'.repeat(123)).length).toBe(125);
      expect(() => serializeClosePayload(undefined, 'r')).toThrow(InvalidArgumentError);
    });

    it('truncateReason cuts at a character boundary', () => {
      expect(truncateReason('abc', 3)).toBe('abc');
      expect(truncateReason('aé', 2)).toBe('a');
      expect(truncateReason('a€b', 3)).toBe('a');
      expect(truncateReason('a€b', 4)).toBe('a€');
      expect(utf8Encode(truncateReason('😀'.repeat(40))).length).toBe(120);
    });
  });

  describe('§5.2 serializeFrame', () => {
    it('§5.2 writes FIN, RSV, opcode and the minimal length encoding', () => {
      for (const [length, field] of [[0, 0], [125, 125], [126, 126], [65535, 126], [65536, 127]] as const) {
        const payload = new Uint8Array(length).fill(7);
        const [read] = readFrames(serializeFrame(codec, { opcode: Opcode.BINARY, payload, rsv: 0b101, fin: false }));
        expect(read).toMatchObject({ fin: false, rsv: 0b101, opcode: Opcode.BINARY, masked: false, lengthField: field });
        expect(read!.payload).toEqual(payload);
      }
    });

    it('§5.3 masks with the given key and leaves the payload intact', () => {
      const payload = utf8Encode('Hello');
      const bytes = serializeFrame(codec, { opcode: Opcode.TEXT, payload, maskKey: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) });
      // RFC 6455 §5.7: "A single-frame masked text message".
      expect(Array.from(bytes)).toEqual([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
      expect(payload).toEqual(utf8Encode('Hello'));
    });

    it('§5.5 refuses fragmented or oversized control frames, unknown opcodes and bad keys', () => {
      expect(() => serializeFrame(codec, { opcode: Opcode.PING, fin: false })).toThrow(InvalidArgumentError);
      expect(() => serializeFrame(codec, { opcode: Opcode.PONG, payload: new Uint8Array(126) })).toThrow(InvalidArgumentError);
      expect(() => serializeFrame(codec, { opcode: 0x3 })).toThrow('unknown opcode 3');
      expect(() => serializeFrame(codec, { opcode: Opcode.TEXT, rsv: 8 })).toThrow(InvalidArgumentError);
      expect(() => serializeFrame(codec, { opcode: Opcode.TEXT, maskKey: new Uint8Array(3) })).toThrow(InvalidArgumentError);
    });
  });
});
