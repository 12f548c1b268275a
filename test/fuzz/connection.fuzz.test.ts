/** CI's short fuzzing run of the `connection` target (see fuzz/README.md). */
import { describe } from 'vitest';
import { defineFuzzRun } from './fuzz-run.js';

describe('fuzzing', () => {
  defineFuzzRun('connection', 30_000, 1000);
});
