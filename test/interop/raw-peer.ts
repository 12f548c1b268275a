/**
 * A WebSocket peer made of plain TCP and RFC 6455 arithmetic, for tests that must see or
 * send exact frames (fragment boundaries, invalid UTF-8, a connection cut mid-frame): a
 * server that answers one opening handshake, and a client that performs one.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { WEBSOCKET_GUID } from '../../src/shared/constants.js';
import { type ReadFrame, readFrames } from '../helpers/frames.js';
import { EventQueue, withTimeout } from './events.js';

/** One end of a raw connection, after the opening handshake. */
export class RawConnection {
  /** Every complete frame received, unmasked. */
  readonly frames = new EventQueue<ReadFrame>();
  /** Resolves when the TCP connection has closed. */
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  #pending: Buffer = Buffer.alloc(0);

  constructor(socket: net.Socket, leftover: Buffer) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', () => {});
    socket.once('close', () => this.frames.end(new Error('the connection closed')));
    if (leftover.length > 0) this.#receive(leftover);
  }

  /** Write raw bytes (frames built with test/helpers/frames.ts). */
  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /** Stop reading, so the peer's writes back up (TCP flow control). */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** Drop the connection without a closing handshake. */
  destroy(): void {
    this.#socket.destroy();
  }

  /** The next frame, within the step timeout. */
  nextFrame(what = 'a frame'): Promise<ReadFrame> {
    return this.frames.next(what);
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    // Take every complete frame; keep a partial one for the next chunk.
    for (;;) {
      const length = completeFrameLength(this.#pending);
      if (length === 0) return;
      const [frame] = readFrames(this.#pending.subarray(0, length));
      this.#pending = this.#pending.subarray(length);
      this.frames.push(frame!);
    }
  }
}

/** The byte length of the complete frame at the start of `bytes`, or 0 if it is not all there. */
function completeFrameLength(bytes: Buffer): number {
  if (bytes.length < 2) return 0;
  const lengthField = bytes[1]! & 0x7f;
  const masked = (bytes[1]! & 0x80) !== 0;
  let header = 2;
  let payload = lengthField;
  if (lengthField === 126) {
    if (bytes.length < 4) return 0;
    payload = bytes.readUInt16BE(2);
    header = 4;
  } else if (lengthField === 127) {
    if (bytes.length < 10) return 0;
    payload = Number(bytes.readBigUInt64BE(2));
    header = 10;
  }
  const total = header + (masked ? 4 : 0) + payload;
  return bytes.length >= total ? total : 0;
}

/** Read from `socket` up to the end of an HTTP head; returns the head and what followed it. */
function readHead(socket: net.Socket): Promise<{ head: string; rest: Buffer }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        resolve({ head: received.subarray(0, end).toString('latin1'), rest: received.subarray(end + 4) });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before the end of the HTTP head')));
    }),
    'an HTTP head',
  );
}

function acceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** A raw server on 127.0.0.1: each connection is answered 101 (with `protocol` if given). */
export interface RawServer {
  readonly port: number;
  readonly connections: EventQueue<RawConnection>;
  close(): Promise<void>;
}

/** Start a raw server that completes every opening handshake it gets. */
export async function startRawServer(protocol?: string): Promise<RawServer> {
  const connections = new EventQueue<RawConnection>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    void readHead(socket).then(({ head, rest }) => {
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head)?.[1] ?? '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
          (protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
          '\r\n',
      );
      connections.push(new RawConnection(socket, rest));
    }, () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Open a raw client connection to 127.0.0.1:`port``path`; resolves after the 101. */
export async function connectRaw(port: number, path = '/'): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const { head, rest } = await readHead(socket);
  if (!head.startsWith('HTTP/1.1 101 ') || !head.includes(acceptKey(key))) {
    socket.destroy();
    throw new Error(`the server did not accept the handshake: ${head.split('\r\n')[0]}`);
  }
  return new RawConnection(socket, rest);
}
