/**
 * The connection around asynchronous extension transforms: what the input queue does with the
 * end of the transport, a violation or a local failure while a decode is pending (events in
 * order, `close` always last and reported once), pieces a decoder holds back, encodes that
 * settle after the connection closed, and the RSV bits of a message only some extensions
 * transform (RFC 6455 §5.2, §7.1.7, §9.1).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { Extension } from '../../src/protocol/extension.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { CloseCode, Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, ProtocolError } from '../../src/shared/errors.js';
import { bytesOf, readClose, text } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';
import { codecWith, openWithExtensions, peer, type Side, type SideOptions, sentFrames, summarizeEvent } from './drive.js';
import { HeldExtension, XorExtension } from './test-extensions.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const CLOSED_ABNORMALLY = { type: 'close', code: 1006, reason: '', wasClean: false } as const;

describe.each(protocolCodecs)('connection with asynchronous extensions, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe.each(['server', 'client'] as Side[])('%s side', (side) => {
    const { frame: peerFrame, close: peerClose } = peer(side);
    const open = (extensions: Extension[], options: SideOptions = {}): Connection => openWithExtensions(side, codec, extensions, options);
    const transformed = (payload: Uint8Array | string, options: { fin?: boolean; opcode?: number; rsv?: number } = {}) =>
      peerFrame(options.opcode ?? Opcode.TEXT, payload, { rsv: options.rsv ?? 4, fin: options.fin ?? true });
    const types = (connection: Connection): string[] =>
      connection.eventsReceived().map((event) => (event.type === 'error' ? `error ${event.error.code}` : event.type));

    describe('§7.1.7 the end of the transport queued behind a pending decode', () => {
      it('a violation queued before it: the message, then the error, then close, which is last', async () => {
        const held = new HeldExtension();
        const connection = open([held]);
        connection.receiveData(bytesOf(transformed('kept'), peerFrame(0x3, 'reserved opcode')));
        connection.receiveEof();
        expect(connection.state).toBe(ReadyState.OPEN);
        held.next().release();
        await tick();
        const events = connection.eventsReceived();
        expect(events.map(summarizeEvent)).toMatchObject([
          { type: 'message', data: Array.from(utf8Encode('kept')) },
          { type: 'error', code: ErrorCode.RESERVED_OPCODE, closeCode: 1002 },
          CLOSED_ABNORMALLY,
        ]);
        expect(connection.state).toBe(ReadyState.CLOSED);
        expect(held.disposed).toBe(1);
      });

      it('fail() by the application: CLOSED at once, close reported once, the events read but not taken dropped', async () => {
        const held = new HeldExtension();
        const connection = open([held]);
        connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'read'), transformed('pending')));
        connection.receiveEof();
        expect(connection.state).toBe(ReadyState.OPEN);
        connection.fail(1008, 'policy');
        expect(connection.state).toBe(ReadyState.CLOSED);
        expect(connection.eventsReceived()).toEqual([CLOSED_ABNORMALLY]);
        // The transport is gone: no close frame for it.
        expect(sentFrames(connection)).toEqual([]);
        held.next().release();
        await tick();
        expect(connection.eventsReceived()).toEqual([]);
      });

      it('abort(): CLOSED at once and close reported once', async () => {
        const held = new HeldExtension();
        const connection = open([held]);
        connection.receiveData(transformed('pending'));
        connection.receiveEof();
        connection.abort();
        expect(connection.eventsReceived()).toEqual([CLOSED_ABNORMALLY]);
        held.next().release();
        await tick();
        expect(connection.eventsReceived()).toEqual([]);
        expect(connection.state).toBe(ReadyState.CLOSED);
      });

      it('a decode that fails: the error, then close', async () => {
        const held = new HeldExtension();
        const connection = open([held]);
        connection.receiveData(bytesOf(transformed('corrupt'), peerFrame(Opcode.TEXT, 'never')));
        connection.receiveEof();
        held.next().fail(new Error('bad block'));
        await tick();
        expect(types(connection)).toEqual([`error ${ErrorCode.INTERNAL_ERROR}`, 'close']);
      });
    });

    it('§5.5.2 a ping queued behind a pending decode is answered when its event is taken, after the message before it', async () => {
      const held = new HeldExtension();
      const connection = open([held]);
      connection.receiveData(bytesOf(transformed('first'), peerFrame(Opcode.PING, 'p')));
      held.next().release();
      await tick();
      const message = connection.nextEvent();
      expect(message).toMatchObject({ type: 'message' });
      connection.sendText(`echo ${text((message as { data: Uint8Array }).data)}`, true, false);
      expect(connection.nextEvent()).toMatchObject({ type: 'ping' });
      expect(sentFrames(connection).map((f) => [f.opcode, text(f.payload)])).toEqual([
        [Opcode.TEXT, 'echo first'],
        [Opcode.PONG, 'p'],
      ]);
    });

    it('a pending decode resumed with nothing decoded hands out nothing for that piece (streamMessages)', async () => {
      const held = new HeldExtension();
      const connection = open([held], { streamMessages: true });
      connection.receiveData(bytesOf(transformed('ab', { fin: false }), peerFrame(Opcode.CONTINUATION, 'cd', { fin: true })));
      held.next().release([]);
      await tick();
      expect(connection.eventsReceived()).toEqual([]);
      // The decoder produces the held piece with the message's last one.
      held.next().release([utf8Encode('ab'), utf8Encode('cd')]);
      await tick();
      expect(connection.eventsReceived().map((e) => (e.type === 'fragment' ? [text(e.data), e.first, e.last] : e.type))).toEqual([
        ['ab', true, false],
        ['cd', false, true],
      ]);
    });

    it('a decoder that throws something other than an Error is a 1011 naming it', () => {
      const connection = open([
        {
          encode: (data) => data,
          decode: () => {
            throw 'no window';
          },
        },
      ]);
      connection.receiveData(transformed('zzz'));
      const [event] = connection.eventsReceived();
      expect(event).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, closeCode: 1011, message: 'internal error: no window' } });
      expect(readClose(sentFrames(connection)[0]!.payload)).toEqual({ code: 1011, reason: '' });
    });

    describe('encodes that settle after the connection closed', () => {
      it('a result is not written', async () => {
        const held = new HeldExtension();
        const connection = open([held]);
        connection.sendText('late');
        connection.abort();
        connection.eventsReceived();
        held.next().release();
        await tick();
        expect(connection.dataToSend()).toEqual([]);
        expect(connection.eventsReceived()).toEqual([]);
      });

      it('a failure is not reported', async () => {
        let woken = 0;
        const held = new HeldExtension();
        const connection = open([held], { onWake: () => woken++ });
        connection.sendBinary(Uint8Array.of(1, 2));
        connection.sendClose(1000);
        connection.receiveEof();
        expect(connection.eventsReceived()).toEqual([CLOSED_ABNORMALLY]);
        held.next().fail(new Error('engine gone'));
        await tick();
        expect(woken).toBe(1);
        expect(connection.eventsReceived()).toEqual([]);
        expect(connection.dataToSend()).toEqual([]);
      });
    });

    it('§7.1.7 an encoder failing while a violation waits to be taken adds no second error: one failure, one close frame', () => {
      const failing: Extension = {
        encode: () => {
          throw new Error('encoder broke');
        },
        decode: (data, _fin, output) => {
          output.push(data);
        },
      };
      const connection = open([failing]);
      connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'question'), peerFrame(Opcode.CONTINUATION, 'stray')));
      const message = connection.nextEvent();
      expect(message).toMatchObject({ type: 'message' });
      // Still OPEN while the message is handled: the reply is sent, and its encoder fails.
      connection.sendText('answer');
      const rest = connection.eventsReceived();
      expect(rest.map(summarizeEvent)).toMatchObject([{ type: 'error', code: ErrorCode.UNEXPECTED_CONTINUATION, closeCode: 1002 }]);
      const frames = sentFrames(connection);
      expect(frames.map((f) => f.opcode)).toEqual([Opcode.CLOSE]);
      expect(readClose(frames[0]!.payload).code).toBe(1002);
    });

    it('§7.4.1 a failure whose close code may not be sent is reported with it, and the close frame says 1011', () => {
      const connection = open([
        {
          encode: (data) => data,
          decode: () => {
            throw new ProtocolError('an extension reported 1005', ErrorCode.EXTENSION_ERROR, CloseCode.NO_STATUS_RECEIVED);
          },
        },
      ]);
      connection.receiveData(transformed('x'));
      expect(connection.eventsReceived().map(summarizeEvent)).toMatchObject([{ type: 'error', closeCode: 1005, message: 'an extension reported 1005' }]);
      expect(readClose(sentFrames(connection)[0]!.payload)).toEqual({ code: 1011, reason: 'an extension reported 1005' });
      expect(connection.closeSent).toEqual({ code: 1011, reason: 'an extension reported 1005' });
    });

    it('a codec fault writing a frame whose encode settled later fails the connection with 1011; nothing escapes', async () => {
      let armed = false;
      // The codec, but encodeHeader traps once when armed (a wasm trap, say).
      const faulty = codecWith(codec, {
        encodeHeader: (target, offset, fin, rsv, opcode, length, key) => {
          if (armed) {
            armed = false;
            throw new RangeError('memory access out of bounds');
          }
          return codec.encodeHeader(target, offset, fin, rsv, opcode, length, key);
        },
      });
      const held = new HeldExtension();
      let woken = 0;
      const connection = open([held], { codec: faulty, onWake: () => woken++ });
      connection.sendText('compressed later');
      armed = true;
      held.next().release();
      await tick();
      expect(woken).toBe(1);
      const [event, ...rest] = connection.eventsReceived();
      expect(rest).toEqual([]);
      expect(event).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, closeCode: 1011, message: 'internal error: memory access out of bounds' } });
      expect(sentFrames(connection).map((f) => [f.opcode, readClose(f.payload).code])).toEqual([[Opcode.CLOSE, 1011]]);
      expect(connection.state).toBe(ReadyState.CLOSING);
    });

    it('§5.2 a message carries the RSV bits of the extensions that transform it, not of one that declines it', () => {
      const declining = new XorExtension({ shouldEncode: () => false });
      const connection = open([declining, new XorExtension({ key: 0x21 })]);
      connection.sendBinary(Uint8Array.of(1, 2, 3));
      const [sent] = sentFrames(connection);
      expect(sent!.rsv).toBe(0b010);
      expect(Array.from(sent!.payload)).toEqual(Array.from(XorExtension.apply(Uint8Array.of(1, 2, 3), 0x21)));
      expect(declining.encodedPieces).toBe(0);
    });

    it('§9.1 a message two extensions transformed is decoded by both, in the reverse of the response order', () => {
      const first = new XorExtension({ key: 0x10 });
      const second = new XorExtension({ key: 0x33 });
      const connection = open([first, second]);
      const payload = XorExtension.apply(XorExtension.apply(utf8Encode('twice'), 0x10), 0x33);
      connection.receiveData(bytesOf(transformed(payload, { rsv: 0b110 }), peerClose(1000)));
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([
        { type: 'message', binary: false, data: Array.from(utf8Encode('twice')) },
        { type: 'close-received', code: 1000, reason: '' },
      ]);
      expect([first.decodedPieces, second.decodedPieces]).toEqual([1, 1]);
    });
  });
});
