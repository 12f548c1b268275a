/** Plain-text tables of benchmark medians, with ratios against a baseline column. */
import type { BenchResult } from './measure.js';

export type Unit = 'MB/s' | 'ns/op' | 'Mframes/s' | 'ns/frame';

function value(r: BenchResult, unit: Unit): number {
  switch (unit) {
    case 'MB/s':
      return r.mbPerSecond;
    case 'ns/op':
      return r.nsPerOp;
    case 'Mframes/s':
      return r.itemsPerSecond / 1e6;
    case 'ns/frame':
      return r.nsPerOp / r.itemsPerOp;
  }
}

function format(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * A table with one row per `row` and one column per `subject`, each cell the median in
 * `unit` followed by its speed ratio against `baseline` (>1 means faster than the baseline).
 */
export function renderTable(title: string, results: readonly BenchResult[], unit: Unit, baseline: string): string {
  const rows = [...new Set(results.map((r) => r.row))];
  const subjects = [...new Set(results.map((r) => r.subject))];
  const cell = new Map(results.map((r) => [`${r.row}\u0000${r.subject}`, r]));
  const lowerIsBetter = unit === 'ns/op' || unit === 'ns/frame';
  const header = ['', ...subjects.map((s) => `${s} (${unit})`)];
  const body = rows.map((row) => {
    const base = cell.get(`${row}\u0000${baseline}`);
    return [
      row,
      ...subjects.map((subject) => {
        const r = cell.get(`${row}\u0000${subject}`);
        if (r === undefined) return '–';
        const v = value(r, unit);
        if (base === undefined || subject === baseline) return format(v);
        const b = value(base, unit);
        const ratio = lowerIsBetter ? b / v : v / b;
        return `${format(v)} (${ratio.toFixed(2)}×)`;
      }),
    ];
  });
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((line) => line[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `${title}  (medians; ratios against ${baseline}, >1× = faster)`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
}
