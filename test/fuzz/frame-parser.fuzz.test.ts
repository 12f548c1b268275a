/** CI's short fuzzing run of the `frame-parser` target (see fuzz/README.md). */
import { describe } from 'vitest';
import { defineFuzzRun } from './fuzz-run.js';

describe('fuzzing', () => {
  defineFuzzRun('frame-parser', 120_000, 300);
});
