/**
 * A server in a child process (test/faults/fixtures/server-process.ts), for faults that take
 * a whole server down: it can be killed outright and started again on the same port, and its
 * events are read from its stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { until } from '../hostile/helpers.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'server-process.ts');

/** One line the server process printed. */
export interface ProcessEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly events: ProcessEvent[] = [];
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';

  private constructor(child: ChildProcess, port: number, events: ProcessEvent[], exited: ServerProcess['exited']) {
    this.child = child;
    this.port = port;
    this.events = events;
    this.exited = exited;
  }

  /** Start a server process in `mode` on `port` (0: any) and wait until it listens. */
  static async start(mode: 'echo' | 'listeners' | 'listeners-unhandled', port = 0): Promise<ServerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: ProcessEvent[] = [];
    let stderr = '';
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('{')) events.push(JSON.parse(line) as ProcessEvent);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    await until(() => exitedEarly || events.some((event) => event.event === 'listening'), 'the server process to listen', 20_000).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    if (exitedEarly) throw new Error(`the server process exited before listening: ${stderr}`);
    const listening = events.find((event) => event.event === 'listening')!;
    const server = new ServerProcess(child, listening.port as number, events, exited);
    child.stderr!.on('data', (chunk: Buffer) => (server.stderr += chunk.toString()));
    server.stderr = stderr;
    return server;
  }

  /** Wait for an event matching `predicate`. */
  async waitFor(predicate: (event: ProcessEvent) => boolean, what: string, ms = 5000): Promise<ProcessEvent> {
    await until(() => this.events.some(predicate), what, ms);
    return this.events.find(predicate)!;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kill it at once (no close frames, no FIN handshake beyond what the kernel does). */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}
