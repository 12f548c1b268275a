/**
 * The short fuzzing run of CI: one target, a fixed seed and a fixed number of executions, from
 * the committed corpus, asserting that no oracle failed. Coverage starts before the target is
 * imported (V8 gives block counts only to functions compiled after it starts), so each target
 * runs in its own test file, in its own process.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CoverageTracker } from '../../fuzz/engine/coverage.js';
import { readInputs } from '../../fuzz/engine/corpus-files.js';

/** Fixed, so that CI runs the same executions every time. */
export const CI_SEED = 0x5eed_2026;

export function defineFuzzRun(targetName: string, executions: number, minimumFeatures: number): void {
  it(`${targetName}: ${executions} executions from the committed corpus, no oracle failure`, { timeout: 180_000 }, async () => {
    const coverage = new CoverageTracker();
    coverage.start();
    try {
      const { Fuzzer } = await import('../../fuzz/engine/fuzzer.js');
      const { targetNamed } = await import('../../fuzz/targets/index.js');
      const target = targetNamed(targetName);
      const corpus = readInputs(join(import.meta.dirname, '../../fuzz/corpus', targetName)).map(({ input }) => input);
      const fuzzer = new Fuzzer({ target, coverage, seed: CI_SEED, corpus });
      const report = fuzzer.run({ executions });
      const failures = report.violations.map((violation) => `${violation.kind}: ${violation.message}\n  input (hex): ${Buffer.from(violation.input).toString('hex')}`);
      expect(failures).toEqual([]);
      expect(report.executions).toBe(executions);
      // The feedback works: the run reached a substantial part of the code under test.
      expect(report.features).toBeGreaterThanOrEqual(minimumFeatures);
      console.log(`fuzz ${targetName}: ${report.executions} executions in ${Math.round(report.milliseconds)} ms (${report.executionsPerSecond}/s), corpus ${report.corpusSize}, ${report.features} features`);
    } finally {
      coverage.stop();
    }
  });
}
