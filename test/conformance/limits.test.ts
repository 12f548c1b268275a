/**
 * RFC 6455 §10.3 (what a client puts on the wire) and §10.4 (implementation limits) through a
 * connection, for both roles and every codec. One test per requirement of docs/compliance.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { CloseCode, Opcode } from '../../src/shared/constants.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { codecsUnderTest } from '../helpers/codecs.js';
import { drain, expectFailed, feed, messages, openConnection, peerFrame, ROLES, type Role } from './harness.js';

describe.each(codecsUnderTest)('%s codec', (_name, makeCodec) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await makeCodec();
  });

  describe('§10.3 attacks on infrastructure', () => {
    it('§10.3 a client\'s frame does not change when the application changes the buffer it sent', () => {
      const client = openConnection('client', codec);
      const payload = new Uint8Array(1000).fill(0x41);
      client.sendBinary(payload);
      payload.fill(0x42);
      client.sendBinary(payload.subarray(0, 10), false);
      payload.fill(0x43);
      client.sendContinuation(payload.subarray(0, 10), true);
      payload.fill(0x44);
      const frames = drain(client).frames;
      expect(frames.map((frame) => [frame.payload.length, new Set(frame.payload)])).toEqual([
        [1000, new Set([0x41])],
        [10, new Set([0x42])],
        [10, new Set([0x43])],
      ]);
    });
  });

  describe.each(ROLES)('%s', (role: Role) => {
    describe('§10.4 implementation-specific limits', () => {
      it('§10.4 a frame over the frame size limit → 1009, decided from its header alone', () => {
        const connection = openConnection(role, codec, { limits: { maxFrameSize: 1000 } });
        const frame = peerFrame(role, { opcode: Opcode.BINARY, payload: new Uint8Array(1001) });
        const headerLength = role === 'server' ? 8 : 4;
        const output = feed(connection, frame.subarray(0, headerLength));
        expectFailed(output, connection, CloseCode.MESSAGE_TOO_BIG, ErrorCode.PAYLOAD_TOO_BIG);
        const ok = openConnection(role, codec, { limits: { maxFrameSize: 1000 } });
        expect(messages(feed(ok, peerFrame(role, { opcode: Opcode.BINARY, payload: new Uint8Array(1000) })).events)).toHaveLength(1);
      });

      it('§10.4 a frame declaring 2^53 − 1 bytes → 1009 with the default limits', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: Opcode.BINARY, declaredLength: 2n ** 53n - 1n, lengthBits: 64 }));
        expectFailed(output, connection, CloseCode.MESSAGE_TOO_BIG, ErrorCode.PAYLOAD_TOO_BIG);
      });

      it('§10.4 a message over the message size limit across fragments → 1009', () => {
        const connection = openConnection(role, codec, { limits: { maxMessageSize: 1000 } });
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(600) }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false, payload: new Uint8Array(400) }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: new Uint8Array(1) }),
        );
        expectFailed(output, connection, CloseCode.MESSAGE_TOO_BIG, ErrorCode.MESSAGE_TOO_BIG);
        expect(messages(output.events)).toEqual([]);
      });

      it('§10.4 a message of more fragments than the limit → 1009', () => {
        const connection = openConnection(role, codec, { limits: { maxFragments: 3 } });
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION }),
        );
        expectFailed(output, connection, CloseCode.MESSAGE_TOO_BIG, ErrorCode.TOO_MANY_FRAGMENTS);
        const ok = openConnection(role, codec, { limits: { maxFragments: 3 } });
        const accepted = feed(
          ok,
          peerFrame(role, { opcode: Opcode.TEXT, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION }),
        );
        expect(messages(accepted.events)).toEqual([['text', '']]);
      });
    });
  });
});
