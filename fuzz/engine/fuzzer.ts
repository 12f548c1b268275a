/**
 * The coverage-guided loop: pick a corpus entry, mutate it, run the target's oracles on the
 * result, and keep the result in the corpus when it reached code no earlier input reached
 * (`CoverageTracker`). Oracle failures are collected with the input that caused them.
 *
 * Reading coverage costs far more than most executions, so mutants run in batches with one
 * coverage read per batch; only a batch that found something is replayed input by input to
 * learn which input did. Batches grow while nothing new turns up (up to `maxBatch`) and shrink
 * to one when something does.
 */
import type { FuzzTarget } from '../targets/types.js';
import { OracleViolation, type ViolationKind } from '../targets/types.js';
import type { CoverageTracker } from './coverage.js';
import { Mutator } from './mutator.js';
import { Random } from './random.js';

/** An oracle failure and the input that caused it. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  readonly input: Uint8Array;
}

/** How a run went. */
export interface FuzzReport {
  readonly target: string;
  readonly executions: number;
  readonly milliseconds: number;
  readonly executionsPerSecond: number;
  /** Corpus entries at the end (initial ones included). */
  readonly corpusSize: number;
  /** Inputs added to the corpus during this run. */
  readonly discovered: number;
  /** Coverage features reached. */
  readonly features: number;
  /** Distinct violations (one input each). */
  readonly violations: readonly Violation[];
}

export interface FuzzerOptions {
  readonly target: FuzzTarget;
  readonly coverage: CoverageTracker;
  /** Seed of the mutation sequence. */
  readonly seed: number;
  /** Corpus to start from; the target's seeds when empty. */
  readonly corpus?: readonly Uint8Array[];
  /** Largest input produced (bytes, header included); default 4096. */
  readonly maxLength?: number;
  /** An execution slower than this many milliseconds is a violation; default 2000. */
  readonly slowMs?: number;
  /** Most mutants per coverage read; default 128. */
  readonly maxBatch?: number;
  /** Called with each input added to the corpus. */
  readonly onDiscovery?: (input: Uint8Array) => void;
  /** Called with each new distinct violation. */
  readonly onViolation?: (violation: Violation) => void;
  /** Called before each execution with the input (a watchdog keeps it to report a hang). */
  readonly beforeExecution?: (input: Uint8Array) => void;
}

/** The fuzzing loop for one target. */
export class Fuzzer {
  readonly #options: FuzzerOptions;
  readonly #random: Random;
  readonly #mutator: Mutator;
  readonly #corpus: Uint8Array[] = [];
  readonly #violations = new Map<string, Violation>();
  #executions = 0;
  #discovered = 0;
  #started = false;

  constructor(options: FuzzerOptions) {
    this.#options = options;
    this.#random = new Random(options.seed);
    this.#mutator = new Mutator(this.#random, options.maxLength ?? 4096, (input) => options.target.frameOffset(input));
  }

  /** The corpus so far. */
  get corpus(): readonly Uint8Array[] {
    return this.#corpus;
  }

  /**
   * Run until `executions` mutants have run or `durationMs` has passed (whichever is given and
   * comes first). The initial corpus is run first (those executions count too).
   */
  run(limits: { readonly executions?: number; readonly durationMs?: number }): FuzzReport {
    const started = performance.now();
    const deadline = limits.durationMs === undefined ? Number.POSITIVE_INFINITY : started + limits.durationMs;
    const budget = limits.executions ?? Number.POSITIVE_INFINITY;
    const coverage = this.#options.coverage;
    coverage.start();
    if (!this.#started) {
      this.#started = true;
      const initial = this.#options.corpus !== undefined && this.#options.corpus.length > 0 ? this.#options.corpus : this.#options.target.seeds();
      coverage.reset();
      for (const input of initial) {
        this.#execute(input);
        coverage.collect(true);
        this.#corpus.push(input);
      }
    }
    const maxBatch = this.#options.maxBatch ?? 128;
    let batchSize = 1;
    const batch: Uint8Array[] = [];
    // Every coverage read also resets the counts, so each batch (and each replayed input)
    // starts from zero without a separate reset.
    coverage.reset();
    while (this.#executions < budget && performance.now() < deadline) {
      batch.length = 0;
      const size = Math.min(batchSize, budget - this.#executions);
      for (let i = 0; i < size; i++) {
        const input = this.#mutator.mutate(this.#pickBase(), this.#corpus);
        batch.push(input);
        this.#execute(input);
      }
      if (coverage.collect(false) === 0) {
        batchSize = Math.min(maxBatch, batchSize * 2);
        continue;
      }
      batchSize = 1;
      // Something in the batch reached new code: find which inputs did, one at a time.
      for (const input of batch) {
        this.#execute(input, false);
        if (coverage.collect(true) > 0) {
          this.#corpus.push(input);
          this.#discovered++;
          this.#options.onDiscovery?.(input);
        }
      }
    }
    const milliseconds = performance.now() - started;
    return {
      target: this.#options.target.name,
      executions: this.#executions,
      milliseconds,
      executionsPerSecond: Math.round((this.#executions / milliseconds) * 1000),
      corpusSize: this.#corpus.length,
      discovered: this.#discovered,
      features: coverage.size,
      violations: [...this.#violations.values()],
    };
  }

  /** A corpus entry to mutate: usually any, sometimes one of the most recent finds. */
  #pickBase(): Uint8Array {
    const corpus = this.#corpus;
    if (corpus.length === 0) return new Uint8Array(0);
    const random = this.#random;
    if (random.chance(1, 3)) return corpus[corpus.length - 1 - random.below(Math.min(16, corpus.length))]!;
    return corpus[random.below(corpus.length)]!;
  }

  /** Run the target's oracles on `input`; a failure is recorded (once per kind and message). */
  #execute(input: Uint8Array, count = true): void {
    if (count) this.#executions++;
    this.#options.beforeExecution?.(input);
    const started = performance.now();
    let violation: Violation | null = null;
    try {
      this.#options.target.run(input);
    } catch (error) {
      violation =
        error instanceof OracleViolation
          ? { kind: error.kind, message: error.message, input }
          : { kind: 'exception', message: `the target threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, input };
    }
    const elapsed = performance.now() - started;
    const slowMs = this.#options.slowMs ?? 2000;
    if (violation === null && elapsed > slowMs) {
      // A busy machine can stall any execution once: only an input that is slow again counts.
      const again = performance.now();
      try {
        this.#options.target.run(input);
      } catch {
        // Its outcome was seen above; only the time matters here.
      }
      const second = performance.now() - again;
      if (second > slowMs) violation = { kind: 'slow', message: `an execution took ${Math.round(elapsed)} ms, and ${Math.round(second)} ms again (bound: ${slowMs} ms)`, input };
    }
    if (violation === null) return;
    const signature = `${violation.kind}:${violation.message.split('\n')[0]!.replace(/\d+/g, 'N')}`;
    if (this.#violations.has(signature)) return;
    this.#violations.set(signature, violation);
    this.#options.onViolation?.(violation);
  }
}
