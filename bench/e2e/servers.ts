/**
 * The servers compared by the end-to-end benchmark, and starting one as a process of its own
 * on 127.0.0.1: the echo servers (`servers/echo-server.ts`) and the Node floor
 * (`servers/floor-server.ts`).
 */
import { fileURLToPath } from 'node:url';
import { askServerProcess, type StartedProcess, startServerProcess, stopServerProcess } from '../lib/server-process.js';
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
  { id: 'floor-batched', label: 'Node floor, a write per read', script: 'floor-server.ts', args: ['--write-per-read'], env: {}, engine: 'floor', optional: true },
];

/** The id of the server the ratios in parentheses compare against. */
export const BASELINE_SERVER = 'ws-bufferutil';

/**
 * The Node floor: one read and one write through `net.Socket` per message, which is what a
 * WebSocket server on `net.Socket` that answers each message as it comes cannot spend less
 * than. The reference of every target.
 */
export const FLOOR_SERVER = 'floor';

/**
 * The floor writing once per read, all the replies the read asked for in one buffer: below what
 * any library that frames each reply on its own can reach where reads carry many messages
 * (depth 16), so a stricter bound shown beside the targets, not one of them.
 */
export const BATCHED_FLOOR_SERVER = 'floor-batched';

/** The servers put against the floor: ours (the default, wasm codec) and ws with its native add-on. */
export const OURS_SERVER = 'wasm';
export const WS_SERVER = 'ws-bufferutil';

/** Servers every run includes, whatever --servers says: the ratios need them. */
export const REQUIRED_SERVERS: readonly string[] = [BASELINE_SERVER, FLOOR_SERVER];



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
    const started = await startServerProcess<ServerReady>(spec.label, nodeFlags, script, spec.args, spec.env);
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
