/**
 * What `wasmsocket bench` prints: the live progress line and the summary table.
 */
import type { LoadMode, SizeWeight } from './options.js';
import type { BenchProgress, BenchResult } from './run.js';

/**
 * Share of its workers' capacity the generator may use before the summary warns that it may
 * have been the bottleneck: above it, the server may have waited for the generator.
 */
export const GENERATOR_BUSY_WARNING = 0.85;

/** `n` with thousands separators and at most `digits` decimals (fewer as it grows). */
export function formatNumber(n: number, digits = 1): string {
  const decimals = n >= 1000 ? 0 : n >= 100 ? Math.min(digits, 1) : digits;
  return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A byte count with a binary unit: `16 B`, `1 KiB`, `64 KiB`, `1.5 MiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${Number((bytes / 1024 / 1024).toFixed(1))} MiB`;
}

/** Bytes as MB (10^6), as memory is usually reported. */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A latency in microseconds, switching to milliseconds from 10 ms. */
export function formatMicros(us: number): string {
  return us >= 10_000 ? `${formatNumber(us / 1000, 1)} ms` : `${formatNumber(us, us >= 100 ? 0 : 1)} µs`;
}

/** The size distribution in words: `1 KiB` or `16 B (90%), 64 KiB (10%)`. */
export function describeSizes(sizes: readonly SizeWeight[]): string {
  if (sizes.length === 1) return formatSize(sizes[0]!.size);
  const total = sizes.reduce((sum, { weight }) => sum + weight, 0);
  return sizes.map(({ size, weight }) => `${formatSize(size)} (${Number(((weight / total) * 100).toFixed(1))}%)`).join(', ');
}

/** The pacing in words. */
export function describeMode(mode: LoadMode): string {
  switch (mode.kind) {
    case 'closed':
      return `closed loop, depth ${mode.depth}`;
    case 'open':
      return `open loop at ${formatNumber(mode.rate, 0)} messages/s`;
    case 'idle':
      return 'idle connections';
  }
}

/** The progress line (no newline). */
export function progressLine(progress: BenchProgress): string {
  return `${progress.phase.padEnd(9)} ${progress.elapsedSeconds.toFixed(1).padStart(6)} s  ${formatNumber(progress.messagesPerSecond, 0).padStart(11)} messages/s  ${progress.errors} error${progress.errors === 1 ? '' : 's'}`;
}

/** Aligned `label  value` lines. */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

/** The summary printed at the end of a run. */
export function renderSummary(result: BenchResult): string {
  const { options, connections, messages, throughput, latency, errors, generator, server } = result;
  const idle = options.mode.kind === 'idle';
  const counting = options.replies === 'count';
  const lines = [
    `wasmsocket bench ${result.url}`,
    `  ${options.connections} connection${options.connections === 1 ? '' : 's'}, ${idle ? '' : `${describeSizes(options.sizes)} ${options.messageType}, `}${describeMode(options.mode)}, ` +
      (counting ? 'counting what arrives, ' : '') +
      `${options.durationSeconds} s${idle || options.warmupSeconds === 0 ? '' : ` after ${options.warmupSeconds} s warm-up`}, ` +
      `${options.workers} worker${options.workers === 1 ? '' : 's'}, mask ${options.mask}`,
    '',
  ];
  const rows: [string, string][] = [
    [
      'connections',
      `${connections.opened} opened` +
        (connections.failed > 0 ? `, ${connections.failed} failed` : '') +
        (connections.openAtEnd !== connections.opened ? `, ${connections.openAtEnd} open at the end` : '') +
        (connections.protocol === null ? '' : `, subprotocol ${connections.protocol}`) +
        (connections.extensions.length === 0 ? '' : `, extensions ${connections.extensions.join(', ')}`),
    ],
  ];
  if (counting) {
    rows.push(
      [
        'messages/s',
        `${formatNumber(messages.perSecond, 0)} received, ${formatNumber(messages.sentPerSecond, 0)} sent  ` +
          `(${formatNumber(messages.received, 0)} received, ${formatNumber(messages.sent, 0)} sent in ${result.durationSeconds.toFixed(2)} s)`,
      ],
      ['MB/s', `${throughput.receivedMBps.toFixed(2)} received, ${throughput.sentMBps.toFixed(2)} sent (payload bytes)`],
      ['latency', 'not measured (--mode count: replies are not matched to messages sent)'],
    );
    if (messages.skipped > 0) rows.push(['skipped', `${formatNumber(messages.skipped, 0)} due messages (backlog full: the server fell behind the rate)`]);
  } else if (!idle) {
    rows.push(
      ['messages/s', `${formatNumber(messages.perSecond, 0)}  (${formatNumber(messages.received, 0)} round trips in ${result.durationSeconds.toFixed(2)} s)`],
      ['MB/s', `${throughput.sentMBps.toFixed(2)} sent, ${throughput.receivedMBps.toFixed(2)} received (payload bytes)`],
      [
        'latency',
        latency.count === 0
          ? 'no round trips'
          : `p50 ${formatMicros(latency.p50)}  p90 ${formatMicros(latency.p90)}  p99 ${formatMicros(latency.p99)}  p99.9 ${formatMicros(latency.p999)}  max ${formatMicros(latency.max)}`,
      ],
    );
    if (messages.skipped > 0) rows.push(['skipped', `${formatNumber(messages.skipped, 0)} due messages (backlog full: the server fell behind the rate)`]);
  }
  const kinds = Object.entries(errors.kinds).sort(([, a], [, b]) => b.count - a.count);
  rows.push(['errors', errors.total === 0 ? 'none' : `${errors.total}: ${kinds.map(([kind, tally]) => `${kind} ×${tally.count}`).join(', ')}`]);
  const codes = Object.entries(result.closeCodes).sort(([a], [b]) => Number(a) - Number(b));
  rows.push(['close codes', codes.length === 0 ? 'none' : codes.map(([code, count]) => `${code} ×${count}`).join(', ')]);
  if (!idle || counting) {
    rows.push([
      'generator',
      `${formatNumber(generator.cpuMicrosPerMessage, 2)} µs CPU/message, ${generator.cpuCores.toFixed(2)} cores busy (${generator.workers} worker${generator.workers === 1 ? '' : 's'}, ${generator.codec} codec)`,
    ]);
  }
  if (server !== null) {
    rows.push([
      `server ${server.pid}`,
      (idle ? '' : `${formatNumber(server.cpuMicrosPerMessage, 2)} µs CPU/message, ${server.cpuCores.toFixed(2)} cores busy, `) +
        `RSS ${formatMegabytes(server.rssBytes)} (peak ${formatMegabytes(server.peakRssBytes)})` +
        (idle && connections.openAtEnd > 0 ? `, ${formatNumber(server.rssBytes / connections.openAtEnd / 1024, 1)} KiB RSS per open connection` : ''),
    ]);
  }
  lines.push(...table(rows));
  for (const [kind, tally] of kinds.slice(0, 5)) lines.push(`  ${kind}: ${tally.example}`);
  if ((!idle || counting) && generator.cpuCores > generator.workers * GENERATOR_BUSY_WARNING) {
    lines.push(
      '',
      `warning: the generator kept ${generator.cpuCores.toFixed(2)} of its ${generator.workers} workers' cores busy: it may be the bottleneck (try more workers or --mask pooled)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
