/**
 * permessage-deflate over Compression Streams (the web engine), run in Node, which has
 * `CompressionStream('deflate-raw')` too: what it negotiates, messages both ways with itself
 * and with the zlib engine, messages ending with BFINAL blocks, bombs and corrupt data.
 * test/deflate/chromium.integration.test.ts runs it in Chromium against a Node server.
 */
import { describe, expect, it } from 'vitest';
import { perMessageDeflateNode } from '../../src/adapters/node/deflate.js';
import { createCompressionStreamEngine, hasDeflateRawStreams, perMessageDeflateWeb } from '../../src/adapters/web/deflate-streams.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import type { DecodeOutput } from '../../src/protocol/extension.js';
import type { PerMessageDeflateNegotiators } from '../../src/protocol/extensions/permessage-deflate.js';
import { createMessageDecompressor, PerMessageDeflate } from '../../src/protocol/extensions/permessage-deflate.js';
import type { ServerConnection } from '../../src/protocol/server-connection.js';
import { CloseCode, Opcode } from '../../src/shared/constants.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { ConnectionPair } from '../helpers/connection-pair.js';
import { readClose, readFrames, frame, text } from '../helpers/frames.js';
import { RFC_EXAMPLES } from './rfc-examples.js';
import { compressible, deflateBomb, pumpUntil, deflateMessage, Driven, incompressible, inflateMessage } from './helpers.js';

const web = (options = {}): PerMessageDeflateNegotiators => perMessageDeflateWeb(options)!;
const engine = createCompressionStreamEngine();
const NO_TAKEOVER = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

function pair(client: PerMessageDeflateNegotiators, server: PerMessageDeflateNegotiators): ConnectionPair {
  const p = new ConnectionPair({ codec: portableCodec, client: { extensions: [client.client] }, server: { extensions: [server.server] } });
  p.pump();
  return p;
}

const deflateOf = (p: ConnectionPair, end: 'client' | 'server'): PerMessageDeflate => p[end].connection.extensions[0]!.extension as PerMessageDeflate;

