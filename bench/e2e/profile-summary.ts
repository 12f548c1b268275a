/**
 * Summarise a V8 CPU profile (`node --cpu-prof` writes `.cpuprofile` JSON): self time per
 * function, the top N, with each function's share of the samples; then the same for the
 * library's own functions (files under src/) alone, each with its total time too (the time it
 * was anywhere on the stack), which is where the cost above the Node floor is.
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
    readonly children?: readonly number[];
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

/** One of the library's functions: its self time and its total time (on the stack at all). */
export interface OwnTime extends SelfTime {
  readonly totalMilliseconds: number;
  readonly totalPercent: number;
}

/** Whether a frame's script is one of the library's own sources. */
export function isOwnSource(url: string): boolean {
  return url.startsWith('file:') && url.includes('/src/');
}

/**
 * Self and total time of the functions whose script `isOwn`, by self time, largest first.
 * A sample counts once towards the total of each function on its stack, however deep it recurses.
 */
export function ownTimes(profile: CpuProfile, isOwn: (url: string) => boolean = isOwnSource): OwnTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    const leaf = byId.get(id);
    if (leaf === undefined || locate(leaf.callFrame) === IDLE) return;
    busy += delta;
    if (isOwn(leaf.callFrame.url)) self.set(locate(leaf.callFrame), (self.get(locate(leaf.callFrame)) ?? 0) + delta);
    const seen = new Set<string>();
    for (let node: typeof leaf | undefined = leaf; node !== undefined; node = byId.get(parentOf.get(node.id) ?? -1)) {
      if (!isOwn(node.callFrame.url)) continue;
      const location = locate(node.callFrame);
      if (seen.has(location)) continue;
      seen.add(location);
      total.set(location, (total.get(location) ?? 0) + delta);
    }
  });
  const share = (micros: number): number => (busy > 0 ? (micros / busy) * 100 : 0);
  return [...total.entries()]
    .map(([location, totalMicros]) => {
      const selfMicros = self.get(location) ?? 0;
      return { location, milliseconds: selfMicros / 1000, percent: share(selfMicros), totalMilliseconds: totalMicros / 1000, totalPercent: share(totalMicros) };
    })
    .sort((a, b) => b.milliseconds - a.milliseconds || b.totalMilliseconds - a.totalMilliseconds);
}

/** The top `count` of the library's functions as a Markdown table, under the share all of them take. */
export function renderOwnTimes(times: readonly OwnTime[], count: number): string {
  const selfShare = times.reduce((sum, t) => sum + t.percent, 0);
  const rows = times.slice(0, count).map((t) => `| ${t.percent.toFixed(1)} % | ${t.totalPercent.toFixed(1)} % | \`${t.location.replaceAll('|', '\\|')}\` |`);
  return [`Own functions (src/): ${selfShare.toFixed(1)} % of the busy time in their own code.`, '', '| self | total | function |', '|---:|---:|---|', ...rows, ''].join('\n');
}

/** The top `count` functions as a Markdown table. */
export function renderSelfTimes(title: string, times: readonly SelfTime[], count: number): string {
  const busy = times.reduce((sum, t) => sum + t.milliseconds, 0);
  const rows = times.slice(0, count).map((t) => `| ${t.percent.toFixed(1)} % | ${t.milliseconds.toFixed(0)} | \`${t.location.replaceAll('|', '\\|')}\` |`);
  return [`#### ${title} (${busy.toFixed(0)} ms busy)`, '', '| self | ms | function |', '|---:|---:|---|', ...rows, ''].join('\n');
}

/** Read and summarise profile files. */
export function summarizeProfiles(files: readonly string[], count: number): string {
  return files
    .map((file) => {
      const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
      return `${renderSelfTimes(basename(file), selfTimes(profile), count)}\n${renderOwnTimes(ownTimes(profile), count)}`;
    })
    .join('\n');
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
