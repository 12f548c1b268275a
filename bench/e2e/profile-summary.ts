/**
 * Summarise a V8 CPU profile (`node --cpu-prof` writes `.cpuprofile` JSON): self time per
 * function, the top N, with each function's share of the samples.
 *
 *   tsx bench/e2e/profile-summary.ts [--top N] FILE.cpuprofile…
 *
 * Self time is the time a function was on top of the stack: where the CPU actually went.
 * `(idle)` (the thread waiting for events) is left out, and shares are of the busy time.
 * `(program)` is V8 and native code outside any JavaScript frame, `(garbage collector)` the
 * collector; a native function such as `writeBuffer` or `writev` includes its system call,
 * which on loopback also carries the kernel's delivery to the peer.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of the `.cpuprofile` format this reads (Chrome DevTools Protocol `Profiler.Profile`). */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One function's self time. */
export interface SelfTime {
  /** `name (file:line)`, or the pseudo-frame's name. */
  readonly location: string;
  readonly milliseconds: number;
  /** Share of the busy time (everything but `(idle)`), in percent. */
  readonly percent: number;
}

/** Where a call frame is: `name (file:line)` with the file's base name and the 1-based line. */
function locate(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.startsWith('file:') ? basename(fileURLToPath(frame.url)) : basename(frame.url);
  return `${name} (${file}:${frame.lineNumber + 1})`;
}

/** The pseudo-frame of a thread waiting for work. */
const IDLE = '(idle)';

/** Self time per function, largest first, without `(idle)`. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const locationOf = new Map(profile.nodes.map((node) => [node.id, locate(node.callFrame)]));
  const totals = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time from the previous sample to sample i, in microseconds.
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    const location = locationOf.get(id) ?? '(unknown)';
    if (location === IDLE) return;
    totals.set(location, (totals.get(location) ?? 0) + delta);
    total += delta;
  });
  return [...totals.entries()]
    .map(([location, micros]) => ({ location, milliseconds: micros / 1000, percent: total > 0 ? (micros / total) * 100 : 0 }))
    .sort((a, b) => b.milliseconds - a.milliseconds);
}

/** The top `count` functions as a Markdown table. */
export function renderSelfTimes(title: string, times: readonly SelfTime[], count: number): string {
  const busy = times.reduce((sum, t) => sum + t.milliseconds, 0);
  const rows = times.slice(0, count).map((t) => `| ${t.percent.toFixed(1)} % | ${t.milliseconds.toFixed(0)} | \`${t.location.replaceAll('|', '\\|')}\` |`);
  return [`#### ${title} (${busy.toFixed(0)} ms busy)`, '', '| self | ms | function |', '|---:|---:|---|', ...rows, ''].join('\n');
}

/** Read and summarise profile files. */
export function summarizeProfiles(files: readonly string[], count: number): string {
  return files.map((file) => renderSelfTimes(basename(file), selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile), count)).join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const args = process.argv.slice(2);
  let count = 25;
  const topAt = args.indexOf('--top');
  if (topAt !== -1) {
    count = Number(args[topAt + 1]);
    args.splice(topAt, 2);
  }
  if (args.length === 0 || !Number.isInteger(count) || count < 1) {
    process.stderr.write('usage: tsx bench/e2e/profile-summary.ts [--top N] FILE.cpuprofile…\n');
    process.exit(2);
  }
  process.stdout.write(summarizeProfiles(args, count));
}
