/**
 * The long fuzzing run (`npm run fuzz`): every target (or those named) fuzzed in worker
 * threads for a total wall time, new coverage saved to fuzz/corpus/<target>/, failures to
 * fuzz/crashes/<target>/, then each corpus minimized. A watchdog terminates a worker whose
 * execution counter stops moving (an input that hangs) and saves that input as a crash.
 *
 *   tsx fuzz/run.ts [--minutes 10] [--target frame-parser,handshake,connection] [--seed N]
 *                   [--jobs 2] [--max-length 4096] [--hang-seconds 10] [--minimize-only]
 *
 * Exit code 1 when any oracle failed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { writeInput } from './engine/corpus-files.js';
import type { JobData } from './worker.js';

const root = dirname(fileURLToPath(import.meta.url));
const TARGET_NAMES = ['frame-parser', 'handshake', 'connection'];

interface Options {
  minutes: number;
  targets: string[];
  seed: number;
  jobs: number;
  maxLength: number;
  hangSeconds: number;
  minimizeOnly: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { minutes: 10, targets: TARGET_NAMES, seed: Date.now() >>> 0, jobs: 2, maxLength: 4096, hangSeconds: 10, minimizeOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    const number = (): number => {
      const parsed = Number(value());
      if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${flag} needs a non-negative number`);
      return parsed;
    };
    switch (flag) {
      case '--minutes': options.minutes = number(); break;
      case '--target': options.targets = value().split(','); break;
      case '--seed': options.seed = number() >>> 0; break;
      case '--jobs': options.jobs = Math.max(1, Math.floor(number())); break;
      case '--max-length': options.maxLength = Math.max(16, Math.floor(number())); break;
      case '--hang-seconds': options.hangSeconds = Math.max(1, number()); break;
      case '--minimize-only': options.minimizeOnly = true; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  for (const target of options.targets) if (!TARGET_NAMES.includes(target)) throw new Error(`unknown target ${target}: one of ${TARGET_NAMES.join(', ')}`);
  return options;
}

interface JobResult {
  readonly target: string;
  readonly report?: { executions: number; milliseconds: number; executionsPerSecond: number; corpusSize: number; discovered: number; features: number; violations: number };
  readonly minimized?: { kept: number; removed: number; features: number };
  readonly violations: number;
}

/** Run one job in a worker; restart it after a hang until its time is used. */
async function runJob(mode: JobData['mode'], target: string, options: Options, durationMs: number, seed: number): Promise<JobResult> {
  let violations = 0;
  let remaining = durationMs;
  let attempt = 0;
  for (;;) {
    const shared = new SharedArrayBuffer(8 + options.maxLength);
    const data: JobData = {
      mode,
      target,
      seed: seed + attempt,
      durationMs: remaining,
      maxLength: options.maxLength,
      corpusDir: join(root, 'corpus', target),
      crashesDir: join(root, 'crashes', target),
      shared,
    };
    const started = Date.now();
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data });
    const counters = new Int32Array(shared, 0, 2);
    const outcome = await new Promise<{ hung: boolean; result?: JobResult }>((resolve, reject) => {
      let lastCount = -1;
      let lastMove = Date.now();
      let result: JobResult | undefined;
      const watchdog = setInterval(() => {
        const count = Atomics.load(counters, 0);
        if (count !== lastCount) {
          lastCount = count;
          lastMove = Date.now();
        } else if (Date.now() - lastMove > options.hangSeconds * 1000) {
          clearInterval(watchdog);
          const input = new Uint8Array(shared, 8, Atomics.load(counters, 1)).slice();
          const path = writeInput(join(root, 'crashes', target), input, `slow: one execution ran for more than ${options.hangSeconds} s (hang)`);
          console.log(`[${target}] HANG: an input ran for more than ${options.hangSeconds} s; saved to ${path}`);
          violations++;
          void worker.terminate().then(() => resolve({ hung: true }));
        }
      }, 250);
      worker.on('message', (message: { type: string; [key: string]: unknown }) => {
        if (message.type === 'violation') {
          violations++;
          console.log(`[${target}] ${String(message.kind).toUpperCase()}: ${String(message.message)}\n    saved to ${String(message.path)}`);
        } else if (message.type === 'report') {
          result = { target, report: message.report as JobResult['report'], violations };
        } else if (message.type === 'minimized') {
          result = { target, minimized: message as unknown as JobResult['minimized'], violations };
        }
      });
      worker.on('error', (error) => {
        clearInterval(watchdog);
        reject(error);
      });
      worker.on('exit', () => {
        clearInterval(watchdog);
        resolve({ hung: false, result });
      });
    });
    if (!outcome.hung) return outcome.result ?? { target, violations };
    remaining -= Date.now() - started;
    attempt++;
    if (mode === 'minimize' || remaining < 1000) return { target, violations };
  }
}

/** Run `work` over `items` with at most `jobs` at once. */
async function pool<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const runners = Array.from({ length: Math.min(jobs, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(runners);
  return results;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let violations = 0;
  if (!options.minimizeOnly) {
    // Every target gets an equal share of the wall time, `jobs` of them at once.
    const rounds = Math.ceil(options.targets.length / options.jobs);
    const share = (options.minutes * 60_000) / rounds;
    console.log(`fuzzing ${options.targets.join(', ')} for ${options.minutes} min (${Math.round(share / 1000)} s each, ${options.jobs} at once), seed ${options.seed}`);
    const results = await pool(options.targets, options.jobs, (target) => runJob('fuzz', target, options, share, options.seed));
    for (const result of results) {
      violations += result.violations;
      const report = result.report;
      if (report !== undefined) {
        console.log(`${result.target}: ${report.executions} executions, ${report.executionsPerSecond}/s, corpus ${report.corpusSize} (+${report.discovered}), ${report.features} features, ${result.violations} failures`);
      }
    }
  }
  const minimized = await pool(options.targets, options.jobs, (target) => runJob('minimize', target, options, 0, options.seed));
  for (const result of minimized) {
    if (result.minimized !== undefined) console.log(`${result.target}: corpus minimized to ${result.minimized.kept} inputs (${result.minimized.removed} removed), ${result.minimized.features} features`);
  }
  if (violations > 0) {
    console.log(`${violations} oracle failures: see fuzz/crashes/`);
    process.exitCode = 1;
  }
}

await main();
