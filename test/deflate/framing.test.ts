/**
 * RFC 7692 §7.2's framing, done once by permessage-deflate over any raw DEFLATE engine: a fake
 * engine records what it is given and answers what it is told (or what node:zlib's one-shot
 * API makes of it), so the tests see the trailer removed from the end of each compressed
 * message and appended before decompressing — once, at the protocol layer, whatever the engine.
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import type { ClientConnection } from '../../src/protocol/client-connection.js';
import type { DecodeOutput } from '../../src/protocol/extension.js';
import type { DeflateEngine, DeflateMessageEnd, RawDeflater, RawInflater } from '../../src/protocol/extensions/deflate-engine.js';
import type { DeflateCapabilities } from '../../src/protocol/extensions/deflate-params.js';
import { createMessageCompressor, createMessageDecompressor, createPerMessageDeflate, DEFLATE_TRAILER } from '../../src/protocol/extensions/permessage-deflate.js';
import type { ServerConnection } from '../../src/protocol/server-connection.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { Opcode } from '../../src/shared/constants.js';
import { ConnectionPair } from '../helpers/connection-pair.js';
import { frame, readFrames, text } from '../helpers/frames.js';
import { RFC_EXAMPLES } from './rfc-examples.js';
import { compressible, Driven, incompressible, inflateMessage, pumpUntil } from './helpers.js';

const CAPABILITIES: DeflateCapabilities = { minCompressWindowBits: 8, compressContextTakeover: true, decompressContextTakeover: true };
const PARAMETERS = { windowBits: 15, contextTakeover: false };
const hex = (bytes: Uint8Array | readonly number[]): string => Buffer.from(bytes as Uint8Array).toString('hex');
const bytes = (hexString: string): Uint8Array => Uint8Array.from(Buffer.from(hexString.replace(/ /g, ''), 'hex'));
const example = (section: string): Uint8Array => Uint8Array.from(RFC_EXAMPLES.find(([name]) => name.startsWith(section))![1]);

/** One call of a fake inflater: what it was given. */
interface InflateCall {
  readonly data: string;
  readonly last: string | null;
}

/**
 * A raw DEFLATE engine that records its input. Its deflater answers with `script(data, end)`
 * when given one, else with node:zlib's one-shot raw DEFLATE of each piece (sync-flushed, or
 * the whole message at its end with a final block). Its inflater decompresses each message at
 * its end with node:zlib's one-shot raw inflate, fed exactly the bytes it was given.
 */
class FakeEngine implements DeflateEngine {
  readonly capabilities = CAPABILITIES;
  readonly deflated: Array<{ readonly data: string; readonly end: boolean }> = [];
  readonly inflated: InflateCall[] = [];
  readonly #messageEnd: DeflateMessageEnd;
  readonly #script: ((data: Uint8Array, end: boolean) => Uint8Array[]) | undefined;

  constructor(messageEnd: DeflateMessageEnd, script?: (data: Uint8Array, end: boolean) => Uint8Array[]) {
    this.#messageEnd = messageEnd;
    this.#script = script;
  }

