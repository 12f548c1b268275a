/**
 * `npm run bench:pubsub`: fan-out — one publisher, many subscribers — with wasmsocket's
 * `publish` (one process, two node:cluster workers over the `ClusterBus`, and two server
 * processes through a real redis-server on 127.0.0.1 over the `RedisBus`) side by side with
 * `ws` doing what its users write, `for (const client of wss.clients) client.send(data)`,
 * without and with bufferutil. Every server runs in a process of its own (servers.ts); the
 * subscribers and the publisher in another (load.ts), so neither side's descriptor limit is
 * shared.
 *
 *   tsx bench/pubsub/run.ts [--quick] [options]
 *
 * For each server and subscriber count, one load generator connects once and runs every
 * cell: message size × fixed rate or saturation. The servers take turns within each
 * subscriber count, so drift on a shared machine hits them alike. Figures: messages delivered
 * per second, the server's CPU time per delivered message (from /proc, every process of the
 * server), and the p50/p99 publish-to-delivery latency. Memory: the RSS, after a full
 * collection, that 10,000 connections subscribed to 10 topics each add, against 10,000 that
 * subscribe to nothing.
 *
 * Writes bench/results/pubsub[-quick].{json,md} and prints the Markdown.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sampleProcess } from '../../src/cli/bench/proc.js';
import type { FanOutResult, FanOutRun, LoadConnectConfig } from './load.js';
import { RedisServer } from '../../test/helpers/redis-server.js';
import { PubsubServer, REDIS_URL_ENV, SERVERS } from './servers.js';

const USAGE = `Usage: tsx bench/pubsub/run.ts [--quick] [options]

  --quick                 a smoke run: 1,000 and 10,000 subscribers, 1 KiB, 1 s per cell
  --subscribers <list>    e.g. 1000,10000 (default)
  --sizes <list>          payload bytes, e.g. 16,1024 (default)
  --rate <n>              publishes per second of the fixed-rate cells (default 20)
  --window <n>            messages in flight in the saturation cells (default 8)
  --servers <list>        of ${SERVERS.map((s) => s.id).join(', ')} (default all)
  --duration <s>          measured seconds per cell (default 3; quick 1)
  --warmup <s>            warm-up seconds per cell (default 1; quick 0.5)
  --memory <n>            connections for the memory figure (default 10000; 0: skip)
  --out <dir>             where results go (default bench/results)
  -h, --help
`;

const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));

function fail(message: string): never {
  process.stderr.write(`bench:pubsub: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    subscribers: { type: 'string' },
    sizes: { type: 'string' },
    rate: { type: 'string', default: '20' },
    window: { type: 'string', default: '8' },
    servers: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    memory: { type: 'string', default: '10000' },
    out: { type: 'string', default: 'bench/results' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const numbers = (text: string, name: string): number[] =>
  text.split(',').map((item) => {
    const n = Number(item.trim());
    if (!Number.isInteger(n) || n <= 0) fail(`${name} must be positive integers, not "${item}"`);
    return n;
  });
const quick = values.quick;
const subscriberCounts = numbers(values.subscribers ?? '1000,10000', '--subscribers');
const sizes = numbers(values.sizes ?? (quick ? '1024' : '16,1024'), '--sizes');
const [rate] = numbers(values.rate, '--rate') as [number];
const [window] = numbers(values.window, '--window') as [number];
const measureMs = Math.round(Number(values.duration ?? (quick ? 1 : 3)) * 1000);
const warmupMs = Math.round(Number(values.warmup ?? (quick ? 0.5 : 1)) * 1000);
const memoryConnections = Number(values.memory);
const servers = values.servers === undefined ? SERVERS : values.servers.split(',').map((id) => SERVERS.find((s) => s.id === id.trim()) ?? fail(`unknown server "${id}"`));
if (!(measureMs > 0) || !(warmupMs >= 0)) fail('--duration must be positive and --warmup not negative');

/** One measured cell of one server. */
interface CellResult {
  readonly server: string;
  readonly subscribers: number;
  readonly size: number;
  readonly rate: number | 'saturate';
  readonly publishedPerSecond: number;
  readonly deliveredPerSecond: number;
  /** Server CPU time per delivered message, µs (every process of the server). */
  readonly cpuMicrosPerDelivery: number;
  /** CPU time of the processes that only carry the bus, per published message, µs; null without them. */
  readonly busMicrosPerPublish: number | null;
  readonly p50Micros: number;
  readonly p99Micros: number;
  /** Deliveries expected (published × subscribers) that did not arrive within the window. */
  readonly deliveredShare: number;
  readonly lost: number;
}

