/**
 * Real-socket test helpers: servers on 127.0.0.1 with ports from `listen(0)`, raw TCP peers,
 * event waits with deadlines, and one place that closes everything a test opened.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { portableCodec } from '../../../src/codec/portable/index.js';
import { createCodecSync } from '../../../src/codec/select.js';
import type { Codec } from '../../../src/codec/types.js';
import { WebSocket, WebSocketServer, type ServerOptions } from '../../../src/node.js';

/** Both codecs: the integration suites run once with each. */
export const nodeCodecs: Array<[name: string, codec: Codec]> = [
  ['wasm', createCodecSync({ implementation: 'wasm' })],
  ['portable', portableCodec],
];

type Closable = { close(): unknown } | { destroy(): unknown } | { terminate(): unknown };

/** Everything a test opened, closed in `afterEach`. */
export class Resources {
  readonly #items: Closable[] = [];

  track<T extends Closable>(item: T): T {
    this.#items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    const items = this.#items.splice(0).reverse();
    for (const item of items) {
      if (item instanceof WebSocket) {
        item.terminate();
      } else if (item instanceof WebSocketServer) {
        await new Promise<void>((resolve) => item.close(() => resolve()));
      } else if ('terminate' in item) {
        item.terminate();
      } else if ('destroy' in item) {
        item.destroy();
      } else if ('listening' in item) {
        const server = item as HttpServer | NetServer;
        if ('closeAllConnections' in server) server.closeAllConnections();
        if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      } else {
        item.close();
      }
    }
  }
}

/** The port a listening server got. */
export function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}

/** A standalone WebSocketServer on 127.0.0.1, listening. */
export async function startServer(resources: Resources, options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {}): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const wss = resources.track(new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' }));
  await once(wss, 'listening');
  const port = portOf(wss);
  return { wss, url: `ws://127.0.0.1:${port}`, port };
}

/** An HTTP server on 127.0.0.1, listening. */
export async function startHttpServer(resources: Resources, handler?: (request: IncomingMessage, response: import('node:http').ServerResponse) => void): Promise<{ server: HttpServer; port: number }> {
  const server = resources.track(createHttpServer(handler));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: portOf(server) };
}

/** A raw TCP server on 127.0.0.1 whose connections go to `onSocket`. */
export async function startRawServer(resources: Resources, onSocket: (socket: Socket) => void): Promise<{ server: NetServer; port: number }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  resources.track({ close: () => { for (const socket of sockets) socket.destroy(); return server.close(); } });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: portOf(server) };
}

/** A raw TCP client connected to `port`. */
export async function rawConnect(resources: Resources, port: number): Promise<Socket> {
  const socket = resources.track(netConnect(port, '127.0.0.1'));
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** A valid opening request for `path`. */
export function upgradeRequest(path = '/', extra: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Read from `socket` until `predicate` holds for what arrived (or it closes), within `ms`. */
export function readUntil(socket: Socket, predicate: (received: Buffer) => boolean, ms = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms with ${received.length} bytes: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
    }, ms);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (predicate(received)) {
        cleanup();
        resolve(received);
      }
    };
    const onClose = (): void => {
      cleanup();
      resolve(received);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Resolve with the arguments of the next `event`, or fail after `ms`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function nextEvent<T extends unknown[] = unknown[]>(emitter: { once(event: string, listener: (...args: any[]) => void): unknown }, event: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' event within ${ms} ms`)), ms);
    emitter.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as unknown as T);
    });
  });
}

/** A client that resolves once open. */
export async function openClient(resources: Resources, url: string, protocols?: string | string[], options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const ws = resources.track(new WebSocket(url, protocols, options));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** The close event's code and reason (as a string). */
export async function closeOf(ws: WebSocket, ms = 5000): Promise<{ code: number; reason: string }> {
  const [code, reason] = await nextEvent<[number, Buffer]>(ws, 'close', ms);
  return { code, reason: reason.toString() };
}

/** A masked client frame (what a conforming client sends), built by hand for raw peers. */
export function clientFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const key = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(6) : length < 65536 ? Buffer.alloc(8) : Buffer.alloc(14);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) header[1] = 0x80 | length;
  else if (length < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  key.copy(header, header.length - 4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([header, body]);
}
