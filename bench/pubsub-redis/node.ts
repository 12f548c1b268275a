/**
 * One node of the Redis bus benchmark, in a process of its own, driven over IPC by
 * bench/pubsub-redis/run.ts:
 *
 *   tsx bench/pubsub-redis/node.ts publisher|subscriber bus|client <redis url> <topic>
 *
 * `bus` is a RedisBus; `client` is the bare `redis` client publishing and subscribing to one
 * channel, the floor any Redis pub/sub pays. A publisher sends `rate` messages a second of
 * `size` bytes, each starting with its send time; a subscriber records each message's
 * latency. Each reports the CPU time its process spent over the measured window.
 */
import { performance } from 'node:perf_hooks';
import { build } from 'hdr-histogram-js';
import { createClient } from 'redis';
import { RedisBus } from '../../src/pubsub/redis-bus.js';

type Role = 'publisher' | 'subscriber';
type Impl = 'bus' | 'client';

export type NodeCommand =
  | { readonly type: 'run'; readonly rate: number; readonly size: number; readonly seconds: number }
  | { readonly type: 'reset'; readonly from: number }
  | { readonly type: 'report' }
  | { readonly type: 'exit' };

export interface NodeReport {
  readonly type: 'report';
  readonly cpuMicros: number;
  readonly messages: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly dropped?: number;
}

const [role, impl, url, topic] = process.argv.slice(2) as [Role, Impl, string, string];
const send = (message: unknown) => process.send!(message);

/** Milliseconds on the wall clock, with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

let publish: (payload: Buffer) => void = () => {};
let close: () => Promise<void> = async () => {};
let onMessage: (payload: Uint8Array) => void = () => {};
let dropped: () => number = () => 0;

if (impl === 'bus') {
  const bus = new RedisBus({ url, prefix: 'bench:' });
  bus.attach((_topic, payload) => onMessage(payload));
  if (role === 'subscriber') bus.interest(topic, true);
  await bus.ready;
  publish = (payload) => bus.publish(topic, payload, true);
  dropped = () => bus.stats.dropped + bus.stats.skipped;
  close = () => bus.close();
} else {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  const channel = `bench:t:${topic}`;
  if (role === 'subscriber') await client.subscribe(channel, (message: Buffer) => onMessage(message), true);
  // A copy per message, as the bus makes one (its head and the payload in one buffer), and
  // because the client may write the bytes after this call returns.
  publish = (payload) => void client.publish(channel, Buffer.from(payload)).catch(() => {});
  close = () => client.close();
}

const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
let received = 0;
let cpuStart = process.cpuUsage();
/** Messages sent before this (the warm-up's) are not counted. */
let countFrom = Infinity;
onMessage = (payload) => {
  const sent = new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0, true);
  if (sent < countFrom) return;
  received++;
  histogram.recordValue(Math.max(1, Math.round((now() - sent) * 1000)));
};

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** Publish `rate` messages a second for `seconds`, in 1 ms slices, and report. */
async function run(rate: number, size: number, seconds: number): Promise<void> {
  const payload = Buffer.alloc(Math.max(8, size), 0x61);
  const view = new DataView(payload.buffer, payload.byteOffset, 8);
  const start = now();
  const cpu = process.cpuUsage();
  let sent = 0;
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000));
    for (; sent < due; sent++) {
      view.setFloat64(0, now(), true);
      publish(payload);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  send({ type: 'report', cpuMicros: cpuSince(cpu), messages: sent, dropped: dropped() } satisfies NodeReport);
}

process.on('message', (command: NodeCommand) => {
  switch (command.type) {
    case 'run':
      void run(command.rate, command.size, command.seconds);
      break;
    case 'reset':
      histogram.reset();
      received = 0;
      countFrom = command.from;
      cpuStart = process.cpuUsage();
      break;
    case 'report':
      send({ type: 'report', cpuMicros: cpuSince(cpuStart), messages: received, p50: histogram.getValueAtPercentile(50), p99: histogram.getValueAtPercentile(99) } satisfies NodeReport);
      break;
    case 'exit':
      void close().finally(() => process.exit(0));
      break;
  }
});
send({ type: 'ready' });
