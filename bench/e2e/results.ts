/**
 * The end-to-end benchmark's results: the measurements of every run, their medians per cell
 * and server, the ratios against the baseline server, and the targets checked against them.
 * This is the JSON written to bench/results/, and what the Markdown and HTML reports render.
 */
import type { BenchResult } from '../../src/cli/bench/run.js';
import { type Cell, cellKey } from './matrix.js';

/** What one run of one cell against one server measured. */
export interface RunMeasurement {
  readonly round: number;
  readonly messagesPerSecond: number;
  /** Payload MB/s (10^6 bytes) each way. */
  readonly sentMBps: number;
  readonly receivedMBps: number;
  /** Round-trip latency percentiles, microseconds. */
  readonly latency: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number };
  /** The primary figure: the server's CPU time per echoed message, microseconds. */
  readonly serverCpuMicrosPerMessage: number;
  readonly serverRssBytes: number;
  readonly generatorCpuMicrosPerMessage: number;
  readonly errors: number;
}

/** A run's measurement from the load generator's result. */
export function measurementOf(round: number, result: BenchResult): RunMeasurement {
  const { p50, p90, p99, p999, max } = result.latency;
  return {
    round,
    messagesPerSecond: result.messages.perSecond,
    sentMBps: result.throughput.sentMBps,
    receivedMBps: result.throughput.receivedMBps,
    latency: { p50, p90, p99, p999, max },
    serverCpuMicrosPerMessage: result.server?.cpuMicrosPerMessage ?? 0,
    serverRssBytes: result.server?.rssBytes ?? 0,
    generatorCpuMicrosPerMessage: result.generator.cpuMicrosPerMessage,
    errors: result.errors.total + result.connections.failed,
  };
}

/** One cell: every server's runs (by server id). */
export interface CellResult {
  readonly cell: Cell;
  readonly runs: Readonly<Record<string, readonly RunMeasurement[]>>;
}

/** Idle memory of one server. */
export interface MemoryResult {
  readonly server: string;
  /** Idle connections requested, and open when memory was measured. */
  readonly connections: number;
  readonly open: number;
  /** Server RSS before connecting and with the connections open (after a full GC when exposed). */
  readonly baselineRssBytes: number;
  readonly loadedRssBytes: number;
  /** (loaded − baseline) / open. */
  readonly bytesPerConnection: number;
  /** The same for the JavaScript heap and for ArrayBuffer memory: where the RSS went. */
  readonly heapBytesPerConnection: number;
  readonly arrayBufferBytesPerConnection: number;
  readonly collected: boolean;
}

/** A target of the issue, checked. */
export interface TargetCheck {
  readonly target: string;
  /** null when the cells it needs were not measured. */
  readonly met: boolean | null;
  /** What was measured against it, in words. */
  readonly detail: string;
}

/** Everything a bench:e2e run produced. */
export interface E2eResult {
  readonly tool: 'wasmsocket bench:e2e';
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly environment: { readonly node: string; readonly cpus: number; readonly cpuModel: string; readonly platform: string };
  readonly settings: {
    readonly rounds: number;
    readonly durationSeconds: number;
    readonly warmupSeconds: number;
    readonly workers: number;
    readonly mask: string;
    readonly idleConnections: number;
  };
  /** Server ids and labels in column order, and the baseline's id. */
  readonly servers: readonly { readonly id: string; readonly label: string }[];
  readonly baseline: string;
  readonly cells: readonly CellResult[];
  /** Cells left out of the matrix, and why. */
  readonly skipped: readonly { readonly cell: Cell; readonly reason: string }[];
  readonly memory: readonly MemoryResult[];
  readonly targets: readonly TargetCheck[];
}

/** The median of `values` (0 for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The medians over rounds of one server in one cell (max latency: the largest). */
export interface CellSummary {
  readonly messagesPerSecond: number;
  readonly sentMBps: number;
  readonly receivedMBps: number;
  readonly latency: RunMeasurement['latency'];
  readonly serverCpuMicrosPerMessage: number;
  readonly serverRssBytes: number;
  readonly generatorCpuMicrosPerMessage: number;
  readonly errors: number;
  readonly rounds: number;
}

