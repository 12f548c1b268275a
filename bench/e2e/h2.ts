/**
 * The HTTP/2 cell of `npm run bench:e2e -- --h2`: 100 WebSockets as streams of one h2c
 * session (RFC 8441) against 100 WebSockets on 100 HTTP/1.1 connections, each to a wasmsocket
 * server process of its own (`servers/h2-echo-server.ts`), from wasmsocket clients in this
 * process.
 *
 *   tsx bench/e2e/run.ts --h2 [--duration <s>] [--rounds <n>] [--sizes <list>] [--idle-connections <n>] [--out <dir>]
 *
 * Per round and payload size, each transport runs in turn (the order alternating round to
 * round, so drift on a shared machine hits both alike): every WebSocket echoes one message at
 * a time for the measured seconds. Reported: messages per second, the server's CPU time per
 * message (from /proc), this process's (the clients') CPU time per message, and their ratios,
 * as medians over the rounds. Memory per WebSocket is measured on fresh server processes: heap
 * and ArrayBuffers after a full collection, and RSS, before and with N idle WebSockets (N/100
 * sessions of 100 streams, or N TCP connections).
 *
 * Writes <out>/e2e-h2.json and prints the Markdown table.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseByteSize } from '../../src/cli/bench/options.js';
import { sampleProcess } from '../../src/cli/bench/proc.js';
import { WebSocket } from '../../src/node.js';
import type { ServerMemory, ServerReady } from './servers/control.js';

const SERVER = fileURLToPath(new URL('./servers/h2-echo-server.ts', import.meta.url));
/** WebSockets per cell, and streams per session. */
const SOCKETS = 100;
const TIMEOUT_MS = 30_000;

type Transport = 'h2' | 'h1';

interface H2Options {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly sizes: number[];
  readonly idle: number;
  readonly outDir: string;
}

interface RunFigures {
  readonly messagesPerSecond: number;
  readonly serverCpuMicrosPerMessage: number;
  readonly clientCpuMicrosPerMessage: number;
}

interface MemoryFigures {
  /** Heap and ArrayBuffers per WebSocket after a full collection. */
  readonly bytesPerSocket: number;
  readonly rssBytesPerSocket: number;
}

/** A server process for one transport, its port, and its "memory" answers. */
class H2ServerProcess {
  readonly transport: Transport;
  readonly ready: ServerReady;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;

  private constructor(transport: Transport, child: ChildProcessWithoutNullStreams, lines: Interface, ready: ServerReady) {
    this.transport = transport;
    this.#child = child;
    this.#lines = lines;
    this.ready = ready;
  }

