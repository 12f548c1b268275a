/**
 * The end-to-end benchmark's pure parts: the matrix, the medians and targets, the Markdown,
 * JSON and HTML writers on a fixture result, and the CPU profile summary.
 */
import { describe, expect, it } from 'vitest';
import { bytesInFlight, cellKey, crossProduct, FULL_CONNECTIONS, FULL_DEPTHS, FULL_SIZES, FULL_TYPES, QUICK_CELLS, rotate, TARGET_CELLS, withinBudget } from '../../bench/e2e/matrix.js';
import { type CpuProfile, ownTimes, renderOwnTimes, selfTimes } from '../../bench/e2e/profile-summary.js';
import { escapeHtml, renderHtml } from '../../bench/e2e/report/html.js';
import { renderMarkdown } from '../../bench/e2e/report/markdown.js';
import { checkTargets, type E2eResult, floorRatios, median, type MemoryResult, type PeakResult, type RunMeasurement, summarizeRuns } from '../../bench/e2e/results.js';

function run(round: number, cpu: number, rate: number): RunMeasurement {
  return {
    round,
    messagesPerSecond: rate,
    sentMBps: rate / 1000,
    receivedMBps: rate / 1000,
    latency: { p50: 100 + round, p90: 150, p99: 300, p999: 900, max: 2000 + round },
    serverCpuMicrosPerMessage: cpu,
    serverRssBytes: 80e6,
    generatorCpuMicrosPerMessage: 9,
    errors: 0,
  };
}

const SERVERS = [
  { id: 'wasm', label: 'wasmsocket (wasm)' },
  { id: 'portable', label: 'wasmsocket (portable)' },
  { id: 'ws', label: 'ws (pure JS)' },
  { id: 'ws-bufferutil', label: 'ws + bufferutil <native>' },
  { id: 'floor', label: 'Node floor' },
];

const MEMORY: MemoryResult[] = [
  { server: 'wasm', connections: 10000, open: 10000, baselineRssBytes: 90e6, loadedRssBytes: 120e6, bytesPerConnection: 3000, heapBytesPerConnection: 1000, arrayBufferBytesPerConnection: 512, collected: true },
  { server: 'ws-bufferutil', connections: 10000, open: 10000, baselineRssBytes: 90e6, loadedRssBytes: 150e6, bytesPerConnection: 6000, heapBytesPerConnection: 3000, arrayBufferBytesPerConnection: 0, collected: true },
  { server: 'floor', connections: 10000, open: 10000, baselineRssBytes: 60e6, loadedRssBytes: 80e6, bytesPerConnection: 2048, heapBytesPerConnection: 512, arrayBufferBytesPerConnection: 0, collected: true },
];

const PEAK: PeakResult[] = [
  // 50 MiB above the baseline: 16 MiB of message, 33 MiB as the floor's, 1 MiB of its own.
  { server: 'wasm', size: 16 * 2 ** 20, messages: 3, baselineRssBytes: 100 * 2 ** 20, peakRssBytes: 150 * 2 ** 20, aboveMessageBytes: 34 * 2 ** 20 },
  { server: 'floor', size: 16 * 2 ** 20, messages: 3, baselineRssBytes: 80 * 2 ** 20, peakRssBytes: 113 * 2 ** 20, aboveMessageBytes: 17 * 2 ** 20 },
];

function fixture(): E2eResult {
  const cells = [
    {
      cell: { size: 16, connections: 16, type: 'binary' as const, depth: 1 },
      runs: {
        wasm: [run(0, 5, 50000), run(1, 6, 52000)],
        portable: [run(0, 5, 48000)],
        ws: [run(0, 11, 40000)],
        'ws-bufferutil': [run(0, 10, 45000), run(1, 10, 45000)],
        floor: [run(0, 5, 60000), run(1, 5, 60000)],
      },
    },
    {
      cell: { size: 65536, connections: 16, type: 'text' as const, depth: 16 },
      runs: { wasm: [run(0, 50, 2000)], portable: [run(0, 60, 1900)], ws: [run(0, 300, 1000)], 'ws-bufferutil': [run(0, 150, 1500)], floor: [run(0, 40, 2500)] },
    },
  ];
  return {
    tool: 'wasmsocket bench:e2e',
    version: 2,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
    environment: { node: 'v20.20.2', cpus: 2, cpuModel: 'Test CPU', platform: 'linux x64' },
    settings: { rounds: 2, durationSeconds: 3, warmupSeconds: 1, workers: 1, mask: 'fresh', idleConnections: 10000 },
    servers: SERVERS,
    baseline: 'ws-bufferutil',
    cells,
    skipped: [{ cell: { size: 1048576, connections: 256, type: 'binary', depth: 16 }, reason: '4 GiB in flight, over the 256 MiB budget' }],
    memory: MEMORY,
    peak: PEAK,
    targets: checkTargets(cells, MEMORY, PEAK),
  };
}

