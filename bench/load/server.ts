/**
 * The server side of the load benchmarks, in a process of its own so that its memory is all
 * its connections': an echo server of wasmsocket or of `ws`, or the Node floor (the least a
 * server on `net.Socket` holds per connection; bench/e2e/servers/floor.ts), driven over IPC.
 *
 *   node --expose-gc --import tsx bench/load/server.ts <wasmsocket|ws|floor>
 *
 * Messages from the driver: `{ type: 'measure', gc: boolean }` → `{ type: 'memory', … }`;
 * `{ type: 'close' }` → the server closes and the process exits. On start it sends
 * `{ type: 'listening', port }`.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer as WsServer } from 'ws';
import { WebSocketServer } from '../../src/node.js';
import { createFloorServer, type FloorStats } from '../e2e/servers/floor.js';

const library = process.argv[2] ?? 'wasmsocket';

interface Echoing {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  send(data: Buffer, options: { binary: boolean }): unknown;
}

let connections = 0;
let messages = 0;
const onConnection = (socket: Echoing & { on(event: 'close', listener: () => void): unknown }): void => {
  connections++;
  socket.on('message', (data, isBinary) => {
    messages++;
    socket.send(data, { binary: isBinary });
  });
  socket.on('close', () => connections--);
};

/** What the floor has served; it answers the idle clients' one 4-byte text message ("idle"). */
const floorStats: FloorStats = { connections: 0, frames: 0 };

function listening(port: number): void {
  process.send!({ type: 'listening', port });
}

let server: { close(callback: () => void): void };
if (library === 'floor') {
  const floor = createFloorServer({ size: 4, type: 'text' }, floorStats);
  floor.listen(0, '127.0.0.1', () => listening((floor.address() as AddressInfo).port));
  server = floor;
} else {
  const echo: { close(callback: () => void): void; address(): AddressInfo | string | null } =
    library === 'ws'
      ? new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 100 * 1024 * 1024 })
      : new WebSocketServer({ port: 0, host: '127.0.0.1' });
  (echo as unknown as { on(event: 'connection', listener: typeof onConnection): void }).on('connection', onConnection);
  (echo as unknown as { on(event: 'listening', listener: () => void): void }).on('listening', () => listening((echo.address() as AddressInfo).port));
  server = echo;
}

const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (message: { type: string; gc?: boolean }) => {
  if (message.type === 'measure') {
    if (message.gc === true) {
      if (gc === undefined) throw new Error('run with --expose-gc');
      gc();
      gc();
    }
    const usage = process.memoryUsage();
    process.send!({
      type: 'memory',
      connections: library === 'floor' ? floorStats.connections : connections,
      messages: library === 'floor' ? floorStats.frames : messages,
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
    });
  } else if (message.type === 'close') {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  }
});