  static async start(transport: Transport, exposeGc: boolean): Promise<H2ServerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', ...(exposeGc ? ['--expose-gc'] : []), SERVER, transport], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const lines = createInterface({ input: child.stdout });
    const ready = await new Promise<ServerReady>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`the h2 echo server did not start: ${stderr}`)), TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolveReady(JSON.parse(line) as ServerReady);
      });
      child.once('exit', () => reject(new Error(`the h2 echo server exited: ${stderr}`)));
    });
    return new H2ServerProcess(transport, child, lines, ready);
  }

  memory(): Promise<ServerMemory> {
    const answer = once(this.#lines, 'line').then(([line]) => JSON.parse(line as string) as ServerMemory);
    this.#child.stdin.write('memory\n');
    return answer;
  }

  async stop(): Promise<void> {
    const exited = once(this.#child, 'exit');
    this.#child.stdin.end();
    await exited;
  }
}

/** `count` open WebSockets to `server` (h2: sessions of 100 streams), and what closes them. */
async function openSockets(server: H2ServerProcess, count: number): Promise<{ sockets: WebSocket[]; close(): Promise<void> }> {
  const { transport } = server;
  const port = server.ready.port;
  const sessions: ClientHttp2Session[] = [];
  const sockets: WebSocket[] = [];
  for (let opened = 0; opened < count; opened += SOCKETS) {
    const batch = Math.min(SOCKETS, count - opened);
    let session: ClientHttp2Session | undefined;
    if (transport === 'h2') {
      session = http2Connect(`http://127.0.0.1:${port}`);
      sessions.push(session);
    }
    const made = Array.from({ length: batch }, () => new WebSocket(`ws://127.0.0.1:${port}/echo`, { perMessageDeflate: false, ...(session === undefined ? {} : { http2: session }) }));
    await Promise.all(made.map((ws) => once(ws, 'open')));
    sockets.push(...made);
  }
  return {
    sockets,
    async close() {
      await Promise.all(
        sockets.map((ws) => {
          const closed = once(ws, 'close');
          ws.close();
          return closed;
        }),
      );
      for (const session of sessions) session.close();
    },
  };
}

/** Every socket echoes one message at a time until `until`; resolves to the messages echoed. */
function echoLoop(sockets: readonly WebSocket[], payload: Buffer, until: number): Promise<number> {
  let messages = 0;
  return new Promise((resolveCount) => {
    let running = sockets.length;
    for (const ws of sockets) {
      const onMessage = (): void => {
        messages++;
        if (performance.now() < until) {
          ws.send(payload);
          return;
        }
        ws.off('message', onMessage);
        if (--running === 0) resolveCount(messages);
      };
      ws.on('message', onMessage);
      ws.send(payload);
    }
  });
}

async function measureRun(server: H2ServerProcess, size: number, options: H2Options): Promise<RunFigures> {
  const { sockets, close } = await openSockets(server, SOCKETS);
  const payload = Buffer.alloc(size, 0x61);
  await echoLoop(sockets, payload, performance.now() + options.warmupMs);
  const serverBefore = sampleProcess(server.ready.pid).cpuSeconds;
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const messages = await echoLoop(sockets, payload, started + options.durationMs);
  const elapsed = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverCpu = sampleProcess(server.ready.pid).cpuSeconds - serverBefore;
  await close();
  return {
    messagesPerSecond: messages / elapsed,
    serverCpuMicrosPerMessage: (serverCpu * 1e6) / messages,
    clientCpuMicrosPerMessage: (client.user + client.system) / messages,
  };
}

async function measureMemory(transport: Transport, count: number): Promise<MemoryFigures> {
  const server = await H2ServerProcess.start(transport, true);
  try {
    const before = await server.memory();
    const { close } = await openSockets(server, count);
    const after = await server.memory();
    await close();
    return {
      bytesPerSocket: (after.heapUsedBytes + after.arrayBuffersBytes - before.heapUsedBytes - before.arrayBuffersBytes) / count,
      rssBytesPerSocket: (after.rssBytes - before.rssBytes) / count,
    };
  } finally {
    await server.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function parseH2Options(argv: readonly string[]): H2Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      h2: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      sizes: { type: 'string' },
      'idle-connections': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const number = (text: string | undefined, fallback: number, what: string): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${what} must be a positive number, not "${text}"`);
    return value;
  };
  return {
    durationMs: number(values.duration, 3, '--duration') * 1000,
    warmupMs: number(values.warmup, 0.5, '--warmup') * 1000,
    rounds: Math.round(number(values.rounds, 3, '--rounds')),
    sizes: (values.sizes ?? '16,1k').split(',').map((size) => parseByteSize(size.trim(), '--sizes')),
    idle: Math.round(number(values['idle-connections'], 1000, '--idle-connections') / SOCKETS) * SOCKETS || SOCKETS,
    outDir: resolve(values.out ?? 'bench/results'),
  };
}

const format = (value: number, digits = 1): string => value.toFixed(digits);

/** Run the cell (see the module comment); resolves to the exit status. */
export async function runH2Bench(argv: readonly string[]): Promise<number> {
  const options = parseH2Options(argv);
  const servers = { h2: await H2ServerProcess.start('h2', false), h1: await H2ServerProcess.start('h1', false) };
  const engine = servers.h2.ready.engine;
  const runs = new Map<string, RunFigures[]>();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const size of options.sizes) {
        const order: Transport[] = round % 2 === 0 ? ['h2', 'h1'] : ['h1', 'h2'];
        for (const transport of order) {
          const key = `${transport} ${size}`;
          const figures = await measureRun(servers[transport], size, options);
          (runs.get(key) ?? runs.set(key, []).get(key)!).push(figures);
          process.stderr.write(`round ${round + 1}/${options.rounds} ${key} B: ${format(figures.messagesPerSecond, 0)} msg/s, server ${format(figures.serverCpuMicrosPerMessage, 2)} µs/msg\n`);
        }
      }
    }
  } finally {
    await servers.h2.stop();
    await servers.h1.stop();
  }
  const memory = { h2: await measureMemory('h2', options.idle), h1: await measureMemory('h1', options.idle) };
  const medians = (key: string, field: keyof RunFigures): number => median(runs.get(key)!.map((run) => run[field]));
  const rows = options.sizes.map((size) => {
    const [h2, h1] = [`h2 ${size}`, `h1 ${size}`];
    return {
      size,
      h2: { messagesPerSecond: medians(h2, 'messagesPerSecond'), serverCpuMicrosPerMessage: medians(h2, 'serverCpuMicrosPerMessage'), clientCpuMicrosPerMessage: medians(h2, 'clientCpuMicrosPerMessage') },
      h1: { messagesPerSecond: medians(h1, 'messagesPerSecond'), serverCpuMicrosPerMessage: medians(h1, 'serverCpuMicrosPerMessage'), clientCpuMicrosPerMessage: medians(h1, 'clientCpuMicrosPerMessage') },
    };
  });
  const lines = [
    `## HTTP/2 cell: ${SOCKETS} WebSockets on one h2c session vs ${SOCKETS} HTTP/1.1 connections (wasmsocket ${engine}, echo, depth 1)`,
    '',
    `Medians of ${options.rounds} rounds of ${options.durationMs / 1000} s; ratios are HTTP/2 ÷ HTTP/1.1.`,
    '',
    '| payload | msg/s h2 | msg/s h1.1 | ratio | server µs/msg h2 | server µs/msg h1.1 | ratio | client µs/msg h2 | client µs/msg h1.1 | ratio |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(({ size, h2, h1 }) =>
      `| ${size} B | ${format(h2.messagesPerSecond, 0)} | ${format(h1.messagesPerSecond, 0)} | ${format(h2.messagesPerSecond / h1.messagesPerSecond, 2)} | ${format(h2.serverCpuMicrosPerMessage, 2)} | ${format(h1.serverCpuMicrosPerMessage, 2)} | ${format(h2.serverCpuMicrosPerMessage / h1.serverCpuMicrosPerMessage, 2)} | ${format(h2.clientCpuMicrosPerMessage, 2)} | ${format(h1.clientCpuMicrosPerMessage, 2)} | ${format(h2.clientCpuMicrosPerMessage / h1.clientCpuMicrosPerMessage, 2)} |`,
    ),
    '',
    `Server memory per idle WebSocket (${options.idle} of them, fresh processes): heap + ArrayBuffers ${format(memory.h2.bytesPerSocket / 1024, 2)} KiB over HTTP/2, ${format(memory.h1.bytesPerSocket / 1024, 2)} KiB over HTTP/1.1 (ratio ${format(memory.h2.bytesPerSocket / memory.h1.bytesPerSocket, 2)}); RSS ${format(memory.h2.rssBytesPerSocket / 1024, 2)} KiB and ${format(memory.h1.rssBytesPerSocket / 1024, 2)} KiB.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'e2e-h2.json'), `${JSON.stringify({ sockets: SOCKETS, options, rows, memory, node: process.version, engine }, null, 2)}\n`);
  return 0;
}
