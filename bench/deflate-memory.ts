/**
 * Memory per connection with permessage-deflate: N connections to an echo server, each having
 * sent one message (so each side has compressed and decompressed once), the server's RSS and
 * heap measured against the server with no connection, per connection — wasmsocket's server
 * and `ws`'s with the same settings, in a child process each so nothing else is counted.
 *
 *   npx tsx bench/deflate-memory.ts [--connections N] [--size BYTES] [--json FILE] [--only NAMES]
 *
 * The clients are `ws` clients in this process, with the settings of the case. It also prints
 * what the compressor settings cost in compression: the compressed size of a stream of JSON
 * messages (context takeover, a sync flush after each) and of 1.6 MB of log text. The figures
 * behind the defaults of src/adapters/node/deflate-zlib.ts come from this script;
 * bench/deflate.bench.ts reuses its measurement.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../src/adapters/node/deflate.js';
import { WebSocketServer } from '../src/node.js';

/** One configuration, applied to both servers (wasmsocket's through its own option names). */
export interface Case {
  readonly name: string;
  /** `ws`'s perMessageDeflate option for its server and for the clients; false: none. */
  readonly ws: false | Record<string, unknown>;
  /** wasmsocket's; null: no extension. */
  readonly ours: PerMessageDeflateNodeOptions | null;
}

export const CASES: readonly Case[] = [
  { name: 'no compression', ws: false, ours: null },
  // Each side's defaults: context takeover both ways; ws compresses with zlib's defaults
  // (15-bit window, memLevel 8), wasmsocket with a 13-bit window and memLevel 6.
  { name: 'context takeover, defaults', ws: {}, ours: {} },
  // The same zlib settings on both.
  { name: 'context takeover, 15-bit window, memLevel 8', ws: {}, ours: { windowBits: 15, memLevel: 8 } },
  {
    name: 'context takeover, 13-bit window, memLevel 6',
    ws: { serverMaxWindowBits: 13, zlibDeflateOptions: { memLevel: 6 } },
    ours: { serverMaxWindowBits: 13, memLevel: 6 },
  },
  {
    name: 'no context takeover both ways',
    ws: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
  },
];

/** What a server child reports. */
interface Usage {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface Row {
  readonly case: string;
  readonly server: 'wasmsocket' | 'ws';
  readonly connections: number;
  /** Bytes per connection. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

// ---------------------------------------------------------------------------------------------
// The child: a server that echoes, and reports its memory when asked
// ---------------------------------------------------------------------------------------------

async function child(server: 'wasmsocket' | 'ws', config: Case): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const usage = async (): Promise<Usage> => {
    for (let i = 0; i < 4; i++) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { rss, heapUsed, external, arrayBuffers };
  };
  const echo = (socket: { on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown; send(data: Buffer, options: { binary: boolean }): unknown }) =>
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  let port: number;
  if (server === 'ws') {
    const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: config.ws === false ? false : config.ws });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', echo);
    port = (wss.address() as { port: number }).port;
  } else {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', extensions: config.ours === null ? [] : [perMessageDeflateNode(config.ours).server] });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', echo as (socket: unknown) => void);
    port = (wss.address() as { port: number }).port;
  }
  const baseline = await usage();
  process.send!({ port });
  process.on('message', async (message) => {
    if (message === 'measure') process.send!({ baseline, loaded: await usage() });
  });
}

// ---------------------------------------------------------------------------------------------
// The parent: clients, and the table
// ---------------------------------------------------------------------------------------------

function nextMessage<T>(process: ChildProcess): Promise<T> {
  return new Promise((resolve) => process.once('message', (message) => resolve(message as T)));
}

/** A 2 KB-ish JSON-like text, different per connection, compressible as such messages are. */
function messageFor(index: number, size: number): string {
  const record = JSON.stringify({ id: index, type: 'update', user: `user-${index}`, tags: ['alpha', 'beta', 'gamma'], value: index * 3.14159 });
  return record.repeat(Math.ceil(size / record.length)).slice(0, size);
}

/** Start the `server` child for `config`, connect `connections` clients that send one message each, and measure. */
export async function measureCase(server: 'wasmsocket' | 'ws', config: Case, connections: number, size: number): Promise<Row> {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', server, '--case', config.name], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { port } = await nextMessage<{ port: number }>(proc);
  const clients: WsClient[] = [];
  const batch = 100;
  for (let start = 0; start < connections; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, connections - start) }, async (_, offset) => {
        const index = start + offset;
        const client = new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: config.ws === false ? false : config.ws });
        clients.push(client);
        await new Promise<void>((resolve, reject) => {
          client.once('open', () => resolve());
          client.once('error', reject);
        });
        const echoed = new Promise<void>((resolve) => client.once('message', () => resolve()));
        client.send(messageFor(index, size));
        await echoed;
      }),
    );
  }
  proc.send('measure');
  const { baseline, loaded } = await nextMessage<{ baseline: Usage; loaded: Usage }>(proc);
  for (const client of clients) client.terminate();
  proc.kill();
  const per = (key: keyof Usage) => Math.round((loaded[key] - baseline[key]) / connections);
  return { case: config.name, server, connections, rss: per('rss'), heapUsed: per('heapUsed'), external: per('external') };
}

