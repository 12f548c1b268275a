import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report is what .ci/run counts from.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
    coverage: {
      enabled: true,
      provider: 'v8',
      // Only the library's own sources; tests, benches and scripts are not measured.
      include: ['src/**/*.ts'],
      // The inlined wasm modules are one base64 string each: nothing to cover, and remapping
      // them would only cost time.
      exclude: ['src/codec/wasm/*.generated.*'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: 'coverage',
    },
  },
});
