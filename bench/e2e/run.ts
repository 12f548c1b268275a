/**
 * `npm run bench:e2e`: wasmsocket's echo server (wasm codec, then portable codec) side by side
 * with `ws` (pure JavaScript, then with the native bufferutil), each in a process of its own on
 * 127.0.0.1, all driven by the same load generator (`wasmsocket bench`'s `runBench`).
 *
 *   tsx bench/e2e/run.ts [--quick | --full | --targets] [options]
 *
 * Every cell of the matrix runs against every server, in an order that rotates from cell to
 * cell and round to round, so drift on a shared machine hits all servers alike. The primary
 * figure is the server's CPU time per message (from /proc), which does not depend on how
 * fast the rest of the machine is; the Node floor (servers/floor.ts) says what Node's own
 * socket costs of it. Idle memory is measured on fresh server processes: RSS after a full
 * collection, before and with N idle connections; and so is the peak RSS while a server
 * receives large messages (peak.ts).
 *
 * Writes bench/results/e2e[-quick].{json,md,html} and prints the Markdown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchOptions, MaskMode, parseByteSize } from '../../src/cli/bench/options.js';
import { runBench } from '../../src/cli/bench/run.js';
import { formatMicros, formatSize } from '../../src/cli/bench/report.js';
import { type Cell, cellKey, crossProduct, FULL_CONNECTIONS, FULL_DEPTHS, FULL_SIZES, FULL_TYPES, QUICK_CELLS, rotate, TARGET_CELLS, withinBudget } from './matrix.js';
import { summarizeProfiles } from './profile-summary.js';
import { renderHtml } from './report/html.js';
import { describeCell, renderMarkdown } from './report/markdown.js';
import { measurePeak } from './peak.js';
import { type CellResult, checkTargets, type E2eResult, floorRatios, formatMiB, measurementOf, type MemoryResult, type PeakResult, type RunMeasurement } from './results.js';
import { BASELINE_SERVER, REQUIRED_SERVERS, SERVERS, ServerProcess, type ServerSpec } from './servers.js';
import { runH2Bench } from './h2.js';

/** The file-descriptor limit wanted: 10,000 idle connections need as many on each end. */
const WANTED_FD_LIMIT = 65536;
/** Rounds of a full run: the 64 KiB cells spread widely from run to run, so medians need several. */
const DEFAULT_ROUNDS = 5;

/** The message size of the peak-memory figure: the issue's 16 MiB. */
const DEFAULT_PEAK_SIZE = 16 * 1024 * 1024;

/** Set in the environment of the re-executed runner, so it does not loop. */
const RAISED_ENV = 'WASMSOCKET_E2E_FD_RAISED';

const USAGE = `Usage: tsx bench/e2e/run.ts [--quick | --full | --targets] [options]

  --quick                 a smoke run (< 3 minutes): 16 connections at 16 B, 1 KiB and 64 KiB
                          binary, 1 KiB text, 1 KiB depth 16; one round; idle and peak memory
  --full                  the whole matrix (the default): 16 B, 1 KiB, 64 KiB, 1 MiB, 16 MiB ×
                          1, 16, 256 connections × binary, text × depth 1, 16
  --sizes <list>          payload sizes, e.g. 16,1k,64k,1m
  --connections <list>    e.g. 1,16,256
  --types <list>          binary,text
  --depths <list>         e.g. 1,16
  --servers <list>        of ${SERVERS.map((s) => s.id).join(', ')} (${REQUIRED_SERVERS.join(' and ')}, the references of the ratios, always run;
                          ${SERVERS.filter((s) => s.optional === true).map((s) => s.id).join(', ')} only when named: the floor with one write per read)
  --rounds <n>            rounds over the matrix (quick 1, otherwise ${DEFAULT_ROUNDS}); figures are medians
  --duration <s>          measured seconds per run (quick 2, full 3)
  --warmup <s>            warm-up seconds per run (quick 0.5, full 1)
  --workers <n>           load generator threads (default 1: the server keeps a core of its own)
  --mask <mode>           fresh, pooled or fixed (default fresh)
  --targets               the cells the targets against the Node floor are stated for: 16
                          connections × 16 B, 1 KiB, 64 KiB binary and 1 KiB, 64 KiB text ×
                          depth 1, 16; 1 connection × 1 MiB, 16 MiB binary × depth 1
  --idle-connections <n>  idle connections per server for the memory figure (default 10000; 0: skip)
  --peak-size <size>      message size for the peak-memory figure (default 16m; 0: skip)
  --peak-messages <n>     messages sent one at a time for it (default 3)
  --profile <server>      run that server under node --cpu-prof and summarise the profile
  --out <dir>             where results go (default bench/results)
  --render <file.json>    only write the Markdown and HTML reports of a saved result again
  --h2                    only the HTTP/2 cell (bench/e2e/h2.ts): 100 WebSockets on one h2c
                          session vs 100 HTTP/1.1 connections; takes --duration, --warmup,
                          --rounds, --sizes, --idle-connections, --out
  -h, --help
`;

