/**
 * The servers compared by the end-to-end benchmark, and starting one as a process of its own
 * (`servers/echo-server.ts`) on 127.0.0.1.
 */
import { fileURLToPath } from 'node:url';
import { askServerProcess, type StartedProcess, startServerProcess, stopServerProcess } from '../lib/server-process.js';
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
  readonly #process: StartedProcess<ServerReady>;

  private constructor(spec: ServerSpec, started: StartedProcess<ServerReady>) {
    this.spec = spec;
    this.#process = started;
    this.pid = started.ready.pid;
    this.port = started.ready.port;
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
    const started = await startServerProcess<ServerReady>(spec.label, nodeFlags, ECHO_SERVER, spec.args, spec.env);
    const server = new ServerProcess(spec, started);
    if (started.ready.engine !== spec.engine) {
      await server.stop();
      throw new Error(`${spec.label} runs ${started.ready.engine}, not ${spec.engine}: the comparison would be meaningless`);
    }
    return server;
  }

  /** The server's memory, after a full collection when it has --expose-gc. */
  memory(): Promise<ServerMemory> {
    return askServerProcess<ServerMemory>(this.#process, 'memory', this.spec.label);
  }

  /** End the server (its stdin) and wait for it to exit; a profile, if any, is written then. */
  stop(): Promise<void> {
    return stopServerProcess(this.#process);
  }
}
