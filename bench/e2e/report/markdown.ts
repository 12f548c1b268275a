/**
 * The end-to-end results as Markdown: the targets, then one table per figure with a row per
 * cell and a column per server (medians over the rounds), ratios against the baseline server
 * where they say something, the idle memory, and the cells left out.
 */
import { formatSize } from '../../../src/cli/bench/report.js';
import type { Cell } from '../matrix.js';
import { type CellResult, type CellSummary, type E2eResult, floorRatios, formatMiB, type MemoryResult, type PeakResult, heldBeyondFloor, summarizeRuns } from '../results.js';
import { BATCHED_FLOOR_SERVER, FLOOR_SERVER } from '../servers.js';

/** A cell in words: `1 KiB binary, 16 conn, depth 1`. */
export function describeCell(cell: Cell): string {
  return `${formatSize(cell.size)} ${cell.type}, ${cell.connections} conn, depth ${cell.depth}`;
}

/** A number with a precision that suits its size. */
export function formatFigure(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** The environment and settings line. */
export function describeRun(result: E2eResult): string {
  const { environment: env, settings: s } = result;
  return (
    `Node ${env.node} on ${env.cpus} × ${env.cpuModel} (${env.platform}). ` +
    `${s.rounds} round${s.rounds === 1 ? '' : 's'} of ${s.durationSeconds} s after ${s.warmupSeconds} s warm-up per cell and server, ` +
    `servers alternated in rotating order; load generator \`wasmsocket bench\` with ${s.workers} worker${s.workers === 1 ? '' : 's'}, mask ${s.mask}. ` +
    `Started ${result.startedAt}, finished ${result.finishedAt}.`
  );
}

/** Escape a table cell. */
function cellText(text: string): string {
  return text.replaceAll('|', '\\|');
}

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: number): string {
  const align = header.map((_, i) => (i < rightAligned ? '---' : '---:'));
  return [header, align, ...rows].map((row) => `| ${row.map(cellText).join(' | ')} |`).join('\n');
}

/**
 * One figure per cell and server: the value, and its ratio against the baseline when
 * `ratio` says how (`lower` for costs, `higher` for rates).
 */
function figureTable(result: E2eResult, pick: (s: CellSummary) => number, ratio: 'lower' | 'higher' | null, format = formatFigure): string {
  const header = ['cell', ...result.servers.map((s) => s.label)];
  const rows = result.cells.map((c: CellResult) => {
    const base = summarizeRuns(c.runs[result.baseline]);
    return [
      describeCell(c.cell),
      ...result.servers.map(({ id }) => {
        const summary = summarizeRuns(c.runs[id]);
        if (summary === null) return '–';
        const value = pick(summary);
        if (ratio === null || base === null || id === result.baseline || pick(base) === 0) return format(value);
        return `${format(value)} (${(value / pick(base)).toFixed(2)}×)`;
      }),
    ];
  });
  return table(header, rows, 1);
}

function ratioText(ratio: number | null): string {
  return ratio === null ? '–' : `${ratio.toFixed(2)}×`;
}

/**
 * The primary table: CPU per message of every server (ratio against the baseline in
 * parentheses), then ours and ws + bufferutil over the Node floor (and ours over the floor that
 * writes once per read, when it ran), and the rounds each cell's medians are of (the fewest of
 * any server, when a run failed).
 */
function cpuTable(result: E2eResult): string {
  const base = figureTable(result, (s) => s.serverCpuMicrosPerMessage, 'lower').split('\n');
  const hasFloor = result.servers.some((s) => s.id === FLOOR_SERVER);
  const hasBatched = result.servers.some((s) => s.id === BATCHED_FLOOR_SERVER);
  const extra = (c: CellResult): string[] => {
    const rounds = Math.min(...result.servers.map(({ id }) => c.runs[id]?.length ?? 0));
    if (!hasFloor) return [String(rounds)];
    const { ours, ws, oursBatched } = floorRatios(c);
    return [ratioText(ours), ratioText(ws), ...(hasBatched ? [ratioText(oursBatched)] : []), String(rounds)];
  };
  const header = hasFloor ? ['ours/floor', 'ws/floor', ...(hasBatched ? ['ours/batched floor'] : []), 'rounds'] : ['rounds'];
  return [
    `${base[0]} ${header.join(' | ')} |`,
    `${base[1]} ${header.map(() => '---:').join(' | ')} |`,
    ...result.cells.map((c, i) => `${base[i + 2]} ${extra(c).map(cellText).join(' | ')} |`),
  ].join('\n');
}

