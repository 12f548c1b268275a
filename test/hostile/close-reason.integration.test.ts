/**
 * Close frames carry exactly the code and reason given, and nothing else: no byte of
 * uninitialised memory (the class of bug where a close reason was built in a buffer from
 * `Buffer.allocUnsafe` and sent with stale bytes). Before each close, Node's buffer pool and
 * freshly freed memory are filled with a marker byte that no expected frame contains; then the
 * exact bytes of every close frame on the wire are compared.
 */
import { describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { Opcode } from '../../src/shared/constants.js';
import type { ReadFrame } from '../helpers/frames.js';
import { clientFrame, nodeCodecs, Resources } from '../adapters/node/helpers.js';
import { startRawServer } from '../interop/raw-peer.js';
import { type EchoServer, rawUpgrade, underAttack, until } from './helpers.js';

const MARKER = 0xee;

/** Leave Node's pooled and recently freed buffer memory full of `MARKER`. */
function poisonBufferPool(): void {
  const held: Buffer[] = [];
  // allocUnsafe below 4 KiB carves from the shared 8 KiB pool; larger sizes reuse freed memory.
  for (let i = 0; i < 512; i++) held.push(Buffer.allocUnsafe(64 + (i % 200)).fill(MARKER));
  for (let i = 0; i < 64; i++) held.push(Buffer.allocUnsafe(16 * 1024).fill(MARKER));
  held.length = 0;
}

/** The bytes of a close frame a server sends: FIN + opcode 8, unmasked length, code, reason. */
function serverCloseBytes(code: number, reason: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([Buffer.from([0x88, 2 + reason.length, code >> 8, code & 0xff]), reason]);
}

/** A received frame's bytes as they were on the wire (unmasked frames only). */
function wireBytes(frame: ReadFrame): Buffer {
  return Buffer.concat([Buffer.from([(frame.fin ? 0x80 : 0) | (frame.rsv << 4) | frame.opcode, frame.lengthField]), frame.payload]);
}

describe.each(nodeCodecs)('close reasons are exact (%s codec)', (_name, codec) => {
  const resources = new Resources();
  let server!: EchoServer;
  underAttack(resources, { codec, maxPayload: 1000 }, (started) => (server = started));

  const reasons: Array<[name: string, reason: string]> = [
    ['an empty reason', ''],
    ['a short ASCII reason', 'bye'],
    ['123 bytes of ASCII (the most that fits)', 'r'.repeat(123)],
    ['123 bytes of 3-byte characters', '€'.repeat(41)],
    ['a reason with NUL and 0xEE-like characters', 'a\u0000î\u00ee'],
  ];

  it.each(reasons)('server close(4321, %s): the frame is exactly code + reason', async (_title, reason) => {
    const peer = await rawUpgrade(resources, server.port);
    await until(() => server.sockets.length === 2, 'the server-side socket');
    poisonBufferPool();
    server.sockets[1]!.close(4321, reason);
    poisonBufferPool();
    const frame = await peer.waitForFrame((received) => received.opcode === Opcode.CLOSE);
    expect(wireBytes(frame)).toEqual(serverCloseBytes(4321, Buffer.from(reason, 'utf8')));
  });

  it('a reason given as bytes is sent as those bytes', async () => {
    const peer = await rawUpgrade(resources, server.port);
    await until(() => server.sockets.length === 2, 'the server-side socket');
    const reason = Buffer.allocUnsafe(64);
    reason.fill(0x41);
    poisonBufferPool();
    server.sockets[1]!.close(1000, reason);
    const frame = await peer.waitForFrame((received) => received.opcode === Opcode.CLOSE);
    expect(wireBytes(frame)).toEqual(serverCloseBytes(1000, Buffer.alloc(64, 0x41)));
  });

  it('the echo of a peer close carries the code and the reason, and no stale bytes', async () => {
    const peer = await rawUpgrade(resources, server.port);
    poisonBufferPool();
    peer.write(clientFrame(Opcode.CLOSE, Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('peer reason')])));
    const outcome = await peer.closedByServer();
    expect(outcome.frames.map(wireBytes)).toEqual([serverCloseBytes(4001, Buffer.from('peer reason', 'utf8'))]);
  });

  it('an empty peer close is echoed empty', async () => {
    const peer = await rawUpgrade(resources, server.port);
    poisonBufferPool();
    peer.write(clientFrame(Opcode.CLOSE, new Uint8Array(0)));
    const outcome = await peer.closedByServer();
    expect(outcome.frames.map(wireBytes)).toEqual([Buffer.from([0x88, 0x00])]);
  });

  it('a close the server writes for a protocol error carries its code and a reason that is all UTF-8 text', async () => {
    const peer = await rawUpgrade(resources, server.port);
    poisonBufferPool();
    peer.write(clientFrame(Opcode.BINARY, new Uint8Array(1001)).subarray(0, 8));
    const outcome = await peer.closedByServer();
    expect(outcome.frames).toHaveLength(1);
    const payload = Buffer.from(outcome.frames[0]!.payload);
    expect(payload.readUInt16BE(0)).toBe(1009);
    expect(payload.length).toBeLessThanOrEqual(125);
    expect(payload.subarray(2).toString('utf8')).toBe('frame payload of 1001 bytes exceeds the limit of 1000');
    expect(payload.includes(MARKER)).toBe(false);
  });

  it('pongs carry exactly the ping payload', async () => {
    const peer = await rawUpgrade(resources, server.port);
    poisonBufferPool();
    const payloads = [new Uint8Array(0), Buffer.from('x'), Buffer.alloc(125, 0x42)];
    for (const payload of payloads) peer.write(clientFrame(Opcode.PING, payload));
    await until(() => peer.frames().length === 3, 'three pongs');
    expect(peer.frames().map(wireBytes)).toEqual(payloads.map((payload) => Buffer.concat([Buffer.from([0x8a, payload.length]), payload])));
  });

  it("a client's masked close frame unmasks to exactly its code and reason", async () => {
    const raw = await startRawServer();
    resources.track({ close: () => void raw.close() });
    const client = resources.track(new WebSocket(`ws://127.0.0.1:${raw.port}`, { codec }));
    await new Promise((resolve) => client.once('open', resolve));
    const connection = await raw.connections.next('the raw connection');
    poisonBufferPool();
    client.close(3999, 'client reason ✓');
    const frame = await connection.nextFrame('the close frame');
    expect(frame.opcode).toBe(Opcode.CLOSE);
    expect(frame.masked).toBe(true);
    expect(Buffer.from(frame.payload)).toEqual(Buffer.concat([Buffer.from([0x0f, 0x9f]), Buffer.from('client reason ✓')]));
  });
});