/** Summarise the runs of one server; null when it has none. */
export function summarizeRuns(runs: readonly RunMeasurement[] | undefined): CellSummary | null {
  if (runs === undefined || runs.length === 0) return null;
  const m = (pick: (run: RunMeasurement) => number): number => median(runs.map(pick));
  return {
    messagesPerSecond: m((r) => r.messagesPerSecond),
    sentMBps: m((r) => r.sentMBps),
    receivedMBps: m((r) => r.receivedMBps),
    latency: {
      p50: m((r) => r.latency.p50),
      p90: m((r) => r.latency.p90),
      p99: m((r) => r.latency.p99),
      p999: m((r) => r.latency.p999),
      max: Math.max(...runs.map((r) => r.latency.max)),
    },
    serverCpuMicrosPerMessage: m((r) => r.serverCpuMicrosPerMessage),
    serverRssBytes: m((r) => r.serverRssBytes),
    generatorCpuMicrosPerMessage: m((r) => r.generatorCpuMicrosPerMessage),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    rounds: runs.length,
  };
}

/** CPU per message of `server` relative to the baseline in a cell (< 1: less CPU); null if either is missing. */
export function cpuRatio(result: CellResult, server: string, baseline: string): number | null {
  const a = summarizeRuns(result.runs[server]);
  const b = summarizeRuns(result.runs[baseline]);
  if (a === null || b === null || b.serverCpuMicrosPerMessage <= 0) return null;
  return a.serverCpuMicrosPerMessage / b.serverCpuMicrosPerMessage;
}

function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

/** Check a ratio target over every measured cell whose size is in `sizes`. */
function ratioTarget(cells: readonly CellResult[], target: string, sizes: readonly number[], limit: number, server: string, baseline: string): TargetCheck {
  const ratios = cells
    .filter((c) => sizes.includes(c.cell.size))
    .map((c) => ({ key: cellKey(c.cell), ratio: cpuRatio(c, server, baseline) }))
    .filter((r): r is { key: string; ratio: number } => r.ratio !== null);
  if (ratios.length === 0) return { target, met: null, detail: 'not measured' };
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const failing = ratios.filter((r) => r.ratio > limit);
  return {
    target,
    met: failing.length === 0,
    detail: `${ratios.length - failing.length} of ${ratios.length} cells within; worst ${formatRatio(worst.ratio)} at ${worst.key}`,
  };
}

/** The targets, checked against the results. */
export function checkTargets(cells: readonly CellResult[], memory: readonly MemoryResult[], baseline: string): TargetCheck[] {
  const checks = [
    ratioTarget(cells, 'wasm server CPU/message ≤ 0.55× ws+bufferutil at 16 B and 1 KiB', [16, 1024], 0.55, 'wasm', baseline),
    ratioTarget(cells, 'wasm server CPU/message ≤ 0.3× ws+bufferutil at 64 KiB and 1 MiB', [64 * 1024, 1024 * 1024], 0.3, 'wasm', baseline),
    ratioTarget(cells, 'wasm codec ahead of the portable codec at every size ≥ 1 KiB', [1024, 64 * 1024, 1024 * 1024], 1, 'wasm', 'portable'),
    ratioTarget(cells, 'wasm codec at most 3 % behind the portable codec below 1 KiB', [16], 1.03, 'wasm', 'portable'),
  ];
  const wasm = memory.find((m) => m.server === 'wasm');
  const wsMemory = memory.filter((m) => m.server === 'ws' || m.server === 'ws-bufferutil');
  if (wasm === undefined || wsMemory.length === 0) {
    checks.push({ target: 'idle memory per connection ≤ 0.5× ws', met: null, detail: 'not measured' });
  } else {
    const ws = Math.min(...wsMemory.map((m) => m.bytesPerConnection));
    const ratio = wasm.bytesPerConnection / ws;
    checks.push({
      target: 'idle memory per connection ≤ 0.5× ws',
      met: ratio <= 0.5,
      detail: `${(wasm.bytesPerConnection / 1024).toFixed(2)} KiB against ${(ws / 1024).toFixed(2)} KiB: ${formatRatio(ratio)}`,
    });
  }
  return checks;
}
