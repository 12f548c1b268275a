/**
 * Coverage feedback from V8 itself: precise block coverage through the inspector protocol
 * (`Profiler.startPreciseCoverage` with `callCount` and `detailed`), the data behind
 * `NODE_V8_COVERAGE` and c8. Each `Profiler.takePreciseCoverage` returns the blocks executed
 * since the previous one and resets the counters, so the coverage of one execution is what one
 * take returns after it.
 *
 * A feature is a (function, block range) pair of the project's own source that ran at least
 * once. An input is interesting when it reaches a feature no earlier input reached — the
 * feedback libFuzzer's edge coverage gives, at the granularity V8 instruments.
 *
 * V8 does not list every block in every take: a nested block whose count equals its parent's
 * is left out and neighbouring ranges with equal counts are merged, so the ranges listed, and
 * even their boundaries, depend on the counts. What is stable is which source positions ran:
 * a function's range minus its count-0 ranges. So each function keeps the positions that have
 * ever run (an interval set) and every boundary it was ever reported with; a take is new when
 * it ran a position that never ran before, and a feature is a (function, block) pair where a
 * block lies between two neighbouring boundaries.
 *
 * Sessions connected to the same thread answer synchronously, which is what lets one
 * execution's coverage be read right after it.
 */
import { Session } from 'node:inspector';

interface CoverageRange {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}
interface FunctionCoverage {
  readonly functionName: string;
  readonly ranges: readonly CoverageRange[];
}
interface ScriptCoverage {
  readonly url: string;
  readonly functions: readonly FunctionCoverage[];
}

/** Which scripts count: by default the project's `src/` (not the fuzzer, tests or dependencies). */
export type ScriptFilter = (url: string) => boolean;

export const projectSources: ScriptFilter = (url) => url.includes('/src/') && !url.includes('/node_modules/');

/** What is known of one function: the source intervals that ran, and every boundary reported. */
interface FunctionCoverageState {
  /** Disjoint `[start, end)` intervals, sorted. */
  covered: Array<readonly [number, number]>;
  readonly boundaries: Set<number>;
}

/** `[start, end)` minus the count-0 ranges (disjoint: V8 lists no range inside one with the same count). */
function ranIn(start: number, end: number, zeros: readonly CoverageRange[]): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  let at = start;
  for (const zero of zeros) {
    if (zero.startOffset > at) out.push([at, zero.startOffset]);
    at = Math.max(at, zero.endOffset);
  }
  if (at < end) out.push([at, end]);
  return out;
}

/** Whether `[start, end)` lies inside one interval of the sorted, disjoint `covered`. */
function isCovered(covered: ReadonlyArray<readonly [number, number]>, start: number, end: number): boolean {
  let low = 0;
  let high = covered.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [from, to] = covered[middle]!;
    if (to <= start) low = middle + 1;
    else if (from > start) high = middle - 1;
    else return end <= to;
  }
  return false;
}

/** `covered` ∪ `added`, sorted and merged. */
function union(covered: ReadonlyArray<readonly [number, number]>, added: ReadonlyArray<readonly [number, number]>): Array<readonly [number, number]> {
  const all = [...covered, ...added].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [start, end] of all) {
    const last = out[out.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/** Collects coverage features of the current thread. One per thread: V8 has one coverage mode. */
export class CoverageTracker {
  readonly #session = new Session();
  readonly #filter: ScriptFilter;
  readonly #functions = new Map<string, FunctionCoverageState>();
  #started = false;

  constructor(filter: ScriptFilter = projectSources) {
    this.#filter = filter;
  }

  /** Features reached so far: (function, block) pairs that ran, blocks as the boundaries seen delimit them. */
  get size(): number {
    let features = 0;
    for (const state of this.#functions.values()) {
      const boundaries = [...state.boundaries].sort((a, b) => a - b);
      for (let i = 0; i + 1 < boundaries.length; i++) if (isCovered(state.covered, boundaries[i]!, boundaries[i + 1]!)) features++;
    }
    return features;
  }

  /** Turn on block coverage with counts, and discard what ran before. */
  start(): void {
    if (this.#started) return;
    this.#session.connect();
    this.#post('Profiler.enable');
    this.#post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    this.#started = true;
    this.#take();
  }

  stop(): void {
    if (!this.#started) return;
    this.#post('Profiler.stopPreciseCoverage');
    this.#post('Profiler.disable');
    this.#session.disconnect();
    this.#started = false;
  }

  /** Discard the counts of what ran since the last take (work that is not an execution). */
  reset(): void {
    this.#take();
  }

  /**
   * How many source intervals ran since the last take that never ran before (every take also
   * resets the counts); 0 when nothing new ran. With `commit` they are remembered (the input
   * that ran them joins the corpus); without, they are only counted.
   */
  collect(commit: boolean): number {
    let fresh = 0;
    for (const script of this.#take()) {
      if (!this.#filter(script.url)) continue;
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        if (ranges.length === 0 || ranges[0]!.count === 0) continue;
        const key = `${script.url}#${ranges[0]!.startOffset}`;
        let state = this.#functions.get(key);
        if (state === undefined) {
          state = { covered: [], boundaries: new Set() };
          if (commit) this.#functions.set(key, state);
        }
        const zeros: CoverageRange[] = [];
        for (let i = 1; i < ranges.length; i++) if (ranges[i]!.count === 0) zeros.push(ranges[i]!);
        zeros.sort((a, b) => a.startOffset - b.startOffset);
        const ran = ranIn(ranges[0]!.startOffset, ranges[0]!.endOffset, zeros);
        const added = ran.filter(([start, end]) => !isCovered(state.covered, start, end));
        fresh += added.length;
        if (!commit) continue;
        for (const range of ranges) {
          state.boundaries.add(range.startOffset);
          state.boundaries.add(range.endOffset);
        }
        if (added.length > 0) state.covered = union(state.covered, added);
      }
    }
    return fresh;
  }

  #take(): readonly ScriptCoverage[] {
    let result: readonly ScriptCoverage[] = [];
    this.#post('Profiler.takePreciseCoverage', undefined, (value) => {
      result = (value as { result: ScriptCoverage[] }).result;
    });
    return result;
  }

  #post(method: string, params?: object, onResult?: (value: unknown) => void): void {
    let failure: Error | null = null;
    this.#session.post(method, params, (error, value) => {
      if (error) failure = error;
      else onResult?.(value);
    });
    if (failure !== null) throw failure;
  }
}
