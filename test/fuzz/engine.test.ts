/**
 * The fuzzer itself: coverage feedback finds a bug behind a chain of byte comparisons that
 * blind random search would need billions of tries for; the input layout and the split seeds
 * are reproducible; the frame-aware mutations see frame boundaries.
 */
import { describe, expect, it } from 'vitest';
import { CoverageTracker } from '../../fuzz/engine/coverage.js';
import { Fuzzer } from '../../fuzz/engine/fuzzer.js';
import { frameSpans, Mutator } from '../../fuzz/engine/mutator.js';
import { Random } from '../../fuzz/engine/random.js';
import { chunkBounds, type FuzzTarget, makeInput, OracleViolation, parseInput } from '../../fuzz/targets/types.js';
import { plantedCheck } from './planted-bug.js';

describe('the coverage-guided loop', () => {
  it('finds an input behind four chained byte comparisons, guided by coverage', () => {
    const target: FuzzTarget = {
      name: 'planted',
      description: 'throws on one 4-byte prefix of the data',
      seeds: () => [makeInput(0, 0, 'seed')],
      frameOffset: () => null,
      run: (input) => plantedCheck(parseInput(input).data),
    };
    const coverage = new CoverageTracker((url) => url.includes('planted-bug'));
    const fuzzer = new Fuzzer({ target, coverage, seed: 1 });
    try {
      const report = fuzzer.run({ executions: 200_000 });
      // Blind search: about 2^32 tries. With coverage each matched byte is kept and built on.
      expect(report.violations).toHaveLength(1);
      expect(report.violations[0]!.kind).toBe('contract');
      expect(Buffer.from(parseInput(report.violations[0]!.input).data.subarray(0, 4)).toString('latin1')).toBe('W\u00ff\u0000S');
      // Reaching the fourth comparison takes a kept input for each of the three prefixes
      // before it; whether the violating input itself also counts as a discovery depends on
      // how V8 attributes the block of a throw, which varies between runs.
      expect(report.discovered).toBeGreaterThanOrEqual(3);
    } finally {
      coverage.stop();
    }
  });
});

describe('inputs', () => {
  it('an input is flags, a little-endian split seed and the data', () => {
    const input = makeInput(0xa5, 0x01020304, Uint8Array.of(9, 8));
    expect(Array.from(input)).toEqual([0xa5, 4, 3, 2, 1, 9, 8]);
    expect(parseInput(input)).toEqual({ flags: 0xa5, splitSeed: 0x01020304, data: Uint8Array.of(9, 8) });
  });

  it('split seed 0 is one chunk; others cut every byte exactly once, the same way every time', () => {
    expect(chunkBounds(10, 0)).toEqual([[0, 10]]);
    for (const seed of [1, 2, 3, 4, 0xdeadbeef]) {
      const bounds = chunkBounds(1000, seed);
      expect(bounds).toEqual(chunkBounds(1000, seed));
      expect(bounds[0]![0]).toBe(0);
      expect(bounds[bounds.length - 1]![1]).toBe(1000);
      for (let i = 1; i < bounds.length; i++) expect(bounds[i]![0]).toBe(bounds[i - 1]![1]);
    }
    expect(chunkBounds(50, 4)).toHaveLength(50); // grain 1: single bytes
  });

  it('the same seed gives the same random sequence and the same mutants', () => {
    const draw = (seed: number): number[] => {
      const random = new Random(seed);
      return Array.from({ length: 8 }, () => random.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const base = makeInput(1, 0, Uint8Array.of(0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    const mutants = (seed: number): string[] => {
      const mutator = new Mutator(new Random(seed), 4096, () => 5);
      return Array.from({ length: 20 }, () => Buffer.from(mutator.mutate(base, [base])).toString('hex'));
    };
    expect(mutants(3)).toEqual(mutants(3));
  });

  it('frame spans follow 7-, 16- and 64-bit lengths and the mask key', () => {
    const data = Uint8Array.of(0x81, 0x01, 0x61, 0x82, 0xfe, 0x00, 0x02, 1, 2, 3, 4, 9, 9, 0x89, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0);
    expect(frameSpans(data, 0)).toEqual([
      { start: 0, headerLength: 2, payloadLength: 1 },
      { start: 3, headerLength: 8, payloadLength: 2 },
      { start: 13, headerLength: 10, payloadLength: 0 },
    ]);
  });

  it('an oracle failure carries its kind', () => {
    expect(new OracleViolation('split', 'x').kind).toBe('split');
  });
});