  createDeflater(): RawDeflater {
    const messageEnd = this.#messageEnd;
    const script = this.#script;
    const deflated = this.deflated;
    let held: Uint8Array[] = [];
    return {
      messageEnd,
      deflate(data, end) {
        deflated.push({ data: hex(data), end });
        if (script !== undefined) return script(data, end);
        if (messageEnd === 'sync-flush') return [zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH })];
        held.push(data.slice());
        if (!end) return [];
        const whole = zlib.deflateRawSync(Buffer.concat(held));
        held = [];
        // In two chunks, as a stream would hand them over.
        return [whole.subarray(0, 1), whole.subarray(1)];
      },
      dispose() {},
    };
  }

  createInflater(): RawInflater {
    const inflated = this.inflated;
    let input: Uint8Array[] = [];
    return {
      inflate(data: Uint8Array, last: Uint8Array | null, output: DecodeOutput) {
        inflated.push({ data: hex(data), last: last === null ? null : hex(last) });
        input.push(data.slice());
        if (last === null) return;
        input.push(last.slice());
        const whole = Buffer.concat(input);
        input = [];
        output.push(zlib.inflateRawSync(whole, { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
      },
      dispose() {},
    };
  }
}

/** The payloads of the frames a server over `engine` sends for `send`, with threshold 0. */
async function sentPayloads(engine: DeflateEngine, send: (connection: ServerConnection) => void): Promise<string[]> {
  const server = new Driven<ServerConnection>('server', { engine, threshold: 0 });
  send(server.connection);
  await server.until(() => server.written.length > 0);
  return readFrames(Buffer.concat(server.written)).map((f) => hex(f.payload));
}

describe('§7.2.1 compressing: the end of each message framed once, over any engine', () => {
  it('§7.2.1 a sync-flushed message goes out with its final 00 00 ff ff removed, as §7.2.3.1 shows', async () => {
    const engine = new FakeEngine('sync-flush');
    // node:zlib compresses "Hello" to §7.2.3.1's payload followed by an empty stored block.
    expect(hex(zlib.deflateRawSync('Hello', { finishFlush: zlib.constants.Z_SYNC_FLUSH }))).toBe(hex(example('7.2.3.1')) + '0000ffff');
    expect(await sentPayloads(engine, (c) => c.sendText('Hello'))).toEqual([hex(example('7.2.3.1'))]);
    expect(engine.deflated).toEqual([{ data: hex(Buffer.from('Hello')), end: true }]);
  });

  it('§7.2.3.3 a message the engine sent as a stored block loses only the empty block\'s four octets', async () => {
    const engine = new FakeEngine('sync-flush', () => [bytes('00 05 00 fa ff 48 65 6c 6c 6f 00 00 00 ff ff')]);
    expect(await sentPayloads(engine, (c) => c.sendText('Hello'))).toEqual([hex(example('7.2.3.3'))]);
  });

  it('§7.2.3.4 a message that ends with a final block is followed by one 0x00 octet', async () => {
    const engine = new FakeEngine('final-block', () => [bytes('f3 48 cd c9 c9 07 00')]);
    expect(await sentPayloads(engine, (c) => c.sendText('Hello'))).toEqual([hex(example('7.2.3.4'))]);
  });

  it('§7.2.3.4 a final block handed over in pieces is joined once, its octet after it, and zlib reads it', async () => {
    const engine = new FakeEngine('final-block');
    const message = compressible(5000);
    const [payload] = await sentPayloads(engine, (c) => c.sendBinary(message));
    expect(payload!.endsWith('00')).toBe(true);
    expect(inflateMessage(bytes(payload!)).equals(Buffer.from(message))).toBe(true);
  });

  it('§7.2.3.6 an empty message is one 0x00 octet', async () => {
    const engine = new FakeEngine('sync-flush');
    expect(await sentPayloads(engine, (c) => c.sendText(''))).toEqual(['00']);
  });

  it('§7.2.1 only the end of a message loses its four octets: earlier pieces keep their sync flush', async () => {
    const engine = new FakeEngine('sync-flush');
    const pieces = [compressible(2000), incompressible(300), compressible(10)];
    const payloads = await sentPayloads(engine, (c) => {
      c.sendBinary(pieces[0]!, false);
      c.sendContinuation(pieces[1]!, false);
      c.sendContinuation(pieces[2]!, true);
    });
    const flushed = pieces.map((piece) => hex(zlib.deflateRawSync(piece, { finishFlush: zlib.constants.Z_SYNC_FLUSH })));
    expect(payloads).toEqual([flushed[0], flushed[1], flushed[2]!.slice(0, -8)]);
    expect(inflateMessage(bytes(payloads.join(''))).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('§7.2.1 an empty last piece after a flushed one is one 0x00 octet: the flush before it went out whole', async () => {
    const engine = new FakeEngine('sync-flush', (data) => (data.length === 0 ? [] : [zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH })]));
    const payloads = await sentPayloads(engine, (c) => {
      c.sendText('Hello', false);
      c.sendContinuation('', true);
    });
    expect(payloads).toEqual([hex(example('7.2.3.1')) + '0000ffff', '00']);
    expect(inflateMessage(bytes(payloads.join(''))).toString()).toBe('Hello');
  });

  it('§7.2.1 a trailer split between two chunks is removed, and a single chunk is sent without a copy', () => {
    const whole = bytes('f2 48 cd c9 c9 07 00 00 00 ff ff');
    const split = createMessageCompressor(new FakeEngine('sync-flush', () => [whole.subarray(0, 9), whole.subarray(9)]), PARAMETERS);
    expect(hex(split.compress(bytes('00'), true) as Uint8Array)).toBe(hex(example('7.2.3.1')));
    const single = createMessageCompressor(new FakeEngine('sync-flush', () => [whole]), PARAMETERS);
    const payload = single.compress(bytes('00'), true) as Uint8Array;
    expect(hex(payload)).toBe(hex(example('7.2.3.1')));
    expect(payload.buffer).toBe(whole.buffer);
  });

  it('an engine that says it sync-flushes but ends a message otherwise fails the message, and the connection with 1011', async () => {
    const engine = new FakeEngine('sync-flush', () => [bytes('f3 48 cd c9 c9 07 00')]);
    expect(() => createMessageCompressor(engine, PARAMETERS).compress(bytes('00'), true)).toThrow('the compressor ended a message without the empty stored block of a sync flush');
    const server = new Driven<ServerConnection>('server', { engine, threshold: 0 });
    server.connection.sendText('Hello');
    await server.until(() => server.ofType('error').length > 0);
    expect(server.ofType('error')[0]!.error).toMatchObject({ code: ErrorCode.INTERNAL_ERROR, closeCode: 1011 });
  });
});

describe('§7.2.2 decompressing: 00 00 ff ff appended once, after the payload, over any engine', () => {
  /** A client over a fake engine, given `frames` (unmasked, from the server); its messages and what the inflater was given. */
  async function received(frames: Uint8Array[], count = 1): Promise<{ messages: string[]; calls: InflateCall[] }> {
    const engine = new FakeEngine('sync-flush');
    const client = new Driven<ClientConnection>('client', { engine });
    client.connection.receiveData(Buffer.concat(frames));
    await client.until(() => client.ofType('message').length === count);
    return { messages: client.ofType('message').map((m) => text(m.data)), calls: engine.inflated };
  }

  it('§7.2.2 the inflater is given the payload, then its last octet with 00 00 ff ff: every byte once, in order', async () => {
    const payload = example('7.2.3.1');
    const { messages, calls } = await received([frame(Opcode.TEXT, payload, { rsv: 0b100 })]);
    expect(messages).toEqual(['Hello']);
    expect(calls).toEqual([{ data: 'f248cdc9c907', last: '000000ffff' }]);
    expect(calls.map((c) => c.data + c.last).join('')).toBe(hex(payload) + hex(DEFLATE_TRAILER));
  });

  it('§7.2.3.4 after a final block, the octet §7.2.1 leaves and the four appended go together as the message\'s last bytes', async () => {
    const { messages, calls } = await received([frame(Opcode.TEXT, example('7.2.3.4'), { rsv: 0b100 })]);
    expect(messages).toEqual(['Hello']);
    expect(calls).toEqual([{ data: 'f348cdc9c90700', last: '000000ffff' }]);
  });

  it('§7.2.3.5 an empty stored block inside a message is the engine\'s to read: only the end is framed', async () => {
    const { messages, calls } = await received([frame(Opcode.TEXT, example('7.2.3.5'), { rsv: 0b100 })]);
    expect(messages).toEqual(['Hello']);
    expect(calls).toEqual([{ data: 'f24805000000ffffcac9c907', last: '000000ffff' }]);
  });

  it('§7.2.2 a fragmented message reaches the inflater piece by piece, empty pieces skipped, the trailer only at its end', async () => {
    const payload = example('7.2.3.1');
    const { messages, calls } = await received([
      frame(Opcode.TEXT, payload.subarray(0, 3), { fin: false, rsv: 0b100 }),
      frame(Opcode.CONTINUATION, new Uint8Array(0), { fin: false }),
      frame(Opcode.CONTINUATION, payload.subarray(3)),
    ]);
    expect(messages).toEqual(['Hello']);
    expect(calls).toEqual([
      { data: 'f248cd', last: null },
      { data: 'c9c907', last: '000000ffff' },
    ]);
  });

  it('§7.2.2 an empty last fragment brings the trailer alone', async () => {
    const { messages, calls } = await received([
      frame(Opcode.TEXT, example('7.2.3.1'), { fin: false, rsv: 0b100 }),
      frame(Opcode.CONTINUATION, new Uint8Array(0)),
      frame(Opcode.TEXT, Uint8Array.of(0x00), { rsv: 0b100 }),
    ], 2);
    expect(messages).toEqual(['Hello', '']);
    expect(calls).toEqual([
      { data: 'f248cdc9c90700', last: null },
      { data: '', last: '0000ffff' },
      { data: '', last: '000000ffff' },
    ]);
  });

  it('§7.2.2 the payload reaches the inflater without a copy', () => {
    let given: Uint8Array | null = null;
    const engine: DeflateEngine = {
      capabilities: CAPABILITIES,
      createDeflater: () => {
        throw new Error('not used');
      },
      createInflater: () => ({
        inflate(data) {
          given = data;
        },
        dispose() {},
      }),
    };
    const payload = compressible(100_000);
    createMessageDecompressor(engine, PARAMETERS).decompress(payload, true, { push: () => true, remaining: 1 << 30 });
    expect(given!.buffer).toBe(payload.buffer);
    expect([given!.byteOffset, given!.length]).toEqual([payload.byteOffset, payload.length - 1]);
  });
});

describe('two ends over fake engines', () => {
  it.each([
    ['sync-flush', 'final-block'],
    ['final-block', 'sync-flush'],
  ] as const)('a %s client and a %s server exchange messages whole and in fragments', async (clientEnd, serverEnd) => {
    const clientEngine = new FakeEngine(clientEnd);
    const serverEngine = new FakeEngine(serverEnd);
    const pair = new ConnectionPair({
      codec: portableCodec,
      client: { extensions: [createPerMessageDeflate(clientEngine, { threshold: 0 }).client] },
      server: { extensions: [createPerMessageDeflate(serverEngine, { threshold: 0 }).server] },
    });
    pair.pump();
    const messages = [compressible(3000), incompressible(500), new Uint8Array(0)];
    for (const message of messages) {
      pair.client.connection.sendBinary(message);
      pair.server.connection.sendBinary(message);
    }
    pair.client.connection.sendText('in ', false);
    pair.client.connection.sendContinuation('three ', false);
    pair.client.connection.sendContinuation('pieces', true);
    await pumpUntil(pair, () => pair.eventsOf('server', 'message').length === 4 && pair.eventsOf('client', 'message').length === 3);
    const expected = messages.map(hex);
    expect(pair.eventsOf('client', 'message').map((m) => hex(m.data))).toEqual(expected);
    expect(pair.eventsOf('server', 'message').slice(0, 3).map((m) => hex(m.data))).toEqual(expected);
    expect(text(pair.eventsOf('server', 'message')[3]!.data)).toBe('in three pieces');
    // Each engine was given the payloads alone: the trailer came once, at each message's end.
    for (const engine of [clientEngine, serverEngine]) {
      const ends = engine.inflated.filter((call) => call.last !== null);
      expect(ends.every((call) => call.last!.endsWith('0000ffff') && call.last!.length <= 10)).toBe(true);
      expect(engine.inflated.filter((call) => call.last === null).every((call) => call.data.length > 0)).toBe(true);
    }
  });
});
