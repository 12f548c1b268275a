/**
 * The load generator of the pub/sub benchmark, in a process of its own (forked by run.ts,
 * talking over IPC): its worker threads (`subscriber-worker.ts`) run the subscribers, the main
 * thread the publisher. It runs what it is told, one run at a time:
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
 * flight, a message leaving the window when every subscriber has received it (the threads
 * report their slowest subscriber's progress every few milliseconds).
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

/** A subscriber thread, and the lowest sequence number all its subscribers have received. */
interface SubscriberThread {
  readonly worker: Worker;
  progress: number;
  onReport: ((report: WorkerReport) => void) | null;
}

const threads: SubscriberThread[] = [];
let publisher: WebSocket | null = null;
/** Called when a thread's progress moved (a saturation run refills its window). */
let onProgress: (() => void) | null = null;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Start a subscriber thread; resolves once its subscribers are open. */
function startThread(data: SubscriberWorkerData): Promise<SubscriberThread> {
  const source = new URL('./subscriber-worker.ts', import.meta.url).href;
  // Loader hooks are per thread: register tsx in the worker before importing TypeScript.
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(source)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: data });
  const thread: SubscriberThread = { worker, progress: -1, onReport: null };
  return new Promise((resolve, reject) => {
    worker.on('message', (message: { ready?: number; error?: string; progress?: number; report?: WorkerReport }) => {
      if (message.error !== undefined) reject(new Error(message.error));
      else if (message.ready !== undefined) resolve(thread);
      else if (message.progress !== undefined) {
        if (message.progress > thread.progress) {
          thread.progress = message.progress;
          onProgress?.();
        }
      } else if (message.report !== undefined) thread.onReport?.(message.report);
    });
    worker.once('error', reject);
  });
}

function reportOf(thread: SubscriberThread): Promise<WorkerReport> {
  return new Promise((resolve) => {
    thread.onReport = resolve;
    thread.worker.postMessage({ report: true });
  });
}

async function connectAll(config: LoadConnectConfig): Promise<void> {
  let first = 0;
  const shares = splitEvenly(config.subscribers, THREADS).filter((count) => count > 0);
  threads.push(
    ...(await Promise.all(
      shares.map((count) => {
        const data: SubscriberWorkerData = { ports: config.ports, first, count, topics: config.topics };
        first += count;
        return startThread(data);
      }),
    )),
  );
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

/** The next message's sequence number. */
let sequence = 0;

/** The longest wait for a server to deliver what was published before the next run starts. */
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Wait until every subscriber has received the last message published (a server that fell
 * behind at a fixed rate is still sending it), so that a run never measures the one before.
 */
async function drain(): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (Math.min(...threads.map((thread) => thread.progress)) < sequence - 1 && performance.now() < deadline) await sleep(20);
}

async function run(config: FanOutRun): Promise<FanOutResult> {
  const pub = publisher!;
  let published = 0;
  let stopped = false;
  let countedFrom = 0;
  // Sequence numbers go on from run to run, so what a thread reports is never stale.
  if (config.rate === 'saturate') {
    const fill = (): void => {
      const slowest = Math.min(...threads.map((thread) => thread.progress));
      while (!stopped && sequence - 1 - slowest < config.window) {
        pub.send(message(config.size, sequence++));
        published++;
      }
    };
    onProgress = fill;
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
      while (published < due) {
        pub.send(message(config.size, sequence++));
        published++;
      }
    }, 5);
  }
  await sleep(config.warmupMs);
  for (const thread of threads) thread.worker.postMessage({ count: true });
  countedFrom = published;
  send({ measuring: true });
  const start = performance.now();
  await sleep(config.measureMs);
  for (const thread of threads) thread.worker.postMessage({ count: false });
  const elapsedMs = performance.now() - start;
  send({ measured: true });
  stopped = true;
  onProgress = null;
  const reports = await Promise.all(threads.map(reportOf));
  const histogram = createLatencyHistogram();
  for (const report of reports) addBuckets(histogram, report.latency);
  const delivered = reports.reduce((sum, report) => sum + report.delivered, 0);
  const lost = reports.reduce((sum, report) => sum + report.lost, 0);
  await drain();
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
    for (const thread of threads) thread.worker.postMessage({ exit: true });
    publisher?.terminate();
    setTimeout(() => process.exit(0), 100);
  }
});