describe('Compression Streams engine', () => {
  it('is available in Node 20 with deflate-raw', () => {
    expect(hasDeflateRawStreams()).toBe(true);
    expect(perMessageDeflateWeb()).not.toBeNull();
  });

  it('§7.1 offers no context takeover both ways and no client window it cannot keep to', () => {
    expect(web().client.offer()).toEqual([[['server_no_context_takeover', true], ['client_no_context_takeover', true]]]);
  });

  it.each([
    ['web client, web server', () => pair(web(), web())],
    ['web client, zlib server', () => pair(web(), perMessageDeflateNode())],
    ['zlib client, web server', () => pair(perMessageDeflateNode(), web())],
  ])('%s: agree on no context takeover and exchange messages both ways', async (_name, make) => {
    const p = make();
    expect(deflateOf(p, 'client').agreement).toEqual(NO_TAKEOVER);
    expect(deflateOf(p, 'server').agreement).toEqual(NO_TAKEOVER);
    const messages = [compressible(5000), incompressible(3000), compressible(200_000), new Uint8Array(0)];
    for (const message of messages) {
      p.client.connection.sendBinary(message);
      p.server.connection.sendBinary(message);
    }
    p.client.connection.sendText('a'.repeat(2000), false);
    p.client.connection.sendContinuation('é'.repeat(1000), false);
    p.client.connection.sendContinuation('z', true);
    await pumpUntil(p, () => p.eventsOf('client', 'message').length === 4 && p.eventsOf('server', 'message').length === 5);
    const expected = [...messages.map((m) => Buffer.from(m).toString('hex'))];
    expect(p.eventsOf('client', 'message').map((m) => Buffer.from(m.data).toString('hex'))).toEqual(expected);
    const atServer = p.eventsOf('server', 'message');
    expect(atServer.slice(0, 4).map((m) => Buffer.from(m.data).toString('hex'))).toEqual(expected);
    expect(text(atServer[4]!.data)).toBe('a'.repeat(2000) + 'é'.repeat(1000) + 'z');
    const compressed = readFrames(p.server.written.slice(1));
    expect(compressed.filter((f) => f.rsv === 0b100).length).toBe(3);
    expect(compressed[0]!.payload.length).toBeLessThan(300);
  });

  it('§7.2.3.4 each message ends with a BFINAL block and the octet the RFC shows', async () => {
    const p = pair(web(), web());
    p.server.connection.sendText('Hello'.repeat(300));
    await pumpUntil(p, () => p.eventsOf('client', 'message').length === 1);
    const [sent] = readFrames(p.server.written.slice(1));
    expect(sent!.payload[sent!.payload.length - 1]).toBe(0x00);
    // zlib's inflater stops at the BFINAL block and leaves what follows.
    expect(inflateMessage(sent!.payload).toString()).toBe('Hello'.repeat(300));
  });

  it('§7.1.2.1 a window under 15 bits imposed by the peer is agreed, and nothing is compressed', async () => {
    const p = pair(perMessageDeflateNode({ serverMaxWindowBits: 10 }), web());
    expect(deflateOf(p, 'server').agreement.serverMaxWindowBits).toBe(10);
    expect(deflateOf(p, 'server').compresses).toBe(false);
    p.server.connection.sendBinary(compressible(5000));
    p.client.connection.sendBinary(compressible(5000));
    await pumpUntil(p, () => p.eventsOf('client', 'message').length === 1 && p.eventsOf('server', 'message').length === 1);
    expect(readFrames(p.server.written.slice(1))[0]!.rsv).toBe(0);
    expect(p.eventsOf('server', 'message')[0]!.data.length).toBe(5000);
    expect(p.eventsOf('client', 'message')[0]!.data.length).toBe(5000);
  });

  it('a web client sends uncompressed unless the server answers client_no_context_takeover', () => {
    const client = web().client;
    const silent = client.accept([['server_no_context_takeover', true]]) as PerMessageDeflate;
    expect(silent.agreement.clientNoContextTakeover).toBe(true);
    expect(silent.compresses).toBe(false);
    expect(silent.shouldEncode(true, 1 << 20)).toBe(false);
    const echoed = client.accept([['server_no_context_takeover', true], ['client_no_context_takeover', true]]) as PerMessageDeflate;
    expect(echoed.compresses).toBe(true);
    expect(new PerMessageDeflate(engine, 'client', { ...NO_TAKEOVER, clientNoContextTakeover: false }).compresses).toBe(false);
  });

  it('decompresses sync-flushed messages, BFINAL ones, and either in tiny frames', async () => {
    const server = new Driven<ServerConnection>('server', { engine, agreement: NO_TAKEOVER });
    const zlibStyle = deflateMessage('sync flushed '.repeat(100));
    const finalStyle = Buffer.concat([(await import('node:zlib')).deflateRawSync(Buffer.from('final block '.repeat(100))), Buffer.of(0)]);
    server.connection.receiveData(frame(Opcode.TEXT, zlibStyle, { rsv: 0b100, mask: true }));
    server.connection.receiveData(frame(Opcode.TEXT, finalStyle, { rsv: 0b100, mask: true }));
    for (const payload of [zlibStyle, finalStyle]) {
      for (let at = 0; at < payload.length; at += 3) {
        const first = at === 0;
        server.connection.receiveData(frame(first ? Opcode.TEXT : Opcode.CONTINUATION, payload.subarray(at, at + 3), { fin: at + 3 >= payload.length, rsv: first ? 0b100 : 0, mask: true }));
      }
    }
    await server.until(() => server.ofType('message').length === 4);
    expect(server.ofType('message').map((m) => text(m.data))).toEqual(['sync flushed '.repeat(100), 'final block '.repeat(100), 'sync flushed '.repeat(100), 'final block '.repeat(100)]);
  });

  it('§7.2.3 the RFC\'s example payloads that need no earlier context decode to "Hello"', async () => {
    const server = new Driven<ServerConnection>('server', { engine, agreement: NO_TAKEOVER });
    const examples = RFC_EXAMPLES.filter(([section]) => !section.startsWith('7.2.3.2'));
    for (const [, payload] of examples) server.connection.receiveData(frame(Opcode.TEXT, Uint8Array.from(payload), { rsv: 0b100, mask: true }));
    await server.until(() => server.ofType('message').length === examples.length);
    expect(server.ofType('message').map((m) => text(m.data))).toEqual(examples.map(() => 'Hello'));
  });

  it('§7.2.2 a 1 GiB bomb stops at the message limit with 1009', async () => {
    const server = new Driven<ServerConnection>('server', { engine, agreement: NO_TAKEOVER, limits: { maxMessageSize: 4 * 1024 * 1024 } });
    server.connection.receiveData(frame(Opcode.BINARY, deflateBomb(1024), { rsv: 0b100, mask: true }));
    await server.until(() => server.ofType('error').length > 0);
    expect(server.ofType('error')[0]!.error.code).toBe(ErrorCode.MESSAGE_TOO_BIG);
    const [close] = readFrames(server.written).filter((f) => f.opcode === Opcode.CLOSE);
    expect(readClose(close!.payload).code).toBe(CloseCode.MESSAGE_TOO_BIG);
  });

  it('produces no more than the limit plus one slice\'s worth before it stops', async () => {
    const limit = 2 * 1024 * 1024;
    let produced = 0;
    let kept = 0;
    const output: DecodeOutput = {
      push(bytes) {
        produced += bytes.length;
        if (kept + bytes.length > limit) return false;
        kept += bytes.length;
        return true;
      },
      get remaining() {
        return limit - kept;
      },
    };
    const decompressor = createMessageDecompressor(engine, { windowBits: 15, contextTakeover: false });
    await decompressor.decompress(deflateBomb(256), true, output);
    decompressor.dispose();
    expect(kept).toBeLessThanOrEqual(limit);
    // A slice holds at most remaining/1032 compressed bytes, so it cannot overshoot by much.
    expect(produced).toBeLessThan(limit + 1032 * 2 + 65536);
  });

  it('§7.2.2 compressed data that is not DEFLATE → 1007', async () => {
    const server = new Driven<ServerConnection>('server', { engine, agreement: NO_TAKEOVER });
    server.connection.receiveData(frame(Opcode.BINARY, Uint8Array.of(0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa), { rsv: 0b100, mask: true }));
    await server.until(() => server.ofType('error').length > 0);
    expect(server.ofType('error')[0]!.error.code).toBe(ErrorCode.EXTENSION_ERROR);
    const [close] = readFrames(server.written).filter((f) => f.opcode === Opcode.CLOSE);
    expect(readClose(close!.payload).code).toBe(CloseCode.INVALID_PAYLOAD);
  });
});