/** A forked load generator. */
class LoadProcess {
  readonly #child: ChildProcess;
  readonly #waiting: Array<{ key: string; resolve: (message: Record<string, unknown>) => void; reject: (error: Error) => void }> = [];

  constructor() {
    this.#child = fork(LOAD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: Record<string, unknown>) => {
      if ('error' in message) {
        for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(String(message.error)));
        return;
      }
      const index = this.#waiting.findIndex((waiter) => waiter.key in message);
      if (index !== -1) this.#waiting.splice(index, 1)[0]!.resolve(message);
    });
    this.#child.once('exit', (code) => {
      for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(`the load generator exited (${String(code)})`));
    });
  }

  /** Wait for the next message with `key`. */
  next(key: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => this.#waiting.push({ key, resolve, reject }));
  }

  async connect(config: LoadConnectConfig): Promise<void> {
    const ready = this.next('ready');
    this.#child.send({ connect: config });
    await ready;
  }

  /** Run a cell; `onMeasuring` and `onMeasured` frame the counted window. */
  async run(config: FanOutRun, onMeasuring: () => void, onMeasured: () => void): Promise<FanOutResult> {
    const measuring = this.next('measuring');
    const measured = this.next('measured');
    const result = this.next('result');
    this.#child.send({ run: config });
    await measuring;
    onMeasuring();
    await measured;
    onMeasured();
    return (await result).result as FanOutResult;
  }

  async exit(): Promise<void> {
    const exited = new Promise((resolveExit) => this.#child.once('exit', resolveExit));
    this.#child.send({ exit: true });
    await exited;
  }
}

/** The redis-server of the servers that need one (started in main). */
let redis: RedisServer | undefined;

/** The redis-server a server goes through: it only carries the bus, and it is one of the server's processes. */
const redisPids = (server: PubsubServer): number[] => (server.spec.redis ? [redis!.pid] : []);

const cpuOf = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + sampleProcess(pid).cpuSeconds, 0);

async function fanOut(): Promise<CellResult[]> {
  const results: CellResult[] = [];
  const runs: FanOutRun[] = [];
  for (const size of sizes) for (const cellRate of [rate, 'saturate' as const]) runs.push({ size, rate: cellRate, window, warmupMs, measureMs });
  for (const subscribers of subscriberCounts) {
    for (const [turn, spec] of servers.entries()) {
      const server = await PubsubServer.start(spec, { exposeGc: false });
      const pids = [...server.pids, ...redisPids(server)];
      const busPids = [...server.busPids, ...redisPids(server)];
      const load = new LoadProcess();
      try {
        await load.connect({ ports: server.ports, subscribers, topics: 1, subscribeOnly: false });
        // Rotate the cells from server to server as well.
        for (const cell of [...runs.slice(turn % runs.length), ...runs.slice(0, turn % runs.length)]) {
          let cpuStart = 0;
          let cpuEnd = 0;
          let busStart = 0;
          let busEnd = 0;
          const measured = await load.run(
            cell,
            () => ((cpuStart = cpuOf(pids)), (busStart = cpuOf(busPids))),
            () => ((cpuEnd = cpuOf(pids)), (busEnd = cpuOf(busPids))),
          );
          const seconds = measured.elapsedMs / 1000;
          const result: CellResult = {
            server: spec.id,
            subscribers,
            size: cell.size,
            rate: cell.rate,
            publishedPerSecond: measured.published / seconds,
            deliveredPerSecond: measured.delivered / seconds,
            cpuMicrosPerDelivery: measured.delivered === 0 ? 0 : ((cpuEnd - cpuStart) * 1e6) / measured.delivered,
            busMicrosPerPublish: busPids.length === 0 || measured.published === 0 ? null : ((busEnd - busStart) * 1e6) / measured.published,
            p50Micros: measured.latency.p50,
            p99Micros: measured.latency.p99,
            deliveredShare: measured.published === 0 ? 0 : measured.delivered / (measured.published * subscribers),
            lost: measured.lost,
          };
          results.push(result);
          process.stderr.write(`${describe(result)}\n`);
        }
      } finally {
        await load.exit();
        await server.stop();
      }
    }
  }
  return results;
}

/** The memory 10,000 connections add with 10 topics each and with none (wasmsocket, one process). */
async function memory(): Promise<{ connections: number; unsubscribedBytes: number; subscribedBytes: number } | null> {
  if (memoryConnections <= 0) return null;
  const spec = SERVERS.find((s) => s.id === 'wasmsocket')!;
  const added = async (topics: number): Promise<number> => {
    const server = await PubsubServer.start(spec, { exposeGc: true });
    const load = new LoadProcess();
    try {
      const before = (await server.memory()).rssBytes;
      await load.connect({ ports: server.ports, subscribers: memoryConnections, topics, subscribeOnly: true });
      return (await server.memory()).rssBytes - before;
    } finally {
      await load.exit();
      await server.stop();
    }
  };
  const unsubscribedBytes = await added(0);
  const subscribedBytes = await added(10);
  return { connections: memoryConnections, unsubscribedBytes, subscribedBytes };
}

