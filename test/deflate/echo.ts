/**
 * Echo servers and clients with the `ws` API (wasmsocket's or the `ws` package's) for the
 * permessage-deflate interop tests over loopback: the server echoes every message as it came
 * (text as text, binary as binary) and counts the bytes its TCP socket read, so a test can see
 * that compression happened on the wire.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compressible, incompressible } from './helpers.js';

/** A `ws`-API server socket as far as echoing goes. */
interface EchoSocket {
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  send(data: Buffer | string, options: { binary: boolean }): unknown;
}

/** A `ws`-API server as far as these tests go. */
export interface EchoServerLike {
  on(event: 'connection', listener: (socket: EchoSocket, request: IncomingMessage) => void): unknown;
  once(event: 'listening', listener: () => void): unknown;
  address(): AddressInfo | string | null;
  close(callback?: () => void): void;
}

/** A running echo server. */
export interface EchoServer {
  readonly port: number;
  /** Bytes read by each connection's TCP socket, reported when it closes, in order of closing. */
  readonly bytesRead: number[];
  /** Sec-WebSocket-Extensions of each request. */
  readonly offers: string[];
  stop(): Promise<void>;
}

/**
 * Start `server` (already listening or about to) as an echo server. `port`: the port of the
 * HTTP server a `noServer` WebSocket server takes its upgrades from (it never listens itself).
 */
export async function startEcho(server: EchoServerLike, port?: number): Promise<EchoServer> {
  const bytesRead: number[] = [];
  const offers: string[] = [];
  server.on('connection', (socket, request) => {
    offers.push(String(request.headers['sec-websocket-extensions'] ?? ''));
    socket.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      socket.send(isBinary ? bytes : bytes.toString('utf8'), { binary: isBinary });
    });
    socket.on('close', () => bytesRead.push(request.socket.bytesRead));
    socket.on('error', () => {});
  });
  if (port === undefined) {
    await new Promise<void>((resolve) => {
      if (typeof server.address() === 'object' && server.address() !== null) resolve();
      else server.once('listening', resolve);
    });
  }
  return {
    port: port ?? (server.address() as AddressInfo).port,
    bytesRead,
    offers,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One message of a workload: what to send, and how (in `pieces` fragments when more than 1). */
export interface Sample {
  readonly name: string;
  readonly data: Buffer;
  readonly binary: boolean;
  readonly pieces: number;
}

const UTF8_PHRASE = 'permessage-deflate — täglich 日本語 🎉 ';

/** Text of `size` bytes of UTF-8 (whole characters; a little shorter when one would not fit). */
function utf8Text(size: number): Buffer {
  const phrase = Buffer.from(UTF8_PHRASE);
  const out = Buffer.alloc(size);
  let at = 0;
  while (at + phrase.length <= size) at += phrase.copy(out, at);
  out.fill(0x61, at);
  return out;
}

/**
 * The workload of the interop tests: text and binary from 0 B up to `maxSize`, highly
 * compressible and incompressible, whole and fragmented.
 */
export function samples(maxSize: number): Sample[] {
  const sizes = [0, 1, 125, 1023, 1024, 65_535, 65_536, 1 << 20, 16 << 20].filter((size) => size <= maxSize);
  const out: Sample[] = [];
  for (const size of sizes) {
    out.push({ name: `text ${size} B`, data: utf8Text(size), binary: false, pieces: 1 });
    out.push({ name: `compressible binary ${size} B`, data: Buffer.from(compressible(size)), binary: true, pieces: 1 });
    out.push({ name: `incompressible binary ${size} B`, data: Buffer.from(incompressible(size, size + 1)), binary: true, pieces: 1 });
  }
  // Repeats 300 bytes apart: a compressor that reached back further than an agreed 8-bit
  // window allows (256 bytes) would make the peer fail.
  const block = Buffer.from(incompressible(300, 77));
  out.push({ name: 'random 300 B block repeated, 60 KB', data: Buffer.concat(Array.from({ length: 200 }, () => block)), binary: true, pieces: 1 });
  out.push({ name: 'fragmented text 100 KB in 3', data: utf8Text(100_000), binary: false, pieces: 3 });
  out.push({ name: 'fragmented binary 200 KB in 7', data: Buffer.from(compressible(200_000)), binary: true, pieces: 7 });
  out.push({ name: 'fragmented incompressible 50 KB in 5', data: Buffer.from(incompressible(50_000)), binary: true, pieces: 5 });
  return out;
}

/** A `ws`-API client socket as far as these tests go. */
export interface EchoClientLike {
  binaryType: string;
  readonly extensions: unknown;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[] | Uint8Array | string, isBinary: boolean) => void): unknown;
  once(event: 'open' | 'close' | 'error', listener: (...args: any[]) => void): unknown;
  send(data: Buffer | string, options: { binary: boolean; fin?: boolean }): unknown;
  close(code?: number): unknown;
}

/** The pieces of a sample to send, as the `ws` API sends text pieces: strings only when whole characters. */
function piecesOf(sample: Sample): Buffer[] {
  if (sample.pieces === 1) return [sample.data];
  const pieces: Buffer[] = [];
  const step = Math.ceil(sample.data.length / sample.pieces);
  for (let at = 0; at < sample.data.length; at += step) pieces.push(sample.data.subarray(at, at + step));
  return pieces;
}

/**
 * Send every sample through `client` and check each echo is byte-identical and of the same
 * type. Resolves with the extensions the client reports once all came back.
 */
export async function echoAll(client: EchoClientLike, workload: readonly Sample[]): Promise<string> {
  client.binaryType = 'nodebuffer';
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  const received: Array<{ data: Buffer; binary: boolean }> = [];
  let wake: () => void = () => {};
  client.on('message', (data, isBinary) => {
    received.push({ data: Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as ArrayBuffer), binary: isBinary });
    wake();
  });
  let failure: Error | null = null;
  client.once('close', () => {
    failure ??= new Error('the connection closed before every echo came back');
    wake();
  });
  for (const sample of workload) {
    const pieces = piecesOf(sample);
    pieces.forEach((piece, index) => client.send(piece, { binary: sample.binary, fin: index === pieces.length - 1 }));
  }
  while (received.length < workload.length && failure === null) await new Promise<void>((resolve) => (wake = resolve));
  if (received.length < workload.length) throw failure ?? new Error('echoes missing');
  workload.forEach((sample, index) => {
    const echo = received[index]!;
    if (echo.binary !== sample.binary || !echo.data.equals(sample.data)) {
      throw new Error(`echo of ${sample.name} differs: got ${echo.binary ? 'binary' : 'text'} of ${echo.data.length} bytes`);
    }
  });
  const extensions = String(client.extensions);
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  client.close(1000);
  await closed;
  return extensions;
}

/** Total payload bytes of a workload. */
export function totalSize(workload: readonly Sample[]): number {
  return workload.reduce((sum, sample) => sum + sample.data.length, 0);
}
