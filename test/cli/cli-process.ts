/**
 * The `wasmsocket` command as a child process (`node --import tsx src/cli/main.ts …`), with its
 * output read line by line and every wait bounded.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventQueue, withTimeout } from '../interop/events.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How the process ended. */
export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `wasmsocket` process. */
export class CliProcess {
  readonly stdoutLines = new EventQueue<string>();
  readonly stderrLines = new EventQueue<string>();
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exit: Promise<CliExit>;
  #stdout = '';
  #stderr = '';

  constructor(args: readonly string[]) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: 'pipe' });
    this.#child.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.#stdout += chunk));
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
    this.#child.stdin.on('error', () => {});
    createInterface({ input: this.#child.stdout }).on('line', (line) => this.stdoutLines.push(line));
    createInterface({ input: this.#child.stderr }).on('line', (line) => this.stderrLines.push(line));
    this.#exit = new Promise((resolve) => {
      this.#child.on('close', (code, signal) => {
        this.stdoutLines.end(new Error(`the process exited (${code ?? signal}); stderr: ${this.#stderr || '(empty)'}`));
        this.stderrLines.end(new Error(`the process exited (${code ?? signal}); stdout: ${this.#stdout || '(empty)'}`));
        resolve({ code, signal, stdout: this.#stdout, stderr: this.#stderr });
      });
    });
  }

  /** The next stdout line matching `pattern`. */
  async line(pattern: RegExp): Promise<string> {
    return this.stdoutLines.next(`a line matching ${pattern}`, (line) => pattern.test(line));
  }

  /** The next stderr line matching `pattern`. */
  async errorLine(pattern: RegExp): Promise<string> {
    return this.stderrLines.next(`a stderr line matching ${pattern}`, (line) => pattern.test(line));
  }

  /** Write `text` to stdin. */
  write(text: string): void {
    this.#child.stdin.write(text);
  }

  /** End stdin. */
  endInput(): void {
    this.#child.stdin.end();
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** How it ended, once it has (bounded). */
  exited(): Promise<CliExit> {
    return withTimeout(this.#exit, 'the wasmsocket process to exit');
  }

  /** Kill it if it is still running, and wait. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exit;
  }
}

/** Run `wasmsocket args` with `input` on stdin to completion. */
export async function runCli(args: readonly string[], input = ''): Promise<CliExit> {
  const cli = new CliProcess(args);
  cli.write(input);
  cli.endInput();
  try {
    return await cli.exited();
  } finally {
    await cli.stop();
  }
}

/** `wasmsocket serve --port 0` started, with the port it chose. */
export async function startServe(extraArgs: readonly string[] = []): Promise<{ readonly cli: CliProcess; readonly port: number }> {
  const cli = new CliProcess(['serve', '--port', '0', ...extraArgs]);
  const line = await cli.line(/^listening on /);
  const port = Number(/:(\d+)\/$/.exec(line)?.[1]);
  return { cli, port };
}
