/**
 * The other runtimes the package supports, from the dev dependencies (no download): Bun from
 * its platform package (`@oven/bun-<platform>`, an optional dependency of `bun`), Deno from
 * its platform package (`@deno/<platform>`, an optional dependency of `deno`). Neither needs
 * its package's install script: the binary ships inside the platform package.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../package/packed.js';

const exe = process.platform === 'win32' ? '.exe' : '';

function firstThatRuns(candidates: readonly string[]): { path: string; version: string } | undefined {
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (result.status === 0) return { path, version: result.stdout.trim() };
  }
  return undefined;
}

function packagesUnder(scope: string, prefix: string): string[] {
  const dir = join(root, 'node_modules', scope);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith(prefix)).map((name) => join(dir, name)) : [];
}

/** Bun's binary and `bun --version`, or undefined where this platform has none installed. */
export function findBun(): { path: string; version: string } | undefined {
  return firstThatRuns([
    ...packagesUnder('@oven', 'bun-').map((dir) => join(dir, 'bin', `bun${exe}`)),
    // The `bun` package's own bin, once its install script has put the binary there.
    join(root, 'node_modules/bun/bin/bun.exe'),
  ]);
}

/** Deno's binary and its version line, or undefined where this platform has none installed. */
export function findDeno(): { path: string; version: string } | undefined {
  const found = firstThatRuns([
    ...packagesUnder('@deno', '').map((dir) => join(dir, `deno${exe}`)),
    join(root, 'node_modules/deno', `deno${exe}`),
  ]);
  return found && { path: found.path, version: found.version.split('\n')[0]!.replace(/^deno\s+/, '').split(' ')[0]! };
}

/** `a.b.c` compared with `x.y.z`. */
export function atLeast(version: string, minimum: string): boolean {
  const have = version.split('.').map(Number);
  const need = minimum.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) !== need[i]) return (have[i] ?? 0) > need[i]!;
  }
  return true;
}

/** Copy the peer script into the project that has the package installed. */
export async function installPeer(project: string): Promise<string> {
  const target = join(project, 'runtime-peer.mjs');
  await copyFile(join(import.meta.dirname, 'peer.mjs'), target);
  return target;
}

export interface PeerRun {
  /** Resolves to the JSON lines the peer printed, once it exits with 0. */
  readonly done: Promise<unknown[]>;
  /** The first JSON line, as soon as it is printed (the server's port). */
  readonly first: Promise<unknown>;
  kill(): void;
}

/** Run `command args` in `cwd`, bounded by `timeoutMs`, collecting its JSON lines. */
export function runPeer(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): PeerRun {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let resolveFirst!: (value: unknown) => void;
  let rejectFirst!: (error: Error) => void;
  const first = new Promise<unknown>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  const lines = (): unknown[] => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as unknown);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    const [line] = lines();
    if (line !== undefined) resolveFirst(line);
  });
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<unknown[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const failure = new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}\n${stderr}\n${stdout}`);
      rejectFirst(failure);
      if (code === 0) resolve(lines());
      else reject(failure);
    });
  });
  first.catch(() => {});
  return { done, first, kill: () => child.kill('SIGKILL') };
}
