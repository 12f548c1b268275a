/**
 * A load run, from the main thread: start the worker threads, take them through the phases
 * (connect, warm-up, measure, stop), sample this process's CPU time and, when asked, the
 * server's, and merge the workers' reports into one `BenchResult`.
 */
import { Worker } from 'node:worker_threads';
import { createLatencyHistogram, addBuckets, type LatencySummary, summarizeLatency } from './latency.js';
import type { ErrorTally, LoadCounters, WorkerConfig, WorkerReport } from './load.js';
import type { BenchOptions, LoadMode, MaskMode, MessageType, ReplyMode, SizeWeight } from './options.js';
import { type ProcessSample, sampleProcess } from './proc.js';
import type { WorkerCommand, WorkerData, WorkerMessage } from './worker.js';

/** The result of a run: what `--json` writes (field by field in the command's help and the README). */
export interface BenchResult {
  readonly tool: 'wasmsocket bench';
  /** Version of this format. */
  readonly version: 1;
  readonly url: string;
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  readonly options: {
    readonly connections: number;
    readonly sizes: readonly SizeWeight[];
    readonly messageType: MessageType;
    readonly mode: LoadMode;
    /** What the server was expected to send back (`--mode`). */
    readonly replies: ReplyMode;
    readonly durationSeconds: number;
    readonly warmupSeconds: number;
    readonly workers: number;
    readonly mask: MaskMode;
    readonly subprotocols: readonly string[];
    readonly deflate: boolean;
  };
  /** The measured window, in seconds (as timed, close to `options.durationSeconds`). */
  readonly durationSeconds: number;
  readonly connections: {
    readonly requested: number;
    /** Opening handshakes that succeeded. */
    readonly opened: number;
    readonly failed: number;
    /** Still open when the measurement ended. */
    readonly openAtEnd: number;
    /** The subprotocol and extensions the server agreed to. */
    readonly protocol: string | null;
    readonly extensions: readonly string[];
  };
  /**
   * Messages in the measured window: sent, and received — echoes (round trips) with `replies:
   * 'echo'`, every message with `'count'` — and received per second.
   */
  readonly messages: {
    readonly sent: number;
    readonly received: number;
    readonly perSecond: number;
    readonly sentPerSecond: number;
    /** Open loop: due messages not sent because the connection's backlog was full. */
    readonly skipped: number;
  };
  /** Payload bytes each way in the measured window (MB = 10^6 bytes). */
  readonly throughput: {
    readonly bytesSent: number;
    readonly bytesReceived: number;
    readonly sentMBps: number;
    readonly receivedMBps: number;
  };
  /** Round-trip latency of the echoes received in the window, microseconds, from an HDR histogram. */
  readonly latency: LatencySummary;
  /** Errors of the whole run (connecting included), by kind, each with its first message. */
  readonly errors: { readonly total: number; readonly kinds: Readonly<Record<string, ErrorTally>> };
  /** Close codes of every connection that closed, and how often. */
  readonly closeCodes: Readonly<Record<string, number>>;
  /** The generator's own cost in the window: CPU time of all its threads (process.cpuUsage). */
  readonly generator: {
    readonly workers: number;
    readonly codec: string;
    readonly cpuSeconds: number;
    /** CPU time per round trip (`echo`), or per message sent or received (`count`), microseconds. */
    readonly cpuMicrosPerMessage: number;
    /** CPU time over wall time: 1.0 is one core busy. */
    readonly cpuCores: number;
  };
  /** The server process's cost in the window (with `--server-pid`), else null. */
  readonly server: {
    readonly pid: number;
    readonly cpuSeconds: number;
    readonly cpuMicrosPerMessage: number;
    readonly cpuCores: number;
    /** Resident memory at the end of the window, and its peak so far. */
    readonly rssBytes: number;
    readonly peakRssBytes: number;
  } | null;
}

/** The phase a progress report is about. */
export type BenchPhase = 'connecting' | 'warm-up' | 'measuring' | 'holding' | 'closing';

/** A progress report, about once a second. */
export interface BenchProgress {
  readonly phase: BenchPhase;
  /** Seconds since the load started. */
  readonly elapsedSeconds: number;
  /** Messages received per second since the last report (echoes, or every message with `count`). */
  readonly messagesPerSecond: number;
  readonly errors: number;
}

/** Ways to follow or take part in a run. */
export interface BenchHooks {
  /** Every connection attempt has settled (before any load); awaited. */
  onConnected?(opened: number): void | Promise<void>;
  /** About once a second while loading. */
  onProgress?(progress: BenchProgress): void;
  /** Ends the warm-up or the measurement early (e.g. at Ctrl+C); the result covers the time measured. */
  readonly signal?: AbortSignal;
}

/** How often progress is reported. */
const PROGRESS_INTERVAL_MS = 1000;

