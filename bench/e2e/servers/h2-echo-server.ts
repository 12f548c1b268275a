/**
 * The echo server of the HTTP/2 cell of the end-to-end benchmark (`../h2.ts`), in a process of
 * its own: wasmsocket's `WebSocketServer` twice, on an h2c `node:http2` server (RFC 8441
 * extended CONNECT streams) and on an HTTP/1.1 server, each on 127.0.0.1 and a free port,
 * echoing at /echo. Same library, same codec: only the transport differs.
 *
 * It prints one JSON line once listening (`H2ServerReady`), then answers each "memory" line on
 * stdin with a `ServerMemory` line (after a full collection with --expose-gc). It exits when
 * stdin ends.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createH2cServer } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import { createInterface } from 'node:readline';
import { defaultCodec } from '../../../src/adapters/node/codec.js';
import { type WebSocket, WebSocketServer } from '../../../src/node.js';
import type { ServerMemory } from './echo-server.js';

/** The line printed once both servers listen. */
export interface H2ServerReady {
  readonly ready: true;
  readonly pid: number;
  /** The h2c server (WebSockets as streams of one connection). */
  readonly h2Port: number;
  /** The HTTP/1.1 server (a TCP connection per WebSocket). */
  readonly h1Port: number;
  readonly engine: string;
}

const collect = (globalThis as { gc?: () => void }).gc;
const ignoreError = (): void => {};

function echo(ws: WebSocket): void {
  ws.on('error', ignoreError);
  ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  // Streams per session: the benchmark opens 100 per session, and sessions of 100 for the idle count.
  const h2 = createH2cServer();
  new WebSocketServer({ server: h2, path: '/echo', maxStreamsPerSession: 100 }).on('connection', echo);
  const h1 = createHttpServer((_request, response) => response.writeHead(426).end());
  new WebSocketServer({ server: h1, path: '/echo' }).on('connection', echo);
  const ready: H2ServerReady = { ready: true, pid: process.pid, h2Port: await listen(h2), h1Port: await listen(h1), engine: defaultCodec().implementation };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'memory') return;
    collect?.();
    const usage = process.memoryUsage();
    const memory: ServerMemory = { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, arrayBuffersBytes: usage.arrayBuffers, collected: collect !== undefined };
    process.stdout.write(`${JSON.stringify(memory)}\n`);
  });
  lines.on('close', () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
