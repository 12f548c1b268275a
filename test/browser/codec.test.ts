/**
 * The codec in Chromium: loading from a plain `<script type="module">` (asynchronous
 * compilation only, portable until wasm takes over), in a module worker (the contract suite,
 * unchanged, against every codec; the fixed vectors byte for byte as in Node), in a classic
 * worker through `importScripts` of the classic build, and the portable fallback where
 * WebAssembly or its SIMD instructions are missing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bundle, bundleWebClassicScript, bundleWebModule } from '../../scripts/browser/bundle.js';
import { ContentType, modulePage } from '../../scripts/browser/page-server.js';
import { createCodec, portableCodec } from '../../src/codec/index.js';
import type { TestOutcome } from './harness/vitest-shim.js';
import { useBrowserSuite } from './harness/browser-suite.js';
import { type CodecVectorResults, runCodecVectors } from './fixtures/codec-vectors.js';

const SHIM = new URL('./harness/vitest-shim.ts', import.meta.url).pathname;

/** Counts every way the page could compile or instantiate WebAssembly, installed before any script runs. */
const COUNT_WASM_CALLS = `(() => {
  const calls = { syncModule: 0, syncInstance: 0, compile: 0, instantiate: 0 };
  globalThis.wasmCalls = calls;
  const W = WebAssembly;
  W.Module = new Proxy(W.Module, { construct(target, args, newTarget) { calls.syncModule++; return Reflect.construct(target, args, newTarget); } });
  W.Instance = new Proxy(W.Instance, { construct(target, args, newTarget) { calls.syncInstance++; return Reflect.construct(target, args, newTarget); } });
  const compile = W.compile;
  W.compile = function (...args) { calls.compile++; return compile.apply(this, args); };
  const instantiate = W.instantiate;
  W.instantiate = function (...args) { calls.instantiate++; return instantiate.apply(this, args); };
})();`;

const browser = useBrowserSuite(async () => {
  const [moduleBuild, classicBuild, moduleWorker, classicWorker] = await Promise.all([
    bundleWebModule(),
    bundleWebClassicScript(),
    bundle('test/browser/fixtures/codec-module-worker.ts', { format: 'esm', alias: { vitest: SHIM } }),
    bundle('test/browser/fixtures/codec-classic-worker.ts', { format: 'iife' }),
  ]);
  return {
    '/wasmsocket.js': { body: moduleBuild, type: ContentType.js },
    '/wasmsocket.iife.js': { body: classicBuild, type: ContentType.js },
    '/codec-module-worker.js': { body: moduleWorker, type: ContentType.js },
    '/codec-classic-worker.js': { body: classicWorker, type: ContentType.js },
    '/main.html': modulePage(
      'codec on the main thread',
      `import { createWebCodec } from '/wasmsocket.js';
const codec = createWebCodec();
globalThis.codecProbe = { before: codec.implementation, codec };`,
    ),
  };
});

let nodeVectors: string;

beforeAll(async () => {
  const nodePortable = JSON.stringify(runCodecVectors(portableCodec));
  const nodeWasm = JSON.stringify(runCodecVectors(await createCodec({ implementation: 'wasm' })));
  // The reference: Node's two codecs agree (the parity suites prove much more).
  expect(nodeWasm).toBe(nodePortable);
  nodeVectors = nodePortable;
});

/** The first place two vector results differ, for a readable failure. */
function firstDifference(actual: string, expected: string): string {
  const a = JSON.parse(actual) as CodecVectorResults;
  const b = JSON.parse(expected) as CodecVectorResults;
  for (const group of Object.keys(b) as (keyof CodecVectorResults)[]) {
    for (const name of Object.keys(b[group])) {
      const x = JSON.stringify((a[group] as Record<string, unknown>)[name]);
      const y = JSON.stringify((b[group] as Record<string, unknown>)[name]);
      if (x !== y) return `${group} / ${name}: ${x?.slice(0, 300)} ≠ ${y.slice(0, 300)}`;
    }
  }
  return 'none';
}

function expectSameAsNode(vectors: string): void {
  expect(vectors === nodeVectors, firstDifference(vectors, nodeVectors)).toBe(true);
}