/** The whole report. */
export function renderMarkdown(result: E2eResult): string {
  const baseline = result.servers.find((s) => s.id === result.baseline)?.label ?? result.baseline;
  const parts = [
    '# wasmsocket end-to-end benchmark',
    '',
    describeRun(result),
    '',
    '## Targets',
    '',
    table(
      ['target', 'met', 'measured'],
      result.targets.map((t) => [t.target, t.met === null ? 'not measured' : t.met ? 'yes' : 'no', t.detail]),
      3,
    ),
    '',
    `## Server CPU time per message (µs; ratio against ${baseline}, lower is better)`,
    '',
    `The primary figure: CPU time (user + system, from /proc) the server process spent per echoed message, the median of ${result.settings.rounds} round${result.settings.rounds === 1 ? '' : 's'} ` +
      '(the rounds column says how many runs a cell has, where one failed). ' +
      'ours/floor is wasmsocket (wasm) over the Node floor, ws/floor is ws + bufferutil over it: the floor is a `net` server that answers each client frame ' +
      'with a pre-built one of the same size in a write of its own, parsing and unmasking nothing, so what a library spends above it is its own. ' +
      'The batched floor (when it ran) writes all the replies a read asks for in one write instead: where reads carry many frames (depth 16) ' +
      'it is below what any library that frames each reply can reach, a stricter bound beside the targets, not one of them.',
    '',
    cpuTable(result),
    '',
    `## Messages per second (round trips; ratio against ${baseline}, higher is better)`,
    '',
    figureTable(result, (s) => s.messagesPerSecond, 'higher'),
    '',
    '## Payload throughput (MB/s each way)',
    '',
    figureTable(result, (s) => s.sentMBps, null),
    '',
    '## Latency p50 / p99 (µs)',
    '',
    figureTable(result, (s) => s.latency.p50, null),
    '',
    figureTable(result, (s) => s.latency.p99, null),
    '',
    '## Server RSS at the end of the run (MB)',
    '',
    figureTable(result, (s) => s.serverRssBytes / 1e6, null),
    '',
    '## Load generator CPU time per message (µs)',
    '',
    'What the generator itself spent (all its threads), to show it was not the limit.',
    '',
    figureTable(result, (s) => s.generatorCpuMicrosPerMessage, null),
  ];
  if (result.memory.length > 0) {
    const base = result.memory.find((m) => m.server === result.baseline);
    const floor = result.memory.find((m) => m.server === FLOOR_SERVER);
    const aboveFloor = (bytes: number, pick: (m: MemoryResult) => number): string => (floor === undefined ? '–' : ((bytes - pick(floor)) / 1024).toFixed(2));
    parts.push(
      '',
      `## Idle memory (${result.settings.idleConnections.toLocaleString('en-US')} connections per server)`,
      '',
      table(
        ['server', 'open', 'RSS before (MB)', 'RSS with connections (MB)', 'per connection (KiB)', `vs ${baseline}`, 'above floor (KiB)', 'JS heap (KiB)', 'heap above floor (KiB)', 'ArrayBuffers (KiB)'],
        result.memory.map((m) => [
          result.servers.find((s) => s.id === m.server)?.label ?? m.server,
          m.open.toLocaleString('en-US'),
          (m.baselineRssBytes / 1e6).toFixed(1),
          (m.loadedRssBytes / 1e6).toFixed(1),
          (m.bytesPerConnection / 1024).toFixed(2),
          base === undefined || base.bytesPerConnection <= 0 ? '–' : `${(m.bytesPerConnection / base.bytesPerConnection).toFixed(2)}×`,
          aboveFloor(m.bytesPerConnection, (f) => f.bytesPerConnection),
          (m.heapBytesPerConnection / 1024).toFixed(2),
          aboveFloor(m.heapBytesPerConnection, (f) => f.heapBytesPerConnection),
          (m.arrayBufferBytesPerConnection / 1024).toFixed(2),
        ]),
        1,
      ),
      '',
      (result.memory.every((m) => m.collected) ? 'Both measurements after a full garbage collection (--expose-gc). ' : 'Measured without forcing a garbage collection. ') +
        'Per connection: the RSS delta divided by the open connections; the JS heap and ArrayBuffer columns say where it went (the rest is native: sockets, libuv, allocator). ' +
        "Above floor: less the Node floor's figure, which is what Node's socket and its handshake cost.",
    );
  }
  if (result.peak !== undefined && result.peak.length > 0) {
    const floorPeak = (size: number): PeakResult | undefined => result.peak?.find((p) => p.server === FLOOR_SERVER && p.size === size);
    parts.push(
      '',
      '## Peak memory receiving large messages',
      '',
      table(
        ['server', 'message', 'messages', 'RSS before (MiB)', 'peak RSS (MiB)', 'peak − before', "beyond the message and the floor's"],
        result.peak.map((p) => [
          result.servers.find((s) => s.id === p.server)?.label ?? p.server,
          formatSize(p.size),
          String(p.messages),
          (p.baselineRssBytes / 2 ** 20).toFixed(1),
          (p.peakRssBytes / 2 ** 20).toFixed(1),
          formatMiB(p.peakRssBytes - p.baselineRssBytes),
          ((floor) => (floor === undefined || p.server === FLOOR_SERVER ? '–' : formatMiB(heldBeyondFloor(p, floor))))(floorPeak(p.size)),
        ]),
        1,
      ),
      '',
      'A fresh server process per row and one connection: RSS measured after a full collection with the connection open, the high-water mark (VmHWM) reset ' +
        'then, and read again after the messages, each sent once the reply to the previous one had arrived; every server answers (the floor with a reply built ' +
        "before the baseline) before the next message comes. Beyond the message and the floor's: peak − before, less the message, less the floor's peak − before — " +
        'Node allocates a buffer per socket read and frees it only when the collector runs, so the floor, which keeps no message, still peaks about a message of reads above its baseline.',
    );
  }
  const errors = result.cells.flatMap((c) =>
    result.servers.flatMap(({ id, label }) => {
      const s = summarizeRuns(c.runs[id]);
      return s !== null && s.errors > 0 ? [`- ${describeCell(c.cell)}, ${label}: ${s.errors} errors`] : [];
    }),
  );
  if (errors.length > 0) parts.push('', '## Errors', '', ...errors);
  if (result.skipped.length > 0) {
    parts.push('', '## Cells not run', '', ...result.skipped.map((s) => `- ${describeCell(s.cell)}: ${s.reason}`));
  }
  return `${parts.join('\n')}\n`;
}
