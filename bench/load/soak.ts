/**
 * A soak: minutes of mixed traffic against a wasmsocket server, its heap sampled throughout,
 * to show that nothing accumulates — text and binary messages of every size from empty to
 * 1 MiB, pings, and clients that disconnect and reconnect all the time.
 *
 *   bash -c 'ulimit -n 65536; tsx bench/load/soak.ts [--minutes 3] [--clients 100] [--library wasmsocket|ws]'
 *
 * The server runs in its own process (bench/load/server.ts, with --expose-gc). After a 10 s
 * warm-up, and then every 10 s while the traffic goes on, the server's heap and RSS are
 * measured after a full GC; once every client has left, once more. A steady server's heap
 * after GC stays level under the same load, and falls back when the load is gone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from '../../src/node.js';
import { Random } from '../../fuzz/engine/random.js';
import { type Library, LoadServer, mebibytes, MiB, type ServerMemory } from './server-process.js';

interface Options {
  minutes: number;
  clients: number;
  library: Library;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { minutes: 3, clients: 100, library: 'wasmsocket' };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1]!;
    if (argv[i] === '--minutes') options.minutes = Number(value);
    else if (argv[i] === '--clients') options.clients = Number(value);
    else if (argv[i] === '--library') options.library = value as Library;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return options;
}

interface Totals {
  messages: number;
  bytes: number;
  pings: number;
  reconnects: number;
  failures: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Wait for the next event `name` on `ws`, at most `ms`. */
function next(ws: WebSocket, name: 'message' | 'pong', ms = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off(name, onEvent);
      reject(new Error(`no ${name} within ${ms} ms`));
    }, ms);
    const onEvent = (data: Buffer): void => {
      clearTimeout(timer);
      resolve(data);
    };
    ws.once(name, onEvent);
  });
}

/** One client's life until `deadline`: a random mix of actions, each awaited. */
async function client(url: string, seed: number, deadline: number, totals: Totals): Promise<void> {
  const random = new Random(seed);
  let ws = await open(url);
  while (Date.now() < deadline) {
    const roll = random.below(100);
    try {
      if (roll < 40) {
        const text = 'x'.repeat(random.below(16 * 1024)) + '€';
        ws.send(text);
        const echo = await next(ws, 'message');
        if (echo.length !== Buffer.byteLength(text)) throw new Error('text echo differs');
        totals.messages++;
        totals.bytes += echo.length;
      } else if (roll < 80 || roll === 99) {
        const size = roll === 99 ? MiB : random.below(64 * 1024);
        const data = Buffer.alloc(size, random.below(256));
        ws.send(data);
        const echo = await next(ws, 'message');
        if (echo.length !== size) throw new Error('binary echo differs');
        totals.messages++;
        totals.bytes += size;
      } else if (roll < 90) {
        ws.ping(Buffer.from(String(roll)));
        await next(ws, 'pong');
        totals.pings++;
      } else {
        const closed = new Promise((resolve) => ws.once('close', resolve));
        ws.close(1000, 'reconnecting');
        await closed;
        ws = await open(url);
        totals.reconnects++;
      }
    } catch {
      totals.failures++;
      ws.terminate();
      await sleep(100);
      ws = await open(url);
    }
  }
  const closed = new Promise((resolve) => ws.once('close', resolve));
  ws.close(1000);
  await closed;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const server = await LoadServer.start(options.library);
  const url = `ws://127.0.0.1:${server.port}`;
  const totals: Totals = { messages: 0, bytes: 0, pings: 0, reconnects: 0, failures: 0 };
  const samples: Array<{ seconds: number; heapUsed: number; rss: number; connections: number }> = [];
  const started = Date.now();
  const deadline = started + options.minutes * 60_000;
  console.log(`soak of ${options.library}: ${options.clients} clients for ${options.minutes} min`);
  const clients = Array.from({ length: options.clients }, (_, i) => client(url, i + 1, deadline, totals));

  // Warm-up: the first 10 s fill caches and pools; the heap after GC from then on is the base.
  await sleep(10_000);
  const first = await server.measure(true);
  console.log(`after warm-up (GC): heap ${mebibytes(first.heapUsed)}, RSS ${mebibytes(first.rss)}, ${first.connections} connections`);
  const sampler = setInterval(() => {
    void server.measure(true).then((memory: ServerMemory) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      samples.push({ seconds, heapUsed: memory.heapUsed, rss: memory.rss, connections: memory.connections });
      console.log(`${String(seconds).padStart(4)} s  heap ${mebibytes(memory.heapUsed).padStart(10)}  RSS ${mebibytes(memory.rss).padStart(10)}  ${memory.connections} connections, ${totals.messages} messages, ${totals.reconnects} reconnects`);
    });
  }, 10_000);
  await Promise.all(clients);
  clearInterval(sampler);
  await sleep(1000);
  const idle = await server.measure(true);
  await server.stop();

  const seconds = (Date.now() - started) / 1000;
  const last = samples[samples.length - 1] ?? { heapUsed: first.heapUsed, rss: first.rss };
  const growth = (last.heapUsed - first.heapUsed) / first.heapUsed;
  console.log(`\n${totals.messages} messages (${mebibytes(totals.bytes)}), ${totals.pings} pings, ${totals.reconnects} reconnects, ${totals.failures} failures in ${seconds.toFixed(0)} s (${Math.round(totals.messages / seconds)} messages/s)`);
  console.log(`heap after GC under load: first ${mebibytes(first.heapUsed)}, last ${mebibytes(last.heapUsed)} (${(growth * 100).toFixed(1)}%), highest ${mebibytes(Math.max(...samples.map((sample) => sample.heapUsed)))}`);
  console.log(`RSS under load: first ${mebibytes(first.rss)}, last ${mebibytes(last.rss)}; once every client left: heap ${mebibytes(idle.heapUsed)}, RSS ${mebibytes(idle.rss)}`);
  const directory = join(import.meta.dirname, '..', 'results');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, `load-soak-${options.library}.json`), `${JSON.stringify({ node: process.version, date: new Date().toISOString(), options, totals, first, samples, idle }, null, 2)}\n`);
  if (totals.failures > 0) process.exitCode = 1;
}

await main();
