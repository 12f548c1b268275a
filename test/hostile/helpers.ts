/**
 * The attacker's workbench: an echo server on 127.0.0.1 that records every error it reports,
 * a healthy control client that must keep echoing while the server is attacked, raw TCP peers
 * that send exactly the bytes an attack needs, and memory measurements taken after a forced
 * garbage collection.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, expect } from 'vitest';
import { WebSocket, WebSocketServer, type ServerOptions } from '../../src/node.js';
import { type ReadFrame, readFrames } from '../helpers/frames.js';
import { openClient, portOf, rawConnect, readUntil, type Resources, upgradeRequest } from '../adapters/node/helpers.js';

/** An echo server under attack, and everything it reported. */
export interface EchoServer {
  readonly wss: WebSocketServer;
  readonly url: string;
  readonly port: number;
  /** Errors of the server itself (`'error'` on the WebSocketServer). */
  readonly serverErrors: Error[];
  /** Errors reported on server-side sockets, in order. */
  readonly socketErrors: Error[];
  /** Server-side sockets, in connection order. */
  readonly sockets: WebSocket[];
  /** Messages the server received (all connections). */
  readonly received: Array<{ data: Buffer; isBinary: boolean }>;
  /** Close codes of server-side sockets, in the order they closed. */
  readonly closes: number[];
}

