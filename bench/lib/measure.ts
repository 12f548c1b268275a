/**
 * Running benchmark cases with tinybench and keeping what the reports need: the median time
 * of one iteration, turned into a median per operation and a throughput.
 */
import { Bench } from 'tinybench';

/** One thing to time: `run` performs `opsPerIteration` operations of `bytesPerOp` bytes each. */
export interface BenchCase {
  /** Section of the report, e.g. `mask`. */
  readonly group: string;
  /** Row of the report, e.g. `64 KiB` or `ASCII 1 KiB`. */
  readonly row: string;
  /** Column of the report: what is measured, e.g. `wasm` or `bufferutil`. */
  readonly subject: string;
  readonly bytesPerOp: number;
  readonly opsPerIteration: number;
  /** Units counted per operation when the report is in items/s (e.g. frames in a chunk). */
  readonly itemsPerOp?: number;
  readonly run: () => unknown;
  /** Runs before each iteration, untimed (e.g. to restore bytes that `run` unmasked in place). */
  readonly beforeEach?: () => void;
  /** Runs once before the case's warm-up and again before its timed iterations, untimed. */
  readonly beforeAll?: () => void;
}

/** The measured median of a case. */
export interface BenchResult {
  readonly group: string;
  readonly row: string;
  readonly subject: string;
  readonly bytesPerOp: number;
  readonly itemsPerOp: number;
  /** Median nanoseconds per operation. */
  readonly nsPerOp: number;
  /** Bytes per second at the median, in MB/s (10^6 bytes). */
  readonly mbPerSecond: number;
  /** Items per second at the median (frames/s for parsing). */
  readonly itemsPerSecond: number;
  /** Relative median absolute deviation of the iteration times, in percent. */
  readonly spreadPercent: number;
  readonly samples: number;
}

export interface MeasureOptions {
  /** Milliseconds of timed iterations per case. */
  readonly timeMs: number;
  /** Milliseconds of warm-up per case. */
  readonly warmupMs: number;
  /** Alternating rounds the cases of a row share `timeMs` in (default 1). */
  readonly rounds?: number;
}

/** Batch size so that one iteration takes about `targetBytes` of work (timer overhead stays small). */
export function batchFor(bytesPerOp: number, targetBytes = 64 * 1024, max = 4096): number {
  return Math.max(1, Math.min(max, Math.ceil(targetBytes / Math.max(bytesPerOp, 1))));
}

/**
 * A function that calls `run` `ops` times. Compiled afresh for each case, so that its call
 * site sees one callee only: closures made by one shared loop would make that call site
 * megamorphic and add ~10 ns to every operation measured through it.
 */
function batchLoop(run: () => unknown, ops: number): () => void {
  if (ops === 1) return run;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a distinct function per case, on purpose
  return new Function('run', 'ops', 'return function batch() { for (let i = 0; i < ops; i++) run(); };')(run, ops) as () => void;
}

/** One timed run of a case with tinybench: the median and median absolute deviation of its iterations (ms). */
async function timeCase(c: BenchCase, timeMs: number, warmupMs: number): Promise<{ medianMs: number; madMs: number; samples: number }> {
  const bench = new Bench({ time: timeMs, warmupTime: warmupMs, warmup: warmupMs > 0, iterations: 16, retainSamples: false });
  bench.add(`${c.group} ${c.row} ${c.subject}`, batchLoop(c.run, c.opsPerIteration), {
    // Declared synchronous: otherwise tinybench calls the function once, outside the hooks, to find out.
    async: false,
    ...(c.beforeEach ? { beforeEach: c.beforeEach } : {}),
    ...(c.beforeAll ? { beforeAll: c.beforeAll } : {}),
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') {
    throw new Error(`benchmark ${c.group} / ${c.row} / ${c.subject} did not complete: ${result.state === 'errored' ? String(result.error) : result.state}`);
  }
  return { medianMs: result.latency.p50, madMs: result.latency.mad, samples: result.latency.samplesCount };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * Time every case and return the medians in the cases' order. The cases of one row (same
 * group and row, next to each other) are timed in `rounds` alternating rounds of
 * `timeMs / rounds` each, the warm-up in the first only, and each case's median is the
 * median of its rounds: on a shared machine the load drifts, and alternating lets every
 * subject of a row see the same drift.
 */
export async function measure(cases: readonly BenchCase[], options: MeasureOptions, onResult?: (r: BenchResult) => void): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const rounds = Math.max(1, options.rounds ?? 1);
  for (let first = 0; first < cases.length; ) {
    let end = first + 1;
    while (end < cases.length && cases[end]!.group === cases[first]!.group && cases[end]!.row === cases[first]!.row) end++;
    const row = cases.slice(first, end);
    const timings = row.map(() => [] as Array<{ medianMs: number; madMs: number; samples: number }>);
    for (let round = 0; round < rounds; round++) {
      for (const [i, c] of row.entries()) timings[i]!.push(await timeCase(c, options.timeMs / rounds, round === 0 ? options.warmupMs : 0));
    }
    for (const [i, c] of row.entries()) {
      const medianMs = median(timings[i]!.map((t) => t.medianMs));
      const madMs = median(timings[i]!.map((t) => t.madMs));
      const nsPerOp = (medianMs * 1e6) / c.opsPerIteration;
      const itemsPerOp = c.itemsPerOp ?? 1;
      const r: BenchResult = {
        group: c.group,
        row: c.row,
        subject: c.subject,
        bytesPerOp: c.bytesPerOp,
        itemsPerOp,
        nsPerOp,
        mbPerSecond: c.bytesPerOp / nsPerOp * 1e3,
        itemsPerSecond: (itemsPerOp / nsPerOp) * 1e9,
        spreadPercent: medianMs > 0 ? (madMs / medianMs) * 100 : 0,
        samples: timings[i]!.reduce((n, t) => n + t.samples, 0),
      };
      results.push(r);
      onResult?.(r);
    }
    first = end;
  }
  return results;
}

