/**
 * The Python `websockets` peers (test/interop/python/*.py) as child processes: JSON commands on
 * stdin, JSON events on stdout, every wait bounded.
 *
 * They run under /usr/bin/python3, the system interpreter that has Debian's
 * python3-websockets; the first `python3` on PATH may be another interpreter without it.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventQueue, type PeerEvent, withTimeout } from './events.js';

/** The interpreter that has the `websockets` package. */
export const PYTHON = '/usr/bin/python3';

const SCRIPTS = fileURLToPath(new URL('./python/', import.meta.url));

/**
 * Check that /usr/bin/python3 imports `websockets`, and return its version. Throws (failing
 * the suite, never skipping it) with what to install when it does not.
 */
export async function requirePythonWebsockets(): Promise<string> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON, ['-c', 'import websockets; print(websockets.__version__)'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout.trim());
      else
        reject(
          new Error(
            `the Python interop tests need ${PYTHON} with the websockets package ` +
              `(Debian: apt-get install python3-websockets): ${stderr.trim() || error.message}`,
          ),
        );
    });
  });
  return output;
}

/** One running Python peer. */
export class PythonPeer {
  readonly events = new EventQueue<PeerEvent>();
  readonly #process: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<number | null>;
  #stderr = '';

  /** Start `script` (a file in test/interop/python/) with `args`. */
  constructor(script: string, args: readonly string[]) {
    this.#process = spawn(PYTHON, [SCRIPTS + script, ...args], { cwd: SCRIPTS, stdio: 'pipe' });
    this.#process.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#process.stdin.on('error', () => {});
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as PeerEvent);
      } catch {
        this.events.push({ event: 'unparsable', line });
      }
    });
    this.#exited = new Promise((resolve) => {
      this.#process.on('exit', (code) => {
        this.events.end(new Error(`${script} exited with ${code}; stderr: ${this.#stderr || '(empty)'}`));
        resolve(code);
      });
      this.#process.on('error', (error) => {
        this.events.end(error);
        resolve(null);
      });
    });
  }

  /** The next event named `name` (and matching `accepts`), within the step timeout. */
  next(name: string, accepts: (event: PeerEvent) => boolean = () => true): Promise<PeerEvent> {
    return this.events.next(`the Python peer's "${name}" event`, (event) => event.event === name && accepts(event));
  }

  /** Send one command line. */
  command(command: Record<string, unknown>): void {
    this.#process.stdin.write(JSON.stringify(command) + '\n');
  }

  /** Close stdin: the client closes its connection, the server shuts down. */
  endInput(): void {
    this.#process.stdin.end();
  }

  /** The exit code, once the process has exited (bounded). */
  exited(): Promise<number | null> {
    return withTimeout(this.#exited, 'the Python peer to exit');
  }

  /** Stop the process now (idempotent) and wait for it to go. */
  async stop(): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill('SIGKILL');
    await this.#exited;
  }

  /** The last few KB the process wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }
}
