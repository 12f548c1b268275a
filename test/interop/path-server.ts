/**
 * The interop server behaviour, by path, over any server with the `ws` API (wasmsocket's own
 * `WebSocketServer`, or the `ws` package as an independent peer). It matches what
 * test/interop/python/echo_server.py does, so every client pairing runs the same script:
 *
 *     /echo                      echo every message, text as text, binary as binary
 *     /fragments?size=K          echo every message as a fragmented message of K-byte pieces
 *     /close?code=C&reason=R     close at once with code C and reason R
 *     /ping?data=D               ping with payload D; on the matching pong send "pong:D"; then echo
 *
 * and records what happened as `PeerEvent`s: `connection` (path, subprotocol), `message`
 * (a `MessageReport`), `pong`, `closed` (path, code, reason), `error`.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messageBytes } from './drivers.js';
import { EventQueue, type PeerEvent, withTimeout } from './events.js';
import { cutIntoPieces, describeMessage } from './payloads.js';

/** The part of a ws-compatible server socket this server uses. */
export interface CompatibleSocket {
  readonly protocol: string;
  readonly readyState: number;
  on(event: string, listener: (...args: any[]) => void): unknown;
  send(data: string | Uint8Array, options: { binary?: boolean; fin?: boolean }, callback?: (error?: Error) => void): unknown;
  ping(data?: string | Uint8Array): unknown;
  close(code?: number, reason?: string): unknown;
  terminate(): unknown;
}

/** The part of a ws-compatible server this server uses. */
export interface CompatibleServer {
  /** The connected clients (absent with `clientTracking: false`, never here). */
  readonly clients: Set<unknown> | undefined;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  address(): AddressInfo | string | null;
  close(callback?: (error?: Error) => void): unknown;
}

/** A ws-compatible server class. */
export type CompatibleServerClass = new (options: {
  port: number;
  host: string;
  maxPayload: number;
  handleProtocols: (protocols: Set<string>, request: IncomingMessage) => string | false;
}) => CompatibleServer;

/** A running path server. */
export interface PathServer {
  readonly port: number;
  readonly server: CompatibleServer;
  readonly events: EventQueue<PeerEvent>;
  /** The next recorded event named `name` (and matching `accepts`). */
  next(name: string, accepts?: (event: PeerEvent) => boolean): Promise<PeerEvent>;
  /** Terminate every client and stop listening. */
  stop(): Promise<void>;
}

/**
 * Start the path server on 127.0.0.1 with `Server`, accepting the first offered subprotocol
 * that is in `subprotocols`.
 */
export async function startPathServer(Server: CompatibleServerClass, subprotocols: readonly string[] = []): Promise<PathServer> {
  const events = new EventQueue<PeerEvent>();
  const server = new Server({
    port: 0,
    host: '127.0.0.1',
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (offered) => [...offered].find((protocol) => subprotocols.includes(protocol)) ?? false,
  });
  server.on('connection', (socket: CompatibleSocket, request: IncomingMessage) => {
    const target = new URL(request.url ?? '/', 'ws://127.0.0.1');
    const path = target.pathname;
    events.push({ event: 'connection', path, subprotocol: socket.protocol === '' ? null : socket.protocol });
    socket.on('error', (error: Error & { code?: string }) => events.push({ event: 'error', path, message: error.message, code: error.code }));
    socket.on('close', (code: number, reason: Buffer) => events.push({ event: 'closed', path, code, reason: reason.toString() }));
    socket.on('pong', (data: Buffer) => events.push({ event: 'pong', path, data: data.toString() }));
    const fragmentSize = path === '/fragments' ? Number(target.searchParams.get('size') ?? '1024') : 0;
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = messageBytes(data);
      events.push({ event: 'message', path, ...describeMessage(isBinary ? bytes : bytes.toString('utf8')) });
      if (path === '/echo' || path === '/ping') {
        socket.send(bytes, { binary: isBinary });
      } else if (path === '/fragments') {
        const pieces = cutIntoPieces(bytes, fragmentSize);
        pieces.forEach((piece, index) => socket.send(piece, { binary: isBinary, fin: index === pieces.length - 1 }));
      }
    });
    if (path === '/close') {
      socket.close(Number(target.searchParams.get('code')), target.searchParams.get('reason') ?? '');
    } else if (path === '/ping') {
      const data = target.searchParams.get('data') ?? '';
      socket.on('pong', (payload: Buffer) => {
        if (payload.toString() === data) socket.send(`pong:${data}`, {});
      });
      socket.ping(data);
    } else if (path !== '/echo' && path !== '/fragments') {
      socket.close(1008, `unknown path ${path}`);
    }
  });
  await withTimeout(new Promise((resolve) => server.once('listening', resolve)), 'the path server to listen');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    server,
    events,
    next: (name, accepts = () => true) =>
      events.next(`the path server's "${name}" event`, (event) => event.event === name && accepts(event)),
    stop: async () => {
      for (const client of server.clients ?? []) (client as CompatibleSocket).terminate();
      await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 'the path server to stop');
    },
  };
}
