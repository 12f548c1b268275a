/**
 * Hostile permessage-deflate (RFC 7692) against the Node server and client over loopback: a
 * decompression bomb stopped at the message limit with memory bounded while it inflates, data
 * that is not DEFLATE, RSV1 where RFC 7692 §6.1 forbids it (control frames, continuations, no
 * negotiation), and out-of-range window bits in a server's response.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { constants, deflateRawSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { perMessageDeflateNode } from '../../src/adapters/node/deflate.js';
import { ErrorCode, HandshakeError, type ServerOptions, WebSocket, type WebSocketOptions } from '../../src/node.js';
import { WEBSOCKET_GUID, Opcode } from '../../src/shared/constants.js';
import { TEST_MASK_KEY } from '../helpers/frames.js';
import { buildFrame } from '../codec/frame-builder.js';
import { clientFrame, Resources } from '../adapters/node/helpers.js';
import { type EchoServer, forceGc, type RawPeer, rawUpgrade, underAttack, until } from './helpers.js';

const MiB = 1024 * 1024;
const OFFER = { 'Sec-WebSocket-Extensions': 'permessage-deflate' };

/** `data` compressed as one permessage-deflate message payload (RFC 7692 §7.2.1: trailer removed). */
function compressMessage(data: Uint8Array): Buffer {
  const compressed = deflateRawSync(data, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  return compressed.subarray(0, compressed.length - 4);
}

/** A masked frame with RSV1 (the Per-Message Compressed bit). */
function compressedFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  return buildFrame({ opcode, payload, fin, rsv: 0b100, maskKey: TEST_MASK_KEY });
}

function errorCodes(server: EchoServer): string[] {
  return server.socketErrors.map((error) => (error as { code?: string }).code ?? error.message);
}

/** Sample heap + external memory every few milliseconds; `stop()` returns the peak growth. */
function sampleMemory(): { stop(): number } {
  const baseline = process.memoryUsage();
  let peak = 0;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    peak = Math.max(peak, now.heapUsed + now.external - baseline.heapUsed - baseline.external);
  }, 2);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

const SERVER_CONFIGURATIONS: Array<[name: string, options: ServerOptions]> = [
  ['perMessageDeflate: true', { perMessageDeflate: true }],
  ['a negotiator in extensions', { extensions: [perMessageDeflateNode().server] }],
];

