/**
 * 10,000 idle connections: the memory a server spends per open WebSocket connection, for
 * wasmsocket and for `ws` in the same test, and for the Node floor — a `net` server that
 * completes the handshake and holds nothing per connection but Node's socket — so that
 * "above floor" says what a library adds to what Node itself costs.
 *
 *   bash -c 'ulimit -n 65536; tsx bench/load/idle.ts [--connections 10000] [--library all|floor,wasmsocket,ws]'
 *
 * The clients need one file descriptor each in this process and the server one each in its
 * own, so the open-file limit of each must exceed the connections (where the hard limit is
 * 20,000, 10,000 connections fit).
 *
 * Each server runs in its own process (bench/load/server.ts). The clients are raw TCP sockets
 * in this process that complete the opening handshake and then sit idle, so they cost the
 * server exactly one WebSocket connection each. The server's memory is measured after a full
 * garbage collection: before any connection, with every connection open (after the handshake,
 * then again after each client exchanged one message), and after they all closed. Per
 * connection = (measure − baseline) / connections, for heap + external memory (what the
 * JavaScript side holds, Buffers included) and for RSS (what the process holds, allocator
 * slack and kernel-visible pages included).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { openRawWebSocket } from '../e2e/raw-client.js';
import { type Library, LoadServer, mebibytes, type ServerMemory } from './server-process.js';

interface Options {
  connections: number;
  libraries: Library[];
}

const LIBRARIES: readonly Library[] = ['floor', 'wasmsocket', 'ws'];

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { connections: 10_000, libraries: [...LIBRARIES] };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--connections') options.connections = Number(value);
    else if (argv[i] === '--library') options.libraries = value === 'all' ? [...LIBRARIES] : (value ?? '').split(',').map((name) => name.trim() as Library);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  const unknown = options.libraries.filter((library) => !LIBRARIES.includes(library));
  if (unknown.length > 0) throw new Error(`--library takes all or a list of ${LIBRARIES.join(', ')}, not ${unknown.join(', ')}`);
  if (!Number.isInteger(options.connections) || options.connections < 1) throw new Error('--connections needs a positive integer');
  return options;
}

/** "idle" as a masked text frame. */
const MESSAGE = Buffer.from([0x81, 0x84, 1, 2, 3, 4, 0x69 ^ 1, 0x64 ^ 2, 0x6c ^ 3, 0x65 ^ 4]);

/** Send one message on every socket and wait for every echo (6 bytes: header + "idle"). */
async function exchangeOne(sockets: readonly Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let received = 0;
          const onData = (chunk: Buffer): void => {
            received += chunk.length;
            if (received >= 6) {
              socket.off('data', onData);
              resolve();
            }
          };
          socket.on('data', onData);
          socket.write(MESSAGE);
        }),
    ),
  );
}

async function openAll(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const inFlight = 256;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next++;
        const socket = await openRawWebSocket(port).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EMFILE') throw new Error(`out of file descriptors after ${sockets.length} connections: raise the limit (ulimit -n 65536) and run again`);
          throw error;
        });
        socket.on('error', () => {});
        sockets.push(socket);
      }
    }),
  );
  return sockets;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Result {
  readonly library: Library;
  readonly connections: number;
  readonly baseline: ServerMemory;
  readonly open: ServerMemory;
  readonly afterMessage: ServerMemory;
  readonly closed: ServerMemory;
  readonly openSeconds: number;
}

async function measureLibrary(library: Library, count: number): Promise<Result> {
  const server = await LoadServer.start(library);
  try {
    await sleep(500);
    const baseline = await server.measure(true);
    const started = performance.now();
    const sockets = await openAll(server.port, count);
    const openSeconds = (performance.now() - started) / 1000;
    await sleep(2000);
    const open = await server.measure(true);
    if (open.connections !== count) throw new Error(`${library}: the server counts ${open.connections} connections, not ${count}`);
    await exchangeOne(sockets);
    await sleep(1000);
    const afterMessage = await server.measure(true);
    for (const socket of sockets) socket.destroy();
    await sleep(2000);
    const closed = await server.measure(true);
    return { library, connections: count, baseline, open, afterMessage, closed, openSeconds };
  } finally {
    await server.stop();
  }
}

function perConnection(result: Result, at: ServerMemory): { heap: number; heapAndExternal: number; rss: number } {
  const n = result.connections;
  return {
    heap: (at.heapUsed - result.baseline.heapUsed) / n,
    heapAndExternal: (at.heapUsed + at.external - result.baseline.heapUsed - result.baseline.external) / n,
    rss: (at.rss - result.baseline.rss) / n,
  };
}

/** This process's open-file limit, as a shell it starts sees it. */
function fileDescriptorLimit(): number {
  const text = spawnSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return text === 'unlimited' ? Infinity : Number(text);
}

/** Bytes, signed, rounded: `-120 B`, `1,024 B`. */
function bytes(n: number): string {
  return `${Math.round(n).toLocaleString('en-US')} B`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const limit = fileDescriptorLimit();
  if (limit < options.connections + 256) console.log(`warning: the open-file limit is ${limit}; ${options.connections} connections need more on each side`);
  const results: Result[] = [];
  for (const library of options.libraries) {
    console.log(`${library}: opening ${options.connections} connections…`);
    results.push(await measureLibrary(library, options.connections));
  }
  const floor = results.find((result) => result.library === 'floor');
  const moments = [
    { when: 'after the handshake', at: (result: Result) => result.open },
    { when: 'after one message each', at: (result: Result) => result.afterMessage },
  ];
  const rows = results.flatMap((result) =>
    moments.map(({ when, at }) => {
      const own = perConnection(result, at(result));
      const reference = floor === undefined ? undefined : perConnection(floor, at(floor));
      const above = (pick: (figures: typeof own) => number): string => (reference === undefined ? '–' : bytes(pick(own) - pick(reference)));
      return `| ${result.library} | ${when} | ${bytes(own.heap)} | ${bytes(own.heapAndExternal)} | ${bytes(own.rss)} | ${above((f) => f.rss)} | ${above((f) => f.heap)} |`;
    }),
  );
  console.log(`\n${options.connections} idle connections, server memory per connection (after a full GC):\n`);
  console.log('| server | when | heap | heap + external | RSS | RSS above floor | heap above floor |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  console.log('');
  for (const result of results) {
    console.log(
      `${result.library}: baseline heap ${mebibytes(result.baseline.heapUsed)}, RSS ${mebibytes(result.baseline.rss)}; ` +
        `open ${mebibytes(result.open.heapUsed)} / ${mebibytes(result.open.rss)}; after all closed ${mebibytes(result.closed.heapUsed)} / ${mebibytes(result.closed.rss)}; ` +
        `${result.connections} handshakes in ${result.openSeconds.toFixed(1)} s`,
    );
  }
  const directory = join(import.meta.dirname, '..', 'results');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'load-idle.json'), `${JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`);
}

await main();
