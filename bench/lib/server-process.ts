/** Starting a benchmark's server as a process of its own and waiting for its first line. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

/** How long a server may take to start listening. */
export const START_TIMEOUT_MS = 30_000;

/** A server process that printed its ready line (JSON, parsed as `Ready`). */
export interface StartedProcess<Ready> {
  readonly child: ChildProcessWithoutNullStreams;
  /** Its stdout, line by line (the ready line already read). */
  readonly lines: Interface;
  readonly ready: Ready;
  readonly exited: Promise<void>;
}

/**
 * Run `node <nodeFlags> <script> <args>` with `env` added, and wait for its first stdout line.
 * @throws when it exits first or takes longer than `START_TIMEOUT_MS`, with its stderr.
 */
export async function startServerProcess<Ready>(label: string, nodeFlags: readonly string[], script: string, args: readonly string[], env: Readonly<Record<string, string>>): Promise<StartedProcess<Ready>> {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as Ready);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${label} exited before listening: ${stderr.trim() || '(no output)'}`));
    });
  });
  return { child, lines, ready, exited };
}

/** How long an answer to a command line may take (a full collection of a large heap included). */
const ANSWER_TIMEOUT_MS = 30_000;

/** Write `command` as a line to the process's stdin and parse the line it answers with. */
export function askServerProcess<Answer>(started: StartedProcess<unknown>, command: string, label: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not answer "${command}"`)), ANSWER_TIMEOUT_MS);
    started.lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as Answer);
    });
    started.child.stdin.write(`${command}\n`);
  });
}

/** End the process's stdin (the servers exit then) and wait for it; killed after 10 s. */
export async function stopServerProcess(started: StartedProcess<unknown>): Promise<void> {
  started.child.stdin.end();
  const timer = setTimeout(() => started.child.kill('SIGKILL'), 10_000);
  await started.exited;
  clearTimeout(timer);
}