describe.each(SERVER_CONFIGURATIONS)('hostile permessage-deflate (%s)', (_name, deflateOptions) => {
  const resources = new Resources();
  let server!: EchoServer;
  underAttack(resources, { maxPayload: MiB, ...deflateOptions }, (started) => (server = started));
  /** 256 MiB of zeros, compressed: about 250 KiB on the wire. */
  let bomb: Buffer;

  beforeAll(() => {
    bomb = compressMessage(new Uint8Array(256 * MiB));
    forceGc();
  });

  function deflatePeer(): Promise<RawPeer> {
    return rawUpgrade(resources, server.port, OFFER);
  }

  it('a compressed message round-trips (the extension is in use)', async () => {
    const peer = await deflatePeer();
    peer.write(compressedFrame(Opcode.TEXT, compressMessage(Buffer.from('hello, compressed world'))));
    await until(() => server.received.length === 1, 'the message');
    expect(server.received[0]!.data.toString()).toBe('hello, compressed world');
  });

  it('a decompression bomb (256 MiB of zeros in ~250 KiB) → 1009 at the 1 MiB limit; memory stays bounded while it inflates', async () => {
    expect(bomb.length).toBeLessThan(MiB);
    const peer = await deflatePeer();
    forceGc();
    const memory = sampleMemory();
    peer.write(compressedFrame(Opcode.BINARY, bomb));
    const outcome = await peer.closedByServer(10_000);
    const peak = memory.stop();
    expect(outcome.closeCodes).toEqual([1009]);
    expect(errorCodes(server)).toEqual([ErrorCode.MESSAGE_TOO_BIG]);
    expect(server.received).toEqual([]);
    // The limit (1 MiB), zlib's buffers and the frame itself; nowhere near 256 MiB.
    expect(peak).toBeLessThan(48 * MiB);
  });

  it('a bomb split over 100 fragments is stopped the same way', async () => {
    const peer = await deflatePeer();
    const step = Math.ceil(bomb.length / 100);
    const frames: Uint8Array[] = [];
    for (let at = 0, first = true; at < bomb.length; at += step, first = false) {
      const piece = bomb.subarray(at, at + step);
      const fin = at + step >= bomb.length;
      frames.push(first ? compressedFrame(Opcode.BINARY, piece, fin) : clientFrame(Opcode.CONTINUATION, piece, fin));
    }
    peer.write(Buffer.concat(frames));
    expect((await peer.closedByServer(10_000)).closeCodes).toEqual([1009]);
    expect(errorCodes(server)).toEqual([ErrorCode.MESSAGE_TOO_BIG]);
  });

  it('data that is not DEFLATE → 1007', async () => {
    const peer = await deflatePeer();
    peer.write(compressedFrame(Opcode.BINARY, Buffer.alloc(64, 0xff)));
    expect((await peer.closedByServer()).closeCodes).toEqual([1007]);
    expect(errorCodes(server)).toEqual([ErrorCode.EXTENSION_ERROR]);
  });

  it('compressed text that inflates to invalid UTF-8 → 1007', async () => {
    const peer = await deflatePeer();
    peer.write(compressedFrame(Opcode.TEXT, compressMessage(Uint8Array.of(0x61, 0xc3, 0x28))));
    expect((await peer.closedByServer()).closeCodes).toEqual([1007]);
    expect(errorCodes(server)).toEqual([ErrorCode.INVALID_UTF8]);
  });

  it.each([
    ['a ping', () => compressedFrame(Opcode.PING, Buffer.from('p'))],
    ['a close', () => compressedFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8))],
    ['a continuation', () => Buffer.concat([compressedFrame(Opcode.TEXT, compressMessage(Buffer.from('ab')), false), compressedFrame(Opcode.CONTINUATION, new Uint8Array(0))])],
  ])('RSV1 on %s → 1002 (RFC 7692 §6.1)', async (_name, bytes) => {
    const peer = await deflatePeer();
    peer.write(bytes());
    expect((await peer.closedByServer()).closeCodes).toEqual([1002]);
    expect(errorCodes(server)).toEqual([ErrorCode.RSV_NOT_ALLOWED]);
  });

  it('RSV1 on a connection that did not negotiate permessage-deflate → 1002', async () => {
    const peer = await rawUpgrade(resources, server.port);
    peer.write(compressedFrame(Opcode.TEXT, compressMessage(Buffer.from('x'))));
    expect((await peer.closedByServer()).closeCodes).toEqual([1002]);
    expect(errorCodes(server)).toEqual([ErrorCode.RSV_NOT_ALLOWED]);
  });
});

describe.each([
  ['the default client (perMessageDeflate on)', {}],
  ['a negotiator in extensions', { extensions: [perMessageDeflateNode().client] }],
] as Array<[string, WebSocketOptions]>)('a hostile server answering permessage-deflate to %s', (_name, clientOptions) => {
  const resources = new Resources();
  afterEach(() => resources.closeAll());

  /** A raw server whose 101 response carries `extensions` as its Sec-WebSocket-Extensions. */
  async function respondingWith(extensions: string): Promise<number> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1]!;
        const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: ${extensions}\r\n\r\n`);
      });
    });
    resources.track({ close: () => { for (const socket of sockets) socket.destroy(); server.close(); } });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  it.each([
    ['server_max_window_bits=7', 'permessage-deflate; server_max_window_bits=7'],
    ['server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=16'],
    ['server_max_window_bits=0', 'permessage-deflate; server_max_window_bits=0'],
    ['server_max_window_bits=99999999999999999999', 'permessage-deflate; server_max_window_bits=99999999999999999999'],
    ['client_max_window_bits=7', 'permessage-deflate; client_max_window_bits=7'],
    ['client_max_window_bits without a value', 'permessage-deflate; client_max_window_bits'],
    ['a repeated parameter', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
    ['an unknown parameter', 'permessage-deflate; x=1'],
    ['an extension that was not offered', 'x-unknown'],
    ['permessage-deflate twice', 'permessage-deflate, permessage-deflate'],
  ])('%s: the client fails the connection with a HandshakeError and 1006', async (_name, extensions) => {
    const port = await respondingWith(extensions);
    const client = resources.track(new WebSocket(`ws://127.0.0.1:${port}`, clientOptions));
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    const code = await new Promise<number>((resolve) => client.on('close', resolve));
    expect(code).toBe(1006);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(HandshakeError);
    expect(client.readyState).toBe(WebSocket.CLOSED);
  });
});