function describe(result: CellResult): string {
  const rateText = result.rate === 'saturate' ? 'saturation' : `${result.rate}/s`;
  return `${result.server} ${result.subscribers} subs ${result.size} B ${rateText}: ${Math.round(result.deliveredPerSecond).toLocaleString('en-US')} msg/s, ${result.cpuMicrosPerDelivery.toFixed(3)} µs CPU/msg, p50 ${result.p50Micros} µs, p99 ${result.p99Micros} µs`;
}

const BASELINE = 'ws-bufferutil';

function renderMarkdown(cells: readonly CellResult[], mem: Awaited<ReturnType<typeof memory>>): string {
  const lines: string[] = ['# Pub/sub fan-out', ''];
  lines.push(`One publisher; every subscriber on its own loopback connection, in a load generator process apart from the server's. Fixed rate: ${rate} publishes/s; saturation: ${window} messages in flight. ${measureMs / 1000} s measured per cell after ${warmupMs / 1000} s of warm-up. CPU is the server's (every process of it), per delivered message; ratios are against ${BASELINE} measured in the same run. "bus µs/publish" is the CPU of the processes that only carry the bus (the cluster's primary, the redis-server) per published message; the latency a bus adds is its row's against the one-process row's. Latency is publish-to-delivery, measured where each message arrives.`, '');
  const header = ['subscribers', 'size', 'publish', 'server', 'delivered msg/s', 'CPU µs/delivery', `× ${BASELINE}`, 'bus µs/publish', 'p50 µs', 'p99 µs', 'delivered'];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const subscribers of subscriberCounts) {
    for (const size of sizes) {
      for (const cellRate of [rate, 'saturate' as const]) {
        const group = cells.filter((c) => c.subscribers === subscribers && c.size === size && c.rate === cellRate);
        const baseline = group.find((c) => c.server === BASELINE);
        for (const cell of group) {
          const ratio = baseline === undefined || baseline.cpuMicrosPerDelivery === 0 ? '' : `${(cell.cpuMicrosPerDelivery / baseline.cpuMicrosPerDelivery).toFixed(2)}×`;
          lines.push(
            `| ${subscribers.toLocaleString('en-US')} | ${size} B | ${cellRate === 'saturate' ? 'saturation' : `${cellRate}/s`} | ${SERVERS.find((s) => s.id === cell.server)!.label} | ${Math.round(cell.deliveredPerSecond).toLocaleString('en-US')} | ${cell.cpuMicrosPerDelivery.toFixed(3)} | ${ratio} | ${cell.busMicrosPerPublish === null ? '' : cell.busMicrosPerPublish.toFixed(1)} | ${cell.p50Micros} | ${cell.p99Micros} | ${(cell.deliveredShare * 100).toFixed(1)} % |`,
          );
        }
      }
    }
  }
  if (mem !== null) {
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    lines.push('', '## Memory', '', `RSS a wasmsocket server adds for ${mem.connections.toLocaleString('en-US')} connections, after a full collection:`, '');
    lines.push('| connections | RSS added | per connection |', '|---|---|---|');
    lines.push(`| unsubscribed | ${mib(mem.unsubscribedBytes)} MiB | ${Math.round(mem.unsubscribedBytes / mem.connections)} B |`);
    lines.push(`| 10 topics each | ${mib(mem.subscribedBytes)} MiB | ${Math.round(mem.subscribedBytes / mem.connections)} B |`);
    lines.push(`| the topics' share | ${mib(mem.subscribedBytes - mem.unsubscribedBytes)} MiB | ${Math.round((mem.subscribedBytes - mem.unsubscribedBytes) / mem.connections)} B |`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  if (servers.some((spec) => spec.redis)) {
    redis = await RedisServer.start();
    process.env[REDIS_URL_ENV] = redis.url;
  }
  const cells = await fanOut().finally(() => redis?.kill());
  const mem = await memory();
  const markdown = renderMarkdown(cells, mem);
  const outDir = resolve(values.out);
  mkdirSync(outDir, { recursive: true });
  const name = quick ? 'pubsub-quick' : 'pubsub';
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify({ started, rate, window, measureMs, warmupMs, cells, memory: mem }, null, 2)}\n`);
  writeFileSync(join(outDir, `${name}.md`), markdown);
  process.stdout.write(markdown);
}

await main();