describe('e2e matrix', () => {
  it('crosses every dimension, keeps the quick cells small, and skips only what exceeds the in-flight budget', () => {
    const all = crossProduct([...FULL_SIZES], [...FULL_CONNECTIONS], FULL_TYPES, [...FULL_DEPTHS]);
    expect(all).toHaveLength(5 * 3 * 2 * 2);
    expect(new Set(all.map(cellKey)).size).toBe(all.length);
    const { run: kept, skipped } = withinBudget(all);
    expect(skipped.map(cellKey)).toEqual([
      '1048576B-256c-binary-d16',
      '1048576B-256c-text-d16',
      '16777216B-16c-binary-d16',
      '16777216B-16c-text-d16',
      '16777216B-256c-binary-d1',
      '16777216B-256c-binary-d16',
      '16777216B-256c-text-d1',
      '16777216B-256c-text-d16',
    ]);
    expect(kept).toHaveLength(all.length - 8);
    expect(QUICK_CELLS.every((cell) => bytesInFlight(cell) <= 16 * 1024 * 1024)).toBe(true);
    // The target cells: 6 binary and 4 text at 16 connections, 1 MiB and 16 MiB on one; none over the budget.
    expect(TARGET_CELLS.map(cellKey)).toEqual([
      '16B-16c-binary-d1',
      '16B-16c-binary-d16',
      '1024B-16c-binary-d1',
      '1024B-16c-binary-d16',
      '65536B-16c-binary-d1',
      '65536B-16c-binary-d16',
      '1024B-16c-text-d1',
      '1024B-16c-text-d16',
      '65536B-16c-text-d1',
      '65536B-16c-text-d16',
      '1048576B-1c-binary-d1',
      '16777216B-1c-binary-d1',
    ]);
    expect(withinBudget(TARGET_CELLS).skipped).toEqual([]);
  });

  it('rotates the server order', () => {
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 5)).toEqual(['c', 'a', 'b']);
    expect(rotate([], 3)).toEqual([]);
  });
});

