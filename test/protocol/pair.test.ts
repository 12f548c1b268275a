/**
 * A client core and a server core back to back (h11 style): handshake, messages both ways and
 * the closing handshake, end to end, with the bytes in transit cut every which way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { randomChunks, splitAt } from '../helpers/chunkings.js';
import { ConnectionPair, openPair } from '../helpers/connection-pair.js';
import { readFrames, text } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';

const splits: Array<[string, ((bytes: Uint8Array) => Uint8Array[]) | undefined]> = [
  ['as written', undefined],
  ['byte by byte', (bytes) => splitAt(bytes, Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1))],
  ['in random pieces', (bytes) => randomChunks(bytes, bytes.length * 31 + 7, 13)],
];

describe.each(protocolCodecs)('client ↔ server, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });

  describe.each(splits)('bytes delivered %s', (_splitName, split) => {
    it('§4 handshake, §6 messages both ways, §7 closing handshake started by the client', () => {
      const pair = new ConnectionPair({ codec, split, server: { handleProtocols: () => 'chat' }, client: { protocols: ['chat'] } });
      pair.pump();
      expect(pair.client.connection.state).toBe(ReadyState.OPEN);
      expect(pair.server.connection.state).toBe(ReadyState.OPEN);
      expect(pair.client.connection.protocol).toBe('chat');

      pair.client.connection.sendText('ping? ☃');
      pair.client.connection.sendBinary(Uint8Array.of(0, 255), false);
      pair.client.connection.sendContinuation(Uint8Array.of(1), true);
      pair.server.connection.sendText('pong! ☃');
      pair.server.connection.sendPing('are you alive');
      pair.pump();
      expect(pair.eventsOf('server', 'message').map((m) => [m.binary, Array.from(m.data)])).toEqual([
        [false, Array.from(utf8Encode('ping? ☃'))],
        [true, [0, 255, 1]],
      ]);
      expect(pair.eventsOf('client', 'message').map((m) => text(m.data))).toEqual(['pong! ☃']);
      expect(pair.eventsOf('client', 'ping').map((p) => text(p.data))).toEqual(['are you alive']);
      expect(pair.eventsOf('server', 'pong').map((p) => text(p.data))).toEqual(['are you alive']);

      pair.client.connection.sendClose(1000, 'bye');
      pair.pump();
      // §7.1.1: the server closed the transport first, then the client.
      expect(pair.server.transportClosed).toBe(true);
      expect(pair.client.transportClosed).toBe(true);
      expect(pair.eventsOf('server', 'close-received')).toEqual([{ type: 'close-received', code: 1000, reason: 'bye' }]);
      expect(pair.eventsOf('server', 'close')).toEqual([{ type: 'close', code: 1000, reason: 'bye', wasClean: true }]);
      expect(pair.eventsOf('client', 'close')).toEqual([{ type: 'close', code: 1000, reason: 'bye', wasClean: true }]);
      expect(pair.client.connection.state).toBe(ReadyState.CLOSED);
      expect(pair.server.connection.state).toBe(ReadyState.CLOSED);
    });

    it('§7 closing handshake started by the server', () => {
      const pair = openPair({ codec, split });
      pair.server.connection.sendClose(1001, 'restarting');
      pair.pump();
      expect(pair.eventsOf('client', 'close')).toEqual([{ type: 'close', code: 1001, reason: 'restarting', wasClean: true }]);
      expect(pair.eventsOf('server', 'close')).toEqual([{ type: 'close', code: 1001, reason: 'restarting', wasClean: true }]);
    });

    it('§5.1 every frame from the client is masked and none from the server', () => {
      const pair = openPair({ codec, split });
      pair.client.connection.sendText('a');
      pair.server.connection.sendText('b');
      pair.client.connection.sendClose(1000);
      pair.pump();
      const clientFrames = readFrames(pair.client.written.slice(1));
      const serverFrames = readFrames(pair.server.written.slice(1));
      expect(clientFrames.map((f) => [f.opcode, f.masked])).toEqual([
        [Opcode.TEXT, true],
        [Opcode.CLOSE, true],
      ]);
      expect(serverFrames.map((f) => [f.opcode, f.masked])).toEqual([
        [Opcode.TEXT, false],
        [Opcode.CLOSE, false],
      ]);
    });

    it('§7.1.7 a violation fails the connection: the server closes with 1002 and then the transport', () => {
      const pair = openPair({ codec, split, server: { limits: { maxMessageSize: 10 } } });
      pair.client.connection.sendBinary(new Uint8Array(11));
      pair.pump();
      expect(pair.eventsOf('server', 'error').map((e) => e.error.code)).toEqual([ErrorCode.PAYLOAD_TOO_BIG]);
      expect(pair.eventsOf('client', 'close-received')).toEqual([{ type: 'close-received', code: 1009, reason: 'frame payload of 11 bytes exceeds the limit of 10' }]);
      expect(pair.eventsOf('client', 'close')).toEqual([
        { type: 'close', code: 1009, reason: 'frame payload of 11 bytes exceeds the limit of 10', wasClean: true },
      ]);
      // The server failed and stopped reading, so it never took in the client's reply.
      expect(pair.eventsOf('server', 'close')).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
    });
  });
});
