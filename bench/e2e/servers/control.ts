/**
 * How a server process of the end-to-end benchmark talks to the runner: one `ServerReady`
 * JSON line on stdout once it listens, then a `ServerMemory` JSON line for each "memory" line
 * on stdin (after a full garbage collection when the process runs with --expose-gc); the
 * process exits when stdin ends.
 */
import { createInterface } from 'node:readline';

/** The line printed once the server listens. */
export interface ServerReady {
  readonly ready: true;
  readonly port: number;
  readonly pid: number;
  /** What runs the frames: `wasm` or `portable` for wasmsocket, `bufferutil` or `js` for ws, `floor` for the floor. */
  readonly engine: string;
}

/** The answer to a "memory" line. */
export interface ServerMemory {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Memory of ArrayBuffers (typed arrays, Buffers), outside the JavaScript heap. */
  readonly arrayBuffersBytes: number;
  /** Whether a full collection ran first. */
  readonly collected: boolean;
}

/** The process-wide garbage collector, present with --expose-gc. */
const collect = (globalThis as { gc?: () => void }).gc;

/** Say the server listens on `port`, and answer the runner until stdin ends. */
export function serveRunner(port: number, engine: string): void {
  const ready: ServerReady = { ready: true, port, pid: process.pid, engine };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'memory') return;
    collect?.();
    const usage = process.memoryUsage();
    const memory: ServerMemory = { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, arrayBuffersBytes: usage.arrayBuffers, collected: collect !== undefined };
    process.stdout.write(`${JSON.stringify(memory)}\n`);
  });
  lines.on('close', () => process.exit(0));
}

/** Report a failure to start on stderr and exit with 1. */
export function failToStart(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