/** A worker thread and the messages it sent. */
interface WorkerHandle {
  readonly worker: Worker;
  readonly connected: Promise<Extract<WorkerMessage, { type: 'connected' }>>;
  readonly report: Promise<WorkerReport>;
  send(command: WorkerCommand): void;
}

/**
 * The worker's script. From the sources (run with tsx) it is `worker.ts`, loaded through tsx's
 * loader; from the package build it is the `bench-worker` entry beside the command line.
 */
function spawnWorker(data: WorkerData): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const source = new URL('./worker.ts', here).href;
    // Loader hooks are per thread: register tsx in the worker before importing TypeScript.
    const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(source)}); })`;
    return new Worker(bootstrap, { eval: true, workerData: data });
  }
  return new Worker(new URL(here.endsWith('.cjs') ? './bench-worker.cjs' : './bench-worker.js', here), { workerData: data });
}

function startWorker(data: WorkerData): WorkerHandle {
  const worker = spawnWorker(data);
  let onConnected!: (message: Extract<WorkerMessage, { type: 'connected' }>) => void;
  let onReport!: (report: WorkerReport) => void;
  let onFailure!: (error: Error) => void;
  const connected = new Promise<Extract<WorkerMessage, { type: 'connected' }>>((resolve, reject) => {
    onConnected = resolve;
    onFailure = reject;
  });
  const report = new Promise<WorkerReport>((resolve, reject) => {
    onReport = resolve;
    const previous = onFailure;
    onFailure = (error) => {
      previous(error);
      reject(error);
    };
  });
  // Either may be left unawaited when the other fails first.
  connected.catch(() => {});
  report.catch(() => {});
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'connected') onConnected(message);
    else if (message.type === 'report') onReport(message.report);
    else onFailure(new Error(message.message));
  });
  worker.on('error', (error) => onFailure(error));
  worker.on('exit', (code) => onFailure(new Error(`a load worker exited (${code}) before reporting`)));
  return { worker, connected, report, send: (command) => worker.postMessage(command) };
}

/** `total` split into `parts` shares as even as possible. */
export function splitEvenly(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Wait `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function mergeReports(reports: readonly WorkerReport[]): {
  counters: LoadCounters;
  errors: Record<string, ErrorTally>;
  closeCodes: Record<string, number>;
  latency: LatencySummary;
} {
  const counters: LoadCounters = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, skipped: 0 };
  const errors: Record<string, ErrorTally> = {};
  const closeCodes: Record<string, number> = {};
  const histogram = createLatencyHistogram();
  for (const report of reports) {
    for (const key of Object.keys(counters) as (keyof LoadCounters)[]) counters[key] += report.counters[key];
    for (const [kind, tally] of Object.entries(report.errors)) {
      const existing = errors[kind];
      if (existing === undefined) errors[kind] = { ...tally };
      else existing.count += tally.count;
    }
    for (const [code, count] of Object.entries(report.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + count;
    addBuckets(histogram, report.latency);
  }
  return { counters, errors, closeCodes, latency: summarizeLatency(histogram) };
}

/** Optional server sampling: null without a pid. */
function sampleServer(pid: number | undefined): ProcessSample | null {
  return pid === undefined ? null : sampleProcess(pid);
}

/**
 * Run the load described by `options` and return the merged result. Connection failures are
 * results (counted errors, `connections.failed`), not exceptions.
 *
 * @throws when a worker cannot start (e.g. the wasm codec asked for where it does not run),
 *   or the server process of `serverPid` cannot be read.
 */
export async function runBench(options: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  // Fail before any connection if the server cannot be observed.
  sampleServer(options.serverPid);
  const workerCount = Math.max(1, Math.min(options.workers, options.connections));
  const shares = splitEvenly(options.connections, workerCount);
  const progress = new SharedArrayBuffer(workerCount * 2 * Float64Array.BYTES_PER_ELEMENT);
  const progressView = new Float64Array(progress);
  let firstConnection = 0;
  const handles = shares.map((connectionCount, index) => {
    const config: WorkerConfig = {
      url: options.url.href,
      firstConnection,
      connectionCount,
      totalConnections: options.connections,
      sizes: options.sizes,
      messageType: options.messageType,
      mode: options.mode,
      replies: options.replies ?? 'echo',
      subprotocols: options.subprotocols,
      headers: options.headers,
      deflate: options.deflate,
      mask: options.mask,
      codec: options.codec,
      connectTimeoutMs: options.connectTimeoutMs,
      insecure: options.insecure,
    };
    firstConnection += connectionCount;
    return startWorker({ wasmsocketBenchWorker: true, config, index, progress });
  });
  const broadcast = (command: WorkerCommand): void => handles.forEach((handle) => handle.send(command));

  let phase: BenchPhase = 'connecting';
  let loadStart = performance.now();
  let lastReceived = 0;
  let lastTick = loadStart;
  const ticker = setInterval(() => {
    let received = 0;
    let errors = 0;
    for (let i = 0; i < workerCount; i++) {
      received += progressView[i * 2]!;
      errors += progressView[i * 2 + 1]!;
    }
    const now = performance.now();
    const messagesPerSecond = ((received - lastReceived) * 1000) / Math.max(1, now - lastTick);
    lastReceived = received;
    lastTick = now;
    if (phase !== 'connecting') hooks.onProgress?.({ phase, elapsedSeconds: (now - loadStart) / 1000, messagesPerSecond, errors });
  }, PROGRESS_INTERVAL_MS);

  try {
    const connected = await Promise.all(handles.map((handle) => handle.connected));
    const opened = connected.reduce((sum, message) => sum + message.opened, 0);
    const codec = connected[0]?.codec ?? 'unknown';
    if (opened > 0) await hooks.onConnected?.(opened);

    let windowStart = performance.now();
    let cpuStart = process.cpuUsage();
    let serverStart = sampleServer(options.serverPid);
    if (opened > 0) {
      loadStart = performance.now();
      broadcast({ type: 'start' });
      if (options.mode.kind !== 'idle' && options.warmupMs > 0) {
        phase = 'warm-up';
        await sleep(options.warmupMs, hooks.signal);
      }
      phase = options.mode.kind === 'idle' ? 'holding' : 'measuring';
      broadcast({ type: 'measure' });
      windowStart = performance.now();
      cpuStart = process.cpuUsage();
      serverStart = sampleServer(options.serverPid);
      await sleep(options.durationMs, hooks.signal);
    }
    broadcast({ type: 'stop' });
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const serverEnd = sampleServer(options.serverPid);
    phase = 'closing';
    const reports = await Promise.all(handles.map((handle) => handle.report));
    const merged = mergeReports(reports);
    const { counters } = merged;
    const replies = options.replies ?? 'echo';
    // A round trip is one message each way; counted messages are each one way.
    const messageCount = replies === 'echo' ? counters.received : counters.sent + counters.received;
    const perMessage = (seconds: number): number => (messageCount > 0 ? (seconds * 1e6) / messageCount : 0);
    const generatorCpu = (cpu.user + cpu.system) / 1e6;
    const errorTotal = Object.values(merged.errors).reduce((sum, tally) => sum + tally.count, 0);
    const first = reports.find((report) => report.openAtEnd > 0) ?? reports[0];
    return {
      tool: 'wasmsocket bench',
      version: 1,
      url: options.url.href,
      startedAt,
      options: {
        connections: options.connections,
        sizes: options.sizes,
        messageType: options.messageType,
        mode: options.mode,
        replies,
        durationSeconds: options.durationMs / 1000,
        warmupSeconds: options.warmupMs / 1000,
        workers: workerCount,
        mask: options.mask,
        subprotocols: options.subprotocols,
        deflate: options.deflate,
      },
      durationSeconds: windowSeconds,
      connections: {
        requested: options.connections,
        opened,
        failed: options.connections - opened,
        openAtEnd: reports.reduce((sum, report) => sum + report.openAtEnd, 0),
        protocol: first?.protocol ?? null,
        extensions: first?.extensions ?? [],
      },
      messages: {
        sent: counters.sent,
        received: counters.received,
        perSecond: windowSeconds > 0 ? counters.received / windowSeconds : 0,
        sentPerSecond: windowSeconds > 0 ? counters.sent / windowSeconds : 0,
        skipped: counters.skipped,
      },
      throughput: {
        bytesSent: counters.bytesSent,
        bytesReceived: counters.bytesReceived,
        sentMBps: windowSeconds > 0 ? counters.bytesSent / windowSeconds / 1e6 : 0,
        receivedMBps: windowSeconds > 0 ? counters.bytesReceived / windowSeconds / 1e6 : 0,
      },
      latency: merged.latency,
      errors: { total: errorTotal, kinds: merged.errors },
      closeCodes: merged.closeCodes,
      generator: {
        workers: workerCount,
        codec,
        cpuSeconds: generatorCpu,
        cpuMicrosPerMessage: perMessage(generatorCpu),
        cpuCores: windowSeconds > 0 ? generatorCpu / windowSeconds : 0,
      },
      server:
        serverStart === null || serverEnd === null
          ? null
          : {
              pid: options.serverPid!,
              cpuSeconds: serverEnd.cpuSeconds - serverStart.cpuSeconds,
              cpuMicrosPerMessage: perMessage(serverEnd.cpuSeconds - serverStart.cpuSeconds),
              cpuCores: windowSeconds > 0 ? (serverEnd.cpuSeconds - serverStart.cpuSeconds) / windowSeconds : 0,
              rssBytes: serverEnd.rssBytes,
              peakRssBytes: serverEnd.peakRssBytes,
            },
    };
  } finally {
    clearInterval(ticker);
    await Promise.all(handles.map((handle) => handle.worker.terminate()));
  }
}