interface RunnerOptions {
  readonly name: string;
  readonly cells: Cell[];
  readonly skipped: Cell[];
  readonly servers: ServerSpec[];
  readonly rounds: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly workers: number;
  readonly mask: MaskMode;
  readonly idleConnections: number;
  readonly peakSize: number;
  readonly peakMessages: number;
  readonly profile: string | undefined;
  readonly outDir: string;
}

function fail(message: string): never {
  process.stderr.write(`bench:e2e: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function list(text: string | undefined, parse: (item: string) => string | number): (string | number)[] | undefined {
  return text === undefined ? undefined : text.split(',').map((item) => parse(item.trim()));
}

function positiveInteger(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) fail(`${what} must be a whole number, not "${text}"`);
  return value;
}

function seconds(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback * 1000;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) fail(`${what} must be a number of seconds above 0, not "${text}"`);
  return Math.round(value * 1000);
}

function parseOptions(argv: readonly string[]): RunnerOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        full: { type: 'boolean' },
        targets: { type: 'boolean' },
        sizes: { type: 'string' },
        connections: { type: 'string' },
        types: { type: 'string' },
        depths: { type: 'string' },
        servers: { type: 'string' },
        rounds: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        workers: { type: 'string' },
        mask: { type: 'string' },
        'idle-connections': { type: 'string' },
        'peak-size': { type: 'string' },
        'peak-messages': { type: 'string' },
        profile: { type: 'string' },
        out: { type: 'string' },
        render: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (parsed.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if ([parsed.quick, parsed.full, parsed.targets].filter((flag) => flag === true).length > 1) fail('--quick, --full and --targets cannot be combined');
  if (parsed.render !== undefined) {
    writeReports(parsed.render.replace(/\.json$/, ''), JSON.parse(readFileSync(parsed.render, 'utf8')) as E2eResult);
    process.exit(0);
  }
  const quick = parsed.quick === true;
  const sizes = list(parsed.sizes, (s) => byteSize(s, '--sizes')) as number[] | undefined;
  const connections = list(parsed.connections, (c) => positiveInteger(c, '--connections')) as number[] | undefined;
  const types = list(parsed.types, (t) => (t === 'binary' || t === 'text' ? t : fail(`--types takes binary and text, not "${t}"`))) as ('binary' | 'text')[] | undefined;
  const depths = list(parsed.depths, (d) => positiveInteger(d, '--depths')) as number[] | undefined;
  const chosen = sizes !== undefined || connections !== undefined || types !== undefined || depths !== undefined;
  if (parsed.targets === true && chosen) fail('--targets names its cells: it takes no --sizes, --connections, --types or --depths');
  const all =
    parsed.targets === true
      ? [...TARGET_CELLS]
      : quick && !chosen
      ? [...QUICK_CELLS]
      : crossProduct(sizes ?? (quick ? [16, 1024, 64 * 1024] : [...FULL_SIZES]), connections ?? (quick ? [16] : [...FULL_CONNECTIONS]), types ?? (quick ? ['binary'] : FULL_TYPES), depths ?? (quick ? [1] : [...FULL_DEPTHS]));
  const { run, skipped } = withinBudget(all);
  const serverIds = parsed.servers === undefined ? SERVERS.filter((s) => s.optional !== true).map((s) => s.id) : [...new Set([...parsed.servers.split(',').map((s) => s.trim()), ...REQUIRED_SERVERS])];
  const servers = serverIds.map((id) => SERVERS.find((s) => s.id === id) ?? fail(`unknown server "${id}" (known: ${SERVERS.map((s) => s.id).join(', ')})`));
  servers.sort((a, b) => SERVERS.indexOf(a) - SERVERS.indexOf(b));
  const mask = parsed.mask ?? MaskMode.FRESH;
  if (mask !== MaskMode.FRESH && mask !== MaskMode.POOLED && mask !== MaskMode.FIXED) fail(`--mask must be fresh, pooled or fixed, not "${mask}"`);
  if (parsed.profile !== undefined && !servers.some((s) => s.id === parsed.profile)) fail(`--profile names a server that does not run: "${parsed.profile}"`);
  return {
    name: quick ? 'e2e-quick' : 'e2e',
    cells: run,
    skipped,
    servers,
    rounds: parsed.rounds === undefined ? (quick ? 1 : DEFAULT_ROUNDS) : Math.max(1, positiveInteger(parsed.rounds, '--rounds')),
    durationMs: seconds(parsed.duration, quick ? 2 : 3, '--duration'),
    warmupMs: seconds(parsed.warmup, quick ? 0.5 : 1, '--warmup'),
    workers: parsed.workers === undefined ? 1 : Math.max(1, positiveInteger(parsed.workers, '--workers')),
    mask,
    idleConnections: parsed['idle-connections'] === undefined ? 10_000 : positiveInteger(parsed['idle-connections'], '--idle-connections'),
    peakSize: parsed['peak-size'] === undefined ? DEFAULT_PEAK_SIZE : parsed['peak-size'].trim() === '0' ? 0 : byteSize(parsed['peak-size'], '--peak-size'),
    peakMessages: parsed['peak-messages'] === undefined ? 3 : Math.max(1, positiveInteger(parsed['peak-messages'], '--peak-messages')),
    profile: parsed.profile,
    outDir: resolve(parsed.out ?? 'bench/results'),
  };
}

function byteSize(text: string, what: string): number {
  try {
    return parseByteSize(text, what);
  } catch (error) {
    fail((error as Error).message);
  }
}

/** This process's open-file limit (as a shell it starts sees it). */
function fileDescriptorLimit(): number {
  const result = spawnSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const text = result.stdout.trim();
  return text === 'unlimited' ? Infinity : Number(text);
}

/**
 * Run again under `ulimit -n 65536` when the limit is lower (servers and generator inherit
 * it), or under the hard limit where raising it is not allowed; resolves to the exit status
 * of that run, or null to carry on here.
 */
async function reexecWithRaisedLimit(): Promise<number | null> {
  if (process.env[RAISED_ENV] !== undefined || fileDescriptorLimit() >= WANTED_FD_LIMIT) return null;
  const command = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn('bash', ['-c', `ulimit -n ${WANTED_FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'bash', ...command], {
    stdio: 'inherit',
    env: { ...process.env, [RAISED_ENV]: '1' },
  });
  return new Promise((resolveExit) => child.on('exit', (code) => resolveExit(code ?? 1)));
}

