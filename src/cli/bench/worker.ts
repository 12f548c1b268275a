/**
 * The load generator's worker thread: runs a `LoadWorker` over its share of the connections,
 * moving through the phases the main thread commands, and publishes its progress counters in
 * shared memory. The main thread's side is `run.ts`.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LoadWorker, type WorkerConfig, type WorkerReport } from './load.js';
import { histogramBuckets } from './latency.js';

/** Commands from the main thread. */
export type WorkerCommand = { readonly type: 'start' } | { readonly type: 'measure' } | { readonly type: 'stop' };

/** Messages to the main thread. */
export type WorkerMessage =
  | { readonly type: 'connected'; readonly opened: number; readonly codec: string }
  | { readonly type: 'report'; readonly report: WorkerReport }
  | { readonly type: 'failed'; readonly message: string };

/** What the main thread passes as `workerData`. */
export interface WorkerData {
  /** Marks a bench worker, so this module starts only in one. */
  readonly wasmsocketBenchWorker: true;
  readonly config: WorkerConfig;
  /** This worker's index, and the shared progress counters: `[received, errors]` per worker. */
  readonly index: number;
  readonly progress: SharedArrayBuffer;
}

/** How often the shared progress counters are refreshed. */
const PROGRESS_INTERVAL_MS = 100;

async function runWorker(data: WorkerData): Promise<void> {
  const port = parentPort!;
  const post = (message: WorkerMessage): void => port.postMessage(message);
  let worker: LoadWorker;
  try {
    worker = new LoadWorker(data.config);
  } catch (error) {
    post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const progress = new Float64Array(data.progress);
  const publish = (): void => {
    const { received, errors } = worker.progress;
    progress[data.index * 2] = received;
    progress[data.index * 2 + 1] = errors;
  };
  const publisher = setInterval(publish, PROGRESS_INTERVAL_MS);
  port.on('message', (command: WorkerCommand) => {
    switch (command.type) {
      case 'start':
        worker.start();
        break;
      case 'measure':
        worker.measure();
        break;
      case 'stop': {
        const counters = worker.stop();
        void worker.finish(counters, histogramBuckets).then((report) => {
          clearInterval(publisher);
          publish();
          post({ type: 'report', report });
          port.close();
        });
        break;
      }
    }
  });
  const opened = await worker.connect();
  publish();
  post({ type: 'connected', opened, codec: worker.codecName });
}

if (!isMainThread && parentPort !== null && (workerData as Partial<WorkerData> | null)?.wasmsocketBenchWorker === true) {
  void runWorker(workerData as WorkerData);
}
