/**
 * A real `redis-server` (Debian's) for the Redis bus tests: started on a free loopback port
 * with no persistence, killable outright and restartable on the same port, plus a raw client
 * to look at what Redis saw (INFO, PUBSUB, MONITOR).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createClient } from 'redis';

/** Debian's redis-server (.ci/run installs the package). */
export const REDIS_SERVER = '/usr/bin/redis-server';

/** A port the kernel just handed out on 127.0.0.1, free again once this returns. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class RedisServer {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running redis-server's process id. */
  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined) throw new Error('redis-server is not running');
    return pid;
  }

  /** Start redis-server on a free port (or `port`) and wait until it accepts connections. */
  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  /** Start it (again) on the same port. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error('redis-server is already running');
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', '/tmp', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let exited = false;
    void this.#exited.then(() => {
      exited = true;
      if (this.#child === child) this.#child = undefined;
    });
    // Ready when a PING is answered; bounded.
    for (let attempt = 0; attempt < 200; attempt++) {
      if (exited) throw new Error(`redis-server exited on start: ${output}`);
      const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        await client.close();
        return;
      } catch {
        client.destroy();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${this.port}: ${output}`);
  }

  /** Kill it outright (SIGKILL: no goodbye to its clients) and wait until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** A plain client of this server, for looking at what it saw. */
  async client() {
    const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  /** How many times Redis ran `command` since it started (INFO commandstats). */
  async calls(command: string): Promise<number> {
    const client = await this.client();
    try {
      const info = await client.info('commandstats');
      const match = new RegExp(`^cmdstat_${command.toLowerCase()}:calls=(\\d+)`, 'm').exec(info);
      return match ? Number(match[1]) : 0;
    } finally {
      await client.close();
    }
  }
}
