/**
 * Hostile frames against the Node server over loopback, with each codec: lengths that overflow
 * or sit just past every limit, floods of fragments and pings, control frames inside fragmented
 * messages, data after the close, peers that vanish mid-frame, and a peer that never reads.
 * Each attack ends with its precise close code (or none, when the peer vanished), the server's
 * memory bounded, and the control client still echoing.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, WebSocket } from '../../src/node.js';
import { Opcode } from '../../src/shared/constants.js';
import { frame, TEST_MASK_KEY } from '../helpers/frames.js';
import { clientFrame, nodeCodecs, Resources } from '../adapters/node/helpers.js';
import { buildFrame } from '../codec/frame-builder.js';
import { type EchoServer, memoryInUse, rawUpgrade, sleep, startEchoServer, underAttack, until } from './helpers.js';

const MiB = 1024 * 1024;

/** A masked client frame declaring `declared` payload bytes in a 64-bit length, with `payload` after it. */
function declaring(opcode: number, declared: bigint, payload = new Uint8Array(0)): Uint8Array {
  return buildFrame({ opcode, payload, maskKey: TEST_MASK_KEY, lengthBits: 64, declaredLength: declared });
}

function errorCodes(server: EchoServer): string[] {
  return server.socketErrors.map((error) => (error as { code?: string }).code ?? error.message);
}