/** The rows as a table, wasmsocket's RSS against ws's for the same case. */
export function render(rows: readonly Row[]): string {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const lines = [
    ['case', 'server', 'RSS/conn', 'heap/conn', 'external/conn', 'RSS vs ws'],
    ...rows.map((row) => {
      const ws = rows.find((other) => other.case === row.case && other.server === 'ws');
      const ratio = row.server === 'ws' || ws === undefined ? '' : `${(row.rss / ws.rss).toFixed(2)}×`;
      return [row.case, row.server, kib(row.rss), kib(row.heapUsed), kib(row.external), ratio];
    }),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  return lines.map((line) => line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Compressed size of a message stream with a sync flush after each message, one stream throughout (context takeover). */
async function streamSize(messages: readonly Buffer[], windowBits: number, memLevel: number): Promise<number> {
  const stream = zlib.createDeflateRaw({ windowBits, memLevel });
  let size = 0;
  stream.on('data', (chunk: Buffer) => (size += chunk.length));
  for (const message of messages) {
    stream.write(message);
    await new Promise<void>((resolve) => stream.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
  }
  stream.close();
  return size;
}

/** Compressed size, as a fraction of the input, of JSON messages and of log text, for each window and memLevel. */
async function compressionBySettings(): Promise<string> {
  const record = (i: number) =>
    JSON.stringify({ id: i, type: 'update', user: `user-${(i * 7919) % 1000}`, ts: 1_700_000_000_000 + i * 1337, tags: ['alpha', 'beta', 'gamma'].slice(i % 3), text: 'lorem ipsum dolor sit amet '.repeat(1 + (i % 5)) });
  const messages = Array.from({ length: 300 }, (_, i) => Buffer.from(`[${Array.from({ length: 8 }, (_, k) => record(i * 8 + k)).join(',')}]`));
  const original = messages.reduce((sum, message) => sum + message.length, 0);
  const log = Buffer.from(
    Array.from({ length: 20_000 }, (_, i) => `2026-11-22T04:${String(i % 60).padStart(2, '0')}:00Z INFO id=${(i * 7919) % 100_000} path=/api/v1/items/${i % 977} status=${[200, 200, 200, 404, 500][i % 5]} ms=${i % 250}\n`).join(''),
  );
  const lines = ['window  memLevel  deflate state  JSON messages  log text'];
  for (const [windowBits, memLevel] of [[15, 8], [15, 6], [14, 7], [13, 6], [12, 6], [11, 5]] as const) {
    const json = await streamSize(messages, windowBits, memLevel);
    const logSize = zlib.deflateRawSync(log, { windowBits, memLevel }).length;
    const state = ((1 << (windowBits + 2)) + (1 << (memLevel + 9))) / 1024;
    const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;
    lines.push(`${String(windowBits).padStart(6)}  ${String(memLevel).padStart(8)}  ${`${state} KiB`.padStart(13)}  ${percent(json, original).padStart(13)}  ${percent(logSize, log.length).padStart(8)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      child: { type: 'string' },
      case: { type: 'string' },
      connections: { type: 'string', default: '1000' },
      size: { type: 'string', default: '2048' },
      json: { type: 'string' },
      only: { type: 'string' },
    },
  });
  if (args.child !== undefined) {
    await child(args.child as 'wasmsocket' | 'ws', CASES.find((c) => c.name === args.case)!);
    return;
  }
  const connections = Number(args.connections);
  const size = Number(args.size);
  const only = args.only?.split(',');
  const rows: Row[] = [];
  for (const config of CASES.filter((c) => only === undefined || only.some((name) => c.name.includes(name)))) {
    for (const server of ['ws', 'wasmsocket'] as const) {
      const row = await measureCase(server, config, connections, size);
      process.stderr.write(`  ${row.case} | ${row.server}: ${(row.rss / 1024).toFixed(1)} KiB RSS, ${(row.heapUsed / 1024).toFixed(1)} KiB heap per connection\n`);
      rows.push(row);
    }
  }
  console.log(`Server memory per connection, ${connections} connections, one ${size}-byte message each way (after GC)\n`);
  console.log(render(rows));
  console.log(`\nCompressed size by compressor settings\n\n${await compressionBySettings()}`);
  if (args.json !== undefined) await writeFile(args.json, JSON.stringify({ connections, size, node: process.version, rows }, null, 2));
}

// Run when executed (as the parent or as a server child), not when imported by bench/deflate.bench.ts.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
