/**
 * RFC 6455 §5.5.1–§5.5.3 (close, ping, pong), §7 (closing the connection) and §8.1 (UTF-8)
 * through a connection, for both roles and every codec. One test per requirement of
 * docs/compliance.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { CloseCode, Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, InvalidArgumentError } from '../../src/shared/errors.js';
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
  closeBody,
  utf8,
  type Role,
} from './harness.js';
import { readClose } from '../helpers/frames.js';

/** The codes that may appear in a close frame (RFC 6455 §7.4.1, §7.4.2, IANA registry). */
const SENDABLE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
/** Codes that never appear in a close frame: unused, reserved or unassigned. */
const UNSENDABLE_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

describe.each(codecsUnderTest)('%s codec', (_name, makeCodec) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await makeCodec();
  });

  describe.each(ROLES)('%s', (role: Role) => {
    describe('§5.5.1 close', () => {
      it('§5.5.1 close frame with 1-byte payload → 1002', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: Uint8Array.of(0x03) }));
        expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.INVALID_CLOSE_PAYLOAD);
        expect(eventsOf(output.events, 'close-received')).toEqual([]);
      });

      it('§5.5.1 a close frame received is answered with a close frame echoing its code', () => {
        for (const [body, echoed] of [
          [closeBody(CloseCode.GOING_AWAY, 'bye'), CloseCode.GOING_AWAY],
          [closeBody(4321), 4321],
          [new Uint8Array(0), null],
        ] as const) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: body }));
          expect(output.frames.map((frame) => frame.opcode)).toEqual([Opcode.CLOSE]);
          expect(readClose(output.frames[0]!.payload).code).toBe(echoed);
          expect(eventsOf(output.events, 'close-received')).toHaveLength(1);
          expect(connection.state).toBe(ReadyState.CLOSING);
        }
      });

      it('§5.5.1 no data frame can be sent after a close frame', () => {
        const connection = openConnection(role, codec);
        connection.sendText('before');
        connection.sendClose(CloseCode.NORMAL);
        expect(() => connection.sendText('after')).toThrow(/CLOSING/);
        expect(() => connection.sendBinary(Uint8Array.of(1))).toThrow(/CLOSING/);
        const echoing = openConnection(role, codec);
        feed(echoing, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }));
        expect(() => echoing.sendText('after')).toThrow(/CLOSING/);
        expect(drain(connection).frames.map((frame) => frame.opcode)).toEqual([Opcode.TEXT, Opcode.CLOSE]);
      });

      it('§5.5.1 after the closing handshake the server closes the transport at once; the client waits for it', () => {
        const connection = openConnection(role, codec);
        connection.sendClose(CloseCode.NORMAL);
        drain(connection);
        expect(connection.shouldCloseTransport()).toBe(false);
        expect(connection.closeExpected()).toBe(true);
        feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }));
        expect(connection.shouldCloseTransport()).toBe(role === 'server');
        expect(connection.closeExpected()).toBe(true);
        connection.receiveEof();
        expect(connection.state).toBe(ReadyState.CLOSED);
        expect(connection.shouldCloseTransport()).toBe(true);
      });

      it('§5.5.1 after answering a close frame the server closes the transport; the client leaves that to the server', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }));
        expect(output.frames.map((frame) => frame.opcode)).toEqual([Opcode.CLOSE]);
        expect(connection.shouldCloseTransport()).toBe(role === 'server');
        expect(connection.closeExpected()).toBe(true);
      });
    });

    describe('§5.5.2 ping and §5.5.3 pong', () => {
      it('§5.5.2 a ping is answered with a pong carrying its payload', () => {
        const connection = openConnection(role, codec);
        const payloads = [new Uint8Array(0), utf8('Hello'), Uint8Array.from({ length: 125 }, (_, i) => 255 - i)];
        const output = feed(connection, ...payloads.map((payload) => peerFrame(role, { opcode: Opcode.PING, payload })));
        expect(eventsOf(output.events, 'ping').map((event) => [...event.data])).toEqual(payloads.map((payload) => [...payload]));
        expect(output.frames.map((frame) => frame.opcode)).toEqual([Opcode.PONG, Opcode.PONG, Opcode.PONG]);
        expect(output.frames.map((frame) => [...frame.payload])).toEqual(payloads.map((payload) => [...payload]));
      });

      it('§5.5.2 a ping that arrives after a close frame is not answered', () => {
        const connection = openConnection(role, codec);
        connection.sendClose(CloseCode.NORMAL);
        drain(connection);
        // Our close was sent: pings still arrive until the peer's close, and are answered…
        const before = feed(connection, peerFrame(role, { opcode: Opcode.PING, payload: utf8('a') }));
        expect(before.frames.map((frame) => frame.opcode)).toEqual([Opcode.PONG]);
        // …but not once the peer's close frame was received.
        const after = feed(
          connection,
          peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }),
          peerFrame(role, { opcode: Opcode.PING, payload: utf8('b') }),
        );
        expect(after.frames).toEqual([]);
        expect(eventsOf(after.events, 'ping')).toEqual([]);
      });

      it('§5.5.3 the pong echoes a ping split across reads byte for byte', () => {
        const connection = openConnection(role, codec);
        const payload = Uint8Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff);
        const frame = peerFrame(role, { opcode: Opcode.PING, payload });
        const output = feed(connection, frame.subarray(0, 5), frame.subarray(5, 60), frame.subarray(60));
        expect(output.frames).toHaveLength(1);
        expect(output.frames[0]!.opcode).toBe(Opcode.PONG);
        expect([...output.frames[0]!.payload]).toEqual([...payload]);
      });
    });

    describe('§7.1 definitions', () => {
      it('§7.1.1 bytes after the close frame received are discarded', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('before') }),
          peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }),
          peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('after') }),
          Uint8Array.of(0xff, 0xff, 0xff),
        );
        expect(messages(output.events)).toEqual([['text', 'before']]);
        expect(eventsOf(output.events, 'error')).toEqual([]);
      });

      it('§7.1.2 sendClose sends a close frame with the code and reason', () => {
        const connection = openConnection(role, codec);
        connection.sendClose(CloseCode.GOING_AWAY, 'shutting d\u00f6wn');
        const { frames } = drain(connection);
        expect(frames.map((frame) => frame.opcode)).toEqual([Opcode.CLOSE]);
        expect(readClose(frames[0]!.payload)).toEqual({ code: CloseCode.GOING_AWAY, reason: 'shutting d\u00f6wn' });
        expect(connection.closeSent).toEqual({ code: CloseCode.GOING_AWAY, reason: 'shutting d\u00f6wn' });
        const empty = openConnection(role, codec);
        // §5.5.1: a body starts with a status code, so a reason cannot go without one.
        expect(() => empty.sendClose(undefined, 'why')).toThrow(InvalidArgumentError);
        empty.sendClose();
        expect(drain(empty).frames[0]!.payload).toHaveLength(0);
      });

      it('§7.1.3 sending or receiving a close frame makes the connection CLOSING', () => {
        const sender = openConnection(role, codec);
        sender.sendClose(CloseCode.NORMAL);
        expect(sender.state).toBe(ReadyState.CLOSING);
        const receiver = openConnection(role, codec);
        feed(receiver, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }));
        expect(receiver.state).toBe(ReadyState.CLOSING);
      });

      it('§7.1.4 the connection is CLOSED when the transport ends, cleanly only after the closing handshake', () => {
        const clean = openConnection(role, codec);
        clean.sendClose(CloseCode.NORMAL);
        feed(clean, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }));
        clean.receiveEof();
        expect(clean.state).toBe(ReadyState.CLOSED);
        expect(eventsOf(drain(clean).events, 'close')).toEqual([{ type: 'close', code: 1000, reason: '', wasClean: true }]);

        const halfway = openConnection(role, codec);
        halfway.sendClose(CloseCode.NORMAL);
        halfway.receiveEof();
        expect(halfway.state).toBe(ReadyState.CLOSED);
        expect(eventsOf(drain(halfway).events, 'close')[0]!.wasClean).toBe(false);
      });

      it('§7.1.5 the close code is that of the first close frame received: 1005 without a code, 1006 without a close frame', () => {
        const cases: Array<[Uint8Array | null, number]> = [
          [closeBody(4000, 'x'), 4000],
          [new Uint8Array(0), CloseCode.NO_STATUS_RECEIVED],
          [null, CloseCode.ABNORMAL_CLOSURE],
        ];
        for (const [body, code] of cases) {
          const connection = openConnection(role, codec);
          if (body !== null) {
            feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: body }), peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(3000) }));
          }
          connection.receiveEof();
          expect(eventsOf(drain(connection).events, 'close')[0]!.code).toBe(code);
        }
        // Our own close frame does not set the code; the peer's answer does.
        const initiator = openConnection(role, codec);
        initiator.sendClose(CloseCode.GOING_AWAY);
        feed(initiator, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }));
        initiator.receiveEof();
        expect(eventsOf(drain(initiator).events, 'close')[0]!.code).toBe(CloseCode.NORMAL);
      });

      it('§7.1.6 the close reason is the first close frame\'s reason, empty without one', () => {
        const withReason = openConnection(role, codec);
        const received = feed(withReason, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(1000, 'fin \u2713') }));
        expect(eventsOf(received.events, 'close-received')).toEqual([{ type: 'close-received', code: 1000, reason: 'fin \u2713' }]);
        withReason.receiveEof();
        expect(eventsOf(drain(withReason).events, 'close')[0]!.reason).toBe('fin \u2713');
        for (const body of [closeBody(1000), new Uint8Array(0)]) {
          const connection = openConnection(role, codec);
          feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: body }));
          connection.receiveEof();
          expect(eventsOf(drain(connection).events, 'close')[0]!.reason).toBe('');
        }
      });
    });

    describe('§7.1.7 failing the connection', () => {
      it('§7.1.7 failing sends a close frame with the error\'s code and a reason saying what was wrong', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: 0x3 }));
        const error = expectFailed(output, connection, CloseCode.PROTOCOL_ERROR);
        const close = output.frames.find((frame) => frame.opcode === Opcode.CLOSE)!;
        expect(readClose(close.payload).reason).toBe(error.message);
        expect(error.message).toMatch(/opcode/);
      });

      it('§7.1.7 after failing, no more data is processed, not even the peer\'s close frame', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, rsv: 0b100, payload: utf8('bad') }),
          peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('ignored') }),
        );
        expectFailed(output, connection, CloseCode.PROTOCOL_ERROR);
        const later = feed(
          connection,
          peerFrame(role, { opcode: Opcode.PING, payload: utf8('ignored') }),
          peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(CloseCode.NORMAL) }),
        );
        expect(later.events).toEqual([]);
        expect(later.frames).toEqual([]);
        expect(connection.closeReceived).toBeNull();
        connection.receiveEof();
        expect(eventsOf(drain(connection).events, 'close')).toEqual([{ type: 'close', code: CloseCode.ABNORMAL_CLOSURE, reason: '', wasClean: false }]);
      });

      it('§7.1.7 a failing server closes the transport; a failing client waits for the server to', () => {
        const connection = openConnection(role, codec);
        feed(connection, peerFrame(role, { opcode: Opcode.CONTINUATION }));
        expect(connection.shouldCloseTransport()).toBe(role === 'server');
        expect(connection.closeExpected()).toBe(true);
      });

      it('§7.1.7 the application can fail the connection with its own code', () => {
        const connection = openConnection(role, codec);
        connection.fail(CloseCode.POLICY_VIOLATION, 'not allowed');
        const output = feed(connection, peerFrame(role, { opcode: Opcode.TEXT, payload: utf8('ignored') }));
        expect(output.frames.map((frame) => [frame.opcode, readClose(frame.payload).code])).toEqual([[Opcode.CLOSE, CloseCode.POLICY_VIOLATION]]);
        expect(messages(output.events)).toEqual([]);
        expect(connection.shouldCloseTransport()).toBe(role === 'server');
      });
    });

    describe('§7.2 abnormal closures', () => {
      it('§7.2.1 a transport lost while OPEN closes the connection with 1006, not cleanly', () => {
        const connection = openConnection(role, codec);
        feed(connection, peerFrame(role, { opcode: Opcode.BINARY, fin: false, payload: Uint8Array.of(1) }));
        connection.receiveEof();
        const { events } = drain(connection);
        expect(connection.state).toBe(ReadyState.CLOSED);
        expect(messages(events)).toEqual([]);
        expect(eventsOf(events, 'close')).toEqual([{ type: 'close', code: CloseCode.ABNORMAL_CLOSURE, reason: '', wasClean: false }]);
      });
    });

    describe('§7.4 status codes', () => {
      it('§7.4.1 close codes 1005, 1006 and 1015, and other codes that may not be sent, cannot be sent', () => {
        for (const code of UNSENDABLE_CODES) {
          const connection = openConnection(role, codec);
          expect(() => connection.sendClose(code), String(code)).toThrow(InvalidArgumentError);
          expect(() => connection.fail(code), String(code)).toThrow(InvalidArgumentError);
          expect(connection.state).toBe(ReadyState.OPEN);
          expect(connection.dataToSend()).toEqual([]);
        }
        for (const code of SENDABLE_CODES) {
          const connection = openConnection(role, codec);
          connection.sendClose(code);
          expect(readClose(drain(connection).frames[0]!.payload).code).toBe(code);
        }
      });

      it('§7.4.1 a close frame with a code that may not be sent → 1002', () => {
        for (const code of UNSENDABLE_CODES) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(code) }));
          expectFailed(output, connection, CloseCode.PROTOCOL_ERROR, ErrorCode.INVALID_CLOSE_CODE);
        }
        for (const code of SENDABLE_CODES) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(code) }));
          expect(eventsOf(output.events, 'error'), String(code)).toEqual([]);
          expect(eventsOf(output.events, 'close-received')[0]!.code).toBe(code);
        }
      });
    });

    describe('§8.1 UTF-8', () => {
      it('§8.1 invalid UTF-8 in a text message → 1007', () => {
        for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
          const connection = openConnection(role, codec);
          const output = feed(connection, peerFrame(role, { opcode: Opcode.TEXT, payload: Uint8Array.from([0x61, ...bad]) }));
          expectFailed(output, connection, CloseCode.INVALID_PAYLOAD, ErrorCode.INVALID_UTF8);
          expect(messages(output.events)).toEqual([]);
        }
      });

      it('§8.1 invalid UTF-8 fails the connection as soon as its fragment arrives, before the message ends', () => {
        const connection = openConnection(role, codec);
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, fin: false, payload: utf8('fine ') }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false, payload: Uint8Array.of(0x80) }),
        );
        expectFailed(output, connection, CloseCode.INVALID_PAYLOAD, ErrorCode.INVALID_UTF8);
      });

      it('§8.1 a character split between fragments is valid', () => {
        const connection = openConnection(role, codec);
        const euro = utf8('\u20ac');
        const output = feed(
          connection,
          peerFrame(role, { opcode: Opcode.TEXT, fin: false, payload: euro.subarray(0, 1) }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, fin: false, payload: euro.subarray(1, 2) }),
          peerFrame(role, { opcode: Opcode.CONTINUATION, payload: euro.subarray(2) }),
        );
        expect(messages(output.events)).toEqual([['text', '\u20ac']]);
      });

      it('§8.1 invalid UTF-8 in a close reason → 1007', () => {
        const connection = openConnection(role, codec);
        const output = feed(connection, peerFrame(role, { opcode: Opcode.CLOSE, payload: closeBody(1000, Uint8Array.of(0x6f, 0x6b, 0xc3)) }));
        expectFailed(output, connection, CloseCode.INVALID_PAYLOAD, ErrorCode.INVALID_UTF8);
      });
    });
  });
});
