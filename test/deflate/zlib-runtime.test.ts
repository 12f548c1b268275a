/**
 * permessage-deflate at work over the node:zlib engine, inside the protocol core: messages
 * compressed and decompressed both ways (whole and fragmented), the threshold and the per-send
 * flag, context takeover or not, RSV1 where it may not be (1002), corrupt data (1007), and
 * decompression bombs stopped at the message limit (1009) with bounded memory.
 */
import { describe, expect, it } from 'vitest';
import { createZlibEngine, DEFAULT_ZLIB_CHUNK_SIZE } from '../../src/adapters/node/deflate-zlib.js';
import { perMessageDeflateNode } from '../../src/adapters/node/deflate.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import type { ClientConnection } from '../../src/protocol/client-connection.js';
import type { DecodeOutput } from '../../src/protocol/extension.js';
import { createMessageDecompressor } from '../../src/protocol/extensions/permessage-deflate.js';
import type { ServerConnection } from '../../src/protocol/server-connection.js';
import { CloseCode, Opcode } from '../../src/shared/constants.js';
import { ErrorCode, ProtocolError } from '../../src/shared/errors.js';
import { ConnectionPair } from '../helpers/connection-pair.js';
import { closeFrame, frame, readClose, readFrames, text } from '../helpers/frames.js';
import { RFC_EXAMPLES } from './rfc-examples.js';
import { compressible, DEFAULT_AGREEMENT, pumpUntil, deflateBomb, deflateMessage, Driven, incompressible, inflateMessage } from './helpers.js';

const engine = createZlibEngine();

function deflatePair(clientOptions = {}, serverOptions = {}): ConnectionPair {
  const pair = new ConnectionPair({
    codec: portableCodec,
    client: { extensions: [perMessageDeflateNode(clientOptions).client] },
    server: { extensions: [perMessageDeflateNode(serverOptions).server] },
  });
  pair.pump();
  return pair;
}

/** The frames the server wrote after its handshake response. */
function serverFrames(pair: ConnectionPair) {
  return readFrames(pair.server.written.slice(1));
}