/** Start an echo server: every message goes back as it came (text as text, binary as binary). */
export async function startEchoServer(resources: Resources, options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {}): Promise<EchoServer> {
  const wss = resources.track(new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' }));
  const server: EchoServer = { wss, url: '', port: 0, serverErrors: [], socketErrors: [], sockets: [], received: [], closes: [] };
  wss.on('error', (error) => server.serverErrors.push(error));
  wss.on('connection', (ws) => {
    server.sockets.push(ws);
    ws.on('error', (error) => server.socketErrors.push(error));
    ws.on('close', (code) => server.closes.push(code));
    ws.on('message', (data, isBinary) => {
      server.received.push({ data: data as Buffer, isBinary });
      if (ws.readyState === WebSocket.OPEN) ws.send(data as Buffer, { binary: isBinary });
    });
  });
  await once(wss, 'listening');
  const port = portOf(wss);
  return Object.assign(server, { url: `ws://127.0.0.1:${port}`, port });
}

/**
 * A well-behaved client kept connected through every attack: `echo()` proves the server still
 * serves its other connections.
 */
export class ControlClient {
  readonly ws: WebSocket;
  #sequence = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
  }

  static async open(resources: Resources, url: string): Promise<ControlClient> {
    return new ControlClient(await openClient(resources, url));
  }

  /** Send a unique message and wait for it to come back unchanged. */
  async echo(ms = 5000): Promise<void> {
    expect(this.ws.readyState).toBe(WebSocket.OPEN);
    const text = `control message ${++this.#sequence}`;
    const reply = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the control client got no echo within ${ms} ms`)), ms);
      const onMessage = (data: Buffer): void => {
        clearTimeout(timer);
        this.ws.off('message', onMessage);
        resolve(data.toString('utf8'));
      };
      this.ws.on('message', onMessage);
    });
    this.ws.send(text);
    expect(await reply).toBe(text);
  }
}

/**
 * Attack a fresh echo server in every test: before each, the server (with `options`) and a
 * control client connected to it; after each, the control client must still echo and the
 * server must have reported no error of its own, then everything is closed. `use` is given
 * each test's server.
 */
export function underAttack(resources: Resources, options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>, use: (server: EchoServer) => void): void {
  let server: EchoServer;
  let control: ControlClient;
  beforeEach(async () => {
    server = await startEchoServer(resources, options);
    control = await ControlClient.open(resources, server.url);
    use(server);
  });
  afterEach(async () => {
    await control.echo();
    expect(server.serverErrors).toEqual([]);
    await resources.closeAll();
  });
}

/** What a raw peer saw by the time its connection closed. */
export interface RawOutcome {
  /** Every complete frame received, in order. */
  readonly frames: ReadFrame[];
  /** The close frames' codes (null for an empty close frame). */
  readonly closeCodes: Array<number | null>;
  /** The raw bytes received after the 101 response. */
  readonly bytes: Buffer;
}

/** A raw TCP peer that completed the opening handshake and now sends whatever it likes. */
export class RawPeer {
  readonly socket: Socket;
  #received: Buffer;
  readonly #closed: Promise<void>;

  constructor(socket: Socket, leftover: Buffer) {
    this.socket = socket;
    this.#received = leftover;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
    });
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Complete frames received so far. */
  frames(): ReadFrame[] {
    return readFrames(completeFramesOf(this.#received));
  }

  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes);
  }

  /** Wait until the server closes the TCP connection (within `ms`), then report what arrived. */
  async closedByServer(ms = 5000): Promise<RawOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([this.#closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
    const frames = this.frames();
    return {
      frames,
      closeCodes: frames.filter((frame) => frame.opcode === 0x8).map((frame) => (frame.payload.length >= 2 ? (frame.payload[0]! << 8) | frame.payload[1]! : null)),
      bytes: this.#received,
    };
  }

  /** Wait until a frame matching `predicate` has arrived. */
  async waitForFrame(predicate: (frame: ReadFrame) => boolean, ms = 5000): Promise<ReadFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames().find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${ms} ms (${this.frames().length} frames received)`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** The prefix of `bytes` made of complete frames. */
function completeFramesOf(bytes: Buffer): Buffer {
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const b1 = bytes[at + 1]!;
    let header = 2;
    let length = b1 & 0x7f;
    if (length === 126) {
      if (bytes.length - at < 4) break;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (bytes.length - at < 10) break;
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if ((b1 & 0x80) !== 0) header += 4;
    if (bytes.length - at < header + length) break;
    at += header + length;
  }
  return bytes.subarray(0, at);
}

/** Open a raw TCP connection and complete the opening handshake (`extra` headers added). */
export async function rawUpgrade(resources: Resources, port: number, extra: Record<string, string> = {}): Promise<RawPeer> {
  const socket = await rawConnect(resources, port);
  socket.write(upgradeRequest('/', extra));
  const head = await readUntil(socket, (received) => received.includes('\r\n\r\n'));
  const end = head.indexOf('\r\n\r\n');
  expect(head.subarray(0, 12).toString('latin1')).toBe('HTTP/1.1 101');
  return new RawPeer(socket, head.subarray(end + 4));
}

/**
 * Send `request` on a fresh TCP connection and return the server's answer: an error response
 * read until the server closes the connection (head and body), or a 101 response's head (then
 * the connection is dropped).
 */
export async function answerTo(resources: Resources, port: number, request: string | Uint8Array, ms = 5000): Promise<string> {
  const socket = await rawConnect(resources, port);
  socket.write(request);
  const answer = await readUntil(socket, (received) => received.includes('\r\n\r\n') && received.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101', ms);
  socket.destroy();
  return answer.toString('latin1');
}

/** The status code of an HTTP response, or NaN when there is none. */
export function statusOf(response: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return match === null ? Number.NaN : Number(match[1]);
}

/** The value of a header field of an HTTP response head (first occurrence), if present. */
export function headerOf(response: string, name: string): string | undefined {
  const head = response.slice(0, response.indexOf('\r\n\r\n'));
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return undefined;
}

let gc: (() => void) | null = null;

/** Run a full garbage collection (enabling `gc()` for this process on first use). */
export function forceGc(): void {
  if (gc === null) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

/** Bytes of JavaScript heap and of memory outside it (Buffers, ArrayBuffers) in use, after a GC. */
export function memoryInUse(): number {
  forceGc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolve once `condition` holds, polling every 5 ms; fail after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}
