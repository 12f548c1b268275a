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

/** Time every case, one at a time, and return the medians in the cases' order. */
export async function measure(cases: readonly BenchCase[], options: MeasureOptions, onResult?: (r: BenchResult) => void): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const c of cases) {
    const bench = new Bench({ time: options.timeMs, warmupTime: options.warmupMs, warmup: true, iterations: 16, retainSamples: false });
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
    const medianMs = result.latency.p50;
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
      spreadPercent: medianMs > 0 ? (result.latency.mad / medianMs) * 100 : 0,
      samples: result.latency.samplesCount,
    };
    results.push(r);
    onResult?.(r);
  }
  return results;
}
