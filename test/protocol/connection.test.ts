/**
 * The connection state machine once OPEN, for both roles and every codec: messages, control
 * frames, limits, the closing handshake, failures, sending and misuse. Every input is also run
 * split at every byte and in seeded random chunks (`runEveryWay`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import type { Connection } from '../../src/protocol/connection.js';
import { COPY_BELOW } from '../../src/protocol/frame-slab.js';
import { compactPiece } from '../../src/protocol/message-assembler.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, InvalidArgumentError, InvalidStateError } from '../../src/shared/errors.js';
import { bytesOf, readClose, readFrames, text } from '../helpers/frames.js';
import { splitAt } from '../helpers/chunkings.js';
import { protocolCodecs } from './codecs.js';
import { codecWith, ofType, openConnection, outcomeOf, peer, runEveryWay, type Side, type SideOptions, sentFrames } from './drive.js';

const sides: Side[] = ['server', 'client'];
const bytesFrom = (length: number, seed = 3): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);

describe('pieces of a message in assembly', () => {
  it('are kept as views when they are most of their buffer, copied when a small part of it', () => {
    const read = new Uint8Array(1000);
    const most = read.subarray(0, 600);
    expect(compactPiece(most)).toBe(most);
    const sliver = read.subarray(10, 20);
    const kept = compactPiece(sliver);
    expect(kept).not.toBe(sliver);
    expect(kept.buffer.byteLength).toBe(10);
    expect(kept).toEqual(sliver);
  });
});

describe.each(protocolCodecs)('Connection, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe.each(sides)('%s side', (side) => {
    const open = (options: SideOptions = {}): Connection => openConnection(side, codec, options);
    const maker = (options: SideOptions = {}) => (): Connection => open(options);
    const { frame: peerFrame, close: peerClose } = peer(side);

    describe('§5.6 and §6.2 receiving messages', () => {
      it('§6.2 delivers text and binary messages with their type', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerFrame(Opcode.TEXT, 'héllo'), peerFrame(Opcode.BINARY, bytesFrom(300)), peerFrame(Opcode.TEXT, '')));
        expect(outcome.events).toEqual([
          { type: 'message', binary: false, data: Array.from(utf8Encode('héllo')) },
          { type: 'message', binary: true, data: Array.from(bytesFrom(300)) },
          { type: 'message', binary: false, data: [] },
        ]);
        expect(outcome.sent).toEqual([]);
        expect(outcome.state).toBe(ReadyState.OPEN);
      });

      it('§6.2 a fragmented message is the concatenation of its fragments, control frames between them reported in order', () => {
        const bytes = bytesOf(
          peerFrame(Opcode.BINARY, bytesFrom(10, 1), { fin: false }),
          peerFrame(Opcode.PING, 'are you there'),
          peerFrame(Opcode.CONTINUATION, bytesFrom(200, 2), { fin: false }),
          peerFrame(Opcode.PONG, 'yes'),
          peerFrame(Opcode.CONTINUATION, bytesFrom(5, 3)),
          peerFrame(Opcode.TEXT, 'next'),
        );
        const outcome = runEveryWay(maker(), bytes);
        expect(outcome.events).toEqual([
          { type: 'ping', data: Array.from(utf8Encode('are you there')) },
          { type: 'pong', data: Array.from(utf8Encode('yes')) },
          { type: 'message', binary: true, data: Array.from(bytesOf(bytesFrom(10, 1), bytesFrom(200, 2), bytesFrom(5, 3))) },
          { type: 'message', binary: false, data: Array.from(utf8Encode('next')) },
        ]);
      });

      it('§5.4 a message that arrived in one frame is handed out without a copy (a view of the received chunk)', () => {
        const connection = open();
        const chunk = bytesOf(peerFrame(Opcode.BINARY, bytesFrom(1000)), peerFrame(Opcode.TEXT, 'tail'));
        connection.receiveData(chunk);
        const messages = ofType(connection.eventsReceived(), 'message');
        expect(messages.map((m) => m.data.buffer)).toEqual([chunk.buffer, chunk.buffer]);
        expect(messages[0]!.data).toEqual(bytesFrom(1000));
      });

      it('§5.2 a one-frame message that spans reads is unmasked into one buffer of its declared length, keeping none of the reads', () => {
        for (const [opcode, payload] of [
          [Opcode.BINARY, bytesFrom(5000)],
          [Opcode.TEXT, utf8Encode('é€𝄞'.repeat(600))],
        ] as const) {
          const connection = open();
          const bytes = bytesOf(peerFrame(Opcode.PING, 'p'), peerFrame(opcode, payload), peerFrame(Opcode.TEXT, 'after'));
          const reads = splitAt(bytes, [40, 1001, 1002, 3000]);
          const sent = reads.map((read) => read.slice());
          for (const read of reads) connection.receiveData(read);
          // The reads that hold nothing but the message's payload were only read: unmasked
          // into the message's buffer, not in place (one pass).
          for (const i of [1, 2, 3]) expect(reads[i]).toEqual(sent[i]);
          const messages = ofType(connection.eventsReceived(), 'message');
          expect(messages.map((m) => m.data.length)).toEqual([payload.length, 5]);
          const whole = messages[0]!.data;
          expect(whole).toEqual(payload);
          expect(whole.byteLength).toBe(whole.buffer.byteLength);
          for (const read of reads) expect(whole.buffer).not.toBe(read.buffer);
        }
      });

      it('the messages it assembles are in memory from the allocate option, filled before they are handed out', () => {
        const given: Uint8Array[] = [];
        const allocate = (length: number): Uint8Array => {
          const memory = new Uint8Array(length).fill(0xee);
          given.push(memory);
          return memory;
        };
        const connection = open({ allocate });
        const spanning = peerFrame(Opcode.BINARY, bytesFrom(3000));
        const fragmented = bytesOf(peerFrame(Opcode.TEXT, 'frag', { fin: false }), peerFrame(Opcode.CONTINUATION, 'ments'));
        for (const read of [...splitAt(spanning, [100, 2000]), fragmented, peerFrame(Opcode.BINARY, 'whole')]) connection.receiveData(read);
        const messages = ofType(connection.eventsReceived(), 'message');
        expect(messages.map((m) => m.data)).toEqual([bytesFrom(3000), utf8Encode('fragments'), utf8Encode('whole')]);
        expect(given).toHaveLength(2);
        expect(messages[0]!.data).toBe(given[0]);
        expect(messages[1]!.data).toBe(given[1]);
      });

      it('a message spread thinly over large reads is assembled intact', () => {
        const reads = [bytesOf(peerFrame(Opcode.BINARY, 'a', { fin: false }), peerFrame(Opcode.PING, bytesFrom(125)))];
        for (let i = 0; i < 20; i++) reads.push(bytesOf(peerFrame(Opcode.CONTINUATION, 'b', { fin: false }), peerFrame(Opcode.PING, bytesFrom(125))));
        reads.push(peerFrame(Opcode.CONTINUATION, bytesFrom(3000)));
        const connection = open();
        for (const read of reads) connection.receiveData(read);
        const message = ofType(connection.eventsReceived(), 'message')[0]!;
        expect(message.data).toEqual(bytesOf(utf8Encode('a' + 'b'.repeat(20)), bytesFrom(3000)));
      });

      it('§8.1 invalid UTF-8 in a text message → 1007, the close frame says so, and the rest is discarded', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerFrame(Opcode.TEXT, 'ok'), peerFrame(Opcode.TEXT, Uint8Array.of(0x61, 0xed, 0xa0, 0x80)), peerFrame(Opcode.TEXT, 'lost')));
        expect(outcome.events).toEqual([
          { type: 'message', binary: false, data: Array.from(utf8Encode('ok')) },
          { type: 'error', name: 'ProtocolError', code: ErrorCode.INVALID_UTF8, closeCode: 1007, message: 'invalid UTF-8 in text message' },
        ]);
        expect(outcome.sent).toHaveLength(1);
        expect(readClose(Uint8Array.from(outcome.sent[0]!.payload))).toEqual({ code: 1007, reason: 'invalid UTF-8 in text message' });
      });
    });

    describe('§7.4.1 limits', () => {
      it('§7.4.1 a message over maxMessageSize across its fragments → 1009', () => {
        const bytes = bytesOf(peerFrame(Opcode.BINARY, bytesFrom(60), { fin: false }), peerFrame(Opcode.CONTINUATION, bytesFrom(41)));
        const outcome = runEveryWay(maker({ limits: { maxMessageSize: 100 } }), bytes);
        expect(outcome.events).toEqual([
          { type: 'error', name: 'ProtocolError', code: ErrorCode.MESSAGE_TOO_BIG, closeCode: 1009, message: 'message of more than 100 bytes (101 so far)' },
        ]);
        expect(readClose(Uint8Array.from(outcome.sent[0]!.payload)).code).toBe(1009);
        expect(runEveryWay(maker({ limits: { maxMessageSize: 101 } }), bytes).events).toHaveLength(1);
      });

      it('§7.4.1 a frame over maxFrameSize → 1009 from its header', () => {
        const outcome = runEveryWay(maker({ limits: { maxFrameSize: 200 } }), peerFrame(Opcode.BINARY, bytesFrom(201)), { randomCount: 2 });
        expect(outcome.events).toEqual([
          { type: 'error', name: 'ProtocolError', code: ErrorCode.PAYLOAD_TOO_BIG, closeCode: 1009, message: 'frame payload of 201 bytes exceeds the limit of 200' },
        ]);
      });

      it('§7.4.1 a message of more than maxFragments frames → 1009', () => {
        const fragments = [peerFrame(Opcode.TEXT, 'a', { fin: false }), peerFrame(Opcode.CONTINUATION, 'b', { fin: false }), peerFrame(Opcode.CONTINUATION, 'c')];
        const outcome = runEveryWay(maker({ limits: { maxFragments: 2 } }), bytesOf(fragments));
        expect(outcome.events).toEqual([
          { type: 'error', name: 'ProtocolError', code: ErrorCode.TOO_MANY_FRAGMENTS, closeCode: 1009, message: 'message of more than 2 fragments' },
        ]);
        expect(runEveryWay(maker({ limits: { maxFragments: 3 } }), bytesOf(fragments)).events).toEqual([
          { type: 'message', binary: false, data: Array.from(utf8Encode('abc')) },
        ]);
      });

      it('rejects limits that are not integers in range', () => {
        expect(() => open({ limits: { maxMessageSize: -1 } })).toThrow(InvalidArgumentError);
        expect(() => open({ limits: { maxFrameSize: 100 } })).toThrow(/maxFrameSize must be an integer from 125/);
        expect(() => open({ limits: { maxFragments: 0.5 } })).toThrow(InvalidArgumentError);
        expect(() => open({ limits: { receiveHighWaterMark: 10, maxReceiveBacklog: 5 } })).toThrow(InvalidArgumentError);
        expect(open({ limits: { maxMessageSize: undefined } }).limits.maxMessageSize).toBe(100 * 1024 * 1024);
      });
    });

    describe('§5.5.2 and §5.5.3 pings and pongs', () => {
      it('§5.5.2 a ping is answered with a pong carrying the same payload', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerFrame(Opcode.PING, 'abc'), peerFrame(Opcode.PING)));
        expect(outcome.events).toEqual([
          { type: 'ping', data: Array.from(utf8Encode('abc')) },
          { type: 'ping', data: [] },
        ]);
        expect(outcome.sent).toEqual([
          { opcode: Opcode.PONG, fin: true, rsv: 0, payload: Array.from(utf8Encode('abc')) },
          { opcode: Opcode.PONG, fin: true, rsv: 0, payload: [] },
        ]);
      });

      it('§5.5.2 a ping split across chunks is answered with its whole payload', () => {
        const connection = open();
        const bytes = peerFrame(Opcode.PING, bytesFrom(125));
        connection.receiveData(bytes.slice(0, 40));
        connection.receiveData(bytes.slice(40, 90));
        connection.receiveData(bytes.slice(90));
        expect(ofType(connection.eventsReceived(), 'ping')[0]!.data).toEqual(bytesFrom(125));
        expect(sentFrames(connection)[0]!.payload).toEqual(bytesFrom(125));
      });

      it('§5.5.2 with autoPong off, pings are reported and not answered', () => {
        const outcome = runEveryWay(maker({ autoPong: false }), peerFrame(Opcode.PING, 'x'));
        expect(outcome.events).toEqual([{ type: 'ping', data: [0x78] }]);
        expect(outcome.sent).toEqual([]);
      });

      it('§5.5.2 no pong for a ping that follows a close frame', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerClose(1000), peerFrame(Opcode.PING, 'late')));
        expect(outcome.events).toEqual([{ type: 'close-received', code: 1000, reason: '' }]);
        expect(outcome.sent.map((f) => f.opcode)).toEqual([Opcode.CLOSE]);
      });

      it('§5.5.3 a pong is reported and not answered', () => {
        const outcome = runEveryWay(maker(), peerFrame(Opcode.PONG, 'beat'));
        expect(outcome.events).toEqual([{ type: 'pong', data: Array.from(utf8Encode('beat')) }]);
        expect(outcome.sent).toEqual([]);
      });
    });

    describe('§5.5.1 and §7 the closing handshake', () => {
      it('§5.5.1 a close frame is answered with a close frame echoing its code and reason; the connection is CLOSING', () => {
        const outcome = runEveryWay(maker(), peerClose(1001, 'going away'));
        expect(outcome.events).toEqual([{ type: 'close-received', code: 1001, reason: 'going away' }]);
        expect(outcome.sent).toHaveLength(1);
        expect(readClose(Uint8Array.from(outcome.sent[0]!.payload))).toEqual({ code: 1001, reason: 'going away' });
        expect(outcome.state).toBe(ReadyState.CLOSING);
        expect(outcome.closeExpected).toBe(true);
        // §7.1.1: the server closes the TCP connection first; the client waits for it.
        expect(outcome.shouldCloseTransport).toBe(side === 'server');
      });

      it('§7.1.5 a close frame without a code is reported as 1005 and answered with an empty close frame', () => {
        const outcome = runEveryWay(maker(), peerClose(), { eof: true });
        expect(outcome.events).toEqual([
          { type: 'close-received', code: 1005, reason: '' },
          { type: 'close', code: 1005, reason: '', wasClean: true },
        ]);
        expect(outcome.sent).toEqual([{ opcode: Opcode.CLOSE, fin: true, rsv: 0, payload: [] }]);
        expect(outcome.state).toBe(ReadyState.CLOSED);
      });

      it('§5.5.1 close frame with 1-byte payload → 1002', () => {
        const bytes = peerFrame(Opcode.CLOSE, Uint8Array.of(0x03));
        const outcome = runEveryWay(maker(), bytes);
        expect(outcome.events).toEqual([
          { type: 'error', name: 'ProtocolError', code: ErrorCode.INVALID_CLOSE_PAYLOAD, closeCode: 1002, message: 'close frame payload of 1 byte: a status code takes 2' },
        ]);
        expect(readClose(Uint8Array.from(outcome.sent[0]!.payload)).code).toBe(1002);
      });

      it('§7.4.1 close codes that may not be sent → 1002: < 1000, 1004–1006, 1015, 1016–2999, ≥ 5000', () => {
        for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
          const outcome = runEveryWay(maker(), peerClose(code), { randomCount: 1 });
          expect(outcome.events, `code ${code}`).toEqual([
            { type: 'error', name: 'ProtocolError', code: ErrorCode.INVALID_CLOSE_CODE, closeCode: 1002, message: `invalid close code ${code}` },
          ]);
        }
      });

      it('§7.4.1 close codes that may be sent are accepted: 1000–1003, 1007–1014, 3000–4999', () => {
        for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
          const connection = open();
          connection.receiveData(peerClose(code, 'r'));
          expect(connection.eventsReceived(), `code ${code}`).toEqual([{ type: 'close-received', code, reason: 'r' }]);
        }
      });

      it('§8.1 a close reason that is not valid UTF-8 → 1007', () => {
        const outcome = runEveryWay(maker(), peerClose(1000, Uint8Array.of(0xce, 0xba, 0xe1, 0xbd)));
        expect(outcome.events).toEqual([
          { type: 'error', name: 'ProtocolError', code: ErrorCode.INVALID_UTF8, closeCode: 1007, message: 'invalid UTF-8 in close reason' },
        ]);
        expect(readClose(Uint8Array.from(outcome.sent[0]!.payload)).code).toBe(1007);
      });

      it('§1.4 after a close frame everything received is discarded', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerFrame(Opcode.TEXT, 'before'), peerClose(1000), peerFrame(Opcode.TEXT, 'after'), Uint8Array.of(0xff, 0xff)));
        expect(outcome.events).toEqual([
          { type: 'message', binary: false, data: Array.from(utf8Encode('before')) },
          { type: 'close-received', code: 1000, reason: '' },
        ]);
      });

      it('§5.4 a close frame in the middle of a fragmented message drops the unfinished message', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerFrame(Opcode.TEXT, 'half', { fin: false }), peerClose(1000)));
        expect(outcome.events).toEqual([{ type: 'close-received', code: 1000, reason: '' }]);
      });

      it('§7.1.2 sendClose starts the closing handshake; messages keep arriving until the peer closes', () => {
        const connection = open();
        connection.sendClose(4000, 'done');
        expect(connection.state).toBe(ReadyState.CLOSING);
        expect(connection.closeExpected()).toBe(true);
        expect(connection.shouldCloseTransport()).toBe(false);
        const sent = sentFrames(connection);
        expect(sent.map((f) => [f.opcode, readClose(f.payload)])).toEqual([[Opcode.CLOSE, { code: 4000, reason: 'done' }]]);
        connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'still here'), peerFrame(Opcode.PING, 'p')));
        expect(connection.eventsReceived()).toEqual([
          { type: 'message', binary: false, data: utf8Encode('still here') },
          { type: 'ping', data: utf8Encode('p') },
        ]);
        // §5.5.2: a ping before the peer's close is still answered; only data frames stop.
        expect(sentFrames(connection).map((f) => f.opcode)).toEqual([Opcode.PONG]);
        connection.receiveData(peerClose(4000));
        expect(connection.eventsReceived()).toEqual([{ type: 'close-received', code: 4000, reason: '' }]);
        expect(sentFrames(connection)).toEqual([]);
        expect(connection.shouldCloseTransport()).toBe(side === 'server');
        connection.receiveEof();
        expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 4000, reason: '', wasClean: true }]);
        expect(connection.state).toBe(ReadyState.CLOSED);
        expect(connection.closeExpected()).toBe(false);
        expect(connection.shouldCloseTransport()).toBe(true);
      });

      it('§7.1.5 the close code is that of the first close frame received, whoever started', () => {
        const connection = open();
        connection.sendClose(1000, 'bye');
        connection.receiveData(peerClose(1001, 'ok'));
        connection.receiveEof();
        expect(ofType(connection.eventsReceived(), 'close')).toEqual([{ type: 'close', code: 1001, reason: 'ok', wasClean: true }]);
      });

      it('§7.1.5 the transport ending without a close frame → 1006, not clean', () => {
        const outcome = runEveryWay(maker(), bytesOf(peerFrame(Opcode.TEXT, 'hi'), peerFrame(Opcode.TEXT, 'unfinished', { fin: false })), { eof: true });
        expect(outcome.events).toEqual([
          { type: 'message', binary: false, data: Array.from(utf8Encode('hi')) },
          { type: 'close', code: 1006, reason: '', wasClean: false },
        ]);
        expect(outcome.state).toBe(ReadyState.CLOSED);
        expect(outcome.shouldCloseTransport).toBe(true);
      });

      it('§7.1.4 a close frame sent but none received is not a clean close', () => {
        const connection = open();
        connection.sendClose(1000);
        connection.receiveEof();
        expect(ofType(connection.eventsReceived(), 'close')).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
      });

      it('receiveEof and abort are idempotent: one close event', () => {
        const connection = open();
        connection.receiveEof();
        connection.receiveEof();
        connection.abort();
        connection.receiveData(peerFrame(Opcode.TEXT, 'ignored'));
        expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
        expect(connection.dataToSend()).toEqual([]);
      });

      it('§5.5.1 no data frame after a close frame was sent: sending throws, naming the state', () => {
        const connection = open();
        connection.sendClose();
        expect(() => connection.sendText('x')).toThrow(new InvalidStateError('cannot send a text message: the connection is CLOSING'));
        expect(() => connection.sendBinary(new Uint8Array(1))).toThrow(InvalidStateError);
        expect(() => connection.sendPing()).toThrow('cannot send a ping: the connection is CLOSING');
        expect(() => connection.sendClose()).toThrow('cannot send a close frame: the connection is CLOSING');
        connection.receiveEof();
        expect(() => connection.sendPong()).toThrow('cannot send a pong: the connection is CLOSED');
        try {
          connection.sendText('x');
        } catch (error) {
          expect(error).toMatchObject({ code: ErrorCode.INVALID_STATE });
        }
      });
    });

    describe('§7.1.7 failing the connection', () => {
      it('§7.1.7 after a failure, no further input is processed — not even a responding close frame', () => {
        const connection = open();
        connection.receiveData(peerFrame(Opcode.CONTINUATION, 'x'));
        const events = connection.eventsReceived();
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'error', error: { code: ErrorCode.UNEXPECTED_CONTINUATION, closeCode: 1002 } });
        const sent = sentFrames(connection);
        expect(sent.map((f) => [f.opcode, readClose(f.payload)])).toEqual([
          [Opcode.CLOSE, { code: 1002, reason: 'continuation frame without a message to continue' }],
        ]);
        connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'x'), peerClose(1000)));
        expect(connection.eventsReceived()).toEqual([]);
        expect(connection.dataToSend()).toEqual([]);
        expect(connection.state).toBe(ReadyState.CLOSING);
        expect(connection.closeExpected()).toBe(true);
        // The server closes the transport at once; the client waits for the server to.
        expect(connection.shouldCloseTransport()).toBe(side === 'server');
      });

      it('§7.1.7 a violation after our close frame sends no second close frame', () => {
        const connection = open();
        connection.sendClose(1000);
        connection.dataToSend();
        connection.receiveData(peerFrame(0x5, 'x'));
        expect(ofType(connection.eventsReceived(), 'error')).toHaveLength(1);
        expect(connection.dataToSend()).toEqual([]);
        expect(connection.shouldCloseTransport()).toBe(side === 'server');
      });

      it('§7.1.7 fail() sends the given close code and discards further input', () => {
        const connection = open();
        connection.fail(1008, 'policy');
        expect(sentFrames(connection).map((f) => readClose(f.payload))).toEqual([{ code: 1008, reason: 'policy' }]);
        connection.receiveData(peerFrame(Opcode.TEXT, 'ignored'));
        expect(connection.eventsReceived()).toEqual([]);
        expect(connection.state).toBe(ReadyState.CLOSING);
        expect(connection.shouldCloseTransport()).toBe(side === 'server');
        expect(() => connection.fail(1005)).toThrow(InvalidArgumentError);
        connection.receiveEof();
        expect(() => connection.fail(1000)).toThrow('cannot fail the connection: the connection is CLOSED');
      });

      it('§7.4.1 an internal error → 1011 with nothing said to the peer', () => {
        const broken = codecWith(codec, {
          parseFrames: () => {
            throw new Error('table corrupted at row 3');
          },
        });
        const connection = openConnection(side, broken);
        connection.receiveData(peerFrame(Opcode.TEXT, 'x'));
        const [event] = connection.eventsReceived();
        expect(event).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, closeCode: 1011, message: 'internal error: table corrupted at row 3' } });
        expect(((event as { error: Error }).error as Error & { cause: Error }).cause.message).toBe('table corrupted at row 3');
        expect(sentFrames(connection).map((f) => readClose(f.payload))).toEqual([{ code: 1011, reason: '' }]);
      });

      it('§7.1.7 the close reason of a failure names the offending value', () => {
        const connection = open({ limits: { maxFrameSize: 125 } });
        connection.receiveData(peerFrame(Opcode.BINARY, bytesFrom(0), { declaredLength: 1_000_000_000_000 }));
        expect(connection.eventsReceived()).toMatchObject([{ type: 'error', error: { closeCode: 1009 } }]);
        const [close] = sentFrames(connection);
        expect(readClose(close!.payload).reason).toBe('frame payload of 1000000000000 bytes exceeds the limit of 125');
      });
    });

    describe('§5.2, §5.3 and §6.1 sending', () => {
      it('§5.1 frames are masked by a client with a fresh key each, and never by a server', () => {
        const connection = open();
        for (let i = 0; i < 5; i++) connection.sendText('same');
        connection.sendPing('p');
        connection.sendClose(1000);
        const frames = sentFrames(connection);
        expect(frames.map((f) => text(f.payload)).slice(0, 5)).toEqual(['same', 'same', 'same', 'same', 'same']);
        if (side === 'client') {
          expect(frames.every((f) => f.masked)).toBe(true);
          const keys = new Set(frames.map((f) => Array.from(f.maskKey!).join(',')));
          expect(keys.size).toBe(frames.length);
        } else {
          expect(frames.some((f) => f.masked)).toBe(false);
        }
      });

      it('§5.3 the masking keys come from the injected random source', () => {
        if (side === 'server') return;
        let calls = 0;
        const random = (target: Uint8Array): void => {
          calls++;
          target.fill(0x42);
        };
        const connection = open({ random });
        connection.sendBinary(Uint8Array.of(1, 2, 3, 4));
        const [sent] = sentFrames(connection);
        expect(calls).toBe(1);
        expect(Array.from(sent!.maskKey!)).toEqual([0x42, 0x42, 0x42, 0x42]);
        expect(sent!.payload).toEqual(Uint8Array.of(1, 2, 3, 4));
      });

      it('§5.2 uses the minimal length encoding at every boundary', () => {
        const connection = open();
        for (const length of [0, 125, 126, 65535, 65536]) connection.sendBinary(bytesFrom(length));
        const frames = sentFrames(connection);
        expect(frames.map((f) => f.lengthField)).toEqual([0, 125, 126, 126, 127]);
        expect(frames.map((f) => f.payload.length)).toEqual([0, 125, 126, 65535, 65536]);
        expect(frames[4]!.payload).toEqual(bytesFrom(65536));
      });

      it(`server payloads of ${COPY_BELOW} bytes or more are written without a copy; client masking leaves the caller’s bytes intact`, () => {
        const connection = open();
        const payload = bytesFrom(COPY_BELOW);
        const original = payload.slice();
        connection.sendBinary(payload);
        const chunks = connection.dataToSend();
        if (side === 'server') expect(chunks[1]).toBe(payload);
        else expect(chunks.includes(payload)).toBe(false);
        expect(payload).toEqual(original);
        expect(readFrames(chunks)[0]!.payload).toEqual(original);
      });

      it('small frames sent one after another, as bytes or strings, leave as one chunk; the caller’s bytes stay intact', () => {
        // A slab of its own (one per allocate function), so no other test's frames filled it up to a boundary.
        const connection = open({ allocate: (length) => new Uint8Array(length) });
        const payload = bytesFrom(500);
        const original = payload.slice();
        connection.sendBinary(payload);
        connection.sendText('ünïcödé');
        connection.sendPing(Uint8Array.of(1, 2));
        connection.sendBinary(bytesFrom(COPY_BELOW - 1));
        const chunks = connection.dataToSend();
        expect(chunks).toHaveLength(1);
        expect(payload).toEqual(original);
        expect(readFrames(chunks).map((f) => [f.opcode, f.payload.length])).toEqual([
          [Opcode.BINARY, 500],
          [Opcode.TEXT, utf8Encode('ünïcödé').length],
          [Opcode.PING, 2],
          [Opcode.BINARY, COPY_BELOW - 1],
        ]);
        expect(readFrames(chunks)[0]!.payload).toEqual(original);
      });

      it('sends report the size of their payload: a string its UTF-8', () => {
        const connection = open();
        expect(connection.sendText('ünï')).toBe(5);
        expect(connection.sendText('x'.repeat(5000))).toBe(5000);
        expect(connection.sendBinary(bytesFrom(7))).toBe(7);
        expect(connection.send('é', true)).toBe(2);
        expect(connection.sendText('ab', false)).toBe(2);
        expect(connection.sendContinuation('€', true)).toBe(3);
        expect(sentFrames(connection).map((f) => text(f.payload)).slice(-2)).toEqual(['ab', '€']);
      });

      it('§6.1 a text message may be sent as a string or as UTF-8 bytes', () => {
        const connection = open();
        connection.sendText('ünïcödé');
        connection.sendText(utf8Encode('bytes'));
        expect(sentFrames(connection).map((f) => [f.opcode, text(f.payload)])).toEqual([
          [Opcode.TEXT, 'ünïcödé'],
          [Opcode.TEXT, 'bytes'],
        ]);
      });

      it('§5.6 text given as bytes must be UTF-8: invalid bytes are refused and nothing is sent', () => {
        const connection = open();
        expect(() => connection.sendText(Uint8Array.of(0x61, 0xff))).toThrow(new InvalidArgumentError('text payload is not valid UTF-8 (RFC 6455 §5.6)'));
        expect(() => connection.sendText(Uint8Array.of(0xe2, 0x82))).toThrow('text message would end inside a UTF-8 character (RFC 6455 §5.6)');
        expect(connection.dataToSend()).toEqual([]);
        connection.sendText(Uint8Array.of(0x61));
        expect(sentFrames(connection).map((f) => text(f.payload))).toEqual(['a']);
      });

      it('§5.6 a character may be split between fragments, but the message must end on a whole one', () => {
        const connection = open();
        const euro = utf8Encode('€');
        connection.sendText(euro.subarray(0, 1), false);
        expect(() => connection.sendContinuation('x', false)).toThrow('text payload is not valid UTF-8 (RFC 6455 §5.6)');
        connection.sendContinuation(euro.subarray(1, 2), false);
        expect(() => connection.sendContinuation(new Uint8Array(0), true)).toThrow('text message would end inside a UTF-8 character (RFC 6455 §5.6)');
        connection.sendContinuation(euro.subarray(2), false);
        connection.sendContinuation('!', true);
        expect(text(bytesOf(sentFrames(connection).map((f) => f.payload)))).toBe('€!');
        connection.sendBinary(Uint8Array.of(0xff), false);
        connection.sendContinuation(Uint8Array.of(0xfe), true);
        expect(sentFrames(connection).map((f) => f.opcode)).toEqual([Opcode.BINARY, Opcode.CONTINUATION]);
      });

      it('§5.4 a fragmented message goes out as first, continuation and last frames, with control frames between', () => {
        const connection = open();
        connection.sendText('Hel', false);
        connection.sendPing('between');
        connection.sendContinuation('lo ', false);
        connection.sendContinuation(utf8Encode('world'), true);
        connection.sendBinary(Uint8Array.of(9));
        expect(sentFrames(connection).map((f) => [f.opcode, f.fin, text(f.payload)])).toEqual([
          [Opcode.TEXT, false, 'Hel'],
          [Opcode.PING, true, 'between'],
          [Opcode.CONTINUATION, false, 'lo '],
          [Opcode.CONTINUATION, true, 'world'],
          [Opcode.BINARY, true, '\t'],
        ]);
      });

      it('§5.4 fragments must continue the message in progress, and no new message may start inside one', () => {
        const connection = open();
        expect(() => connection.sendContinuation('x', true)).toThrow('cannot send a continuation frame: no fragmented message is in progress');
        connection.sendBinary(Uint8Array.of(1), false);
        expect(() => connection.sendText('y')).toThrow(
          'cannot send a text message: a fragmented message is in progress (send its continuation frames first)',
        );
        expect(() => connection.sendBinary(Uint8Array.of(2))).toThrow(InvalidStateError);
        connection.sendContinuation(Uint8Array.of(3), true);
        connection.sendText('z');
        expect(sentFrames(connection).map((f) => f.opcode)).toEqual([Opcode.BINARY, Opcode.CONTINUATION, Opcode.TEXT]);
      });

      it('§5.5 control payloads over 125 bytes are refused', () => {
        const connection = open();
        expect(() => connection.sendPing(bytesFrom(126))).toThrow(new InvalidArgumentError('control frame payload of 126 bytes; at most 125 are allowed'));
        expect(() => connection.sendPong('x'.repeat(126))).toThrow(InvalidArgumentError);
        connection.sendPing(bytesFrom(125));
        expect(sentFrames(connection)[0]!.payload).toEqual(bytesFrom(125));
      });

      it('§7.4.1 close codes that may not be sent are refused, as are reasons over 123 bytes', () => {
        const connection = open();
        for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
          expect(() => connection.sendClose(code), `code ${code}`).toThrow(InvalidArgumentError);
        }
        expect(() => connection.sendClose(1000, 'é'.repeat(62))).toThrow('close reason is 124 bytes in UTF-8; at most 123 fit in a close frame');
        expect(() => connection.sendClose(undefined, 'why')).toThrow('a close reason needs a close code');
        expect(connection.state).toBe(ReadyState.OPEN);
        expect(connection.dataToSend()).toEqual([]);
        connection.sendClose(1000, 'x'.repeat(123));
        expect(readClose(sentFrames(connection)[0]!.payload)).toEqual({ code: 1000, reason: 'x'.repeat(123) });
      });

      it('refuses payloads that are not bytes', () => {
        const connection = open();
        expect(() => connection.sendBinary([1, 2] as unknown as Uint8Array)).toThrow('data must be a string or a Uint8Array');
      });

      it('dataToSend and eventsReceived return each item once', () => {
        const connection = open();
        connection.sendText('a');
        expect(connection.dataToSend().length).toBeGreaterThan(0);
        expect(connection.dataToSend()).toEqual([]);
        connection.receiveData(peerFrame(Opcode.TEXT, 'b'));
        expect(connection.eventsReceived()).toHaveLength(1);
        expect(connection.eventsReceived()).toEqual([]);
      });
    });

    describe('streaming messages as fragments', () => {
      it('hands out pieces as they arrive, the first and last marked, for messages of any shape', () => {
        const bytes = bytesOf(
          peerFrame(Opcode.BINARY, bytesFrom(300, 1), { fin: false }),
          peerFrame(Opcode.PING, 'p'),
          peerFrame(Opcode.CONTINUATION, bytesFrom(50, 2)),
          peerFrame(Opcode.TEXT, ''),
          peerFrame(Opcode.TEXT, 'whole'),
        );
        for (const chunks of [[bytes.slice()], [bytes.slice(0, 100), bytes.slice(100, 250), bytes.slice(250)]]) {
          const connection = open({ streamMessages: true });
          const events = [];
          for (const chunk of chunks) {
            connection.receiveData(chunk);
            events.push(...connection.eventsReceived());
          }
          const fragments = ofType(events, 'fragment');
          const messages: Array<{ binary: boolean; data: Uint8Array }> = [];
          for (const fragment of fragments) {
            if (fragment.first) messages.push({ binary: fragment.binary, data: new Uint8Array(0) });
            const current = messages[messages.length - 1]!;
            current.data = bytesOf(current.data, fragment.data);
            if (!fragment.last) expect(fragment.data.length).toBeGreaterThan(0);
          }
          expect(messages).toEqual([
            { binary: true, data: bytesOf(bytesFrom(300, 1), bytesFrom(50, 2)) },
            { binary: false, data: new Uint8Array(0) },
            { binary: false, data: utf8Encode('whole') },
          ]);
          expect(fragments.filter((f) => f.last)).toHaveLength(3);
          expect(ofType(events, 'message')).toEqual([]);
          expect(ofType(events, 'ping')).toHaveLength(1);
        }
      });

      it('a large frame is handed out in the pieces it arrived in, without being assembled', () => {
        const connection = open({ streamMessages: true });
        const bytes = peerFrame(Opcode.BINARY, bytesFrom(30_000));
        const chunks = [bytes.slice(0, 10_000), bytes.slice(10_000, 20_000), bytes.slice(20_000)];
        const seen: number[] = [];
        for (const chunk of chunks) {
          connection.receiveData(chunk);
          for (const event of ofType(connection.eventsReceived(), 'fragment')) {
            seen.push(event.data.length);
            expect(event.data.buffer).toBe(chunk.buffer);
          }
        }
        expect(seen.reduce((a, b) => a + b, 0)).toBe(30_000);
        expect(seen.length).toBe(3);
      });

      it('§8.1 streamed text with invalid UTF-8 fails as soon as the invalid byte arrives', () => {
        const connection = open({ streamMessages: true });
        const bytes = peerFrame(Opcode.TEXT, bytesOf(utf8Encode('a'.repeat(100)), Uint8Array.of(0xc3, 0x28), utf8Encode('b'.repeat(100))));
        connection.receiveData(bytes.slice(0, 50));
        expect(ofType(connection.eventsReceived(), 'fragment')).toHaveLength(1);
        connection.receiveData(bytes.slice(50, 120));
        expect(connection.eventsReceived()).toMatchObject([{ type: 'error', error: { code: ErrorCode.INVALID_UTF8, closeCode: 1007 } }]);
      });
    });

    it('reports the outcome unchanged whatever the state getters were asked', () => {
      const connection = open();
      expect(connection.side).toBe(side);
      expect(connection.protocol).toBeNull();
      expect(connection.extensions).toEqual([]);
      expect(connection.closeSent).toBeNull();
      connection.sendClose(1000, 'x');
      expect(connection.closeSent).toEqual({ code: 1000, reason: 'x' });
      connection.receiveData(peerClose());
      // The close frame takes effect when its event is taken.
      expect(connection.closeReceived).toBeNull();
      expect(connection.closingHandshakeComplete).toBe(false);
      expect(outcomeOf(connection, connection.eventsReceived()).events).toEqual([{ type: 'close-received', code: 1005, reason: '' }]);
      expect(connection.closeReceived).toEqual({ code: 1005, reason: '' });
      expect(connection.closingHandshakeComplete).toBe(true);
    });
  });
});
