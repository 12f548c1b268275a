/**
 * The servers of the pub/sub benchmark and starting one (`server.ts`, one process or several)
 * on 127.0.0.1.
 *
 * A spec is a command line of server.ts and how many processes of it to start. Another bus
 * is another spec: `args` naming it (`--bus <name>`, with what it needs) and `instances` for
 * as many server processes as it links; the load generator spreads its subscribers over their
 * ports and publishes through the first.
 */
import { fileURLToPath } from 'node:url';
import type { ServerSpec as EchoServerSpec } from '../e2e/servers.js';
import { askServerProcess, type StartedProcess, startServerProcess, stopServerProcess } from '../lib/server-process.js';
import type { PubsubServerReady } from './server.js';

/** A server of the comparison: as bench:e2e has them (its `script` is server.ts), with how many processes it runs. */
export interface ServerSpec extends Omit<EchoServerSpec, 'script'> {
  /** Server processes to start (default 1). */
  readonly instances?: number;
  /**
   * Whether it needs the benchmark's redis-server (its URL in `REDIS_URL_ENV`); that
   * process's CPU time counts as the server's.
   */
  readonly redis?: boolean;
}

/** The environment variable that gives server.ts the benchmark's redis-server. */
export const REDIS_URL_ENV = 'WASMSOCKET_BENCH_REDIS_URL';

/** Every server, in the report's row order. */
export const SERVERS: readonly ServerSpec[] = [
  { id: 'wasmsocket', label: 'wasmsocket publish', args: ['wasmsocket'], env: {}, engine: 'wasm' },
  { id: 'wasmsocket-cluster', label: 'wasmsocket publish, 2 workers (ClusterBus)', args: ['wasmsocket', '--bus', 'cluster', '--workers', '2'], env: {}, engine: 'wasm' },
  { id: 'wasmsocket-redis', label: 'wasmsocket publish, 2 processes (RedisBus)', args: ['wasmsocket', '--bus', 'redis'], env: {}, engine: 'wasm', instances: 2, redis: true },
  { id: 'ws', label: 'ws clients loop (pure JS)', args: ['ws'], env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }, engine: 'js' },
  { id: 'ws-bufferutil', label: 'ws clients loop + bufferutil', args: ['ws', '--require-bufferutil'], env: {}, engine: 'bufferutil' },
];

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

/** One process of a server, its engine checked. */
async function startInstance(spec: ServerSpec, exposeGc: boolean): Promise<StartedProcess<PubsubServerReady>> {
  const flags = ['--import', 'tsx', ...(exposeGc ? ['--expose-gc'] : [])];
  const started = await startServerProcess<PubsubServerReady>(spec.label, flags, SERVER, spec.args, spec.env);
  if (started.ready.engine !== spec.engine) {
    await stopServerProcess(started);
    throw new Error(`${spec.label} runs ${started.ready.engine}, not ${spec.engine}: the comparison would be meaningless`);
  }
  return started;
}

/** A running server: its processes, their ports and the pids whose CPU is the server's. */
export class PubsubServer {
  readonly spec: ServerSpec;
  readonly #instances: StartedProcess<PubsubServerReady>[];

  private constructor(spec: ServerSpec, instances: StartedProcess<PubsubServerReady>[]) {
    this.spec = spec;
    this.#instances = instances;
  }

  static async start(spec: ServerSpec, options: { readonly exposeGc: boolean }): Promise<PubsubServer> {
    const instances: StartedProcess<PubsubServerReady>[] = [];
    for (let i = 0; i < (spec.instances ?? 1); i++) instances.push(await startInstance(spec, options.exposeGc));
    return new PubsubServer(spec, instances);
  }

  get ports(): number[] {
    return this.#instances.map((instance) => instance.ready.port);
  }

  get pids(): number[] {
    return this.#instances.flatMap((instance) => instance.ready.pids);
  }

  get busPids(): number[] {
    return this.#instances.flatMap((instance) => instance.ready.busPids);
  }

  /** The memory of the first process (the memory figure runs one). */
  memory(): Promise<{ rssBytes: number }> {
    return askServerProcess<{ rssBytes: number }>(this.#instances[0]!, 'memory', this.spec.label);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#instances.map(stopServerProcess));
  }
}
