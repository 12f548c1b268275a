/**
 * The servers compared by the end-to-end benchmark, and starting one as a process of its own
 * on 127.0.0.1: the echo servers (`servers/echo-server.ts`) and the Node floor
 * (`servers/floor-server.ts`).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Cell } from './matrix.js';
import type { ServerMemory, ServerReady } from './servers/control.js';

/** A server of the comparison. */
export interface ServerSpec {
  /** Short id, used in options and JSON: `wasm`, `portable`, `ws`, `ws-bufferutil`, `floor`. */
  readonly id: string;
  readonly label: string;
  /** The server's program, in `servers/`. */
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The engine the server must report (checked at start). */
  readonly engine: string;
  /** Run only when --servers names it. */
  readonly optional?: true;
}

/** Every server, in the report's column order. */
export const SERVERS: readonly ServerSpec[] = [
  { id: 'wasm', label: 'wasmsocket (wasm)', script: 'echo-server.ts', args: ['wasmsocket'], env: {}, engine: 'wasm' },
  { id: 'portable', label: 'wasmsocket (portable)', script: 'echo-server.ts', args: ['wasmsocket'], env: { WASMSOCKET_NO_WASM: '1' }, engine: 'portable' },
  { id: 'ws', label: 'ws (pure JS)', script: 'echo-server.ts', args: ['ws'], env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }, engine: 'js' },
  { id: 'ws-bufferutil', label: 'ws + bufferutil', script: 'echo-server.ts', args: ['ws', '--require-bufferutil'], env: {}, engine: 'bufferutil' },
  { id: 'floor', label: 'Node floor', script: 'floor-server.ts', args: [], env: {}, engine: 'floor' },
  { id: 'floor-frames', label: 'Node floor, a write per frame', script: 'floor-server.ts', args: ['--write-per-frame'], env: {}, engine: 'floor', optional: true },
];

/** The id of the server the ratios in parentheses compare against. */
export const BASELINE_SERVER = 'ws-bufferutil';

/** The Node floor: what a WebSocket server on `net.Socket` cannot spend less than. */
export const FLOOR_SERVER = 'floor';

/** The servers put against the floor: ours (the default, wasm codec) and ws with its native add-on. */
export const OURS_SERVER = 'wasm';
export const WS_SERVER = 'ws-bufferutil';

/** Servers every run includes, whatever --servers says: the ratios need them. */
export const REQUIRED_SERVERS: readonly string[] = [BASELINE_SERVER, FLOOR_SERVER];

/** How long a server may take to start listening. */
const START_TIMEOUT_MS = 30_000;

/** How long a memory answer may take (a full collection of a large heap included). */
const MEMORY_TIMEOUT_MS = 30_000;


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

  /**
   * The endpoint a cell loads: /echo, with the cell's payload size and type in the query (the
   * floor replies by them; the echo servers ignore the query).
   */
  urlFor(cell: Pick<Cell, 'size' | 'type'>): URL {
    return new URL(`ws://127.0.0.1:${this.port}/echo?size=${cell.size}&type=${cell.type}`);
  }

  /** Start `spec`'s server and wait until it listens. */
  static async start(spec: ServerSpec, options: LaunchOptions): Promise<ServerProcess> {
    const nodeFlags = ['--import', 'tsx'];
    if (options.exposeGc) nodeFlags.push('--expose-gc');
    if (options.cpuProfileDir !== undefined) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    const script = fileURLToPath(new URL(`./servers/${spec.script}`, import.meta.url));
    const child = spawn(process.execPath, [...nodeFlags, script, ...spec.args], {
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
