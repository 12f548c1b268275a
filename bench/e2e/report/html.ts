/**
 * The end-to-end results as one self-contained HTML page: the Markdown report's tables, and
 * charts drawn as inline SVG (nothing is fetched): per message type and depth, the server CPU
 * per message of ours and of ws + bufferutil over the Node floor's, and of every server
 * relative to the baseline, cell by cell; and the idle memory per connection.
 */
import type { MessageType } from '../../../src/cli/bench/options.js';
import { formatSize } from '../../../src/cli/bench/report.js';
import { type CellResult, type E2eResult, cpuRatio, floorRatios, summarizeRuns } from '../results.js';
import { FLOOR_SERVER } from '../servers.js';
import { describeCell, describeRun, formatFigure } from './markdown.js';

/** Colours of the servers' bars, in column order. */
const PALETTE = ['#2563eb', '#60a5fa', '#d97706', '#15803d', '#7c3aed', '#db2777'];

/** Escape text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** A bar of a grouped bar chart. */
interface Bar {
  readonly series: number;
  readonly value: number;
  readonly title: string;
}

/**
 * A grouped bar chart: one group per label, one bar per series, a y axis from 0 to the
 * largest value (and to `reference`, drawn as a dashed line, if given).
 */
export function barChart(title: string, groups: readonly { readonly label: string; readonly bars: readonly Bar[] }[], seriesLabels: readonly string[], unit: string, reference?: number): string {
  const barWidth = 12;
  const groupGap = 18;
  const left = 56;
  const top = 34;
  const plotHeight = 200;
  const legendRows = Math.ceil(seriesLabels.length / 4);
  // Room under the axis for the rotated group labels, then the legend.
  const bottom = 110 + legendRows * 16;
  const groupWidth = seriesLabels.length * barWidth + groupGap;
  const width = Math.max(780, left + groups.length * groupWidth + 20);
  const height = top + plotHeight + bottom;
  const max = Math.max(reference ?? 0, ...groups.flatMap((g) => g.bars.map((b) => b.value)), 1e-9);
  const y = (value: number): number => top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${left}" y="18" font-size="14" font-weight="600">${escapeHtml(title)}</text>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#444"/>`,
    `<line x1="${left}" y1="${top + plotHeight}" x2="${width - 10}" y2="${top + plotHeight}" stroke="#444"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (max * i) / 4;
    parts.push(
      `<line x1="${left - 4}" y1="${y(value).toFixed(1)}" x2="${width - 10}" y2="${y(value).toFixed(1)}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${(y(value) + 4).toFixed(1)}" font-size="10" text-anchor="end">${escapeHtml(formatFigure(value))}</text>`,
    );
  }
  parts.push(`<text x="12" y="${top + plotHeight / 2}" font-size="11" transform="rotate(-90 12 ${top + plotHeight / 2})" text-anchor="middle">${escapeHtml(unit)}</text>`);
  groups.forEach((group, g) => {
    const x0 = left + 10 + g * groupWidth;
    for (const bar of group.bars) {
      const x = x0 + bar.series * barWidth;
      const h = Math.max(0, top + plotHeight - y(bar.value));
      parts.push(
        `<rect x="${x}" y="${y(bar.value).toFixed(1)}" width="${barWidth - 2}" height="${h.toFixed(1)}" fill="${PALETTE[bar.series % PALETTE.length]}"><title>${escapeHtml(bar.title)}</title></rect>`,
      );
    }
    const cx = x0 + (seriesLabels.length * barWidth) / 2;
    parts.push(`<text x="${cx}" y="${top + plotHeight + 12}" font-size="10" text-anchor="end" transform="rotate(-40 ${cx} ${top + plotHeight + 12})">${escapeHtml(group.label)}</text>`);
  });
  if (reference !== undefined) {
    parts.push(`<line x1="${left}" y1="${y(reference).toFixed(1)}" x2="${width - 10}" y2="${y(reference).toFixed(1)}" stroke="#dc2626" stroke-dasharray="4 3"/>`);
  }
  seriesLabels.forEach((label, s) => {
    const x = left + (s % 4) * 180;
    const ly = height - legendRows * 16 + 4 + Math.floor(s / 4) * 16;
    parts.push(`<rect x="${x}" y="${ly - 9}" width="10" height="10" fill="${PALETTE[s % PALETTE.length]}"/>`, `<text x="${x + 14}" y="${ly}" font-size="11">${escapeHtml(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The cells of each message type and depth present, in report order. */
function cellGroups(result: E2eResult): { readonly type: MessageType; readonly depth: number; readonly cells: CellResult[] }[] {
  const types = [...new Set(result.cells.map((c) => c.cell.type))] as MessageType[];
  const depths = [...new Set(result.cells.map((c) => c.cell.depth))];
  return types.flatMap((type) =>
    depths.map((depth) => ({ type, depth, cells: result.cells.filter((c) => c.cell.type === type && c.cell.depth === depth) })).filter((group) => group.cells.length > 0),
  );
}

/** The charts of ours and ws + bufferutil over the Node floor: one per message type and depth. */
function floorCharts(result: E2eResult): string[] {
  if (!result.servers.some((s) => s.id === FLOOR_SERVER)) return [];
  const series = ['wasmsocket (wasm) / floor', 'ws + bufferutil / floor'];
  return cellGroups(result).map(({ type, depth, cells }) =>
    barChart(
      `Server CPU per message over the Node floor — ${type}, depth ${depth} (lower is better; 1 is the floor)`,
      cells.map((c) => {
        const { ours, ws } = floorRatios(c);
        const bars = [ours, ws].flatMap((ratio, i) => (ratio === null ? [] : [{ series: i, value: ratio, title: `${series[i]}, ${describeCell(c.cell)}: ${ratio.toFixed(2)}×` }]));
        return { label: `${formatSize(c.cell.size)} × ${c.cell.connections}`, bars };
      }),
      series,
      '× floor',
      1,
    ),
  );
}

/** The CPU ratio charts: one per message type and depth. */
function cpuCharts(result: E2eResult): string[] {
  const baseline = result.servers.find((s) => s.id === result.baseline)?.label ?? result.baseline;
  return cellGroups(result).map(({ type, depth, cells }) =>
    barChart(
      `Server CPU per message relative to ${baseline} — ${type}, depth ${depth} (lower is better)`,
      cells.map((c) => ({
        label: `${formatSize(c.cell.size)} × ${c.cell.connections}`,
        bars: result.servers.flatMap(({ id, label }, series) => {
          const ratio = cpuRatio(c, id, result.baseline);
          const summary = summarizeRuns(c.runs[id]);
          return ratio === null || summary === null
            ? []
            : [{ series, value: ratio, title: `${label}, ${describeCell(c.cell)}: ${formatFigure(summary.serverCpuMicrosPerMessage)} µs/message (${ratio.toFixed(2)}×)` }];
        }),
      })),
      result.servers.map((s) => s.label),
      `× ${baseline}`,
      1,
    ),
  );
}

function memoryChart(result: E2eResult): string {
  const groups = result.memory.map((m) => {
    const series = result.servers.findIndex((s) => s.id === m.server);
    const label = result.servers[series]?.label ?? m.server;
    return { label, bars: [{ series: Math.max(0, series), value: m.bytesPerConnection / 1024, title: `${label}: ${(m.bytesPerConnection / 1024).toFixed(2)} KiB per connection` }] };
  });
  return barChart(
    `Idle memory per connection (${result.settings.idleConnections.toLocaleString('en-US')} connections, RSS delta)`,
    groups,
    result.servers.map((s) => s.label),
    'KiB per connection',
  );
}

/** Markdown tables (the subset the report writer emits) as HTML tables; other lines as paragraphs or headings. */
export function markdownToHtml(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.split('\n');
  const inline = (text: string): string => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.startsWith('|'); i++) {
        rows.push(lines[i]!.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll('\\|', '|')));
      }
      i--;
      const [header, , ...body] = rows;
      out.push(
        '<table>',
        `<thead><tr>${header!.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead>`,
        `<tbody>${body.map((row) => `<tr>${row.map((c, j) => `<td${j > 0 ? ' class="n"' : ''}>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody>`,
        '</table>',
      );
    } else if (line.startsWith('#')) {
      const level = /^#+/.exec(line)![0].length;
      out.push(`<h${level}>${inline(line.slice(level).trim())}</h${level}>`);
    } else if (line.startsWith('- ')) {
      out.push(`<li>${inline(line.slice(2))}</li>`);
    } else if (line.trim() !== '') {
      out.push(`<p>${inline(line)}</p>`);
    }
  }
  return out.join('\n');
}

/** The whole page. `markdown` is the Markdown report of the same result. */
export function renderHtml(result: E2eResult, markdown: string): string {
  const charts = [...floorCharts(result), ...cpuCharts(result), ...(result.memory.length > 0 ? [memoryChart(result)] : [])];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wasmsocket end-to-end benchmark</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #111; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 13px; }
th, td { border: 1px solid #d1d5db; padding: 3px 8px; }
th { background: #f3f4f6; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; overflow-x: auto; }
code { background: #f3f4f6; padding: 0 3px; }
</style>
</head>
<body>
<h1>wasmsocket end-to-end benchmark</h1>
<p>${escapeHtml(describeRun(result))}</p>
${charts.map((chart) => `<figure>${chart}</figure>`).join('\n')}
${markdownToHtml(markdown.split('\n').slice(4).join('\n'))}
</body>
</html>
`;
}
