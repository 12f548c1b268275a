/**
 * Frames take effect in the order they arrived, at the moment their events are taken
 * (`nextEvent()`): while the application handles a message, the connection is in the state it
 * was in when that message was read, and its replies go out before the answer to a close
 * frame or a violation read after it (RFC 6455 processes frames in order; ws and uWebSockets
 * deliver each message while OPEN and answer the close only after it). Every input is also
 * fed split at every byte and in seeded random chunks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { ConnectionEvent } from '../../src/protocol/events.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode, ReadyState } from '../../src/shared/constants.js';
import { InvalidStateError } from '../../src/shared/errors.js';
import { chunkings } from '../helpers/chunkings.js';
import { seededRandom } from '../helpers/connection-pair.js';
import { bytesOf, readClose, readFrames, text } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';
import { openConnection, peer, type Side } from './drive.js';

const sides: Side[] = ['server', 'client'];

/** What an echoing application saw and sent, frame by frame. */
interface EchoRun {
  /** Each event's type with the connection's state when it was taken. */
  readonly seen: Array<[type: ConnectionEvent['type'], state: ReadyState]>;
  /** The frames written, in order: opcode and payload as text (close: "code reason"). */
  readonly wire: string[];
}

/** Feed `chunks`, and after each chunk take the events one by one, echoing every message. */
function echoRun(connection: Connection, chunks: readonly Uint8Array[]): EchoRun {
  const seen: EchoRun['seen'] = [];
  const written: Uint8Array[] = [];
  for (const chunk of chunks) {
    connection.receiveData(chunk);
    for (let event = connection.nextEvent(); event !== undefined; event = connection.nextEvent()) {
      seen.push([event.type, connection.state]);
      if (event.type === 'message') connection.send(event.data.slice(), event.binary);
    }
    written.push(...connection.dataToSend());
  }
  const wire = readFrames(written).map((frame) => {
    if (frame.opcode === Opcode.CLOSE) {
      const { code, reason } = readClose(frame.payload);
      return `close ${String(code)} ${reason}`;
    }
    return `${frame.opcode === Opcode.TEXT ? 'text' : frame.opcode === Opcode.PONG ? 'pong' : String(frame.opcode)} ${text(frame.payload)}`;
  });
  return { seen, wire };
}

/** `echoRun` on fresh connections for the whole input and every chunking; all must agree. */
function echoEveryWay(make: () => Connection, bytes: Uint8Array): EchoRun {
  const whole = echoRun(make(), [bytes.slice()]);
  for (const { name, chunks } of chunkings(bytes, { randomCount: 4 })) expect(echoRun(make(), chunks), name).toEqual(whole);
  return whole;
}

