/**
 * The end-to-end benchmark's results: the measurements of every run, their medians per cell
 * and server, the ratios against the baseline server, and the targets checked against them.
 * This is the JSON written to bench/results/, and what the Markdown and HTML reports render.
 */
import { formatSize } from '../../src/cli/bench/report.js';
import type { BenchResult } from '../../src/cli/bench/run.js';
import { type Cell, cellKey } from './matrix.js';
import { BATCHED_FLOOR_SERVER, FLOOR_SERVER, OURS_SERVER, WS_SERVER } from './servers.js';

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
  /**
   * Median CPU per message of ours (wasm) and of ws + bufferutil over the floor's (null where
   * either was not measured); written for readers of the JSON, recomputed from `runs` by the
   * reports.
   */
  readonly toFloor?: FloorRatios;
}

/** CPU per message over the Node floor's, in one cell. */
export interface FloorRatios {
  readonly ours: number | null;
  readonly ws: number | null;
  /** Ours over the floor that writes once per read (null where it was not run). */
  readonly oursBatched: number | null;
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

/** A server's peak memory while it receives (and answers) messages of one large size. */
export interface PeakResult {
  readonly server: string;
  readonly size: number;
  /** Messages sent one at a time, each after the previous one's reply arrived. */
  readonly messages: number;
  /** RSS with the connection open and idle, after a full collection. */
  readonly baselineRssBytes: number;
  /** VmHWM after the messages, the high-water mark having been reset with the baseline. */
  readonly peakRssBytes: number;
  /** peak − baseline − size: what the server held beyond one message's payload. */
  readonly aboveMessageBytes: number;
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
  /** 2: the floor server, `toFloor` per cell, `peak`. */
  readonly version: 2;
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
  /** Peak memory while receiving large messages (absent in results written before it was measured). */
  readonly peak?: readonly PeakResult[];
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

/** Check a ratio target over every measured cell `applies` to. */
function ratioTarget(cells: readonly CellResult[], target: string, applies: (cell: Cell) => boolean, limit: number, server: string, reference: string): TargetCheck {
  const ratios = cells
    .filter((c) => applies(c.cell))
    .map((c) => ({ key: cellKey(c.cell), ratio: cpuRatio(c, server, reference) }))
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

/** Ours and ws + bufferutil over the floor in a cell. */
export function floorRatios(result: CellResult): FloorRatios {
  return {
    ours: cpuRatio(result, OURS_SERVER, FLOOR_SERVER),
    ws: cpuRatio(result, WS_SERVER, FLOOR_SERVER),
    oursBatched: cpuRatio(result, OURS_SERVER, BATCHED_FLOOR_SERVER),
  };
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** What one socket read delivers at most: Node reads a TCP socket 64 KiB at a time. */
export const SOCKET_READ_BYTES = 64 * KiB;

/** The idle-memory target, bytes of RSS per connection above the floor's. */
export const IDLE_ABOVE_FLOOR_BYTES = 1000;

/** The targets, checked against the results: ours (the wasm codec) against the Node floor, and the codecs against each other. */
export function checkTargets(cells: readonly CellResult[], memory: readonly MemoryResult[], peak: readonly PeakResult[] = []): TargetCheck[] {
  const small = (cell: Cell): boolean => cell.size <= 64 * KiB;
  const checks = [
    ratioTarget(cells, 'ours ≤ 1.10× the floor at depth 1 (16 B to 64 KiB, binary and text)', (c) => c.depth === 1 && small(c), 1.1, OURS_SERVER, FLOOR_SERVER),
    ratioTarget(cells, 'ours ≤ 0.85× the floor at depth 16, 16 B and 1 KiB binary', (c) => c.depth === 16 && c.type === 'binary' && c.size <= KiB, 0.85, OURS_SERVER, FLOOR_SERVER),
    ratioTarget(cells, 'ours ≤ 1.15× the floor at 64 KiB, depth 16', (c) => c.depth === 16 && c.size === 64 * KiB, 1.15, OURS_SERVER, FLOOR_SERVER),
    ratioTarget(cells, 'ours ≤ 1.15× the floor at 1 MiB and 16 MiB', (c) => c.size === MiB || c.size === 16 * MiB, 1.15, OURS_SERVER, FLOOR_SERVER),
    ratioTarget(cells, 'wasm codec ahead of the portable codec at every size ≥ 1 KiB', (c) => c.size >= KiB, 1, 'wasm', 'portable'),
    ratioTarget(cells, 'wasm codec at most 3 % behind the portable codec below 1 KiB', (c) => c.size < KiB, 1.03, 'wasm', 'portable'),
  ];
  const largest = peak.filter((p) => p.server === OURS_SERVER).sort((a, b) => b.size - a.size)[0];
  const floorPeak = peak.find((p) => p.server === FLOOR_SERVER && p.size === largest?.size);
  const peakTarget = `peak RSS receiving a ${formatSize(largest?.size ?? 16 * MiB)} message ≤ the message + one socket read, beyond the floor's`;
  checks.push(
    largest === undefined || floorPeak === undefined
      ? { target: peakTarget, met: null, detail: 'not measured' }
      : {
          target: peakTarget,
          met: heldBeyondFloor(largest, floorPeak) <= SOCKET_READ_BYTES,
          detail:
            `${formatMiB(heldBeyondFloor(largest, floorPeak))} beyond the message and the floor's peak (one read: ${formatMiB(SOCKET_READ_BYTES)}); ` +
            `peak − before ${formatMiB(largest.peakRssBytes - largest.baselineRssBytes)}, the floor's ${formatMiB(floorPeak.peakRssBytes - floorPeak.baselineRssBytes)}`,
        },
  );
  const ours = memory.find((m) => m.server === OURS_SERVER);
  const floor = memory.find((m) => m.server === FLOOR_SERVER);
  const idleTarget = 'idle memory ≤ 1.0 KB (1,000 B) RSS per connection above the floor';
  if (ours === undefined || floor === undefined) {
    checks.push({ target: idleTarget, met: null, detail: 'not measured' });
  } else {
    const above = ours.bytesPerConnection - floor.bytesPerConnection;
    checks.push({
      target: idleTarget,
      met: above <= IDLE_ABOVE_FLOOR_BYTES,
      detail: `${Math.round(above).toLocaleString('en-US')} B above the floor's ${Math.round(floor.bytesPerConnection).toLocaleString('en-US')} B (heap ${Math.round(ours.heapBytesPerConnection - floor.heapBytesPerConnection).toLocaleString('en-US')} B above)`,
    });
  }
  return checks;
}

/**
 * What a server held at its peak beyond the message and beyond what the Node floor held at its
 * own: Node allocates a buffer per socket read and frees it only when the collector runs, so
 * the floor, which keeps no message, still peaks about a message of reads above its baseline.
 */
export function heldBeyondFloor(peak: PeakResult, floor: PeakResult): number {
  return peak.peakRssBytes - peak.baselineRssBytes - (floor.peakRssBytes - floor.baselineRssBytes) - peak.size;
}

/** Bytes as MiB with two decimals (negative when below). */
export function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(2)} MiB`;
}
