/**
 * A worker thread of the pub/sub load generator: its share of the subscribers, each a TCP
 * socket driven by the Sans-I/O `ClientConnection` (the opening handshake, then one codec pass
 * per received chunk), as `wasmsocket bench` runs its connections. It only receives: every
 * message counts, and its publish-to-delivery latency is read from its first 8 bytes (the
 * publisher's `process.hrtime` in nanoseconds, one clock for every thread of the process);
 * bytes 8–15 are its sequence number.
 *
 * Messages from the parent: {"count": true|false} starts or stops counting (starting resets
 * the counters); {"report": true} answers {"report": {delivered, lost, latency buckets}};
 * {"exit": true} closes every socket. It posts {"ready": n} once its subscribers are open, and
 * every `PROGRESS_MS` {"progress": s}, the lowest sequence number every one of its
 * subscribers has received (the saturation window follows the slowest subscriber).
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { nodeSha1 } from '../../src/adapters/node/sha1.js';
import { createLatencyHistogram, histogramBuckets } from '../../src/cli/bench/latency.js';
import { createCodecSync } from '../../src/codec/index.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import { webCryptoRandom } from '../../src/shared/ports.js';

/** What a worker is given. */
export interface SubscriberWorkerData {
  readonly ports: readonly number[];
  /** Index of its first subscriber (for spreading over the ports) and how many it runs. */
  readonly first: number;
  readonly count: number;
  readonly topics: number;
}

/** Concurrent opening handshakes per worker. */
const CONNECT_CONCURRENCY = 100;
/** How often the slowest subscriber's progress is posted. */
const PROGRESS_MS = 5;

const data = workerData as SubscriberWorkerData;
const codec = createCodecSync();
const sockets: Socket[] = [];
let counting = false;
let delivered = 0;
let lost = 0;
let histogram = createLatencyHistogram();
/** Per subscriber, the sequence number of the last message received (-1: none). */
const lastSequence = new Float64Array(data.count).fill(-1);

function subscribe(index: number, slot: number): Promise<void> {
  const port = data.ports[index % data.ports.length]!;
  return new Promise((resolve, reject) => {
    const connection = new ClientConnection({ codec, random: webCryptoRandom, sha1: nodeSha1, host: '127.0.0.1', port, path: `/sub?topics=${data.topics}` });
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    sockets.push(socket);
    let open = false;
    const flush = (): void => {
      const chunks = connection.dataToSend();
      for (const chunk of chunks) socket.write(chunk);
    };
    socket.once('connect', flush);
    socket.on('data', (chunk: Buffer) => {
      connection.receiveData(chunk);
      for (let event = connection.nextEvent(); event !== undefined; event = connection.nextEvent()) {
        if (event.type === 'message') {
          if (event.data.length < 16) continue;
          const view = new DataView(event.data.buffer, event.data.byteOffset, 16);
          lastSequence[slot] = view.getFloat64(8, true);
          if (counting) {
            delivered++;
            histogram.recordValue(Math.max(1, Math.round(Number(process.hrtime.bigint()) - view.getFloat64(0, true))));
          }
        } else if (event.type === 'open') {
          open = true;
          resolve();
        } else if (event.type === 'error' && !open) {
          reject(event.error);
        }
      }
      flush();
    });
    socket.on('error', (error) => {
      if (!open) reject(error);
    });
    socket.on('close', () => {
      if (open) lost++;
    });
  });
}

async function subscribeAll(): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < data.count) {
      const slot = next++;
      await subscribe(data.first + slot, slot);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, data.count) }, one));
}

parentPort!.on('message', (message: { count?: boolean; report?: boolean; exit?: boolean }) => {
  if (message.count !== undefined) {
    if (message.count) {
      delivered = 0;
      histogram = createLatencyHistogram();
    }
    counting = message.count;
  } else if (message.report === true) {
    parentPort!.postMessage({ report: { delivered, lost, latency: histogramBuckets(histogram) } });
  } else if (message.exit === true) {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  }
});

function postProgress(): void {
  let lowest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < lastSequence.length; i++) if (lastSequence[i]! < lowest) lowest = lastSequence[i]!;
  parentPort!.postMessage({ progress: lowest });
}

subscribeAll().then(
  () => {
    parentPort!.postMessage({ ready: data.count });
    setInterval(postProgress, PROGRESS_MS).unref();
  },
  (error: unknown) => parentPort!.postMessage({ error: String(error) }),
);