describe('e2e results', () => {
  it('takes medians over rounds, and the largest max latency', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBe(0);
    const summary = summarizeRuns([run(0, 5, 50000), run(1, 6, 52000)])!;
    expect(summary.serverCpuMicrosPerMessage).toBe(5.5);
    expect(summary.latency.max).toBe(2001);
    expect(summary.rounds).toBe(2);
    expect(summarizeRuns([])).toBeNull();
  });

  it('puts ours and ws + bufferutil over the floor', () => {
    const [small, large] = fixture().cells;
    // 5.5 / 5 and 10 / 5; 50 / 40 and 150 / 40.
    expect(floorRatios(small!)).toEqual({ ours: 1.1, ws: 2, oursBatched: null });
    expect(floorRatios(large!)).toEqual({ ours: 1.25, ws: 3.75, oursBatched: null });
    expect(floorRatios({ cell: small!.cell, runs: { wasm: small!.runs.wasm! } })).toEqual({ ours: null, ws: null, oursBatched: null });
    // The floor that writes once per read: 5.5 / 2.5.
    const batched = { ...small!, runs: { ...small!.runs, 'floor-batched': [run(0, 2.5, 90000)] } };
    expect(floorRatios(batched)).toEqual({ ours: 1.1, ws: 2, oursBatched: 2.2 });
  });

  it('checks the targets against the measured ratios', () => {
    const targets = fixture().targets;
    const byName = (start: string) => targets.find((t) => t.target.startsWith(start))!;
    // 16 B depth 1: 5.5 / 5 = 1.10 → met (≤ 1.10).
    expect(byName('ours ≤ 1.10× the floor at depth 1')).toMatchObject({ met: true, detail: '1 of 1 cells within; worst 1.10× at 16B-16c-binary-d1' });
    // 64 KiB depth 16: 50 / 40 = 1.25 → missed (> 1.15).
    expect(byName('ours ≤ 1.15× the floor at 64 KiB').met).toBe(false);
    expect(byName('ours ≤ 1.15× the floor at 64 KiB').detail).toContain('worst 1.25× at 65536B-16c-text-d16');
    expect(byName('ours ≤ 0.85× the floor at depth 16').met).toBeNull();
    expect(byName('ours ≤ 1.15× the floor at 1 MiB').met).toBeNull();
    expect(byName('wasm codec ahead')).toMatchObject({ met: true });
    // 16 B: 5.5 against 5 → 10 % behind.
    expect(byName('wasm codec at most 3 %').met).toBe(false);
    // 1 MiB beyond the message and the floor's peak: more than one 64 KiB read.
    expect(byName('peak RSS receiving a 16 MiB message')).toMatchObject({
      met: false,
      detail: "1.00 MiB beyond the message and the floor's peak (one read: 0.06 MiB); peak − before 50.00 MiB, the floor's 33.00 MiB",
    });
    // 3000 − 2048 = 952 B above the floor.
    expect(byName('idle memory')).toMatchObject({ met: true, detail: "952 B above the floor's 2,048 B (heap 488 B above)" });
    expect(checkTargets([], []).every((t) => t.met === null)).toBe(true);
  });
});

