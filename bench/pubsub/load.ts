/**
 * The load generator of the pub/sub benchmark, in a process of its own (forked by run.ts,
 * talking over IPC): its worker threads (`subscriber-worker.ts`) run the subscribers; the
 * main thread runs the publisher and one more subscriber, the sentinel, connected last (the
 * last one every fan-out loop reaches). It runs what it is told, one run at a time:
 *
 *   {"connect": LoadConnectConfig}  → subscribers and the publisher connect; {"ready": …}
 *   {"run": FanOutRun}              → publishes for the warm-up, then sends {"measuring":true}
 *                                     (the runner samples the server's CPU), counts for the
 *                                     measured time, sends {"measured":true}, then {"result": …}
 *   {"exit": true}                  → closes everything and exits
 *
 * Every published message carries, in its first 8 bytes, the moment it was sent
 * (`process.hrtime` in nanoseconds, one clock for every thread of this process), so each
 * delivery's publish-to-delivery latency is measured where it arrives. A fixed-rate run
 * sends `rate` messages a second on schedule; a saturation run keeps `window` messages in
 * flight, a message leaving the window when the sentinel has received it.
 */
import { Worker } from 'node:worker_threads';
import { addBuckets, createLatencyHistogram, summarizeLatency, type LatencySummary } from '../../src/cli/bench/latency.js';
import { splitEvenly } from '../../src/cli/bench/run.js';
import { WebSocket } from '../../src/node.js';
import type { SubscriberWorkerData } from './subscriber-worker.js';

/** How to connect. */
export interface LoadConnectConfig {
  /** Server ports; subscribers are spread over them, the publisher uses the first. */
  readonly ports: readonly number[];
  readonly subscribers: number;
  /** Topics per subscriber (the server's `/sub?topics=`). */
  readonly topics: number;
  /** Connect no publisher (a memory measurement). */
  readonly subscribeOnly: boolean;
}

/** One measured run. */
export interface FanOutRun {
  readonly size: number;
  /** Messages published per second, or 'saturate'. */
  readonly rate: number | 'saturate';
  readonly window: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

/** What a run measured. */
export interface FanOutResult {
  readonly published: number;
  readonly delivered: number;
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
  /** Subscribers that closed (since they connected). */
  readonly lost: number;
}

/** Subscriber threads: the server under test has the other core. */
const THREADS = 2;

const send = (message: object): void => void process.send!(message);

interface WorkerReport {
  readonly delivered: number;
  readonly lost: number;
  readonly latency: number[];
}

const workers: Worker[] = [];
let sentinel: WebSocket | null = null;
let publisher: WebSocket | null = null;
let sentinelCounting = false;
let sentinelDelivered = 0;
/** The saturation window: messages the sentinel has not received yet. */
let inFlight = 0;
let onSentinel: (() => void) | null = null;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Start a subscriber thread; resolves once its subscribers are open. */
function startWorker(data: SubscriberWorkerData): Promise<Worker> {
  const source = new URL('./subscriber-worker.ts', import.meta.url).href;
  // Loader hooks are per thread: register tsx in the worker before importing TypeScript.
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(source)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { ready?: number; error?: string }) => (message.error === undefined ? resolve(worker) : reject(new Error(message.error))));
    worker.once('error', reject);
  });
}

function reportOf(worker: Worker): Promise<WorkerReport> {
  return new Promise((resolve) => {
    worker.once('message', (message: { report: WorkerReport }) => resolve(message.report));
    worker.postMessage({ report: true });
  });
}

async function connectAll(config: LoadConnectConfig): Promise<void> {
  const inThreads = config.subscribers - 1;
  let first = 0;
  const shares = splitEvenly(inThreads, THREADS).filter((count) => count > 0);
  workers.push(...(await Promise.all(shares.map((count) => {
    const data: SubscriberWorkerData = { ports: config.ports, first, count, topics: config.topics };
    first += count;
    return startWorker(data);
  }))));
  sentinel = await open(`ws://127.0.0.1:${config.ports[inThreads % config.ports.length]}/sub?topics=${config.topics}`);
  sentinel.on('error', () => {});
  sentinel.on('message', () => {
    if (sentinelCounting) sentinelDelivered++;
    if (inFlight > 0) inFlight--;
    onSentinel?.();
  });
  if (!config.subscribeOnly) {
    publisher = await open(`ws://127.0.0.1:${config.ports[0]}/pub`);
    publisher.on('error', () => {});
  }
}

function message(size: number, sequence: number): Buffer {
  const payload = Buffer.alloc(Math.max(16, size));
  payload.writeDoubleLE(Number(process.hrtime.bigint()), 0);
  payload.writeDoubleLE(sequence, 8);
  return payload.subarray(0, Math.max(16, size));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function run(config: FanOutRun): Promise<FanOutResult> {
  const pub = publisher!;
  let published = 0;
  let stopped = false;
  let countedFrom = 0;
  inFlight = 0;
  if (config.rate === 'saturate') {
    const fill = (): void => {
      while (!stopped && inFlight < config.window) {
        inFlight++;
        pub.send(message(config.size, published++));
      }
    };
    onSentinel = fill;
    fill();
  } else {
    const rate = config.rate;
    const started = performance.now();
    const timer = setInterval(() => {
      if (stopped) {
        clearInterval(timer);
        return;
      }
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (published < due) pub.send(message(config.size, published++));
    }, 5);
  }
  await sleep(config.warmupMs);
  for (const worker of workers) worker.postMessage({ count: true });
  sentinelDelivered = 0;
  sentinelCounting = true;
  countedFrom = published;
  send({ measuring: true });
  const start = performance.now();
  await sleep(config.measureMs);
  for (const worker of workers) worker.postMessage({ count: false });
  sentinelCounting = false;
  const elapsedMs = performance.now() - start;
  send({ measured: true });
  stopped = true;
  onSentinel = null;
  const reports = await Promise.all(workers.map(reportOf));
  const histogram = createLatencyHistogram();
  for (const report of reports) addBuckets(histogram, report.latency);
  const delivered = reports.reduce((sum, report) => sum + report.delivered, sentinelDelivered);
  const lost = reports.reduce((sum, report) => sum + report.lost, 0);
  // Let what is in flight arrive before the next run.
  await sleep(500);
  return { published: published - countedFrom, delivered, elapsedMs, latency: summarizeLatency(histogram), lost };
}

process.on('message', (command: { connect?: LoadConnectConfig; run?: FanOutRun; exit?: boolean }) => {
  if (command.connect !== undefined) {
    connectAll(command.connect).then(
      () => send({ ready: command.connect!.subscribers }),
      (error: unknown) => send({ error: String(error) }),
    );
  } else if (command.run !== undefined) {
    run(command.run).then(
      (result) => send({ result }),
      (error: unknown) => send({ error: String(error) }),
    );
  } else if (command.exit === true) {
    for (const worker of workers) worker.postMessage({ exit: true });
    sentinel?.terminate();
    publisher?.terminate();
    setTimeout(() => process.exit(0), 100);
  }
});
