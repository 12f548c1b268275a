/**
 * A message framed once for many connections (`EncodedMessage`, `Connection.sendEncoded`):
 * every connection queues the very same bytes, only while OPEN, never inside the
 * application's own fragmented message (RFC 6455 §5.4), in order behind a pending
 * asynchronous encode, with RSV bits only a negotiated extension claims (§5.2), and never on
 * a client, which must mask each frame with a fresh key (§5.3).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { EncodedMessage } from '../../src/protocol/encoded-message.js';
import { COPY_BELOW } from '../../src/protocol/frame-slab.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { InvalidArgumentError, InvalidStateError } from '../../src/shared/errors.js';
import { readFrames, text } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';
import { openConnection, openWithExtensions } from './drive.js';
import { HeldExtension } from './test-extensions.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe.each(protocolCodecs)('EncodedMessage, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  it('frames a short message as one buffer and a long one as header and the payload itself', () => {
    const short = EncodedMessage.frame(codec, 'hello', false);
    expect(short.chunks.length).toBe(1);
    expect(readFrames(short.chunks)).toMatchObject([{ fin: true, rsv: 0, opcode: Opcode.TEXT, masked: false }]);
    expect(text(readFrames(short.chunks)[0]!.payload)).toBe('hello');
    const payload = new Uint8Array(70_000).fill(7);
    const long = EncodedMessage.frame(codec, payload, true);
    expect(long.chunks.length).toBe(2);
    expect(long.chunks[1]).toBe(payload);
    expect(readFrames(long.chunks)).toMatchObject([{ opcode: Opcode.BINARY, payload }]);
    expect(long.payload).toBe(payload);
  });

  it('refuses text bytes that are not UTF-8 (RFC 6455 §5.6) and data that is not bytes', () => {
    expect(() => EncodedMessage.frame(codec, new Uint8Array([0xc3, 0x28]), false)).toThrow(InvalidArgumentError);
    expect(() => EncodedMessage.frame(codec, new Uint8Array([0xc3, 0x28]), true)).not.toThrow();
    expect(() => EncodedMessage.frame(codec, [1, 2] as unknown as Uint8Array, true)).toThrow(InvalidArgumentError);
  });

  it('a transformed message keeps the original payload for accounting and carries the RSV bits', () => {
    const plain = EncodedMessage.frame(codec, 'abc', false);
    const transformed = plain.transformed(codec, new Uint8Array([9, 9]), 0b100);
    expect(transformed.payload).toBe(plain.payload);
    expect(readFrames(transformed.chunks)).toMatchObject([{ rsv: 0b100, opcode: Opcode.TEXT, payload: new Uint8Array([9, 9]) }]);
    expect(() => plain.transformed(codec, new Uint8Array(1), 0)).toThrow(InvalidArgumentError);
    expect(() => plain.transformed(codec, new Uint8Array(1), 8)).toThrow(InvalidArgumentError);
  });

  describe('Connection.sendEncoded', () => {
    it(`queues the same payload on every connection, not copies (its header, under ${COPY_BELOW} bytes, is copied behind what is queued before it)`, () => {
      const message = EncodedMessage.frame(codec, new Uint8Array(10_000), true);
      const connections = [openConnection('server', codec), openConnection('server', codec), openConnection('server', codec)];
      for (const connection of connections) connection.sendEncoded(message);
      for (const connection of connections) {
        const chunks = connection.dataToSend();
        expect(chunks.length).toBe(message.chunks.length);
        chunks.forEach((chunk, i) => {
          if (chunk.length >= COPY_BELOW) expect(chunk).toBe(message.chunks[i]);
          else expect(chunk).toEqual(message.chunks[i]);
        });
      }
    });

    it('small shared frames join the connection\'s own small frames in one chunk', () => {
      // A slab of its own (one per allocate function), so no other test's frames filled it up to a boundary.
      const connection = openConnection('server', codec, { allocate: (length) => new Uint8Array(length) });
      connection.sendText('one');
      connection.sendEncoded(EncodedMessage.frame(codec, 'two', false));
      connection.sendEncoded(EncodedMessage.frame(codec, new Uint8Array(100), true));
      const chunks = connection.dataToSend();
      expect(chunks).toHaveLength(1);
      expect(readFrames(chunks).map((frame) => frame.payload.length)).toEqual([3, 3, 100]);
    });

    it('keeps call order with the connection\'s own sends', () => {
      const connection = openConnection('server', codec);
      connection.sendText('one');
      connection.sendEncoded(EncodedMessage.frame(codec, 'two', false));
      connection.sendText('three');
      expect(readFrames(connection.dataToSend()).map((frame) => text(frame.payload))).toEqual(['one', 'two', 'three']);
    });

    it('§5.4: waits for the last frame of the fragmented message in progress', () => {
      const connection = openConnection('server', codec);
      connection.sendText('a', false);
      connection.sendEncoded(EncodedMessage.frame(codec, 'shared', false));
      connection.sendPing(utf8Encode('p'));
      connection.sendContinuation('b', false);
      expect(readFrames(connection.dataToSend()).map((frame) => frame.opcode)).toEqual([Opcode.TEXT, Opcode.PING, Opcode.CONTINUATION]);
      connection.sendContinuation('c', true);
      const frames = readFrames(connection.dataToSend());
      expect(frames.map((frame) => [frame.opcode, text(frame.payload)])).toEqual([
        [Opcode.CONTINUATION, 'c'],
        [Opcode.TEXT, 'shared'],
      ]);
    });

    it('waits behind a pending asynchronous encode, in order', async () => {
      const held = new HeldExtension();
      const connection = openWithExtensions('server', codec, [held]);
      connection.sendText('encoded first');
      connection.sendEncoded(EncodedMessage.frame(codec, 'shared', false));
      expect(connection.dataToSend()).toEqual([]);
      held.next().release();
      await tick();
      expect(readFrames(connection.dataToSend()).map((frame) => text(frame.payload))).toEqual(['encoded first', 'shared']);
    });

    it('§5.2: refuses RSV bits no negotiated extension claims; takes those one does', () => {
      const plain = EncodedMessage.frame(codec, 'x', false);
      const connection = openConnection('server', codec);
      expect(() => connection.sendEncoded(plain.transformed(codec, new Uint8Array(1), 0b100))).toThrow(InvalidArgumentError);
      const withExtension = openWithExtensions('server', codec, [new HeldExtension()]);
      withExtension.sendEncoded(plain.transformed(codec, new Uint8Array([1]), 0b100));
      expect(readFrames(withExtension.dataToSend())).toMatchObject([{ rsv: 0b100, payload: new Uint8Array([1]) }]);
      expect(() => withExtension.sendEncoded(plain.transformed(codec, new Uint8Array(1), 0b010))).toThrow(InvalidArgumentError);
    });

    it('only while OPEN, only on a server, only for an EncodedMessage', () => {
      const message = EncodedMessage.frame(codec, 'x', false);
      const closing = openConnection('server', codec);
      closing.sendClose(1000);
      expect(() => closing.sendEncoded(message)).toThrow(InvalidStateError);
      expect(() => openConnection('client', codec).sendEncoded(message)).toThrow(InvalidStateError);
      const forged = { chunks: [new Uint8Array([0x81, 0x00])], binary: false, rsv: 0, payload: new Uint8Array(0), framePayload: new Uint8Array(0) };
      expect(() => openConnection('server', codec).sendEncoded(forged as unknown as EncodedMessage)).toThrow(InvalidArgumentError);
    });
  });
});