/** How long to run a warm-up, and when its throughput counts as settled. */
export interface WarmUpOptions {
  /** Run at least this long (ms), whatever the throughput does. */
  readonly minMs: number;
  /** Stop after this long (ms) even if the throughput still improves. */
  readonly maxMs: number;
  /** Throughput is measured over windows of this many ms. */
  readonly windowMs: number;
  /** Settled once the best window has not been beaten... */
  readonly windows: number;
  /** ...by more than this fraction for this many windows. */
  readonly tolerance: number;
}

/** What a warm-up did, for the report. */
export interface WarmUpReport {
  readonly elapsedMs: number;
  readonly windows: number;
  /** Whether the throughput settled (false: it stopped at maxMs). */
  readonly settled: boolean;
  /** The best window's rate, in calls of `work` per second. */
  readonly callsPerSecond: number;
}

export const DEFAULT_WARM_UP: WarmUpOptions = { minMs: 2000, maxMs: 10_000, windowMs: 100, windows: 10, tolerance: 0.05 };

/**
 * Call `work` until V8 has tiered it up: for at least `minMs`, then until its throughput
 * stops improving. V8 first runs wasm with its baseline compiler (Liftoff) and swaps in
 * optimized code (TurboFan) compiled on a background thread; on a busy machine that can take
 * seconds, and a case measured before it measures the baseline code. The best window is the
 * yardstick, not the spread of the last ones: on a shared machine the windows spread widely
 * whatever the code. Yields to the event loop between windows.
 */
export async function warmUpUntilSettled(work: () => void, options: WarmUpOptions = DEFAULT_WARM_UP): Promise<WarmUpReport> {
  const started = performance.now();
  let windows = 0;
  let best = 0;
  let bestAt = 0;
  for (;;) {
    const windowStart = performance.now();
    let calls = 0;
    let now = windowStart;
    do {
      work();
      calls++;
      now = performance.now();
    } while (now - windowStart < options.windowMs);
    windows++;
    const rate = (calls / (now - windowStart)) * 1000;
    if (rate > best * (1 + options.tolerance)) bestAt = windows;
    best = Math.max(best, rate);
    const elapsedMs = now - started;
    const settled = windows - bestAt >= options.windows;
    if ((elapsedMs >= options.minMs && settled) || elapsedMs >= options.maxMs) {
      return { elapsedMs, windows, settled, callsPerSecond: best };
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** One line for a report: what the warm-up ran. */
export function describeWarmUp(what: string, report: WarmUpReport, options: WarmUpOptions = DEFAULT_WARM_UP): string {
  const verdict = report.settled
    ? `until its best ${options.windowMs} ms window had not been beaten by ${options.tolerance * 100} % for ${options.windows} windows`
    : `stopped at ${options.maxMs} ms with the throughput still improving`;
  return `tier-up warm-up of ${what}: ${(report.elapsedMs / 1000).toFixed(1)} s (at least ${options.minMs} ms), ${verdict}`;
}