describe('e2e report writers', () => {
  it('writes Markdown tables with a column per server and a row per cell', () => {
    const markdown = renderMarkdown(fixture());
    expect(markdown.startsWith('# wasmsocket end-to-end benchmark\n')).toBe(true);
    const tables = markdown.split('\n\n').filter((block) => block.startsWith('|'));
    expect(tables.length).toBeGreaterThanOrEqual(9);
    for (const block of tables) {
      const rows = block.split('\n');
      const columns = rows[0]!.split(/(?<!\\)\|/).length;
      for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(columns);
      expect(rows[1]).toMatch(/^\|( ---:? \|)+$/);
    }
    expect(markdown).toContain('| cell | wasmsocket (wasm) | wasmsocket (portable) | ws (pure JS) | ws + bufferutil <native> | Node floor | ours/floor | ws/floor | rounds |');
    // The fewest runs of any server in the cell: portable and ws ran once.
    expect(markdown).toContain('| 16 B binary, 16 conn, depth 1 | 5.50 (0.55×) | 5.00 (0.50×) | 11.0 (1.10×) | 10.0 | 5.00 (0.50×) | 1.10× | 2.00× | 1 |');
    expect(markdown).toContain('| cell | wasmsocket (wasm) | wasmsocket (portable) | ws (pure JS) | ws + bufferutil <native> | Node floor |\n');
    expect(markdown).toContain('| wasmsocket (wasm) | 10,000 | 90.0 | 120.0 | 2.93 | 0.50× | 0.93 | 0.98 | 0.48 | 0.50 |');
    expect(markdown).toContain('| Node floor | 10,000 | 60.0 | 80.0 | 2.00 | 0.34× | 0.00 | 0.50 | 0.00 | 0.00 |');
    expect(markdown).toContain('| wasmsocket (wasm) | 16 MiB | 3 | 100.0 | 150.0 | 50.00 MiB | 1.00 MiB |');
    expect(markdown).toContain('| Node floor | 16 MiB | 3 | 80.0 | 113.0 | 33.00 MiB | – |');
    expect(markdown).toContain('- 1 MiB binary, 256 conn, depth 16: 4 GiB in flight');
    expect(markdown).not.toContain('batched floor |');
  });

  it('adds ours over the batched floor when that floor ran, beside the floor the targets use', () => {
    const result = fixture();
    const withBatched: E2eResult = {
      ...result,
      servers: [...result.servers, { id: 'floor-batched', label: 'Node floor, a write per read' }],
      cells: result.cells.map((c) => ({ ...c, runs: { ...c.runs, 'floor-batched': [run(0, 2.5, 90000)] } })),
    };
    const markdown = renderMarkdown(withBatched);
    expect(markdown).toContain('| Node floor | Node floor, a write per read | ours/floor | ws/floor | ours/batched floor | rounds |');
    // 5.5 / 2.5 against the batched floor; 1.10× against the floor.
    expect(markdown).toMatch(/\| 16 B binary, 16 conn, depth 1 \|.* \| 1\.10× \| 2\.00× \| 2\.20× \| 1 \|/);
  });

  it('writes JSON that reads back to the same result', () => {
    const result = fixture();
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('writes a self-contained HTML page with inline SVG charts and escaped text', () => {
    const result = fixture();
    const html = renderHtml(result, renderMarkdown(result));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/(src|href)="https?:/);
    // Per (type, depth) present a chart over the floor and one against the baseline, and the memory chart.
    expect(html.match(/<svg /g)).toHaveLength(5);
    expect(html).toContain('CPU per message over the Node floor — binary, depth 1');
    expect(html).toContain('ws + bufferutil &lt;native&gt;');
    expect(html).not.toContain('<native>');
    // Every element opened is closed, in order.
    const stack: string[] = [];
    const voids = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
    for (const [, closing, name, selfClosing] of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
      if (voids.has(name!.toLowerCase()) || selfClosing === '/') continue;
      if (closing === '/') expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('CPU profile summary', () => {
  it('adds self time per function from the samples and their time deltas, as shares of the busy time', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 5, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'parseFrames', url: 'file:///src/codec/wasm/codec.ts', lineNumber: 340 } },
        { id: 3, callFrame: { functionName: '', url: 'node:net', lineNumber: 9 } },
        { id: 4, callFrame: { functionName: 'parseFrames', url: 'file:///src/codec/wasm/codec.ts', lineNumber: 340 } },
      ],
      samples: [2, 3, 4, 2, 1, 5],
      timeDeltas: [100, 200, 300, 400, 1000, 5000],
    };
    const times = selfTimes(profile);
    expect(times[0]).toEqual({ location: '(root)', milliseconds: 1, percent: 50 });
    expect(times[1]).toEqual({ location: 'parseFrames (codec.ts:341)', milliseconds: 0.8, percent: 40 });
    expect(times[2]).toMatchObject({ location: '(anonymous) (node:net:10)', milliseconds: 0.2 });
    // Waiting is not work: (idle) is left out of the shares.
    expect(times.map((t) => t.location)).not.toContain('(idle)');
  });

  it("gives the library's own functions their self time and their total time, counting a recursive one once per sample", () => {
    // (root) → receive (src) → parse (src) → parse (src, recursing) → writeBuffer (native); and (root) → receive → (garbage collector).
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 9] },
        { id: 2, callFrame: { functionName: 'receive', url: 'file:///repo/src/adapters/driver.ts', lineNumber: 10 }, children: [3, 6] },
        { id: 3, callFrame: { functionName: 'parse', url: 'file:///repo/src/protocol/parser.ts', lineNumber: 20 }, children: [4] },
        { id: 4, callFrame: { functionName: 'parse', url: 'file:///repo/src/protocol/parser.ts', lineNumber: 20 }, children: [5] },
        { id: 5, callFrame: { functionName: 'writeBuffer', url: '', lineNumber: -1 } },
        { id: 6, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
        { id: 9, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [5, 4, 6, 2, 9],
      timeDeltas: [400, 300, 200, 100, 9000],
    };
    const times = ownTimes(profile);
    expect(times.map((t) => [t.location, t.milliseconds, t.totalMilliseconds])).toEqual([
      ['parse (parser.ts:21)', 0.3, 0.7],
      ['receive (driver.ts:11)', 0.1, 1],
    ]);
    expect(times[0]!.percent).toBeCloseTo(30);
    expect(times[1]!.totalPercent).toBeCloseTo(100);
    expect(renderOwnTimes(times, 5)).toContain('40.0 % of the busy time in their own code');
    expect(renderOwnTimes(times, 5)).toContain('| 30.0 % | 70.0 % | `parse (parser.ts:21)` |');
  });
});
