/**
 * The load generator of the pub/sub benchmark, in a process of its own (forked by run.ts,
 * talking over IPC): it opens the subscriber connections and one publisher connection, then
 * runs what it is told, one run at a time.
 *
 *   {"connect": LoadConnectConfig}  → subscribers and the publisher connect; {"ready": …}
 *   {"run": FanOutRun}              → publishes for the warm-up, then sends {"measuring":true}
 *                                     (the runner samples the server's CPU), counts for the
 *                                     measured time, sends {"measured":true}, then {"result": …}
 *   {"exit": true}                  → closes everything and exits
 *
 * Every published message carries, in its first 8 bytes, the moment it was sent
 * (`performance.now()` of this process, which also receives it), so each delivery's
 * publish-to-delivery latency is measured on one clock. A fixed-rate run sends `rate`
 * messages a second on schedule; a saturation run keeps `window` messages in flight, a
 * message leaving the window when the last subscriber to connect (the last one every
 * fan-out loop reaches) has received it.
 */
import { createLatencyHistogram, summarizeLatency, type LatencySummary } from '../../src/cli/bench/latency.js';
import { WebSocket } from '../../src/node.js';

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
  /** Subscribers that closed or failed during the run. */
  readonly lost: number;
}

/** Concurrent opening handshakes while connecting. */
const CONNECT_CONCURRENCY = 200;

const send = (message: object): void => void process.send!(message);

const subscribers: WebSocket[] = [];
let publisher: WebSocket | null = null;
let lost = 0;
let counting = false;
let delivered = 0;
let histogram = createLatencyHistogram();
/** The saturation window: messages the sentinel subscriber has not received yet. */
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

function onDelivery(data: Buffer): void {
  if (!counting || data.length < 8) return;
  delivered++;
  histogram.recordValue(Math.max(1, Math.round((performance.now() - data.readDoubleLE(0)) * 1e6)));
}

async function connectAll(config: LoadConnectConfig): Promise<void> {
  let next = 0;
  const connectOne = async (): Promise<void> => {
    while (next < config.subscribers) {
      const index = next++;
      const ws = await open(`ws://127.0.0.1:${config.ports[index % config.ports.length]}/sub?topics=${config.topics}`);
      ws.on('message', onDelivery);
      ws.on('close', () => lost++);
      ws.on('error', () => {});
      subscribers[index] = ws;
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, connectOne));
  const sentinel = subscribers[subscribers.length - 1]!;
  sentinel.on('message', () => {
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
  payload.writeDoubleLE(performance.now(), 0);
  payload.writeDoubleLE(sequence, 8);
  return payload.subarray(0, Math.max(16, size));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function run(config: FanOutRun): Promise<FanOutResult> {
  const pub = publisher!;
  let published = 0;
  let stopped = false;
  let countedFrom = 0;
  const lostBefore = lost;
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
  histogram = createLatencyHistogram();
  delivered = 0;
  countedFrom = published;
  counting = true;
  send({ measuring: true });
  const start = performance.now();
  await sleep(config.measureMs);
  counting = false;
  const elapsedMs = performance.now() - start;
  send({ measured: true });
  stopped = true;
  onSentinel = null;
  const result: FanOutResult = { published: published - countedFrom, delivered, elapsedMs, latency: summarizeLatency(histogram), lost: lost - lostBefore };
  // Let what is in flight arrive before the next run.
  await sleep(500);
  return result;
}

process.on('message', (command: { connect?: LoadConnectConfig; run?: FanOutRun; exit?: boolean }) => {
  if (command.connect !== undefined) {
    connectAll(command.connect).then(
      () => send({ ready: subscribers.length }),
      (error: unknown) => send({ error: String(error) }),
    );
  } else if (command.run !== undefined) {
    run(command.run).then(
      (result) => send({ result }),
      (error: unknown) => send({ error: String(error) }),
    );
  } else if (command.exit === true) {
    for (const ws of subscribers) ws.terminate();
    publisher?.terminate();
    setTimeout(() => process.exit(0), 100);
  }
});
