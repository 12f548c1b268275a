/**
 * permessage-deflate benchmark: echo throughput with compression on, wasmsocket client and
 * server against `ws` client and server with the same settings, over loopback in this process;
 * then server memory per connection (bench/deflate-memory.ts's measurement).
 *
 *   npx tsx bench/deflate.bench.ts [--json FILE] [--time MS] [--connections N] [--only NAMES]
 *
 * Each case keeps `WINDOW` messages in flight on one connection for `--time` milliseconds and
 * counts the echoes. The machine is shared and noisy: compare the ratios, not absolute numbers.
 */
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../src/adapters/node/deflate.js';
import { WebSocket, WebSocketServer } from '../src/node.js';
import { CASES, measureCase, render as renderMemory, type Row as MemoryRow } from './deflate-memory.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    time: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '500' },
    only: { type: 'string' },
  },
});
const timeMs = Number(args.time);
const only = args.only?.split(',');

/** Messages in flight per connection. */
const WINDOW = 16;

interface Settings {
  readonly name: string;
  readonly ws: Record<string, unknown>;
  readonly ours: PerMessageDeflateNodeOptions;
}

const SETTINGS: readonly Settings[] = [
  // Context takeover, zlib's defaults on both (15-bit windows, memLevel 8): like for like.
  { name: 'takeover, 15/8', ws: { threshold: 0 }, ours: { windowBits: 15, memLevel: 8, threshold: 0 } },
  // Each side's defaults.
  { name: 'takeover, defaults', ws: {}, ours: {} },
  { name: 'no takeover', ws: { serverNoContextTakeover: true, clientNoContextTakeover: true }, ours: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
];

interface Payload {
  readonly name: string;
  readonly make: (index: number) => string | Buffer;
}

function jsonMessage(index: number, size: number): string {
  const record = JSON.stringify({ id: index, type: 'update', user: `user-${index % 1000}`, value: (index * 3.14159).toFixed(3), tags: ['alpha', 'beta'] });
  return `[${record},`.repeat(Math.ceil(size / (record.length + 1))).slice(0, size - 1) + ']';
}

const random = Buffer.alloc(64 * 1024);
for (let i = 0, x = 0x2545f491; i < random.length; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  random[i] = x & 0xff;
}

const PAYLOADS: readonly Payload[] = [
  { name: 'JSON 2 KiB', make: (i) => jsonMessage(i, 2048) },
  { name: 'JSON 64 KiB', make: (i) => jsonMessage(i, 64 * 1024) },
  { name: 'text 1 MiB', make: (i) => jsonMessage(i, 1024 * 1024) },
  { name: 'random 64 KiB', make: () => random },
];

interface ThroughputRow {
  readonly settings: string;
  readonly payload: string;
  readonly library: 'ws' | 'wasmsocket';
  readonly messagesPerSecond: number;
  readonly mbPerSecond: number;
}

/** Minimal `ws`-API surface both libraries share. */
interface Client {
  on(event: 'message', listener: () => void): unknown;
  once(event: 'open' | 'error', listener: (...args: unknown[]) => void): unknown;
  send(data: string | Buffer): unknown;
  terminate(): unknown;
}

async function echoThroughput(library: 'ws' | 'wasmsocket', settings: Settings, payload: Payload): Promise<ThroughputRow> {
  const server =
    library === 'ws'
      ? new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: settings.ws })
      : new WebSocketServer({ port: 0, host: '127.0.0.1', extensions: [perMessageDeflateNode(settings.ours).server] });
  await new Promise((resolve) => server.once('listening', resolve));
  (server as WsServer).on('connection', (socket: WsClient) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const client: Client =
    library === 'ws' ? new WsClient(url, { perMessageDeflate: settings.ws }) : new WebSocket(url, { extensions: [perMessageDeflateNode(settings.ours).client] });
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  const messages = Array.from({ length: 64 }, (_, i) => payload.make(i));
  const size = Buffer.byteLength(messages[0]!);
  let sent = 0;
  let received = 0;
  let counting = false;
  let counted = 0;
  const warmupEnd = Date.now() + Math.min(500, timeMs / 4);
  let end = Infinity;
  let started = 0;
  await new Promise<void>((resolve) => {
    client.on('message', () => {
      received++;
      if (counting) counted++;
      const now = Date.now();
      if (!counting && now >= warmupEnd) {
        counting = true;
        started = now;
        end = now + timeMs;
      }
      if (now >= end) {
        resolve();
        return;
      }
      client.send(messages[sent++ % messages.length]!);
    });
    for (let i = 0; i < WINDOW; i++) client.send(messages[sent++ % messages.length]!);
  });
  const elapsed = (Date.now() - started) / 1000;
  client.terminate();
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  const messagesPerSecond = counted / elapsed;
  return { settings: settings.name, payload: payload.name, library, messagesPerSecond, mbPerSecond: (messagesPerSecond * size) / 1e6 };
}

function renderThroughput(rows: readonly ThroughputRow[]): string {
  const lines = [['settings', 'payload', 'ws (msg/s)', 'wasmsocket (msg/s)', 'ratio', 'wasmsocket (MB/s)']];
  for (const row of rows.filter((r) => r.library === 'wasmsocket')) {
    const ws = rows.find((r) => r.library === 'ws' && r.settings === row.settings && r.payload === row.payload)!;
    lines.push([row.settings, row.payload, ws.messagesPerSecond.toFixed(0), row.messagesPerSecond.toFixed(0), `${(row.messagesPerSecond / ws.messagesPerSecond).toFixed(2)}×`, row.mbPerSecond.toFixed(1)]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  return lines.map((line) => line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

const throughput: ThroughputRow[] = [];
for (const settings of SETTINGS.filter((s) => only === undefined || only.some((name) => s.name.includes(name)))) {
  for (const payload of PAYLOADS) {
    // Alternate which library goes first, so neither always runs on a warmer or cooler machine.
    const order = throughput.length % 4 === 0 ? (['ws', 'wasmsocket'] as const) : (['wasmsocket', 'ws'] as const);
    for (const library of order) {
      const row = await echoThroughput(library, settings, payload);
      process.stderr.write(`  ${row.settings} | ${row.payload} | ${row.library}: ${row.messagesPerSecond.toFixed(0)} msg/s, ${row.mbPerSecond.toFixed(1)} MB/s\n`);
      throughput.push(row);
    }
  }
}
console.log(`Echo throughput with permessage-deflate, one connection, ${WINDOW} messages in flight (ratio > 1: wasmsocket faster)\n`);
console.log(renderThroughput(throughput));

const connections = Number(args.connections);
const memory: MemoryRow[] = [];
for (const config of CASES.filter((c) => c.name.startsWith('context takeover') || c.name.startsWith('no context'))) {
  for (const server of ['ws', 'wasmsocket'] as const) memory.push(await measureCase(server, config, connections, 2048));
}
console.log(`\nServer memory per connection, ${connections} connections, one 2 KiB message each way (after GC)\n`);
console.log(renderMemory(memory));

if (args.json !== undefined) await writeFile(args.json, JSON.stringify({ node: process.version, timeMs, window: WINDOW, throughput, memory }, null, 2));