describe.each(protocolCodecs)('events in order, %s codec', (_codecName, makeCodec) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await makeCodec();
  });

  describe.each(sides)('%s side', (side) => {
    const open = (): Connection => openConnection(side, codec);
    const { frame: peerFrame, close: peerClose } = peer(side);

    it('§5.5.1 a message read with a close frame is handled while OPEN, and its echo goes out before the answering close', () => {
      const run = echoEveryWay(open, bytesOf(peerFrame(Opcode.TEXT, 'one'), peerFrame(Opcode.TEXT, 'two'), peerClose(4000, 'bye now')));
      expect(run.seen).toEqual([
        ['message', ReadyState.OPEN],
        ['message', ReadyState.OPEN],
        ['close-received', ReadyState.CLOSING],
      ]);
      expect(run.wire).toEqual(['text one', 'text two', 'close 4000 bye now']);
    });

    it.each([
      ['RSV1 set without an extension', (): Uint8Array => peerFrame(Opcode.TEXT, 'x', { rsv: 4 })],
      ['a reserved opcode', (): Uint8Array => peerFrame(0x3, 'x')],
      ['a fragmented ping', (): Uint8Array => peerFrame(Opcode.PING, 'x', { fin: false })],
    ])('§7.1.7 a message read with a violation (%s) gets its echo first, then the close with 1002', (_name, violation) => {
      const run = echoEveryWay(open, bytesOf(peerFrame(Opcode.TEXT, 'hello'), violation()));
      expect(run.seen).toEqual([
        ['message', ReadyState.OPEN],
        ['error', ReadyState.CLOSING],
      ]);
      expect(run.wire[0]).toBe('text hello');
      expect(run.wire).toHaveLength(2);
      expect(run.wire[1]).toMatch(/^close 1002 /);
    });

    it('§5.5.2 a ping is answered when its event is taken, after the replies to what came before it', () => {
      const run = echoEveryWay(open, bytesOf(peerFrame(Opcode.TEXT, 'a'), peerFrame(Opcode.PING, 'p'), peerFrame(Opcode.TEXT, 'b'), peerClose(1000)));
      expect(run.wire).toEqual(['text a', 'pong p', 'text b', 'close 1000 ']);
    });

    it('the state getters change only as the events are taken', () => {
      const connection = open();
      connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'm'), peerClose(1001)));
      expect(connection.state).toBe(ReadyState.OPEN);
      expect(connection.closeReceived).toBeNull();
      expect(connection.dataToSend()).toEqual([]);
      expect(connection.nextEvent()).toMatchObject({ type: 'message' });
      expect(connection.state).toBe(ReadyState.OPEN);
      expect(connection.nextEvent()).toMatchObject({ type: 'close-received', code: 1001 });
      expect(connection.state).toBe(ReadyState.CLOSING);
      expect(connection.closingHandshakeComplete).toBe(true);
      expect(connection.nextEvent()).toBeUndefined();
    });

    it('a close started by the application while a read close frame waits is not answered twice', () => {
      const connection = open();
      connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'm'), peerClose(1000)));
      expect(connection.nextEvent()).toMatchObject({ type: 'message' });
      connection.sendClose(4001, 'mine');
      expect(connection.nextEvent()).toMatchObject({ type: 'close-received' });
      const closes = readFrames(connection.dataToSend()).map((frame) => readClose(frame.payload));
      expect(closes).toEqual([{ code: 4001, reason: 'mine' }]);
      expect(connection.closingHandshakeComplete).toBe(true);
    });

    it('failing the connection drops the events read but not yet taken', () => {
      const connection = open();
      connection.receiveData(bytesOf(peerFrame(Opcode.TEXT, 'first'), peerFrame(Opcode.TEXT, 'second'), peerFrame(Opcode.PING)));
      expect(connection.nextEvent()).toMatchObject({ type: 'message' });
      connection.fail(1008, 'policy');
      expect(connection.nextEvent()).toBeUndefined();
      expect(readFrames(connection.dataToSend()).map((frame) => frame.opcode)).toEqual([Opcode.CLOSE]);
    });

    it('the transport ending before the events are taken still answers the close frame, and the close is clean', () => {
      const connection = open();
      connection.receiveData(peerClose(1000, 'done'));
      connection.receiveEof();
      expect(connection.eventsReceived()).toEqual([
        { type: 'close-received', code: 1000, reason: 'done' },
        { type: 'close', code: 1000, reason: 'done', wasClean: true },
      ]);
    });

    it('send() continues a fragmented message until its fin, then starts a new one', () => {
      const connection = open();
      expect(connection.sendingFragmented).toBe(false);
      connection.send(utf8Encode('ab'), false, false);
      expect(connection.sendingFragmented).toBe(true);
      // A fragmented text message goes on as text whatever the flag says (RFC 6455 §5.4).
      connection.send(utf8Encode('cd'), true, true);
      expect(connection.sendingFragmented).toBe(false);
      connection.send('e', true);
      const frames = readFrames(connection.dataToSend());
      expect(frames.map((frame) => [frame.opcode, frame.fin, text(frame.payload)])).toEqual([
        [Opcode.TEXT, false, 'ab'],
        [Opcode.CONTINUATION, true, 'cd'],
        [Opcode.BINARY, true, 'e'],
      ]);
      connection.sendClose();
      expect(() => connection.send('late', false)).toThrow(InvalidStateError);
    });
  });

  it('§4.1 a client whose 101 arrives with a close frame is OPEN in its open event and can send there', () => {
    const server = new ServerConnection({ codec });
    const client = new ClientConnection({ codec, random: seededRandom(3), host: 'example.com', path: '/' });
    server.receiveData(bytesOf(client.dataToSend()));
    server.eventsReceived();
    server.sendText('welcome');
    server.sendClose(1001, 'restarting');
    const response = bytesOf(server.dataToSend());
    for (const { name, chunks } of chunkings(response, { randomCount: 4 })) {
      const fresh = new ClientConnection({ codec, random: seededRandom(3), host: 'example.com', path: '/' });
      fresh.dataToSend();
      const seen: Array<[string, ReadyState]> = [];
      for (const chunk of chunks) {
        fresh.receiveData(chunk);
        for (let event = fresh.nextEvent(); event !== undefined; event = fresh.nextEvent()) {
          seen.push([event.type, fresh.state]);
          if (event.type === 'open') fresh.sendText('hello');
        }
      }
      expect(seen, name).toEqual([
        ['open', ReadyState.OPEN],
        ['message', ReadyState.OPEN],
        ['close-received', ReadyState.CLOSING],
      ]);
      const frames = readFrames(fresh.dataToSend());
      expect(frames.map((frame) => frame.opcode), name).toEqual([Opcode.TEXT, Opcode.CLOSE]);
      expect(readClose(frames[1]!.payload), name).toEqual({ code: 1001, reason: 'restarting' });
    }
  });
});
