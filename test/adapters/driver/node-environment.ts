/**
 * The driver contract's environment over the Node binding: real TCP on 127.0.0.1 — a
 * `WebSocketServer` and `WebSocket` clients of ours, and raw peers on plain `net` sockets.
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WebSocket, WebSocketServer, WebSocketStream, type ServerOptions, type WebSocketOptions } from '../../../src/node.js';
import { EventQueue, withTimeout } from '../../interop/events.js';
import type { AcceptedPeer, DriverEnvironment, Face, FaceOptions, RawPeer } from './environment.js';
import { closeOpened, InboxPeer } from './wire.js';

/** A raw peer on a `net` socket. */
class SocketPeer extends InboxPeer implements RawPeer {
  readonly #socket: Socket;

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
    // Each write leaves at once, as its own segment (no Nagle delay merging small writes).
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.inbox.push(chunk));
    socket.on('error', () => {});
    socket.once('close', () => this.closedNow());
  }

  get unsent(): number {
    return this.#socket.writableLength;
  }

  write(chunk: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.write(chunk, () => resolve());
    });
  }

  async deliver(chunk: Uint8Array): Promise<void> {
    await this.write(chunk);
    // The kernel has the bytes; a turn of the loop lets the other socket read them alone.
    await nextTurn();
    await nextTurn();
  }

  pause(): void {
    this.#socket.pause();
  }
  resume(): void {
    this.#socket.resume();
  }
  end(): void {
    this.#socket.end();
  }
  destroy(): void {
    this.#socket.destroy();
  }
}

function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}

function serverOptions(options: FaceOptions): Omit<ServerOptions, 'port'> {
  const { deflate = false, ...rest } = options;
  return { ...rest, host: '127.0.0.1', perMessageDeflate: deflate ? { threshold: 0 } : false };
}

function clientOptions(options: FaceOptions): WebSocketOptions {
  const { deflate = false, ...rest } = options;
  return { ...rest, perMessageDeflate: deflate ? { threshold: 0 } : false };
}

/** Resolve with the face once `ws` is open, or fail with what closed it. */
export function whenOpen(ws: Face): Promise<Face> {
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('close', (code: number) => reject(new Error(`closed (${code}) before it opened`)));
    }),
    'the client to open',
    5000,
  );
}

export function nodeEnvironment(): DriverEnvironment {
  /** Servers by their options, kept for the whole suite. */
  const servers = new Map<string, Promise<{ wss: WebSocketServer; port: number }>>();
  let rawServer: Promise<{ server: NetServer; port: number; accepted: EventQueue<SocketPeer> }> | null = null;
  const opened: Array<{ terminate(): void } | { close(): void }> = [];
  const peers: RawPeer[] = [];
  const detach: Array<() => void> = [];

  function serverFor(options: FaceOptions): Promise<{ wss: WebSocketServer; port: number }> {
    const key = JSON.stringify(options);
    let server = servers.get(key);
    if (server === undefined) {
      const wss = new WebSocketServer({ ...serverOptions(options), port: 0 });
      server = once(wss, 'listening').then(() => ({ wss, port: portOf(wss) }));
      servers.set(key, server);
    }
    return server;
  }

  /** The next server-side socket of `wss` whose peer is the local port `port`. */
  function connectionFrom(wss: WebSocketServer, port: number, setup: ((ws: Face) => void) | undefined): Promise<Face> {
    return new Promise((resolve) => {
      const onConnection = (ws: WebSocket, request: IncomingMessage): void => {
        if (request.socket.remotePort !== port) return;
        wss.off('connection', onConnection);
        opened.push(ws);
        // Before the socket is attached: it delivers what came with the request after this listener.
        setup?.(ws);
        resolve(ws);
      };
      wss.on('connection', onConnection);
      detach.push(() => wss.off('connection', onConnection));
    });
  }

  function startRawServer(): Promise<{ server: NetServer; port: number; accepted: EventQueue<SocketPeer> }> {
    const accepted = new EventQueue<SocketPeer>();
    const server = createNetServer((socket) => {
      const peer = new SocketPeer(socket);
      peers.push(peer);
      accepted.push(peer);
    });
    server.listen(0, '127.0.0.1');
    return once(server, 'listening').then(() => ({ server, port: portOf(server), accepted }));
  }

  return {
    name: 'Node sockets',

    async pair(client = {}, server = {}) {
      const { wss, port } = await serverFor(server);
      const serverSide = new Promise<Face>((resolve) => {
        wss.once('connection', (ws: WebSocket) => {
          opened.push(ws);
          resolve(ws);
        });
      });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, clientOptions(client));
      opened.push(ws);
      await whenOpen(ws);
      return { client: ws, server: await withTimeout(serverSide, 'the server-side socket', 5000) };
    },

    async acceptRaw(options = {}, setup): Promise<AcceptedPeer> {
      const { wss, port } = await serverFor(options);
      const socket = netConnect(port, '127.0.0.1');
      const peer = new SocketPeer(socket);
      peers.push(peer);
      await once(socket, 'connect');
      return { peer, opened: connectionFrom(wss, socket.localPort!, setup), early: null };
    },

    async connectRaw(options = {}) {
      rawServer ??= startRawServer();
      const { port, accepted } = await rawServer;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, clientOptions(options));
      opened.push(ws);
      const peer = await accepted.next('the client to connect', undefined, 5000);
      await withTimeout(peer.head, 'the opening request', 5000);
      return { ws, peer };
    },

    faces: [
      { name: 'WebSocket (client)', create: (options) => new WebSocket('ws://127.0.0.1:9/', clientOptions(options)) },
      { name: 'WebSocketServer', create: (options) => new WebSocketServer({ ...serverOptions(options), noServer: true }) },
      { name: 'WebSocketStream', create: (options) => new WebSocketStream('ws://127.0.0.1:9/', clientOptions(options)) },
    ],

    async cleanup() {
      closeOpened(detach, opened, peers);
    },

    async dispose() {
      for (const server of servers.values()) {
        const { wss } = await server;
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      }
      servers.clear();
      if (rawServer !== null) {
        const { server } = await rawServer;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rawServer = null;
      }
    },
  };
}
