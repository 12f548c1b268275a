/**
 * One fuzzing job in a worker thread (started by run.ts): fuzz a target for a while, or
 * minimize its corpus. Coverage starts before anything under test is imported — V8 gives block
 * counts only to functions compiled after it starts.
 *
 * The worker shares a buffer with run.ts: an execution counter and the input being run, so that
 * when an input hangs the thread, run.ts can terminate it and still save the input.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageTracker } from './engine/coverage.js';

/** What run.ts sends. */
export interface JobData {
  readonly mode: 'fuzz' | 'minimize';
  readonly target: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly maxLength: number;
  readonly corpusDir: string;
  readonly crashesDir: string;
  /** `[executions, current input length]` as Int32, then the current input's bytes. */
  readonly shared: SharedArrayBuffer;
}

const job = workerData as JobData;
const coverage = new CoverageTracker();
coverage.start();
const { Fuzzer } = await import('./engine/fuzzer.js');
const { targetNamed } = await import('./targets/index.js');
const { readInputs, removeInput, writeInput } = await import('./engine/corpus-files.js');

const target = targetNamed(job.target);
const counters = new Int32Array(job.shared, 0, 2);
const current = new Uint8Array(job.shared, 8);

function announce(input: Uint8Array): void {
  const length = Math.min(input.length, current.length);
  current.set(input.subarray(0, length));
  Atomics.store(counters, 1, length);
  Atomics.add(counters, 0, 1);
}

if (job.mode === 'minimize') {
  // Keep, smallest first, only the inputs that reach something the kept ones do not.
  let kept = 0;
  let removed = 0;
  coverage.reset();
  for (const { path, input } of readInputs(job.corpusDir)) {
    announce(input);
    try {
      target.run(input);
    } catch {
      // An input that breaks an oracle is reported by fuzzing; here only its coverage counts.
    }
    if (coverage.collect(true) > 0) kept++;
    else {
      removeInput(path);
      removed++;
    }
  }
  parentPort!.postMessage({ type: 'minimized', kept, removed, features: coverage.size });
} else {
  let corpus = readInputs(job.corpusDir).map(({ input }) => input);
  if (corpus.length === 0) {
    corpus = target.seeds();
    for (const input of corpus) writeInput(job.corpusDir, input);
  }
  const fuzzer = new Fuzzer({
    target,
    coverage,
    seed: job.seed,
    corpus,
    maxLength: job.maxLength,
    beforeExecution: announce,
    onDiscovery: (input) => writeInput(job.corpusDir, input),
    onViolation: (violation) => {
      const path = writeInput(job.crashesDir, violation.input, `${violation.kind}: ${violation.message}`);
      parentPort!.postMessage({ type: 'violation', kind: violation.kind, message: violation.message.split('\n')[0], path });
    },
  });
  const report = fuzzer.run({ durationMs: job.durationMs });
  parentPort!.postMessage({ type: 'report', report: { ...report, violations: report.violations.length } });
}
