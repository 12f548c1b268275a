/**
 * RFC 6455 §5 (data framing) and §6 (sending and receiving data) through a connection, for
 * both roles and every codec. One test per requirement of docs/compliance.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { CloseCode, Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, InvalidArgumentError, InvalidStateError } from '../../src/shared/errors.js';
import { concat } from '../codec/frame-builder.js';
import { codecsUnderTest } from '../helpers/codecs.js';
import {
  drain,
  eventsOf,
  expectFailed,
  feed,
  messages,
  openConnection,
  peerFrame,
  ROLES,
  utf8,
  wronglyMaskedFrame,
  type Role,
} from './harness.js';

/** Every frame kind an endpoint sends, sent once each. */
function sendOneOfEach(connection: ReturnType<typeof openConnection>): void {
  connection.sendText('text');
  connection.sendBinary(Uint8Array.of(1, 2, 3));
  connection.sendText('frag', false);
  connection.sendContinuation('ment', true);
  connection.sendPing('ping');
  connection.sendPong('pong');
  connection.sendClose(CloseCode.NORMAL, 'bye');
}

describe.each(codecsUnderTest)('%s codec', (_name, makeCodec) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await makeCodec();
  });

  describe('§5.1 masking, by role', () => {
    it('§5.1 a client masks every frame it sends, close frames included', () => {
      const client = openConnection('client', codec);
      sendOneOfEach(client);
      const { frames } = drain(client);
      expect(frames.map((frame) => frame.opcode)).toEqual([1, 2, 1, 0, 9, 10, 8]);
      for (const frame of frames) expect(frame.masked).toBe(true);
      expect(new TextDecoder().decode(frames[0]!.payload)).toBe('text');
    });

    it('§5.1 a server never masks the frames it sends', () => {
      const server = openConnection('server', codec);
      sendOneOfEach(server);
      const { frames } = drain(server);
      expect(frames).toHaveLength(7);
      for (const frame of frames) expect(frame.masked).toBe(false);
    });

    it('§5.1 a server fails the connection on an unmasked frame → 1002', () => {
      const server = openConnection('server', codec);
      const output = feed(server, wronglyMaskedFrame('server', { opcode: Opcode.TEXT, payload: utf8('hi') }));
      expectFailed(output, server, CloseCode.PROTOCOL_ERROR, ErrorCode.EXPECTED_MASK);
      expect(messages(output.events)).toEqual([]);
    });

    it('§5.1 a client fails the connection on a masked frame → 1002', () => {
      const client = openConnection('client', codec);
      const output = feed(client, wronglyMaskedFrame('client', { opcode: Opcode.TEXT, payload: utf8('hi') }));
      expectFailed(output, client, CloseCode.PROTOCOL_ERROR, ErrorCode.UNEXPECTED_MASK);
      expect(messages(output.events)).toEqual([]);
    });
  });

  describe('§5.3 client-to-server masking', () => {
    it('§5.3 a client uses a fresh masking key, from its random source, for every frame', () => {
      const client = openConnection('client', codec);
      for (let i = 0; i < 50; i++) client.sendBinary(Uint8Array.of(i));
      client.sendText('');
      client.sendPing();
      const keys = drain(client).frames.map((frame) => Buffer.from(frame.maskKey!).toString('hex'));
      expect(keys).toHaveLength(52);
      expect(new Set(keys).size).toBe(52);
      // The harness's client draws from a counting source: the first key is its first 4 bytes.
      expect(keys[0]).toBe('00010203');
    });
  });

  describe.each(ROLES)('%s', (role: Role) => {
    describe('§5.2 base framing', () => {
      it('§5.2 every frame sent has its RSV bits clear when no extension is negotiated', () => {
        const connection = openConnection(role, codec);
        sendOneOfEach(connection);
        for (const frame of drain(connection).frames) expect(frame.rsv).toBe(0);
      });

      it('§5.2 a frame with an RSV bit no extension defines → 1002', () => {
        for (const rsv of [0b100, 0b010, 0b001]) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode: Opcode.TEXT, rsv, payload: utf8('hi') }));
          expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.RSV_NOT_ALLOWED);
        }
      });

      it('§5.2 a frame with a reserved opcode → 1002', () => {
        for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode }));
          expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.RESERVED_OPCODE);
        }
      });

      it('§5.2 a 64-bit payload length with the most significant bit set → 1002', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: Opcode.BINARY, declaredLength: 1n << 63n, lengthBits: 64 }));
        expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.LENGTH_MSB_SET);
      });

      it('§5.2 frames sent use the minimal length encoding', () => {
        const connection = openConnection(role, codec);
        const sizes = [0, 125, 126, 65535, 65536];
        for (const size of sizes) connection.sendBinary(new Uint8Array(size));
        const frames = drain(connection).frames;
        expect(frames.map((frame) => frame.lengthField)).toEqual([0, 125, 126, 126, 127]);
        expect(frames.map((frame) => frame.payload.length)).toEqual(sizes);
      });
    });

    describe('§5.4 fragmentation', () => {
      it('§5.4 a fragmented control frame → 1002', () => {
        for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode, fin: false }));
          expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.CONTROL_FRAGMENTED);
        }
      });

      it('§5.4 fragments are delivered in the order sent, as one message', () => {
        const connection = openConnection(role, codec);
        const parts = ['on', 'e ', 'two ', 'three'];
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, fin: false, payload: utf8(parts[0]!) }),
          ...parts.slice(1).map((part, i) => peerFrame(role, { opcode: Opcode.CONTINUATION, fin: i === parts.length - 2, payload: utf8(part) })),
        );
        expect(messages(output.events)).toEqual([['text', 'one two three']]);
      });

      it('§5.4 a new data frame inside a fragmented message → 1002', () => {
        for (const opcode of [Opcode.TEXT, Opcode.BINARY]) {
          const connection = openConnection(role, codec);
          const output = feed(
            connection,
            peerFrame(role, { opcode: Opcode.BINARY, fin: false, payload: Uint8Array.of(1) }),
            peerFrame(role, { opcode, payload: Uint8Array.of(2) }),
          );
          expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.EXPECTED_CONTINUATION);
          expect(messages(output.events)).toEqual([]);
        }
      });

      it('§5.4 a continuation frame with no message in progress → 1002', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: Opcode.CONTINUATION, payload: utf8('x') }));
        expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.UNEXPECTED_CONTINUATION);
      });

      it('§5.4 control frames in the middle of a fragmented message are handled, and the message completes', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.BINARY, fin: false, payload: Uint8Array.of(1, 2) }),
          peerFrame(role, { opcode: Opcode.PING, payload: utf8('mid') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false, payload: Uint8Array.of(3) }),
          peerFrame(role, { opcode: Opcode.PONG, payload: utf8('beat') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: Uint8Array.of(4) }),
        );
        expect(output.events.map((event) => event.type)).toEqual(['ping', 'pong', 'message']);
        expect(messages(output.events)).toEqual([['binary', '01020304']]);
        expect(output.frames.map((frame) => [frame.opcode, new TextDecoder().decode(frame.payload)])).toEqual([[Opcode.PONG, 'mid']]);
      });

      it('§5.4 unfragmented and fragmented messages are both received', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('whole') }),
          peerFrame(role, { opcode: Opcode.TEXT, fin: false, payload: utf8('in ') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: utf8('parts') }),
          peerFrame(role, { opcode: Opcode.BINARY, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: Uint8Array.of(0xff) }),
        );
        expect(messages(output.events)).toEqual([
          ['text', 'whole'],
          ['text', 'in parts'],
          ['binary', 'ff'],
        ]);
      });

      it('§5.4 a new message cannot be sent while a fragmented one is being sent, but control frames can', () => {
        const connection = openConnection(role, codec);
        connection.sendText('first ', false);
        expect(() => connection.sendText('other')).toThrow(InvalidStateError);
        expect(() => connection.sendBinary(Uint8Array.of(1))).toThrow(InvalidStateError);
        connection.sendPing('between');
        connection.sendContinuation('last', true);
        connection.sendBinary(Uint8Array.of(1));
        expect(drain(connection).frames.map((frame) => [frame.opcode, frame.fin])).toEqual([
          [Opcode.TEXT, false],
          [Opcode.PING, true],
          [Opcode.CONTINUATION, true],
          [Opcode.BINARY, true],
        ]);
      });
    });

    describe('§5.5 control frames', () => {
      it('§5.5 a control frame with more than 125 bytes of payload → 1002', () => {
        for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode, payload: new Uint8Array(126) }));
          expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.CONTROL_TOO_LONG);
        }
      });

      it('§5.5 control frames are sent whole, with at most 125 bytes', () => {
        const connection = openConnection(role, codec);
        connection.sendPing(new Uint8Array(125));
        connection.sendPong(new Uint8Array(125));
        expect(() => connection.sendPing(new Uint8Array(126))).toThrow(InvalidArgumentError);
        expect(() => connection.sendPong('x'.repeat(126))).toThrow(InvalidArgumentError);
        expect(() => connection.sendClose(CloseCode.NORMAL, 'x'.repeat(124))).toThrow(InvalidArgumentError);
        connection.sendClose(CloseCode.NORMAL, 'x'.repeat(123));
        const frames = drain(connection).frames;
        expect(frames.map((frame) => [frame.opcode, frame.fin, frame.payload.length])).toEqual([
          [Opcode.PING, true, 125],
          [Opcode.PONG, true, 125],
          [Opcode.CLOSE, true, 125],
        ]);
      });
    });

    describe('§5.6 data frames', () => {
      it('§5.6 text sent from a string is valid UTF-8, even from lone surrogates', () => {
        const connection = openConnection(role, codec);
        connection.sendText('caf\u00e9 \ud83d\ude00 \ud800 end');
        const [frame] = drain(connection).frames;
        expect(codec.validateUtf8(frame!.payload)).toBe(true);
        expect(new TextDecoder().decode(frame!.payload)).toBe('caf\u00e9 \ud83d\ude00 \ufffd end');
      });

      it('§5.6 text sent as bytes must be valid UTF-8: invalid bytes are refused and nothing is sent', () => {
        const connection = openConnection(role, codec);
        for (const bad of [Uint8Array.of(0xff), Uint8Array.of(0x61, 0xc3), Uint8Array.of(0xed, 0xa0, 0x80)]) {
          expect(() => connection.sendText(bad)).toThrow(InvalidArgumentError);
        }
        expect(drain(connection).frames).toEqual([]);
        // A character may be split between fragments; the message must not end inside one.
        const euro = utf8('\u20ac');
        connection.sendText(euro.subarray(0, 1), false);
        connection.sendContinuation(euro.subarray(1, 2), false);
        expect(() => connection.sendContinuation(new Uint8Array(0), true)).toThrow(InvalidArgumentError);
        connection.sendContinuation(euro.subarray(2), true);
        expect(drain(connection).frames.map((frame) => [...frame.payload])).toEqual([[0xe2], [0x82], [0xac]]);
      });
    });

    describe('§6.1 sending data', () => {
      it('§6.1 messages are sent only while OPEN', () => {
        const closing = openConnection(role, codec);
        closing.sendClose(CloseCode.NORMAL);
        expect(closing.state).toBe(ReadyState.CLOSING);
        const closed = openConnection(role, codec);
        closed.receiveEof();
        expect(closed.state).toBe(ReadyState.CLOSED);
        for (const connection of [closing, closed]) {
          drain(connection);
          expect(() => connection.sendText('x')).toThrow(InvalidStateError);
          expect(() => connection.sendBinary(Uint8Array.of(1))).toThrow(InvalidStateError);
          expect(() => connection.sendPing()).toThrow(InvalidStateError);
          expect(() => connection.sendPong()).toThrow(InvalidStateError);
          expect(() => connection.sendClose()).toThrow(InvalidStateError);
          expect(connection.dataToSend()).toEqual([]);
        }
      });

      it('§6.1 a message goes out as text or binary frames, FIN set on the last one only', () => {
        const connection = openConnection(role, codec);
        connection.sendText('a');
        connection.sendBinary(Uint8Array.of(0xb));
        connection.sendBinary(Uint8Array.of(1), false);
        connection.sendContinuation(Uint8Array.of(2), false);
        connection.sendContinuation(Uint8Array.of(3), true);
        connection.sendText('x', false);
        connection.sendContinuation('y', true);
        expect(drain(connection).frames.map((frame) => [frame.opcode, frame.fin, Buffer.from(frame.payload).toString('hex')])).toEqual([
          [Opcode.TEXT, true, '61'],
          [Opcode.BINARY, true, '0b'],
          [Opcode.BINARY, false, '01'],
          [Opcode.CONTINUATION, false, '02'],
          [Opcode.CONTINUATION, true, '03'],
          [Opcode.TEXT, false, '78'],
          [Opcode.CONTINUATION, true, '79'],
        ]);
      });
    });

    describe('§6.2 receiving data', () => {
      it('§6.2 frames are parsed the same wherever the input is split', () => {
        const stream = concat(
          peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('h\u00e9llo') }),
          peerFrame(role, { opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(130).fill(7) }),
          peerFrame(role, { opcode: Opcode.PING, payload: utf8('p') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: Uint8Array.of(8) }),
        );
        const whole = openConnection(role, codec);
        const expected = feed(whole, stream.slice());
        expect(expected.events.map((event) => event.type)).toEqual(['message', 'ping', 'message']);
        for (let at = 1; at < stream.length; at++) {
          const split = openConnection(role, codec);
          const output = feed(split, stream.slice(0, at), stream.slice(at));
          expect(messages(output.events), `split at ${at}`).toEqual(messages(expected.events));
          expect(output.events.map((event) => event.type), `split at ${at}`).toEqual(['message', 'ping', 'message']);
        }
        const byteByByte = openConnection(role, codec);
        const output = feed(byteByByte, ...Array.from(stream, (byte) => Uint8Array.of(byte)));
        expect(messages(output.events)).toEqual(messages(expected.events));
      });

      it('§6.2 a message takes its type from its first frame', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.BINARY, fin: false, payload: utf8('ab') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: utf8('c') }),
          peerFrame(role, { opcode: Opcode.TEXT, fin: false, payload: utf8('ab') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: utf8('c') }),
        );
        expect(messages(output.events)).toEqual([
          ['binary', '616263'],
          ['text', 'abc'],
        ]);
      });

      it('§6.2 after the final fragment, the next data frame starts a new message', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, fin: false, payload: utf8('one') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: utf8('!') }),
          peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('two') }),
        );
        expect(messages(output.events)).toEqual([
          ['text', 'one!'],
          ['text', 'two'],
        ]);
        expect(eventsOf(output.events, 'error')).toEqual([]);
      });
    });
  });

  describe('§6.2 unmasking', () => {
    it('§6.2 a server unmasks the frames a client sends', () => {
      const server = openConnection('server', codec);
      const payload = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
      const output = feed(server, peerFrame('server', { opcode: Opcode.BINARY, payload }));
      expect(eventsOf(output.events, 'message')[0]!.data).toEqual(payload);
    });
  });
});