function benchOptions(server: ServerProcess, cell: Cell, options: RunnerOptions): BenchOptions {
  return {
    url: server.urlFor(cell),
    connections: cell.connections,
    sizes: [{ size: cell.size, weight: 1 }],
    messageType: cell.type,
    mode: { kind: 'closed', depth: cell.depth },
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    subprotocols: [],
    headers: {},
    deflate: false,
    workers: Math.min(options.workers, cell.connections),
    mask: options.mask,
    codec: 'auto',
    connectTimeoutMs: 30_000,
    insecure: false,
    serverPid: server.pid,
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runMatrix(options: RunnerOptions, profileDir: string): Promise<CellResult[]> {
  const servers: ServerProcess[] = [];
  try {
    // One after another, each in its own process; idle ones cost nothing while another is loaded.
    for (const spec of options.servers) {
      const cpuProfileDir = options.profile === spec.id ? profileDir : undefined;
      servers.push(await ServerProcess.start(spec, cpuProfileDir === undefined ? { exposeGc: false } : { exposeGc: false, cpuProfileDir }));
      log(`started ${spec.label} (pid ${servers.at(-1)!.pid}) on 127.0.0.1:${servers.at(-1)!.port}`);
    }
    const runs = new Map<string, Record<string, RunMeasurement[]>>(options.cells.map((cell) => [cellKey(cell), Object.fromEntries(servers.map((s) => [s.spec.id, []]))]));
    const total = options.rounds * options.cells.length * servers.length;
    let done = 0;
    for (let round = 0; round < options.rounds; round++) {
      for (const [index, cell] of options.cells.entries()) {
        for (const server of rotate(servers, round + index)) {
          done++;
          let result;
          try {
            result = await runBench(benchOptions(server, cell, options));
          } catch (error) {
            // One failed run (a worker that could not start, a server that died) costs its
            // measurement, not the matrix; the report counts the rounds each figure is from.
            log(`[${done}/${total}] round ${round + 1}, ${describeCell(cell)}, ${server.spec.label}: run failed: ${(error as Error).message}`);
            continue;
          }
          const measurement = measurementOf(round, result);
          runs.get(cellKey(cell))![server.spec.id]!.push(measurement);
          log(
            `[${done}/${total}] round ${round + 1}, ${describeCell(cell)}, ${server.spec.label}: ` +
              `${measurement.serverCpuMicrosPerMessage.toFixed(2)} µs CPU/message, ${Math.round(measurement.messagesPerSecond).toLocaleString('en-US')} messages/s, ` +
              `p50 ${formatMicros(measurement.latency.p50)}${measurement.errors > 0 ? `, ${measurement.errors} errors` : ''}`,
          );
        }
      }
    }
    return options.cells.map((cell) => {
      const result = { cell, runs: runs.get(cellKey(cell))! };
      return { ...result, toFloor: floorRatios(result) };
    });
  } finally {
    for (const server of servers) await server.stop();
  }
}

async function measureMemory(options: RunnerOptions): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const spec of options.servers) {
    // A fresh process: a heap that earlier loads grew would absorb new connections unseen.
    const server = await ServerProcess.start(spec, { exposeGc: true });
    try {
      const before = await server.memory();
      let loaded = before;
      const result = await runBench(
        {
          ...benchOptions(server, { size: 16, connections: options.idleConnections, type: 'binary', depth: 1 }, options),
          mode: { kind: 'idle' },
          durationMs: 500,
          warmupMs: 0,
          workers: Math.min(2, options.idleConnections),
        },
        {
          onConnected: async () => {
            loaded = await server.memory();
          },
        },
      );
      const open = result.connections.opened;
      const memory: MemoryResult = {
        server: spec.id,
        connections: options.idleConnections,
        open,
        baselineRssBytes: before.rssBytes,
        loadedRssBytes: loaded.rssBytes,
        bytesPerConnection: open > 0 ? (loaded.rssBytes - before.rssBytes) / open : 0,
        heapBytesPerConnection: open > 0 ? (loaded.heapUsedBytes - before.heapUsedBytes) / open : 0,
        arrayBufferBytesPerConnection: open > 0 ? (loaded.arrayBuffersBytes - before.arrayBuffersBytes) / open : 0,
        collected: before.collected && loaded.collected,
      };
      results.push(memory);
      log(
        `idle memory, ${spec.label}: ${open} connections, ${(memory.bytesPerConnection / 1024).toFixed(2)} KiB RSS each ` +
          `(heap ${(memory.heapBytesPerConnection / 1024).toFixed(2)} KiB, ArrayBuffers ${(memory.arrayBufferBytesPerConnection / 1024).toFixed(2)} KiB)`,
      );
    } finally {
      await server.stop();
    }
  }
  return results;
}

