/**
 * The codec benchmark in a browser: bundles bench/browser/codec-worker.ts, serves it from
 * 127.0.0.1 (cross-origin isolated, for a 5 µs timer), runs it in a module worker of headless
 * Chromium and prints the medians as tables — UTF-8 validation (wasm, portable,
 * `TextDecoder({ fatal: true })`) and masking (wasm, portable).
 *
 * Usage: npx tsx bench/browser/run.ts [--json FILE] [--time MS] [--warmup MS] [--rounds N] [--tier-up MS] [--quick]
 *
 * `--tier-up` (default 2000): the wasm paths run at least this long, and until their
 * throughput stops improving, before any case is timed (V8 tiers wasm up in the background);
 * `--warmup` is each case's own warm-up.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bundle } from '../../scripts/browser/bundle.js';
import { launchChromium } from '../../scripts/browser/chromium.js';
import { ContentType, startPageServer } from '../../scripts/browser/page-server.js';
import { type BenchResult, DEFAULT_WARM_UP } from '../lib/measure.js';
import { renderTable } from '../lib/table.js';
import type { BrowserBenchRequest } from './codec-worker.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    time: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    'tier-up': { type: 'string', default: String(DEFAULT_WARM_UP.minMs) },
    quick: { type: 'boolean', default: false },
  },
});

const KiB = 1024;
const MiB = 1024 * KiB;
const request: BrowserBenchRequest = {
  measure: { timeMs: Number(values.time), warmupMs: Number(values.warmup), rounds: Number(values.rounds) },
  tierUp: { ...DEFAULT_WARM_UP, minMs: Number(values['tier-up']), maxMs: Math.max(DEFAULT_WARM_UP.maxMs, 5 * Number(values['tier-up'])) },
  utf8Sizes: values.quick ? [1 * KiB, 64 * KiB] : [64, 1 * KiB, 16 * KiB, 64 * KiB, 1 * MiB],
  maskSizes: values.quick ? [1 * KiB, 64 * KiB] : [125, 1 * KiB, 16 * KiB, 64 * KiB, 1 * MiB],
};

interface WorkerReply {
  readonly progress?: string;
  readonly tierUp?: string;
  readonly results?: BenchResult[];
  readonly environment?: { userAgent: string; crossOriginIsolated: boolean; hardwareConcurrency: number };
  readonly error?: string;
}

const server = await startPageServer(
  {
    '/': { body: '<!doctype html><title>wasmsocket codec benchmark</title>', type: ContentType.html },
    '/codec-worker.js': { body: await bundle('bench/browser/codec-worker.ts', { format: 'esm', minify: true }), type: ContentType.js },
  },
  { crossOriginIsolated: true },
);
const session = await launchChromium();
try {
  const page = await session.newPage();
  await page.goto(`${server.origin}/`);
  await page.exposeFunction('reportProgress', (line: string) => process.stderr.write(`  ${line}\n`));
  const reply = await page.evaluate(
    (request) =>
      new Promise<WorkerReply>((resolve, reject) => {
        const worker = new Worker('/codec-worker.js', { type: 'module' });
        worker.onmessage = (event: MessageEvent<WorkerReply>) => {
          if (event.data.progress !== undefined) void (globalThis as unknown as { reportProgress(line: string): Promise<void> }).reportProgress(event.data.progress);
          else resolve(event.data);
        };
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage(request);
      }),
    request,
  );
  if (reply.error !== undefined || reply.results === undefined) throw new Error(`the benchmark worker failed: ${reply.error ?? 'no results'}`);
  const { results, environment } = reply;
  const lines = [
    `wasmsocket codec benchmark in a browser worker — ${environment!.userAgent}`,
    `cross-origin isolated: ${environment!.crossOriginIsolated}, ${environment!.hardwareConcurrency} cores; ${request.measure.timeMs} ms per case in ${request.measure.rounds} rounds alternating with the row's other cases, after ${request.measure.warmupMs} ms warm-up; medians`,
    reply.tierUp ?? '',
    '',
    renderTable('UTF-8 validation', results.filter((r) => r.group === 'utf8'), 'MB/s', 'TextDecoder fatal'),
    '',
    renderTable('Masking (in place)', results.filter((r) => r.group === 'mask'), 'MB/s', 'portable'),
  ];
  const rate = (row: string, subject: string) => results.find((r) => r.group === 'utf8' && r.row === row && r.subject === subject)?.mbPerSecond ?? Number.NaN;
  const [copied, inMemory] = ['wasm, JS memory (copy in)', 'wasm, in linear memory'].map((subject) => rate('chat 64 KiB', subject) / rate('chat 64 KiB', 'TextDecoder fatal'));
  lines.push('', `Target: UTF-8 in wasm on 64 KiB of chat-shaped text ≥ 20× TextDecoder fatal: ${copied!.toFixed(1)}× (copied in) / ${inMemory!.toFixed(1)}× (in linear memory) — ${copied! >= 20 ? 'REACHED' : 'NOT REACHED'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.json !== undefined) {
    await writeFile(values.json, `${JSON.stringify({ environment, options: request, tierUp: reply.tierUp, results }, null, 2)}\n`);
    process.stdout.write(`results written to ${values.json}\n`);
  }
} finally {
  await session.close();
  await server.close();
}
