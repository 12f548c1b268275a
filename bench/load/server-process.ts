/** Start bench/load/server.ts in a child process and talk to it. */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

export type Library = 'floor' | 'wasmsocket' | 'ws';

/** What the server process reports of itself. */
export interface ServerMemory {
  readonly connections: number;
  readonly messages: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export class LoadServer {
  readonly library: Library;
  readonly port: number;
  readonly #child: ChildProcess;

  private constructor(library: Library, port: number, child: ChildProcess) {
    this.library = library;
    this.port = port;
    this.#child = child;
  }

  static async start(library: Library): Promise<LoadServer> {
    const child = fork(join(import.meta.dirname, 'server.ts'), [library], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { type: string; port: number }) => resolve(message.port));
      child.once('exit', (code) => reject(new Error(`the ${library} server exited with ${code}`)));
    });
    return new LoadServer(library, port, child);
  }

  /** The server's memory (after a full garbage collection when `gc`). */
  measure(gc: boolean): Promise<ServerMemory> {
    return new Promise((resolve) => {
      const onMessage = (message: { type: string } & ServerMemory): void => {
        if (message.type !== 'memory') return;
        this.#child.off('message', onMessage);
        resolve(message);
      };
      this.#child.on('message', onMessage);
      this.#child.send({ type: 'measure', gc });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'close' });
    await exited;
  }
}

export const MiB = 1024 * 1024;

/** `bytes` as "12.3 MiB". */
export function mebibytes(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
