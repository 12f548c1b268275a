/**
 * The servers compared by the end-to-end benchmark, and starting one as a process of its own
 * (`servers/echo-server.ts`) on 127.0.0.1.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ServerMemory, ServerReady } from './servers/echo-server.js';

/** A server of the comparison. */
export interface ServerSpec {
  /** Short id, used in options and JSON: `wasm`, `portable`, `ws`, `ws-bufferutil`. */
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The engine the server must report (checked at start). */
  readonly engine: string;
}

/** Every server, in the report's column order; the last is the baseline of the ratios. */
export const SERVERS: readonly ServerSpec[] = [
  { id: 'wasm', label: 'wasmsocket (wasm)', args: ['wasmsocket'], env: {}, engine: 'wasm' },
  { id: 'portable', label: 'wasmsocket (portable)', args: ['wasmsocket'], env: { WASMSOCKET_NO_WASM: '1' }, engine: 'portable' },
  { id: 'ws', label: 'ws (pure JS)', args: ['ws'], env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }, engine: 'js' },
  { id: 'ws-bufferutil', label: 'ws + bufferutil', args: ['ws', '--require-bufferutil'], env: {}, engine: 'bufferutil' },
];

/** The id of the server the ratios compare against. */
export const BASELINE_SERVER = 'ws-bufferutil';

/** How long a server may take to start listening. */
const START_TIMEOUT_MS = 30_000;

/** How long a memory answer may take (a full collection of a large heap included). */
const MEMORY_TIMEOUT_MS = 30_000;

const ECHO_SERVER = fileURLToPath(new URL('./servers/echo-server.ts', import.meta.url));

/** Options of a server process. */
export interface LaunchOptions {
  /** Run with --expose-gc, so memory is measured after a full collection. */
  readonly exposeGc: boolean;
  /** Write a CPU profile (`--cpu-prof`) into this directory when the server exits. */
  readonly cpuProfileDir?: string;
}

/** A running server process. */
export class ServerProcess {
  readonly spec: ServerSpec;
  readonly pid: number;
  readonly port: number;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #exited: Promise<void>;

  private constructor(spec: ServerSpec, child: ChildProcessWithoutNullStreams, lines: Interface, ready: ServerReady, exited: Promise<void>) {
    this.spec = spec;
    this.#child = child;
    this.#lines = lines;
    this.pid = ready.pid;
    this.port = ready.port;
    this.#exited = exited;
  }

  /** The echo endpoint. */
  get url(): URL {
    return new URL(`ws://127.0.0.1:${this.port}/echo`);
  }

  /** Start `spec`'s server and wait until it listens. */
  static async start(spec: ServerSpec, options: LaunchOptions): Promise<ServerProcess> {
    const nodeFlags = ['--import', 'tsx'];
    if (options.exposeGc) nodeFlags.push('--expose-gc');
    if (options.cpuProfileDir !== undefined) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    const child = spawn(process.execPath, [...nodeFlags, ECHO_SERVER, ...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: 'pipe',
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout });
    const ready = await new Promise<ServerReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.label} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as ServerReady);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${spec.label} exited before listening: ${stderr.trim() || '(no output)'}`));
      });
    });
    const server = new ServerProcess(spec, child, lines, ready, exited);
    if (ready.engine !== spec.engine) {
      await server.stop();
      throw new Error(`${spec.label} runs ${ready.engine}, not ${spec.engine}: the comparison would be meaningless`);
    }
    return server;
  }

  /** The server's memory, after a full collection when it has --expose-gc. */
  memory(): Promise<ServerMemory> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.spec.label} did not report its memory`)), MEMORY_TIMEOUT_MS);
      this.#lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as ServerMemory);
      });
      this.#child.stdin.write('memory\n');
    });
  }

  /** End the server (its stdin) and wait for it to exit; a profile, if any, is written then. */
  async stop(): Promise<void> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
