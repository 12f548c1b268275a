/**
 * 10,000 idle connections: the memory a server spends per open WebSocket connection, for
 * wasmsocket and for `ws` in the same test.
 *
 *   bash -c 'ulimit -n 65536; tsx bench/load/idle.ts [--connections 10000] [--library both|wasmsocket|ws]'
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
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type Library, LoadServer, mebibytes, type ServerMemory } from './server-process.js';

interface Options {
  connections: number;
  libraries: Library[];
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { connections: 10_000, libraries: ['wasmsocket', 'ws'] };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--connections') options.connections = Number(value);
    else if (argv[i] === '--library') options.libraries = value === 'both' ? ['wasmsocket', 'ws'] : [value as Library];
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!Number.isInteger(options.connections) || options.connections < 1) throw new Error('--connections needs a positive integer');
  return options;
}

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
/** "idle" as a masked text frame. */
const MESSAGE = Buffer.from([0x81, 0x84, 1, 2, 3, 4, 0x69 ^ 1, 0x64 ^ 2, 0x6c ^ 3, 0x65 ^ 4]);

/** Open one connection and complete its handshake. */
function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
      else resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => socket.write(REQUEST));
  });
}

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
        const socket = await openRaw(port).catch((error: NodeJS.ErrnoException) => {
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

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results: Result[] = [];
  for (const library of options.libraries) {
    console.log(`${library}: opening ${options.connections} connections…`);
    results.push(await measureLibrary(library, options.connections));
  }
  const rows = results.flatMap((result) => {
    const open = perConnection(result, result.open);
    const message = perConnection(result, result.afterMessage);
    return [
      `| ${result.library} | after the handshake | ${Math.round(open.heap)} B | ${Math.round(open.heapAndExternal)} B | ${Math.round(open.rss)} B |`,
      `| ${result.library} | after one message each | ${Math.round(message.heap)} B | ${Math.round(message.heapAndExternal)} B | ${Math.round(message.rss)} B |`,
    ];
  });
  console.log(`\n${options.connections} idle connections, server memory per connection (after a full GC):\n`);
  console.log('| server | when | heap | heap + external | RSS |');
  console.log('| --- | --- | --- | --- | --- |');
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