describe('main thread: a plain <script type="module">', () => {
  it('serves at once with the portable codec and switches to wasm, compiling only asynchronously', async () => {
    const suite = browser();
    const page = await suite.session.newPage();
    await page.addInitScript(COUNT_WASM_CALLS);
    await page.goto(`${suite.server.origin}/main.html`);
    await page.waitForFunction(() => 'codecProbe' in globalThis);
    const result = await page.evaluate(async () => {
      const probe = (globalThis as unknown as { codecProbe: { before: string; codec: { ready: Promise<string>; implementation: string; validateUtf8(data: Uint8Array): boolean } } }).codecProbe;
      const after = await probe.codec.ready;
      return {
        before: probe.before,
        after,
        implementation: probe.codec.implementation,
        validates: probe.codec.validateUtf8(new TextEncoder().encode('héllo wörld '.repeat(100))),
        rejects: !probe.codec.validateUtf8(new Uint8Array([0x68, 0xc0, 0xaf])),
        calls: (globalThis as unknown as { wasmCalls: Record<string, number> }).wasmCalls,
      };
    });
    await page.close();
    expect(result).toMatchObject({ before: 'portable', after: 'wasm', implementation: 'wasm', validates: true, rejects: true });
    // Never a synchronous compile or instantiation on the main thread.
    expect(result.calls.syncModule).toBe(0);
    expect(result.calls.syncInstance).toBe(0);
    expect(result.calls.compile + result.calls.instantiate).toBeGreaterThanOrEqual(2);
  });
});

describe('module worker', () => {
  let run: Promise<{ contract: TestOutcome[]; before: string; after: string; vectors: string }> | undefined;
  /** The worker's outcome: run once, by the first test that asks. */
  const workerOutcome = () => (run ??= browser().runWorker('/codec-module-worker.js', 'module'));

  it('passes the whole codec contract suite with every codec', async () => {
    const outcome = await workerOutcome();
    const failed = outcome.contract.filter((test) => !test.passed);
    expect(failed.map((test) => `${test.name}: ${test.error}`)).toEqual([]);
    // Five codecs (portable, wasm debug and release with every input to wasm, wasm as shipped,
    // the web handle), each running the full suite.
    const suites = new Set(outcome.contract.map((test) => test.name.split(' > ')[0]));
    expect(suites.size).toBe(5);
    expect(outcome.contract.length).toBeGreaterThanOrEqual(5 * 40);
  });

  it('the web codec handle starts portable and switches to wasm', async () => {
    const outcome = await workerOutcome();
    expect([outcome.before, outcome.after]).toEqual(['portable', 'wasm']);
  });

  it('gives byte for byte the vector results Node gives, with every codec', async () => {
    const outcome = await workerOutcome();
    const vectors = JSON.parse(outcome.vectors) as Record<string, unknown>;
    expect(Object.keys(vectors)).toEqual(['portable', 'wasm', 'wasmEveryInput', 'webHandle']);
    for (const results of Object.values(vectors)) expectSameAsNode(JSON.stringify(results));
  });
});

describe('classic worker: importScripts of the classic build', () => {
  it('loads wasm from the inlined bytes and gives the vector results Node gives', async () => {
    const outcome = await browser().runWorker<{ before: string; after: string; vectors: string }>('/codec-classic-worker.js?mode=wasm', 'classic');
    expect([outcome.before, outcome.after]).toEqual(['portable', 'wasm']);
    expectSameAsNode(outcome.vectors);
  });

  it('without WebAssembly the portable codec serves, with the same API and results', async () => {
    const outcome = await browser().runWorker<{ before: string; after: string; vectors: string }>('/codec-classic-worker.js?mode=no-webassembly', 'classic');
    expect([outcome.before, outcome.after]).toEqual(['portable', 'portable']);
    expectSameAsNode(outcome.vectors);
  });

  it('where WebAssembly refuses the SIMD module the portable codec serves', async () => {
    const outcome = await browser().runWorker<{ before: string; after: string; vectors: string }>('/codec-classic-worker.js?mode=no-simd', 'classic');
    expect([outcome.before, outcome.after]).toEqual(['portable', 'portable']);
    expectSameAsNode(outcome.vectors);
  });
});

describe('the browser session', () => {
  it('saw no uncaught error in any page or worker', () => {
    expect(browser().session.errors).toEqual([]);
  });
});
