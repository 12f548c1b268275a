/**
 * The package as a user gets it, built once per test run and shared by every test file that
 * needs it (test/package, test/runtimes): a copy of the sources is packed with `npm pack` (its
 * prepack builds dist/ there, so the repository's own dist/ is never touched while other
 * tests read it), and the tarball is installed into a scratch project with `npm install`.
 * Tests then use `wasmsocket` from that project's node_modules, never from src/.
 *
 * Test files run in separate processes; the first one to get here builds, the others wait for
 * it. The build is keyed by the test runner's process (the parent of every test process), so
 * one run builds once and the next run builds afresh.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository. */
export const root = resolve(import.meta.dirname, '../..');

/** What the sources' copy needs to build and pack; tests, benchmarks and docs stay behind. */
const PACKAGE_SOURCES = ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'rollup.config.mjs', 'tsconfig.json', 'asconfig.json', 'src', 'assembly', 'scripts'];

/** The longest a build may take before the test files waiting for it give up. */
export const PACK_TIMEOUT_MS = 360_000;

export interface PackedPackage {
  /** The tarball `npm pack` wrote. */
  readonly tarball: string;
  /** `npm pack --json`'s report: files, sizes. */
  readonly report: PackReport;
  /** A scratch project (package.json, node_modules/wasmsocket installed from the tarball). */
  readonly project: string;
  /** node_modules/wasmsocket inside the project: the installed package. */
  readonly installed: string;
}

export interface PackReport {
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>;
}

const PROCESS_TAG = 'wasmsocket-packed-';

/** The test runner's identity: its pid and, on Linux, its start time (pids are reused). */
function runnerKey(): string {
  const pid = process.ppid;
  let started = '';
  try {
    // Field 22 of /proc/<pid>/stat, after the parenthesised command name.
    started = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
  } catch {
    // Not Linux: the pid alone.
  }
  return started ? `${pid}-${started}` : String(pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove what earlier runs left (their runner has exited). */
async function removeStale(keep: string): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PROCESS_TAG) || name.startsWith(keep)) continue;
    const pid = Number(name.slice(PROCESS_TAG.length).split(/[-.]/)[0]);
    if (Number.isInteger(pid) && !alive(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

let cached: Promise<PackedPackage> | undefined;

/** The packed and installed package (built on first use in this run). */
export function packedPackage(): Promise<PackedPackage> {
  cached ??= obtain();
  return cached;
}

async function obtain(): Promise<PackedPackage> {
  const tag = `${PROCESS_TAG}${runnerKey()}`;
  const base = join(tmpdir(), tag);
  const lock = `${base}.lock`;
  const ready = join(base, 'ready.json');
  const failed = join(base, 'failed.txt');
  let builder = false;
  try {
    await mkdir(lock);
    builder = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (builder) {
    await removeStale(tag);
    await rm(base, { recursive: true, force: true });
    await mkdir(base, { recursive: true });
    try {
      const result = await build(base);
      await writeFile(ready, JSON.stringify(result));
    } catch (error) {
      await writeFile(failed, String((error as Error).stack ?? error));
      throw error;
    }
  }
  const deadline = Date.now() + PACK_TIMEOUT_MS;
  for (;;) {
    if (existsSync(ready)) return JSON.parse(await readFile(ready, 'utf8')) as PackedPackage;
    if (existsSync(failed)) throw new Error(`packing the package failed in another test file:\n${await readFile(failed, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`the package was not packed within ${PACK_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Windows runs npm.cmd only through a shell. */
const shell = process.platform === 'win32';

async function build(base: string): Promise<PackedPackage> {
  const sources = join(base, 'sources');
  await mkdir(sources);
  for (const entry of PACKAGE_SOURCES) {
    if (existsSync(join(root, entry))) await cp(join(root, entry), join(sources, entry), { recursive: true });
  }
  await symlink(join(root, 'node_modules'), join(sources, 'node_modules'), 'junction');
  const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', base], { cwd: sources, env, shell, maxBuffer: 64 * 1024 * 1024, timeout: PACK_TIMEOUT_MS });
  // npm prints the prepack build's output before the JSON report.
  const json = stdout.slice(stdout.indexOf('[\n'));
  const [report] = JSON.parse(json) as Array<PackReport & { filename: string }>;
  const tarball = join(base, report!.filename);

  const project = join(base, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }, null, 2));
  // The package has no runtime dependencies: installing its tarball needs no registry.
  await run(npm, ['install', '--offline', '--no-package-lock', tarball], { cwd: project, env, shell, timeout: 120_000 });
  return {
    tarball,
    report: { size: report!.size, unpackedSize: report!.unpackedSize, entryCount: report!.entryCount, files: report!.files.map(({ path, size }) => ({ path, size })) },
    project,
    installed: join(project, 'node_modules/wasmsocket'),
  };
}
