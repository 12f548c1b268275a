/**
 * Every committed fuzz input replayed through its target's oracles: the corpus (fuzz/corpus/,
 * inputs that each reached new code) and the regressions (fuzz/regressions/, inputs that once
 * broke an oracle). A change that breaks any of them fails here, without fuzzing.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../fuzz/engine/corpus-files.js';
import { targets } from '../../fuzz/targets/index.js';

const fuzzRoot = join(import.meta.dirname, '../../fuzz');

describe.each(targets.map((target) => [target.name, target] as const))('fuzz target %s', (name, target) => {
  const corpus = readInputs(join(fuzzRoot, 'corpus', name));
  const regressions = readInputs(join(fuzzRoot, 'regressions', name));

  it('has a committed corpus', () => {
    expect(corpus.length).toBeGreaterThan(target.seeds().length / 2);
  });

  it.each([...corpus, ...regressions].map(({ path, input }) => [path.slice(fuzzRoot.length + 1), input] as const))('%s passes every oracle', (_path, input) => {
    expect(() => target.run(input)).not.toThrow();
  });

  it('its seeds pass every oracle', () => {
    for (const seed of target.seeds()) expect(() => target.run(seed)).not.toThrow();
  });
});