describe('permessage-deflate over node:zlib, end to end', () => {
  it('§6 compressed messages carry RSV1 and arrive as sent, both ways', async () => {
    const pair = deflatePair();
    const big = compressible(10_000);
    pair.client.connection.sendBinary(big);
    pair.client.connection.sendText('short');
    pair.server.connection.sendText(new TextDecoder().decode(big));
    await pumpUntil(pair, () => pair.eventsOf('server', 'message').length === 2 && pair.eventsOf('client', 'message').length === 1);
    const received = pair.eventsOf('server', 'message');
    expect(received.map((m) => [m.binary, m.data.length])).toEqual([
      [true, 10_000],
      [false, 5],
    ]);
    expect(Buffer.from(received[0]!.data).equals(Buffer.from(big))).toBe(true);
    expect(text(received[1]!.data)).toBe('short');
    const [sent] = serverFrames(pair);
    expect(sent!.rsv).toBe(0b100);
    expect(sent!.payload.length).toBeLessThan(500);
    expect(Buffer.from(inflateMessage(sent!.payload)).equals(Buffer.from(big))).toBe(true);
    expect(text(pair.eventsOf('client', 'message')[0]!.data)).toBe(new TextDecoder().decode(big));
  });

  it('sends messages below the threshold uncompressed, and compresses from it on', async () => {
    const pair = deflatePair({}, { threshold: 100 });
    pair.server.connection.sendBinary(compressible(99));
    pair.server.connection.sendBinary(compressible(100));
    await pumpUntil(pair, () => pair.eventsOf('client', 'message').length === 2);
    expect(serverFrames(pair).map((f) => f.rsv)).toEqual([0, 0b100]);
    expect(pair.eventsOf('client', 'message').map((m) => m.data.length)).toEqual([99, 100]);
  });

  it('sends a message uncompressed when the sender says compress: false', async () => {
    const pair = deflatePair();
    pair.server.connection.sendBinary(compressible(5000), true, false);
    pair.server.connection.sendText('x'.repeat(5000), false, false);
    pair.server.connection.sendContinuation('y'.repeat(10), true);
    await pumpUntil(pair, () => pair.eventsOf('client', 'message').length === 2);
    expect(serverFrames(pair).map((f) => [f.rsv, f.payload.length])).toEqual([
      [0, 5000],
      [0, 5000],
      [0, 10],
    ]);
    expect(pair.eventsOf('client', 'message').map((m) => m.data.length)).toEqual([5000, 5010]);
  });

  it('§6 a fragmented message is compressed piece by piece, RSV1 on its first frame only', async () => {
    const pair = deflatePair();
    const pieces = [compressible(3000), incompressible(2000), new Uint8Array(0), compressible(10)];
    pair.server.connection.sendBinary(pieces[0]!, false);
    pair.server.connection.sendPing('between');
    pair.server.connection.sendContinuation(pieces[1]!, false);
    pair.server.connection.sendContinuation(pieces[2]!, false);
    pair.server.connection.sendContinuation(pieces[3]!, true);
    await pumpUntil(pair, () => pair.eventsOf('client', 'message').length === 1);
    const frames = serverFrames(pair);
    expect(frames.map((f) => [f.opcode, f.rsv])).toEqual([
      [Opcode.BINARY, 0b100],
      [Opcode.PING, 0],
      [Opcode.CONTINUATION, 0],
      [Opcode.CONTINUATION, 0],
      [Opcode.CONTINUATION, 0],
    ]);
    const payload = Buffer.concat(frames.filter((f) => f.opcode !== Opcode.PING).map((f) => f.payload));
    expect(inflateMessage(payload).equals(Buffer.concat(pieces))).toBe(true);
    const [message] = pair.eventsOf('client', 'message');
    expect(Buffer.from(message!.data).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('§7.2.3.6 an empty message compresses to one 0x00 octet, and an empty last fragment ends a message', async () => {
    const pair = deflatePair({}, { threshold: 0 });
    pair.server.connection.sendText('');
    pair.server.connection.sendText('abc', false);
    pair.server.connection.sendContinuation('', true);
    pair.server.connection.sendText('after');
    await pumpUntil(pair, () => pair.eventsOf('client', 'message').length === 3);
    const frames = serverFrames(pair);
    // §7.2.3.6: an empty message compresses to one 0x00 octet.
    expect([...frames[0]!.payload]).toEqual([0x00]);
    expect(frames.map((f) => f.rsv)).toEqual([0b100, 0b100, 0, 0b100]);
    expect(pair.eventsOf('client', 'message').map((m) => text(m.data))).toEqual(['', 'abc', 'after']);
  });

  it('§7.1.1.1 the server carries context from message to message, and drops it when agreed not to', async () => {
    const repeated = compressible(4000);
    const sizes = async (serverOptions: object): Promise<number[]> => {
      const pair = deflatePair({}, serverOptions);
      for (let i = 0; i < 3; i++) pair.server.connection.sendBinary(repeated);
      await pumpUntil(pair, () => pair.eventsOf('client', 'message').length === 3);
      expect(pair.eventsOf('client', 'message').map((m) => m.data.length)).toEqual([4000, 4000, 4000]);
      return serverFrames(pair).map((f) => f.payload.length);
    };
    const takeover = await sizes({});
    const fresh = await sizes({ serverNoContextTakeover: true });
    // With context the second copy is mostly one back-reference; without, it costs as much as the first.
    expect(takeover[1]!).toBeLessThan(takeover[0]! / 2);
    expect(fresh[1]).toBe(fresh[0]);
    expect(fresh[2]).toBe(fresh[0]);
  });

  it('§7.1.2 8-bit windows are agreed both ways and messages with back-references go through', async () => {
    // Node raises an inflater's 8 bits to 9 too, so the true 256-byte window is checked by the
    // Python interop suite (test/deflate/python.integration.test.ts); this checks the agreement works.
    const pair = deflatePair({ serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, {});
    const message = new Uint8Array(3000);
    for (let i = 0; i < 30; i++) message.set(incompressible(100, 7), i * 100);
    pair.server.connection.sendBinary(message);
    pair.client.connection.sendBinary(message);
    await pumpUntil(pair, () => pair.eventsOf('client', 'message').length === 1 && pair.eventsOf('server', 'message').length === 1);
    const [sent] = serverFrames(pair);
    expect(sent!.rsv).toBe(0b100);
    expect(sent!.payload.length).toBeLessThan(1000);
    expect(Buffer.from(pair.eventsOf('client', 'message')[0]!.data).equals(Buffer.from(message))).toBe(true);
    expect(Buffer.from(pair.eventsOf('server', 'message')[0]!.data).equals(Buffer.from(message))).toBe(true);
  });

  it('§6 control frames are never compressed', async () => {
    const pair = deflatePair({}, { threshold: 0 });
    pair.server.connection.sendPing(compressible(125));
    pair.server.connection.sendPong(compressible(125));
    pair.server.connection.sendClose(1000, 'x'.repeat(100));
    await pumpUntil(pair, () => pair.eventsOf('client', 'close-received').length === 1);
    expect(serverFrames(pair).map((f) => [f.opcode, f.rsv, f.payload.length])).toEqual([
      [Opcode.PING, 0, 125],
      [Opcode.PONG, 0, 125],
      [Opcode.CLOSE, 0, 102],
    ]);
  });

  it('decompresses messages sent in many small frames and in reads split anywhere', async () => {
    const message = compressible(20_000);
    const payload = deflateMessage(message);
    const server = new Driven<ServerConnection>('server', { engine });
    const frames = [];
    for (let at = 0, first = true; at < payload.length; at += 37, first = false) {
      const last = at + 37 >= payload.length;
      frames.push(frame(first ? Opcode.BINARY : Opcode.CONTINUATION, payload.subarray(at, at + 37), { fin: last, rsv: first ? 0b100 : 0, mask: true }));
    }
    const wire = Buffer.concat(frames);
    for (let at = 0; at < wire.length; at += 11) server.connection.receiveData(wire.subarray(at, at + 11).slice());
    await server.until(() => server.ofType('message').length === 1);
    expect(Buffer.from(server.ofType('message')[0]!.data).equals(Buffer.from(message))).toBe(true);
  });

  it('§7.2.3.4 a message ending with a BFINAL block is decompressed, and so is the next one', async () => {
    const client = new Driven<ClientConnection>('client', { engine, agreement: { ...DEFAULT_AGREEMENT, serverNoContextTakeover: true } });
    const final = Buffer.concat([(await import('node:zlib')).deflateRawSync(Buffer.from('Hello')), Buffer.of(0x00)]);
    client.connection.receiveData(frame(Opcode.TEXT, final, { rsv: 0b100 }));
    client.connection.receiveData(frame(Opcode.TEXT, deflateMessage('again'), { rsv: 0b100 }));
    await client.until(() => client.ofType('message').length === 2);
    expect(client.ofType('message').map((m) => text(m.data))).toEqual(['Hello', 'again']);
  });
});

describe('RFC 7692 examples and context', () => {
  it('§7.2.3 the RFC\'s example payloads decode to "Hello"', async () => {
    const client = new Driven<ClientConnection>('client', { engine });
    // 7.2.3.2 shares the window of the message before it; 7.2.3.4 ends its stream, so it comes last but one.
    for (const [, payload] of RFC_EXAMPLES.slice(0, 3)) client.connection.receiveData(frame(Opcode.TEXT, Uint8Array.from(payload), { rsv: 0b100 }));
    client.connection.receiveData(frame(Opcode.TEXT, Uint8Array.from(RFC_EXAMPLES[4]![1]), { rsv: 0b100 }));
    client.connection.receiveData(frame(Opcode.TEXT, Uint8Array.from(RFC_EXAMPLES[3]![1]), { rsv: 0b100 }));
    await client.until(() => client.ofType('message').length === 5);
    expect(client.ofType('message').map((m) => text(m.data))).toEqual(['Hello', 'Hello', 'Hello', 'Hello', 'Hello']);
  });

  it('§7.1.1.2 the client drops its context after each message when the response says client_no_context_takeover', async () => {
    const sizes = async (serverOptions: object): Promise<number[]> => {
      const pair = deflatePair({}, serverOptions);
      const repeated = compressible(4000);
      for (let i = 0; i < 3; i++) pair.client.connection.sendBinary(repeated);
      await pumpUntil(pair, () => pair.eventsOf('server', 'message').length === 3);
      return readFrames(pair.client.written.slice(1)).map((f) => f.payload.length);
    };
    const takeover = await sizes({});
    const fresh = await sizes({ clientNoContextTakeover: true });
    expect(takeover[1]!).toBeLessThan(takeover[0]! / 2);
    expect(fresh[1]).toBe(fresh[0]);
    expect(fresh[2]).toBe(fresh[0]);
  });
});

describe('violations', () => {
  const fromClient = async (bytes: Uint8Array, limits = {}) => {
    const server = new Driven<ServerConnection>('server', { engine, limits });
    server.connection.receiveData(bytes);
    await server.until(() => server.ofType('error').length > 0 || server.ofType('close').length > 0);
    const [event] = server.ofType('error');
    const [close] = readFrames(server.written).filter((f) => f.opcode === Opcode.CLOSE);
    return { error: event?.error as ProtocolError | undefined, close: close === undefined ? null : readClose(close.payload), server };
  };

  it('§6 RSV1 on a control frame → 1002', async () => {
    const { error, close } = await fromClient(frame(Opcode.PING, 'hi', { rsv: 0b100, mask: true }));
    expect(error?.code).toBe(ErrorCode.RSV_NOT_ALLOWED);
    expect(close?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('§6 RSV1 on a continuation frame → 1002', async () => {
    const payload = deflateMessage('fragmented message');
    const bytes = Buffer.concat([
      frame(Opcode.TEXT, payload.subarray(0, 5), { fin: false, rsv: 0b100, mask: true }),
      frame(Opcode.CONTINUATION, payload.subarray(5), { rsv: 0b100, mask: true }),
    ]);
    const { error, close } = await fromClient(bytes);
    expect(error?.code).toBe(ErrorCode.RSV_NOT_ALLOWED);
    expect(close?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('RSV2 is still refused with permessage-deflate in use (1002)', async () => {
    const { close } = await fromClient(frame(Opcode.TEXT, deflateMessage('x'), { rsv: 0b110, mask: true }));
    expect(close?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('§7.2.2 compressed data that is not DEFLATE → 1007', async () => {
    const { error, close } = await fromClient(frame(Opcode.BINARY, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff), { rsv: 0b100, mask: true }));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error?.code).toBe(ErrorCode.EXTENSION_ERROR);
    expect(close?.code).toBe(CloseCode.INVALID_PAYLOAD);
  });

  it('§6 decompressed text that is not UTF-8 → 1007', async () => {
    const { error, close } = await fromClient(frame(Opcode.TEXT, deflateMessage(Buffer.from([0x61, 0xc3, 0x28])), { rsv: 0b100, mask: true }));
    expect(error?.code).toBe(ErrorCode.INVALID_UTF8);
    expect(close?.code).toBe(CloseCode.INVALID_PAYLOAD);
  });

  it('§7.2.2 a 1 GiB bomb in 1 MiB of input stops at the message limit with 1009', async () => {
    const bomb = deflateBomb(1024);
    expect(bomb.length).toBeLessThan(1.1 * 1024 * 1024);
    const limit = 8 * 1024 * 1024;
    const { error, close, server } = await fromClient(frame(Opcode.BINARY, bomb, { rsv: 0b100, mask: true }), { maxMessageSize: limit });
    expect(error?.code).toBe(ErrorCode.MESSAGE_TOO_BIG);
    expect(close?.code).toBe(CloseCode.MESSAGE_TOO_BIG);
    expect(server.ofType('message')).toEqual([]);
  });

  it('§7.2.2 the decompressor produces at most the limit plus one output chunk before it stops', async () => {
    const bomb = deflateBomb(1024);
    const limit = 4 * 1024 * 1024;
    let produced = 0;
    let refused = 0;
    let kept = 0;
    const output: DecodeOutput = {
      push(bytes) {
        produced += bytes.length;
        if (kept + bytes.length > limit) {
          refused++;
          return false;
        }
        kept += bytes.length;
        return true;
      },
      get remaining() {
        return limit - kept;
      },
    };
    const decompressor = createMessageDecompressor(engine, { windowBits: 15, contextTakeover: true });
    await decompressor.decompress(bomb, true, output);
    decompressor.dispose();
    expect(refused).toBe(1);
    expect(kept).toBeLessThanOrEqual(limit);
    expect(produced).toBeLessThanOrEqual(limit + DEFAULT_ZLIB_CHUNK_SIZE);
  });

  it('a bomb split into many frames is stopped the same way', async () => {
    const bomb = deflateBomb(64);
    const frames = [];
    const step = 4096;
    for (let at = 0; at < bomb.length; at += step) {
      frames.push(frame(at === 0 ? Opcode.BINARY : Opcode.CONTINUATION, bomb.subarray(at, at + step), { fin: at + step >= bomb.length, rsv: at === 0 ? 0b100 : 0, mask: true }));
    }
    const { close, server } = await fromClient(Buffer.concat(frames), { maxMessageSize: 1024 * 1024 });
    expect(close?.code).toBe(CloseCode.MESSAGE_TOO_BIG);
    expect(server.ofType('message')).toEqual([]);
  });

  it('a close frame after a compressed message still closes in order', async () => {
    const server = new Driven<ServerConnection>('server', { engine });
    server.connection.receiveData(Buffer.concat([frame(Opcode.TEXT, deflateMessage('bye soon'), { rsv: 0b100, mask: true }), closeFrame(1000, 'done', { mask: true })]));
    await server.until(() => server.ofType('close-received').length === 1);
    expect(server.events.map((e) => e.type).filter((t) => t === 'message' || t === 'close-received')).toEqual(['message', 'close-received']);
  });
});
