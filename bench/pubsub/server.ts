/**
 * One fan-out server of the pub/sub benchmark, in a process of its own on 127.0.0.1:
 *
 *   tsx bench/pubsub/server.ts wasmsocket [--bus none|cluster|redis] [--workers <n>]
 *   tsx bench/pubsub/server.ts ws [--require-bufferutil]
 *
 * Connections to /sub?topics=<n> are subscribers: wasmsocket subscribes each to the topic
 * `bench` and to n - 1 more (`t1` …), for the memory figure; ws has no topics, and every
 * client is in `wss.clients`. Every message a connection to /pub sends is fanned out: by
 * wasmsocket with `wss.publish('bench', data)` (framed once, shared by every subscriber; through the
 * bus to the other workers with `--bus cluster`, to the other server processes through Redis
 * with `--bus redis`, whose URL is in $WASMSOCKET_BENCH_REDIS_URL), by ws as its users write it,
 * `for (const client of wss.clients) client.send(data)`.
 *
 * `--bus` is the extension point for other buses: a mode is a name here (`busFor`) and a
 * server spec in run.ts; `instances` there starts several processes of one spec, whose ports
 * the load generator spreads its subscribers over (the publisher uses the first).
 *
 * It prints one JSON line once listening (`PubsubServerReady`), answers each "memory" line on
 * stdin with a JSON line of its memory (after a full collection with --expose-gc), and exits
 * when stdin ends (with `--workers`, its workers with it).
 */
import cluster from 'node:cluster';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { WebSocket as WsSocket, WebSocketServer as WsServer } from 'ws';
import { defaultCodec } from '../../src/adapters/node/codec.js';
import { type Bus, ClusterBus, type WebSocket, WebSocketServer } from '../../src/node.js';
import { RedisBus } from '../../src/redis.js';
import { loadBufferUtil } from '../lib/natives.js';
import { REDIS_URL_ENV } from './servers.js';

/** The line printed once the server listens. */
export interface PubsubServerReady {
  readonly port: number;
  /** The processes whose CPU time is the server's: the workers and the primary. */
  readonly pids: readonly number[];
  /** Those of them that only carry the bus (the cluster's primary): the bus's own cost. */
  readonly busPids: readonly number[];
  readonly engine: string;
}

/** The topic every subscriber is in and the publisher publishes to. */
export const BENCH_TOPIC = 'bench';

const collect = (globalThis as { gc?: () => void }).gc;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    bus: { type: 'string', default: 'none' },
    workers: { type: 'string', default: '1' },
    'require-bufferutil': { type: 'boolean', default: false },
  },
});
const library = positionals[0];
const workers = Number(values.workers);

/** The bus of a wasmsocket server process, by `--bus`. */
function busFor(name: string): Bus | undefined {
  if (name === 'none') return undefined;
  if (name === 'cluster') return new ClusterBus();
  if (name === 'redis') {
    const url = process.env[REDIS_URL_ENV];
    if (url === undefined) throw new Error(`--bus redis needs ${REDIS_URL_ENV}`);
    return new RedisBus({ url, prefix: 'bench:' });
  }
  throw new Error(`unknown bus "${name}"`);
}

function topicsOf(request: IncomingMessage): number {
  return Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('topics') ?? '1');
}

function pathOf(request: IncomingMessage): string {
  return new URL(request.url ?? '/', 'http://localhost').pathname;
}

/** Start listening (port 0: a free one; in a cluster, every worker gets the same). */
function listen(onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<number> {
  const http = createServer((_request, response) => response.writeHead(426).end());
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    onUpgrade(request, socket, head);
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as AddressInfo).port)));
}

async function startWasmsocket(): Promise<{ port: number; engine: string }> {
  const bus = busFor(values.bus!);
  const wss = new WebSocketServer({ noServer: true, bus });
  // Connected before it says it listens; the other processes' subscribers it learns of from
  // Redis as they subscribe, within the warm-up.
  if (bus instanceof RedisBus) await bus.ready;
  const port = await listen((request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      ws.on('error', () => {});
      if (pathOf(request) === '/pub') {
        ws.on('message', (data: Buffer) => wss.publish(BENCH_TOPIC, data, { binary: true }));
        return;
      }
      const topics = topicsOf(request);
      if (topics > 0) ws.subscribe(BENCH_TOPIC);
      for (let i = 1; i < topics; i++) ws.subscribe(`t${i}`);
    });
  });
  return { port, engine: defaultCodec().implementation };
}

async function startWs(): Promise<{ port: number; engine: string }> {
  const native = values['require-bufferutil'] === true;
  // Throws unless require('bufferutil') is the native binding, which is what ws then uses.
  if (native) loadBufferUtil();
  else if (process.env.WS_NO_BUFFER_UTIL === undefined) throw new Error('pure-JS ws needs WS_NO_BUFFER_UTIL=1 (and WS_NO_UTF_8_VALIDATE=1)');
  const wss = new WsServer({ noServer: true, perMessageDeflate: false });
  const port = await listen((request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => {});
      if (pathOf(request) !== '/pub') return;
      // The publisher is not a subscriber: the loop skips it, as a room would.
      wss.clients.delete(ws);
      ws.on('message', (data: Buffer) => {
        for (const client of wss.clients) if (client.readyState === WsSocket.OPEN) client.send(data, { binary: true });
      });
    });
  });
  return { port, engine: native ? 'bufferutil' : 'js' };
}

function memory(): { rssBytes: number; heapUsedBytes: number; collected: boolean } {
  collect?.();
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, collected: collect !== undefined };
}

/** Answer "memory" lines; exit when stdin ends (and take the workers along). */
function serveStdin(onEnd: () => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'memory') process.stdout.write(`${JSON.stringify(memory())}\n`);
  });
  lines.on('close', onEnd);
}

if (library === 'wasmsocket' && workers > 1 && cluster.isPrimary) {
  const primary = ClusterBus.setupPrimary();
  const pids: number[] = [];
  let port = 0;
  cluster.on('message', (worker, message: unknown) => {
    if (typeof message !== 'object' || message === null || !('listening' in message)) return;
    const ready = message as { listening: number; engine: string };
    pids.push(worker.process.pid!);
    port = ready.listening;
    if (pids.length === workers) process.stdout.write(`${JSON.stringify({ port, pids: [...pids, process.pid], busPids: [process.pid], engine: ready.engine } satisfies PubsubServerReady)}\n`);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  serveStdin(() => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    primary.close();
    process.exit(0);
  });
} else if (cluster.isWorker) {
  const { port, engine } = await startWasmsocket();
  process.send!({ listening: port, engine });
} else {
  const { port, engine } = library === 'ws' ? await startWs() : library === 'wasmsocket' ? await startWasmsocket() : ((): never => {
    throw new Error('usage: server.ts wasmsocket|ws [options]');
  })();
  process.stdout.write(`${JSON.stringify({ port, pids: [process.pid], busPids: [], engine } satisfies PubsubServerReady)}\n`);
  serveStdin(() => process.exit(0));
}
