/**
 * The Redis bus's own cost: a publisher node and a subscriber node, each a process of its own,
 * through a real redis-server on 127.0.0.1 (no persistence), at a fixed publish rate.
 *
 *   tsx bench/pubsub-redis/run.ts [--rate 5000] [--seconds 3] [--rounds 3] [--sizes 16,1024] [--out <dir>]
 *
 * Writes <out>/redis-bus.{json,md} (default bench/results) and prints the Markdown.
 *
 * Side by side in one run, rotating which goes first: `RedisBus` and the bare `redis` client
 * publishing to and subscribing to one channel (the floor any Redis pub/sub pays). Reported:
 * each process's CPU µs per message (the publisher's per published message, the subscriber's
 * per received message), publish-to-delivery latency p50/p99, and the bus's ratios against
 * the bare client. Medians over the rounds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisServer } from '../../test/helpers/redis-server.js';
import type { NodeCommand, NodeReport } from './node.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '16,1024' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const sizes = values.sizes.split(',').map(Number);
const IMPLS = ['client', 'bus'] as const;
type Impl = (typeof IMPLS)[number];

class NodeProcess {
  readonly #child: ChildProcess;
  readonly #replies: Array<(report: NodeReport) => void> = [];
  readonly ready: Promise<void>;

  constructor(role: 'publisher' | 'subscriber', impl: Impl, url: string, topic: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'node.ts'), role, impl, url, topic], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`${role} ${impl} exited with ${code}`)));
      this.#child.on('message', (message: { type: string }) => {
        if (message.type === 'ready') resolve();
        else this.#replies.shift()?.(message as NodeReport);
      });
    });
  }

  command(command: NodeCommand): void {
    this.#child.send(command);
  }

  ask(command: NodeCommand): Promise<NodeReport> {
    const reply = new Promise<NodeReport>((resolve) => this.#replies.push(resolve));
    this.command(command);
    return reply;
  }

  exit(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.command({ type: 'exit' });
    return exited;
  }
}

interface Sample {
  readonly impl: Impl;
  readonly size: number;
  readonly publisherMicros: number;
  readonly subscriberMicros: number;
  readonly p50: number;
  readonly p99: number;
  readonly deliveredPerSecond: number;
  readonly lost: number;
}

async function measure(url: string, impl: Impl, size: number, round: number): Promise<Sample> {
  const topic = `bench-${impl}-${size}-${round}`;
  const subscriber = new NodeProcess('subscriber', impl, url, topic);
  await subscriber.ready;
  const publisher = new NodeProcess('publisher', impl, url, topic);
  await publisher.ready;
  try {
    // Warm-up (and, for the bus, the publisher learning of the subscriber), then the measure.
    await publisher.ask({ type: 'run', rate, size, seconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    subscriber.command({ type: 'reset', from: performance.timeOrigin + performance.now() });
    const published = await publisher.ask({ type: 'run', rate, size, seconds });
    // Until the subscriber has everything, or has received nothing new for a second.
    let received = await subscriber.ask({ type: 'report' });
    for (let quiet = 0; received.messages < published.messages && quiet < 10; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const next = await subscriber.ask({ type: 'report' });
      quiet = next.messages === received.messages ? quiet + 1 : 0;
      received = next;
    }
    return {
      impl,
      size,
      publisherMicros: published.cpuMicros / published.messages,
      subscriberMicros: received.cpuMicros / Math.max(1, received.messages),
      p50: received.p50!,
      p99: received.p99!,
      deliveredPerSecond: received.messages / seconds,
      lost: published.messages - received.messages,
    };
  } finally {
    await Promise.all([publisher.exit(), subscriber.exit()]);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The machine as the run found it: on a shared machine the latencies mean little without it. */
const machine = `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the start`;
const redis = await RedisServer.start();
const samples: Sample[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
      for (const impl of order) samples.push(await measure(redis.url, impl, size, round));
    }
  }
} finally {
  await redis.kill();
}

const fields = ['publisherMicros', 'subscriberMicros', 'p50', 'p99', 'deliveredPerSecond', 'lost'] as const;
const summary = sizes.flatMap((size) =>
  IMPLS.map((impl) => {
    const mine = samples.filter((s) => s.impl === impl && s.size === size);
    return { impl, size, ...Object.fromEntries(fields.map((field) => [field, median(mine.map((s) => s[field]))])) } as Sample;
  }),
);

const lines = [
  `Redis bus, 1 publisher → Redis → 1 subscriber node, ${rate.toLocaleString('en-US')} msg/s for ${seconds} s, medians of ${rounds} rounds (ratio: the bus against the bare client); ${machine}`,
  '',
  '| size | impl | publisher CPU µs/msg | subscriber CPU µs/msg | latency p50 µs | latency p99 µs | delivered/s | lost |',
  '|---:|---|---:|---:|---:|---:|---:|---:|',
];
for (const size of sizes) {
  const base = summary.find((s) => s.impl === 'client' && s.size === size)!;
  for (const row of summary.filter((s) => s.size === size)) {
    const ratio = (field: keyof Sample) => (row.impl === 'client' ? '' : ` (${((row[field] as number) / (base[field] as number)).toFixed(2)}×)`);
    lines.push(
      `| ${size} B | ${row.impl === 'bus' ? 'RedisBus' : 'redis client'} | ${row.publisherMicros.toFixed(2)}${ratio('publisherMicros')} | ${row.subscriberMicros.toFixed(2)}${ratio('subscriberMicros')} | ${Math.round(row.p50)}${ratio('p50')} | ${Math.round(row.p99)}${ratio('p99')} | ${Math.round(row.deliveredPerSecond).toLocaleString('en-US')} | ${row.lost} |`,
    );
  }
}
const markdown = `${lines.join('\n')}\n`;
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'redis-bus.json'), `${JSON.stringify({ machine, rate, seconds, rounds, sizes, samples, summary }, null, 2)}\n`);
writeFileSync(join(outDir, 'redis-bus.md'), markdown);
process.stdout.write(markdown);
