/**
 * Clients and servers of the interop pairings behind one small interface each, so every
 * pairing runs the same scenarios (test/interop/suite.ts). A client reports what it observed
 * as `PeerEvent`s shaped like the Python peers' reports: `message` (a `MessageReport`),
 * `ping`, `pong`, `closed` (code, reason), `error`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { EventQueue, type PeerEvent, withTimeout } from './events.js';
import { cutIntoPieces, describeMessage, type MessageType, pattern } from './payloads.js';

/** One connected client of a pairing. */
export interface ClientDriver {
  /** The subprotocol the client says was agreed, or null. */
  readonly protocol: string | null;
  /** The handshake response's header fields as the client received them, in wire order. */
  readonly responseHeaders: ReadonlyArray<readonly [string, string]>;
  readonly events: EventQueue<PeerEvent>;
  /** Send the shared pattern of `size` bytes as one message. */
  send(type: MessageType, size: number): void;
  /** Send `text` as one text message. */
  sendText(text: string): void;
  /** Send `size` random bytes as one binary message: incompressible, so its length on the wire
   *  is its size whatever extensions are in use. */
  sendRandom(size: number): void;
  /** Send the shared pattern of `size` bytes as one message in `pieceSize` fragments; absent when the library cannot. */
  readonly sendFragmented?: (type: MessageType, size: number, pieceSize: number) => void;
  /** Send a ping; a `pong` event with the same data follows. Absent when the library cannot. */
  readonly ping?: (data: string) => void;
  close(code: number, reason: string): void;
  /** Release everything the client holds (idempotent). */
  stop(): Promise<void>;
}

/** Connect a client to `url` offering `protocols`; resolves once the connection is open. */
export type ClientConnector = (url: string, protocols: readonly string[]) => Promise<ClientDriver>;

/** A running server of a pairing (see test/interop/path-server.ts for the paths it serves). */
export interface ServerDriver {
  readonly port: number;
  /** The next server-side event named `name`: every server reports `connection` and `closed`. */
  next(name: string, accepts?: (event: PeerEvent) => boolean): Promise<PeerEvent>;
  /** How many clients the server holds now; null when the server does not say. */
  clientCount(): number | null;
  stop(): Promise<void>;
}

/** The header fields of a Node `IncomingMessage`, in wire order. */
export function headerPairs(response: IncomingMessage): Array<readonly [string, string]> {
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i < response.rawHeaders.length; i += 2) pairs.push([response.rawHeaders[i]!, response.rawHeaders[i + 1]!]);
  return pairs;
}

/** A client socket with the `ws` API (wasmsocket's `WebSocket` or the `ws` package's). */
export interface WsApiClient {
  readonly protocol: string;
  binaryType: string;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  send(data: string | Uint8Array, options?: { binary?: boolean; fin?: boolean }): unknown;
  ping(data?: string | Uint8Array): unknown;
  close(code?: number, reason?: string): unknown;
  terminate(): unknown;
}

/** A `ws`-API client class. */
export type WsApiClientClass = new (url: string, protocols: string[], options?: Record<string, unknown>) => WsApiClient;

/** Read a 'message' event's data (Buffer, ArrayBuffer or Buffer[]) as one Buffer. */
export function messageBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** Clients with the `ws` API (the `ws` package, or wasmsocket's own client), made with `options`. */
export function wsApiClients(Client: WsApiClientClass, options: Record<string, unknown> = {}): ClientConnector {
  return async (url, protocols) => {
    const socket = new Client(url, [...protocols], options);
    socket.binaryType = 'nodebuffer';
    const events = new EventQueue<PeerEvent>();
    let responseHeaders: Array<readonly [string, string]> = [];
    socket.on('upgrade', (response: IncomingMessage) => (responseHeaders = headerPairs(response)));
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = messageBytes(data);
      events.push({ event: 'message', ...describeMessage(isBinary ? bytes : bytes.toString('utf8')) });
    });
    socket.on('ping', (data: Buffer) => events.push({ event: 'ping', data: data.toString() }));
    socket.on('pong', (data: Buffer) => events.push({ event: 'pong', data: data.toString() }));
    socket.on('close', (code: number, reason: Buffer) => events.push({ event: 'closed', code, reason: reason.toString() }));
    socket.on('error', (error: Error) => events.push({ event: 'error', message: error.message }));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      }),
      `a connection to ${url}`,
    );
    return {
      get protocol() {
        return socket.protocol === '' ? null : socket.protocol;
      },
      responseHeaders,
      events,
      send: (type, size) => socket.send(pattern(type, size), { binary: type === 'binary' }),
      sendText: (text) => socket.send(text),
      sendRandom: (size) => socket.send(randomBytes(size), { binary: true }),
      sendFragmented: (type, size, pieceSize) => {
        const pieces = cutIntoPieces(pattern(type, size), pieceSize);
        pieces.forEach((piece, index) => socket.send(piece, { binary: type === 'binary', fin: index === pieces.length - 1 }));
      },
      ping: (data) => socket.ping(data),
      close: (code, reason) => socket.close(code, reason),
      stop: async () => {
        socket.terminate();
      },
    };
  };
}

/** A ws-API server socket, as far as counting clients goes. */
interface CountedServer {
  readonly clients: Set<unknown> | undefined;
}

/** The `ServerDriver` face of a path server. */
export function pathServerDriver(server: {
  readonly port: number;
  readonly server: CountedServer;
  next(name: string, accepts?: (event: PeerEvent) => boolean): Promise<PeerEvent>;
  stop(): Promise<void>;
}): ServerDriver {
  return {
    port: server.port,
    next: (name, accepts) => server.next(name, accepts),
    clientCount: () => server.server.clients?.size ?? null,
    stop: () => server.stop(),
  };
}
