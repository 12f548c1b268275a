/**
 * The protocol core in Chromium workers exactly as in Node: the protocol and conformance
 * suites (1,600-odd tests: the frame parser, the connection state machine, the opening and
 * closing handshakes, limits, extensions; every codec, wasm included) run unchanged in module
 * workers on the in-browser harness, split between two workers, and must all pass.
 */
import { expect, it } from 'vitest';
import { bundle } from '../../scripts/browser/bundle.js';
import { ContentType } from '../../scripts/browser/page-server.js';
import type { TestOutcome } from './harness/vitest-shim.js';
import { useBrowserSuite } from './harness/browser-suite.js';

const SHIM = new URL('./harness/vitest-shim.ts', import.meta.url).pathname;
const WORKERS = 2;

const browser = useBrowserSuite(async () => ({
  '/protocol-module-worker.js': {
    body: await bundle('test/browser/fixtures/protocol-module-worker.ts', { format: 'esm', alias: { vitest: SHIM }, keepSideEffectImports: true }),
    type: ContentType.js,
  },
}));

// Generous: the worker runs as many tests as the Node suites, on a shared machine.
it('the protocol and conformance suites pass in module workers, as in Node', { timeout: 180_000 }, async () => {
  const suite = browser();
  const shards = await Promise.all(
    Array.from({ length: WORKERS }, (_, index) => suite.runWorker<{ outcomes: TestOutcome[] }>('/protocol-module-worker.js', 'module', { index, count: WORKERS })),
  );
  const outcomes = shards.flatMap((shard) => shard.outcomes);
  expect(outcomes.filter((test) => !test.passed).map((test) => `${test.name}: ${test.error}`)).toEqual([]);
  // Every suite ran: the protocol ones once per codec (portable, wasm, wasm as shipped, each
  // also behind codec-owned memory), the conformance ones per codec and role.
  expect(outcomes.length).toBeGreaterThanOrEqual(1500);
  for (const prefix of ['FrameParser, ', 'frames and close payloads, ', 'Connection, ', 'client ↔ server, ', 'extensions, ']) {
    expect(outcomes.some((test) => test.name.startsWith(`${prefix}wasm codec`)), prefix).toBe(true);
  }
  expect(suite.session.errors).toEqual([]);
});