describe.each(nodeCodecs)('hostile frames (%s codec)', (_name, codec) => {
  const resources = new Resources();
  let server!: EchoServer;
  underAttack(resources, { codec, maxPayload: 1000 }, (started) => (server = started));

  describe('lengths', () => {
    it('a 64-bit length with the most significant bit set → 1002, from the header alone', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(declaring(Opcode.BINARY, 0x8000_0000_0000_0000n));
      const outcome = await peer.closedByServer();
      expect(outcome.closeCodes).toEqual([1002]);
      expect(errorCodes(server)).toEqual([ErrorCode.LENGTH_MSB_SET]);
    });

    it.each([
      ['2^64 − 1', 0xffff_ffff_ffff_ffffn, 1002, ErrorCode.LENGTH_MSB_SET],
      ['2^63 − 1', 0x7fff_ffff_ffff_ffffn, 1009, ErrorCode.PAYLOAD_TOO_BIG],
      ['2^53 (past the largest exact JavaScript integer)', 2n ** 53n, 1009, ErrorCode.PAYLOAD_TOO_BIG],
      ['2^53 − 1', 2n ** 53n - 1n, 1009, ErrorCode.PAYLOAD_TOO_BIG],
      ['2^32 (a 32-bit length wraps to 0)', 2n ** 32n, 1009, ErrorCode.PAYLOAD_TOO_BIG],
      ['2^32 + 5 (a 32-bit length wraps to 5)', 2n ** 32n + 5n, 1009, ErrorCode.PAYLOAD_TOO_BIG],
      ['2^31 (a signed 32-bit length goes negative)', 2n ** 31n, 1009, ErrorCode.PAYLOAD_TOO_BIG],
      ['the limit + 1 (1001)', 1001n, 1009, ErrorCode.PAYLOAD_TOO_BIG],
    ])('a frame declaring %s bytes → %d', async (_name, declared, code, errorCode) => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(declaring(Opcode.BINARY, declared, new Uint8Array(5)));
      const outcome = await peer.closedByServer();
      expect(outcome.closeCodes).toEqual([code]);
      expect(errorCodes(server)).toEqual([errorCode]);
      expect(server.received).toEqual([]);
    });

    it('a frame of exactly the limit (1000 bytes, 64-bit length) is echoed', async () => {
      const peer = await rawUpgrade(resources, server.port);
      const payload = new Uint8Array(1000).fill(7);
      peer.write(declaring(Opcode.BINARY, 1000n, payload));
      const echo = await peer.waitForFrame((received) => received.opcode === Opcode.BINARY);
      expect(Buffer.from(echo.payload)).toEqual(Buffer.from(payload));
    });

    it('a message one byte past the limit across fragments → 1009', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.BINARY, new Uint8Array(600), false));
      peer.write(clientFrame(Opcode.CONTINUATION, new Uint8Array(401), true));
      expect((await peer.closedByServer()).closeCodes).toEqual([1009]);
      expect(errorCodes(server)).toEqual([ErrorCode.MESSAGE_TOO_BIG]);
    });

    it('a ping with a 16-bit length (126 bytes) → 1002', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.PING, new Uint8Array(126)));
      expect((await peer.closedByServer()).closeCodes).toEqual([1002]);
      expect(errorCodes(server)).toEqual([ErrorCode.CONTROL_TOO_LONG]);
    });

    it('a ping of 125 bytes is answered with a pong of the same 125 bytes', async () => {
      const peer = await rawUpgrade(resources, server.port);
      const payload = Uint8Array.from({ length: 125 }, (_, i) => i);
      peer.write(clientFrame(Opcode.PING, payload));
      const pong = await peer.waitForFrame((received) => received.opcode === Opcode.PONG);
      expect(Buffer.from(pong.payload)).toEqual(Buffer.from(payload));
    });
  });

  describe('floods', () => {
    it('100,001 one-byte fragments → 1009 at the fragment limit; memory is bounded while they arrive and freed after', async () => {
      const flooded = await startEchoServer(resources, { codec, maxPayload: 10 * MiB });
      const peer = await rawUpgrade(resources, flooded.port);
      const before = memoryInUse();
      const fragment = clientFrame(Opcode.CONTINUATION, Uint8Array.of(0x61), false);
      peer.write(clientFrame(Opcode.TEXT, Uint8Array.of(0x61), false));
      // 99,999 continuations: the message is at the limit of 100,000 frames.
      const batch = Buffer.concat(Array.from({ length: 10_000 }, () => fragment));
      for (let i = 0; i < 9; i++) peer.write(batch);
      peer.write(batch.subarray(0, 9_999 * fragment.length));
      await until(() => peer.socket.writableLength === 0, 'the fragments to be written', 10_000);
      await sleep(200);
      const held = memoryInUse() - before;
      // 99,999 one-byte pieces held for assembly: a small multiple of their bookkeeping.
      expect(held).toBeLessThan(48 * MiB);
      expect(flooded.socketErrors).toEqual([]);
      peer.write(Buffer.concat([fragment, fragment]));
      expect((await peer.closedByServer(10_000)).closeCodes).toEqual([1009]);
      expect(errorCodes(flooded)).toEqual([ErrorCode.TOO_MANY_FRAGMENTS]);
      expect(memoryInUse() - before).toBeLessThan(8 * MiB);
    });

    it('10,000 pings in one write are each answered with their own pong, in order', async () => {
      const peer = await rawUpgrade(resources, server.port);
      const pings = Buffer.concat(Array.from({ length: 10_000 }, (_, i) => clientFrame(Opcode.PING, Buffer.from(String(i)))));
      peer.write(pings);
      await until(() => peer.frames().length >= 10_000, '10,000 pongs', 10_000);
      const pongs = peer.frames();
      expect(pongs.every((pong) => pong.opcode === Opcode.PONG)).toBe(true);
      expect(pongs.map((pong) => Buffer.from(pong.payload).toString())).toEqual(Array.from({ length: 10_000 }, (_, i) => String(i)));
    });
  });

  describe('order', () => {
    it('control frames between the fragments of a message are answered at once; the message arrives whole', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.TEXT, Buffer.from('Hel'), false));
      peer.write(clientFrame(Opcode.PING, Buffer.from('p1')));
      peer.write(clientFrame(Opcode.CONTINUATION, Buffer.from('lo, '), false));
      peer.write(clientFrame(Opcode.PONG, Buffer.from('unsolicited')));
      peer.write(clientFrame(Opcode.PING, Buffer.from('p2')));
      peer.write(clientFrame(Opcode.CONTINUATION, Buffer.from('world'), true));
      await peer.waitForFrame((received) => received.opcode === Opcode.TEXT);
      expect(peer.frames().map((received) => [received.opcode, Buffer.from(received.payload).toString()])).toEqual([
        [Opcode.PONG, 'p1'],
        [Opcode.PONG, 'p2'],
        [Opcode.TEXT, 'Hello, world'],
      ]);
    });

    it('a new data frame inside a fragmented message → 1002', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.TEXT, Buffer.from('a'), false));
      peer.write(clientFrame(Opcode.BINARY, Buffer.from('b')));
      expect((await peer.closedByServer()).closeCodes).toEqual([1002]);
      expect(errorCodes(server)).toEqual([ErrorCode.EXPECTED_CONTINUATION]);
    });

    it('a close inside a fragmented message ends it: the partial message is dropped, the close echoed', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.TEXT, Buffer.from('dropped'), false));
      peer.write(clientFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8)));
      const outcome = await peer.closedByServer();
      expect(outcome.closeCodes).toEqual([1000]);
      expect(server.received).toEqual([]);
    });

    it('data after the close frame is discarded: no message, no error, a clean close', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(
        Buffer.concat([
          clientFrame(Opcode.CLOSE, Uint8Array.of(0x0f, 0xa0)),
          clientFrame(Opcode.TEXT, Buffer.from('after the close')),
          clientFrame(Opcode.PING, Buffer.from('after the close')),
          Buffer.from('garbage that is not a frame'),
        ]),
      );
      const outcome = await peer.closedByServer();
      expect(outcome.frames.map((received) => received.opcode)).toEqual([Opcode.CLOSE]);
      expect(outcome.closeCodes).toEqual([4000]);
      expect(server.received).toEqual([]);
      expect(server.socketErrors).toEqual([]);
      await until(() => server.closes.length === 1, 'the server-side close');
      expect(server.closes).toEqual([4000]);
    });
  });

  describe('peers that vanish', () => {
    it.each([
      ['one byte of a header', (bytes: Buffer) => bytes.subarray(0, 1)],
      ['a whole header and half the payload', (bytes: Buffer) => bytes.subarray(0, 8 + 250)],
      ['a header without its mask key', (bytes: Buffer) => bytes.subarray(0, 5)],
    ])('%s, then the socket is destroyed: 1006 on the server, no message, no error', async (_name, cut) => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(cut(clientFrame(Opcode.BINARY, new Uint8Array(500))));
      await sleep(50);
      peer.socket.destroy();
      await until(() => server.closes.length === 1, 'the server-side close');
      expect(server.closes).toEqual([1006]);
      expect(server.received).toEqual([]);
      expect(server.socketErrors).toEqual([]);
    });

    it('half a frame, then silence: the heartbeat terminates the peer (1006)', async () => {
      const watched = await startEchoServer(resources, { codec, heartbeat: { interval: 200 } });
      const peer = await rawUpgrade(resources, watched.port);
      peer.write(clientFrame(Opcode.BINARY, new Uint8Array(500)).subarray(0, 100));
      peer.socket.pause(); // never reads, so never answers a ping
      await until(() => watched.closes.length === 1, 'the heartbeat to terminate the peer', 3000);
      expect(watched.closes).toEqual([1006]);
      expect(errorCodes(watched)).toEqual([ErrorCode.TIMEOUT]);
    });
  });

  describe('a peer that never reads', () => {
    it('an application that ignores backpressure is stopped at maxBufferedAmount; memory stays bounded', async () => {
      const limited = await startEchoServer(resources, { codec, maxBufferedAmount: 4 * MiB, onBufferOverflow: 'terminate' });
      const sent: boolean[] = [];
      limited.wss.on('connection', (ws) => {
        const chunk = Buffer.alloc(MiB, 0x62);
        // Up to 256 MiB offered to a peer that reads nothing, a mebibyte per millisecond;
        // only the limit stops it.
        const timer = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN && sent.length < 256) sent.push(ws.send(chunk));
          else clearInterval(timer);
        }, 1);
      });
      const before = memoryInUse();
      const peer = await rawUpgrade(resources, limited.port);
      peer.socket.pause();
      await until(() => limited.closes.length === 1, 'the overflow to end the connection');
      expect(limited.closes).toEqual([1006]);
      expect(errorCodes(limited)).toEqual([ErrorCode.BUFFER_OVERFLOW]);
      expect(sent.length).toBeLessThan(16);
      expect(memoryInUse() - before).toBeLessThan(32 * MiB);
    });
  });

  describe('frame-level violations', () => {
    it.each([
      ['invalid UTF-8 in a text message', clientFrame(Opcode.TEXT, Uint8Array.of(0xc3, 0x28)), 1007, ErrorCode.INVALID_UTF8],
      ['a reserved opcode', clientFrame(0x3, new Uint8Array(0)), 1002, ErrorCode.RESERVED_OPCODE],
      ['an unmasked frame', frame(Opcode.TEXT, 'unmasked'), 1002, ErrorCode.EXPECTED_MASK],
      ['RSV2 without an extension', buildFrame({ opcode: Opcode.TEXT, rsv: 0b010, payload: new Uint8Array(1), maskKey: TEST_MASK_KEY }), 1002, ErrorCode.RSV_NOT_ALLOWED],
      ['a continuation with nothing to continue', clientFrame(Opcode.CONTINUATION, new Uint8Array(1)), 1002, ErrorCode.UNEXPECTED_CONTINUATION],
      ['a fragmented ping', clientFrame(Opcode.PING, new Uint8Array(1), false), 1002, ErrorCode.CONTROL_FRAGMENTED],
      ['a close with a 1-byte payload', clientFrame(Opcode.CLOSE, Uint8Array.of(3)), 1002, ErrorCode.INVALID_CLOSE_PAYLOAD],
      ['a close with code 1005', clientFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xed)), 1002, ErrorCode.INVALID_CLOSE_CODE],
      ['a close reason that is not UTF-8', clientFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8, 0xff)), 1007, ErrorCode.INVALID_UTF8],
    ])('%s → %d', async (_name, bytes, code, errorCode) => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(bytes);
      expect((await peer.closedByServer()).closeCodes).toEqual([code]);
      expect(errorCodes(server)).toEqual([errorCode]);
    });
  });
});
