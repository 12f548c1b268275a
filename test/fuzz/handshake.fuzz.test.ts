/** CI's short fuzzing run of the `handshake` target (see fuzz/README.md). */
import { describe } from 'vitest';
import { defineFuzzRun } from './fuzz-run.js';

describe('fuzzing', () => {
  defineFuzzRun('handshake', 120_000, 500);
});