async function measurePeaks(options: RunnerOptions): Promise<PeakResult[]> {
  const results: PeakResult[] = [];
  for (const spec of options.servers) {
    try {
      const peak = await measurePeak(spec, options.peakSize, options.peakMessages);
      results.push(peak);
      log(`peak memory, ${spec.label}: ${(peak.peakRssBytes / 2 ** 20).toFixed(1)} MiB at most, ${formatMiB(peak.aboveMessageBytes)} above RSS before plus the ${formatSize(peak.size)} message`);
    } catch (error) {
      log(`peak memory, ${spec.label}: not measured: ${(error as Error).message}`);
    }
  }
  return results;
}

/** Write `base`.md and `base`.html for `result`; returns the Markdown. */
function writeReports(base: string, result: E2eResult): string {
  const markdown = renderMarkdown(result);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.html`, renderHtml(result, markdown));
  return markdown;
}

async function main(): Promise<number> {
  const reexecuted = await reexecWithRaisedLimit();
  if (reexecuted !== null) return reexecuted;
  if (process.argv.includes('--h2')) return runH2Bench(process.argv.slice(2));
  const options = parseOptions(process.argv.slice(2));
  const limit = fileDescriptorLimit();
  if (options.idleConnections > 0 && limit < options.idleConnections + 1024) {
    log(`warning: the open-file limit is ${limit}; ${options.idleConnections} idle connections may fail (run as root to raise it)`);
  }
  mkdirSync(options.outDir, { recursive: true });
  const profileDir = join(options.outDir, 'profiles');
  if (options.profile !== undefined) mkdirSync(profileDir, { recursive: true });
  const profilesBefore = new Set(options.profile === undefined ? [] : readdirSync(profileDir));
  const startedAt = new Date().toISOString();
  log(`bench:e2e: ${options.cells.length} cells × ${options.servers.length} servers × ${options.rounds} round(s), ${options.durationMs / 1000} s each after ${options.warmupMs / 1000} s warm-up`);

  const cells = await runMatrix(options, profileDir);
  const memory = options.idleConnections > 0 ? await measureMemory(options) : [];
  const peak = options.peakSize > 0 ? await measurePeaks(options) : [];
  const cpu = cpus();
  const result: E2eResult = {
    tool: 'wasmsocket bench:e2e',
    version: 2,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: { node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', platform: `${process.platform} ${process.arch}` },
    settings: {
      rounds: options.rounds,
      durationSeconds: options.durationMs / 1000,
      warmupSeconds: options.warmupMs / 1000,
      workers: options.workers,
      mask: options.mask,
      idleConnections: options.idleConnections,
    },
    servers: options.servers.map(({ id, label }) => ({ id, label })),
    baseline: BASELINE_SERVER,
    cells,
    skipped: options.skipped.map((cell) => ({ cell, reason: `${((cell.size * cell.connections * cell.depth) / 2 ** 30).toFixed(0)} GiB in flight, over the 256 MiB budget` })),
    memory,
    peak,
    targets: checkTargets(cells, memory, peak),
  };
  const base = join(options.outDir, options.name);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(writeReports(base, result));
  if (options.profile !== undefined) {
    const profiles = readdirSync(profileDir)
      .filter((file) => file.endsWith('.cpuprofile') && !profilesBefore.has(file))
      .map((file) => join(profileDir, file));
    process.stdout.write(`\n## CPU profile of ${options.profile} (self time, top 30)\n\n${summarizeProfiles(profiles, 30)}`);
  }
  log(`wrote ${base}.json, ${base}.md and ${base}.html`);
  return 0;
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`bench:e2e: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
