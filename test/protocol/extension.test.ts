/**
 * The extension runtime: payload transforms owned by an RSV bit, synchronous or asynchronous,
 * with order kept in both directions, decoded size limited as output is produced, and input
 * held boundedly while a decode is pending.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { Extension } from '../../src/protocol/extension.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, ProtocolError } from '../../src/shared/errors.js';
import { randomChunks } from '../helpers/chunkings.js';
import { ConnectionPair, openPair } from '../helpers/connection-pair.js';
import { bytesOf, readClose, readFrames, text } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';
import { ofType, openConnection, peer, type Side, type SideOptions, sentFrames, summarizeEvent } from './drive.js';
import { ExpandingExtension, HeldExtension, negotiated, negotiatorsFor, type Timing, XorExtension } from './test-extensions.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe.each(protocolCodecs)('extensions, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe.each(['sync', 'microtask', 'timer'] as Timing[])('end to end with a %s transform', (timing) => {
    const xorPair = (options: { shouldEncode?: (binary: boolean, size: number | undefined) => boolean; split?: (b: Uint8Array) => Uint8Array[] } = {}) => {
      const { server, client } = negotiatorsFor(
        'x-xor',
        0b100,
        () => new XorExtension({ timing, shouldEncode: options.shouldEncode }),
        () => new XorExtension({ timing, shouldEncode: options.shouldEncode }),
      );
      return openPair({ codec, server: { extensions: [server] }, client: { extensions: [client] }, split: options.split });
    };

    it('§9 a transformed message carries the RSV bit on its first frame only, and the peer decodes it', async () => {
      const pair = xorPair();
      const client = pair.client.connection;
      client.sendText('hello', false);
      client.sendPing('between');
      client.sendContinuation(' world', true);
      client.sendBinary(Uint8Array.of(1, 2, 3));
      await pair.settle();
      expect(pair.eventsOf('server', 'message').map((m) => [m.binary, Array.from(m.data)])).toEqual([
        [false, Array.from(utf8Encode('hello world'))],
        [true, [1, 2, 3]],
      ]);
      expect(pair.eventsOf('server', 'ping')).toHaveLength(1);
      const frames = readFrames(pair.client.written.slice(1)); // after the request head
      expect(frames.map((f) => [f.opcode, f.rsv])).toEqual([
        [Opcode.TEXT, 4],
        [Opcode.PING, 0],
        [Opcode.CONTINUATION, 0],
        [Opcode.BINARY, 4],
      ]);
      expect(frames[0]!.payload).toEqual(XorExtension.apply(utf8Encode('hello'), 0x5a));
      expect(frames[2]!.payload).toEqual(XorExtension.apply(utf8Encode(' world'), 0x5a, 5));
    });

    it('§9 messages the extension declines go out plain, without the RSV bit', async () => {
      const pair = xorPair({ shouldEncode: (binary, size) => binary || (size ?? 0) > 3 });
      pair.server.connection.sendText('ab');
      pair.server.connection.sendText('abcdef');
      pair.server.connection.sendBinary(Uint8Array.of(7));
      await pair.settle();
      const frames = readFrames(pair.server.written.slice(1));
      expect(frames.map((f) => f.rsv)).toEqual([0, 4, 4]);
      expect(text(frames[0]!.payload)).toBe('ab');
      expect(pair.eventsOf('client', 'message').map((m) => Array.from(m.data))).toEqual([
        Array.from(utf8Encode('ab')),
        Array.from(utf8Encode('abcdef')),
        [7],
      ]);
    });

    it('large transformed messages survive any chunking in transit, both ways, and close cleanly', async () => {
      const pair = xorPair({ split: (bytes) => randomChunks(bytes, bytes.length, 300) });
      const big = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 13) & 0xff);
      pair.client.connection.sendBinary(big);
      pair.server.connection.sendBinary(big, false);
      pair.server.connection.sendContinuation(big, true);
      pair.client.connection.sendClose(1000, 'done');
      await pair.settle();
      expect(pair.eventsOf('server', 'message')[0]!.data).toEqual(big);
      expect(pair.eventsOf('client', 'message')[0]!.data).toEqual(bytesOf(big, big));
      // The server's answering close frame echoes the code and the reason.
      expect(pair.eventsOf('client', 'close')).toEqual([{ type: 'close', code: 1000, reason: 'done', wasClean: true }]);
      expect(pair.eventsOf('server', 'close')).toEqual([{ type: 'close', code: 1000, reason: 'done', wasClean: true }]);
    });
  });

  describe.each(['server', 'client'] as Side[])('%s side', (side) => {
    const { frame: peerFrame, close: peerClose } = peer(side);
    const open = (extensions: Extension[], options: SideOptions = {}): Connection =>
      openConnection(side, codec, {
        ...options,
        established: { extensions: extensions.map((extension, i) => negotiated(extension, 0b100 >> i, `x-${i}`)) },
      });
    const transformed = (payload: Uint8Array | string, options: { fin?: boolean; opcode?: number } = {}) =>
      peerFrame(options.opcode ?? Opcode.TEXT, payload, { rsv: 4, fin: options.fin ?? true });

    it('asynchronous decoding keeps events in order: later frames wait behind the pending message', async () => {
      const held = new HeldExtension();
      let woken = 0;
      const connection = open([held], { onWake: () => woken++ });
      connection.receiveData(bytesOf(transformed('first'), peerFrame(Opcode.TEXT, 'plain'), peerFrame(Opcode.PING, 'p'), transformed(Uint8Array.of(9), { opcode: Opcode.BINARY })));
      expect(connection.eventsReceived()).toEqual([]);
      expect(connection.dataToSend()).toEqual([]);
      held.next().release();
      await tick();
      expect(woken).toBe(1);
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([
        { type: 'message', binary: false, data: Array.from(utf8Encode('first')) },
        { type: 'message', binary: false, data: Array.from(utf8Encode('plain')) },
        { type: 'ping', data: [0x70] },
      ]);
      expect(sentFrames(connection).map((f) => f.opcode)).toEqual([Opcode.PONG]);
      held.next().release();
      await tick();
      expect(woken).toBe(2);
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([{ type: 'message', binary: true, data: [9] }]);
    });

    it('asynchronous encoding keeps outgoing frames in order, the close frame included', async () => {
      const held = new HeldExtension();
      let woken = 0;
      const connection = open([held], { onWake: () => woken++ });
      connection.sendText('slow');
      connection.sendPing('p');
      connection.sendClose(1000);
      expect(connection.state).toBe(ReadyState.CLOSING);
      expect(() => connection.sendText('late')).toThrow('cannot send a text message: the connection is CLOSING');
      expect(connection.dataToSend()).toEqual([]);
      const call = held.next();
      expect([call.kind, text(call.data), call.fin]).toEqual(['encode', 'slow', true]);
      call.release(utf8Encode('SLOW'));
      await tick();
      expect(woken).toBe(1);
      expect(sentFrames(connection).map((f) => [f.opcode, f.rsv, Array.from(f.payload)])).toEqual([
        [Opcode.TEXT, 4, Array.from(utf8Encode('SLOW'))],
        [Opcode.PING, 0, [0x70]],
        [Opcode.CLOSE, 0, [0x03, 0xe8]],
      ]);
    });

    it('RFC 7692 §6: a decompression bomb stops at the message limit with 1009, holding no more than the limit', () => {
      for (const timing of ['sync'] as Timing[]) {
        const bomb = new ExpandingExtension(1000, 100, timing);
        const connection = open([bomb], { limits: { maxMessageSize: 1000 } });
        connection.receiveData(transformed('xxxxxxxxxx', { opcode: Opcode.BINARY }));
        const events = connection.eventsReceived();
        expect(events.map(summarizeEvent)).toEqual([
          { type: 'error', name: 'ProtocolError', code: ErrorCode.MESSAGE_TOO_BIG, closeCode: 1009, message: 'decoded message exceeds the limit of 1000 bytes' },
        ]);
        expect(bomb.accepted).toBeLessThanOrEqual(1000);
        expect(bomb.refused).toBe(true);
        expect(bomb.pushesAfterRefusal).toBe(0);
        expect(readClose(sentFrames(connection)[0]!.payload).code).toBe(1009);
      }
    });

    it('RFC 7692 §6: an asynchronous bomb is stopped the same way', async () => {
      const bomb = new ExpandingExtension(1000, 100, 'timer');
      let woken = 0;
      const connection = open([bomb], { limits: { maxMessageSize: 5000 }, onWake: () => woken++ });
      connection.receiveData(bytesOf(transformed('yyyyyyyyyy', { opcode: Opcode.BINARY }), peerFrame(Opcode.TEXT, 'never seen')));
      expect(connection.eventsReceived()).toEqual([]);
      await tick();
      await tick();
      expect(woken).toBeGreaterThan(0);
      expect(connection.eventsReceived().map((e) => e.type)).toEqual(['error']);
      expect(bomb.accepted).toBe(5000);
      expect(bomb.pushesAfterRefusal).toBe(0);
    });

    it('a decoder refused synchronously that then returns a promise leaves nothing pending', () => {
      const connection = open([{ encode: (d) => d, decode: (_data, _fin, output) => {
        output.push(new Uint8Array(11));
        return new Promise<void>(() => {});
      } }], { limits: { maxMessageSize: 10 } });
      connection.receiveData(transformed('x', { opcode: Opcode.BINARY }));
      expect(connection.eventsReceived().map((e) => (e.type === 'error' ? e.error.code : e.type))).toEqual([ErrorCode.MESSAGE_TOO_BIG]);
      expect(connection.shouldPauseReading()).toBe(false);
      connection.receiveEof();
      expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
    });

    it('a decoder sees how much output the message may still have', () => {
      const seen: number[] = [];
      const connection = open([{ encode: (d) => d, decode: (data, _fin, output) => {
        seen.push(output.remaining);
        output.push(data);
        seen.push(output.remaining);
      } }], { limits: { maxMessageSize: 50 } });
      connection.receiveData(transformed('0123456789'));
      expect(seen).toEqual([50, 40]);
      expect(ofType(connection.eventsReceived(), 'message')).toHaveLength(1);
    });

    it('the limit on the wire applies to transformed messages too', () => {
      const connection = open([new XorExtension()], { limits: { maxMessageSize: 8 } });
      connection.receiveData(bytesOf(transformed('01234', { fin: false }), peerFrame(Opcode.CONTINUATION, '5678')));
      expect(connection.eventsReceived().map((e) => (e.type === 'error' ? e.error.code : e.type))).toEqual([ErrorCode.MESSAGE_TOO_BIG]);
    });

    it('input held behind a pending decode is bounded: the adapter is asked to pause, and past the hard limit the connection fails with 1011', async () => {
      const held = new HeldExtension();
      const connection = open([held], { limits: { receiveHighWaterMark: 300, maxReceiveBacklog: 1000 } });
      connection.receiveData(transformed('pending'));
      expect(connection.shouldPauseReading()).toBe(false);
      connection.receiveData(peerFrame(Opcode.BINARY, new Uint8Array(150)));
      expect(connection.shouldPauseReading()).toBe(false);
      connection.receiveData(peerFrame(Opcode.BINARY, new Uint8Array(150)));
      expect(connection.shouldPauseReading()).toBe(true);
      expect(connection.eventsReceived()).toEqual([]);
      connection.receiveData(peerFrame(Opcode.BINARY, new Uint8Array(800)));
      const [failure] = connection.eventsReceived();
      expect(failure).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, closeCode: 1011 } });
      expect((failure as { error: Error }).error.message).toContain('the adapter did not pause reading');
      expect(readClose(sentFrames(connection)[0]!.payload)).toEqual({ code: 1011, reason: '' });
      expect(connection.shouldPauseReading()).toBe(false);
      held.next().release();
      await tick();
      expect(connection.eventsReceived()).toEqual([]);
    });

    it('the adapter may resume reading once the pending decode completes', async () => {
      const held = new HeldExtension();
      const connection = open([held], { limits: { receiveHighWaterMark: 100 } });
      connection.receiveData(bytesOf(transformed('a'), peerFrame(Opcode.BINARY, new Uint8Array(200))));
      expect(connection.shouldPauseReading()).toBe(true);
      held.next().release();
      await tick();
      expect(connection.shouldPauseReading()).toBe(false);
      expect(connection.eventsReceived().map((e) => e.type)).toEqual(['message', 'message']);
    });

    it('a violation after a pending message is reported after that message', async () => {
      const held = new HeldExtension();
      const connection = open([held]);
      connection.receiveData(bytesOf(transformed('ok'), peerFrame(Opcode.CONTINUATION, 'bad'), peerFrame(Opcode.TEXT, 'never')));
      expect(connection.eventsReceived()).toEqual([]);
      held.next().release();
      await tick();
      expect(connection.eventsReceived().map((e) => (e.type === 'error' ? e.error.code : e.type))).toEqual(['message', ErrorCode.UNEXPECTED_CONTINUATION]);
    });

    it('a close frame behind a pending decode ends input in order', async () => {
      const held = new HeldExtension();
      const connection = open([held]);
      connection.receiveData(bytesOf(transformed('last words'), peerClose(1000), peerFrame(Opcode.TEXT, 'discarded')));
      connection.receiveEof();
      expect(connection.state).toBe(ReadyState.OPEN);
      held.next().release();
      await tick();
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([
        { type: 'message', binary: false, data: Array.from(utf8Encode('last words')) },
        { type: 'close-received', code: 1000, reason: '' },
        { type: 'close', code: 1000, reason: '', wasClean: true },
      ]);
      expect(connection.state).toBe(ReadyState.CLOSED);
      expect(held.disposed).toBe(1);
    });

    it('abort() drops pending work: CLOSED at once, the late result ignored', async () => {
      const held = new HeldExtension();
      const connection = open([held]);
      connection.receiveData(transformed('pending'));
      connection.abort();
      expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
      held.next().release();
      await tick();
      expect(connection.eventsReceived()).toEqual([]);
      expect(held.disposed).toBe(1);
    });

    it('a ProtocolError from the decoder fails the connection with its code and reason', () => {
      const connection = open([{ encode: (d) => d, decode: () => {
        throw new ProtocolError('corrupt compressed data', ErrorCode.EXTENSION_ERROR, 1007);
      } }]);
      connection.receiveData(transformed('zzz'));
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([
        { type: 'error', name: 'ProtocolError', code: ErrorCode.EXTENSION_ERROR, closeCode: 1007, message: 'corrupt compressed data' },
      ]);
      expect(readClose(sentFrames(connection)[0]!.payload)).toEqual({ code: 1007, reason: 'corrupt compressed data' });
    });

    it('any other decoder failure is a 1011 that tells the peer nothing', async () => {
      const held = new HeldExtension();
      const connection = open([held]);
      connection.receiveData(transformed('zzz'));
      held.next().fail(new RangeError('window out of range'));
      await tick();
      const [event] = connection.eventsReceived();
      expect(event).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, closeCode: 1011, message: 'internal error: window out of range' } });
      expect(readClose(sentFrames(connection)[0]!.payload)).toEqual({ code: 1011, reason: '' });
    });

    it('a long failure reason is cut to 123 bytes without splitting a character', () => {
      const connection = open([{ encode: (d) => d, decode: () => {
        throw new ProtocolError('é'.repeat(100), ErrorCode.EXTENSION_ERROR, 1007);
      } }]);
      connection.receiveData(transformed('zzz'));
      // The failure takes effect when its event is taken.
      expect(connection.eventsReceived()).toMatchObject([{ type: 'error' }]);
      const payload = sentFrames(connection)[0]!.payload;
      expect(payload.length).toBe(2 + 122);
      expect(readClose(payload).reason).toBe('é'.repeat(61));
    });

    it('§8.1 decoded text with invalid UTF-8 → 1007 as soon as it is produced', () => {
      let refusedAt = -1;
      const connection = open([{ encode: (d) => d, decode: (_data, _fin, output) => {
        const pieces = [utf8Encode('fine'), Uint8Array.of(0xf8), utf8Encode('more')];
        for (let i = 0; i < pieces.length; i++) {
          if (!output.push(pieces[i]!)) {
            refusedAt = i;
            return;
          }
        }
      } }]);
      connection.receiveData(transformed('x'));
      expect(refusedAt).toBe(1);
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([
        { type: 'error', name: 'ProtocolError', code: ErrorCode.INVALID_UTF8, closeCode: 1007, message: 'invalid UTF-8 in text message' },
      ]);
    });

    it('§8.1 decoded text ending inside a character → 1007', () => {
      const connection = open([{ encode: (d) => d, decode: (_data, _fin, output) => {
        output.push(Uint8Array.of(0x61, 0xe2, 0x82));
      } }]);
      connection.receiveData(transformed('x'));
      expect(ofType(connection.eventsReceived(), 'error')[0]!.error).toMatchObject({ code: ErrorCode.INVALID_UTF8, closeCode: 1007 });
    });

    it('a transformed message in fragments is decoded piece by piece, control frames in between', async () => {
      const xor = new XorExtension({ timing: 'microtask' });
      const connection = open([xor]);
      const plain = utf8Encode('fragmented message');
      const first = XorExtension.apply(plain.subarray(0, 10), 0x5a);
      const rest = XorExtension.apply(plain.subarray(10), 0x5a, 10);
      connection.receiveData(bytesOf(transformed(first, { fin: false }), peerFrame(Opcode.PING, 'p'), peerFrame(Opcode.CONTINUATION, rest)));
      await tick();
      expect(connection.eventsReceived().map(summarizeEvent)).toEqual([
        { type: 'ping', data: [0x70] },
        { type: 'message', binary: false, data: Array.from(plain) },
      ]);
      expect(xor.decodedPieces).toBe(2);
    });

    it('streamed messages are decoded piece by piece, in order', async () => {
      const xor = new XorExtension({ timing: 'timer' });
      const connection = open([xor], { streamMessages: true });
      const plain = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
      const bytes = transformed(XorExtension.apply(plain, 0x5a), { opcode: Opcode.BINARY });
      for (const chunk of [bytes.slice(0, 1000), bytes.slice(1000, 2000), bytes.slice(2000)]) connection.receiveData(chunk);
      for (let i = 0; i < 5; i++) await tick();
      const fragments = ofType(connection.eventsReceived(), 'fragment');
      expect(fragments[0]!.first).toBe(true);
      expect(fragments.filter((f) => f.last)).toHaveLength(1);
      expect(fragments[fragments.length - 1]!.last).toBe(true);
      expect(bytesOf(fragments.map((f) => f.data))).toEqual(plain);
    });

    it('an encoder failure fails the connection with 1011 and drops the frames queued after it', async () => {
      const held = new HeldExtension();
      const connection = open([held]);
      connection.sendText('doomed', false);
      connection.sendPing('queued');
      held.next().fail(new Error('deflate stream broken'));
      await tick();
      expect(connection.eventsReceived()).toMatchObject([{ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, closeCode: 1011 } }]);
      expect(sentFrames(connection).map((f) => [f.opcode, f.payload.length])).toEqual([[Opcode.CLOSE, 2]]);
      expect(connection.state).toBe(ReadyState.CLOSING);
    });

    it('§9.1 with two extensions, encoding follows the response order and decoding reverses it', () => {
      const outer = new XorExtension({ key: 0x11 });
      const inner = new XorExtension({ key: 0x80 });
      const sender = open([outer, inner]);
      sender.sendBinary(Uint8Array.of(1, 2, 3));
      const [sent] = sentFrames(sender);
      expect(sent!.rsv).toBe(0b110);
      expect(sent!.payload).toEqual(XorExtension.apply(XorExtension.apply(Uint8Array.of(1, 2, 3), 0x11), 0x80));
      const order: string[] = [];
      const tracing = (name: string, key: number): Extension => ({
        encode: (d) => d,
        decode: (data, _fin, output) => {
          order.push(name);
          output.push(XorExtension.apply(data, key));
        },
      });
      const receiver = open([tracing('first-listed', 0x11), tracing('second-listed', 0x80)]);
      receiver.receiveData(peerFrame(Opcode.BINARY, sent!.payload, { rsv: 0b110 }));
      expect(order).toEqual(['second-listed', 'first-listed']);
      expect(ofType(receiver.eventsReceived(), 'message')[0]!.data).toEqual(Uint8Array.of(1, 2, 3));
    });

    it('§9.1 an intermediate decoding stage is held to the message limit as well', () => {
      const receiver = open([new XorExtension(), new ExpandingExtension(100)], { limits: { maxMessageSize: 500 } });
      receiver.receiveData(peerFrame(Opcode.BINARY, 'abcdefghij', { rsv: 0b110 }));
      expect(ofType(receiver.eventsReceived(), 'error')[0]!.error).toMatchObject({ code: ErrorCode.MESSAGE_TOO_BIG, closeCode: 1009 });
    });

    it('only the extensions whose RSV bits a message carries decode it', () => {
      const first = new XorExtension({ key: 1 });
      const second = new XorExtension({ key: 2 });
      const receiver = open([first, second]);
      receiver.receiveData(peerFrame(Opcode.BINARY, XorExtension.apply(Uint8Array.of(5), 2), { rsv: 0b010 }));
      expect(ofType(receiver.eventsReceived(), 'message')[0]!.data).toEqual(Uint8Array.of(5));
      expect([first.decodedPieces, second.decodedPieces]).toEqual([0, 1]);
    });

    it('extensions are released once, when the connection closes', () => {
      const xor = new XorExtension();
      const connection = open([xor]);
      connection.receiveEof();
      connection.abort();
      expect(xor.disposed).toBe(1);
    });
  });

  it('a pair with an asynchronous extension wakes its adapter and completes the closing handshake', async () => {
    const { server, client } = negotiatorsFor('x-xor', 0b100, () => new XorExtension({ timing: 'timer' }), () => new XorExtension({ timing: 'timer' }));
    const pair = new ConnectionPair({ codec, server: { extensions: [server] }, client: { extensions: [client] } });
    pair.pump();
    for (let i = 0; i < 20; i++) pair.client.connection.sendText(`message ${i}`);
    pair.client.connection.sendClose(1000);
    await pair.settle();
    expect(pair.woken).toBeGreaterThan(0);
    expect(pair.eventsOf('server', 'message').map((m) => text(m.data))).toEqual(Array.from({ length: 20 }, (_, i) => `message ${i}`));
    expect(pair.eventsOf('server', 'close')).toEqual([{ type: 'close', code: 1000, reason: '', wasClean: true }]);
    expect(pair.eventsOf('client', 'close')).toEqual([{ type: 'close', code: 1000, reason: '', wasClean: true }]);
  });
});
