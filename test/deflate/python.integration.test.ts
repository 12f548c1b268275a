/**
 * permessage-deflate interop with Python's `websockets` (Debian's python3-websockets 10.4 under
 * /usr/bin/python3) over loopback, both directions, with each side's defaults and with no
 * context takeover and small windows asked by either side. Python's zlib inflates with exactly
 * the negotiated window, so an 8-bit window agreed with it proves wasmsocket's compressor keeps
 * to 256 bytes (Node's own inflater cannot tell: it widens 8 bits to 9).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../../src/adapters/node/deflate.js';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { PYTHON, requirePythonWebsockets } from '../interop/python-peer.js';
import { echoAll, type EchoClientLike, type EchoServer, type EchoServerLike, samples, startEcho } from './echo.js';

const SCRIPT = fileURLToPath(new URL('./python/deflate_peer.py', import.meta.url));

/** One Python peer process and the JSON lines it reported. */
class PythonDeflatePeer {
  readonly #process: ChildProcessWithoutNullStreams;
  readonly #lines: Array<Record<string, unknown>> = [];
  #waiters: Array<() => void> = [];
  #stderr = '';
  #exited = false;

  constructor(args: readonly string[]) {
    this.#process = spawn(PYTHON, [SCRIPT, ...args], { stdio: 'pipe' });
    this.#process.stdin.on('error', () => {});
    this.#process.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr = (this.#stderr + chunk).slice(-4000)));
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      this.#lines.push(JSON.parse(line) as Record<string, unknown>);
      this.#wake();
    });
    this.#process.on('exit', () => {
      this.#exited = true;
      this.#wake();
    });
  }

  /** The first report named `event`, waiting up to `timeoutMs`. */
  async next(event: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#lines.find((line) => line.event === event || line.event === 'error');
      if (found !== undefined) {
        if (found.event === 'error') throw new Error(`the Python peer failed: ${String(found.message)}\n${this.#stderr}`);
        return found;
      }
      if (this.#exited) throw new Error(`the Python peer exited before reporting ${event}: ${this.#stderr}`);
      if (Date.now() > deadline) throw new Error(`the Python peer did not report ${event} in time: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#process.once('exit', () => resolve()));
    this.#process.stdin.end();
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

interface Pairing {
  readonly name: string;
  /** The Python peer's permessage-deflate flags. */
  readonly python: readonly string[];
  readonly ours: PerMessageDeflateNodeOptions;
  /** Parameters the response must carry (besides any client_max_window_bits=15). */
  readonly agreed: readonly string[];
  /** Largest message of the workload. */
  readonly maxSize: number;
}

const PAIRINGS: Pairing[] = [
  { name: 'defaults', python: [], ours: {}, agreed: [], maxSize: 16 << 20 },
  {
    name: 'Python asks for no context takeover and small windows',
    python: ['--server-no-context-takeover', '--client-no-context-takeover', '--server-max-window-bits', '9', '--client-max-window-bits', '10'],
    ours: {},
    agreed: ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits=9', 'client_max_window_bits=10'],
    maxSize: 1 << 20,
  },
  {
    name: 'wasmsocket asks for no context takeover and small windows',
    python: [],
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9, threshold: 0 },
    agreed: ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits=10', 'client_max_window_bits=9'],
    maxSize: 1 << 20,
  },
];

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

beforeAll(async () => {
  await requirePythonWebsockets();
});

function paramsOf(extensions: string): string[] {
  const [name, ...params] = extensions.split(/\s*;\s*/);
  expect(name).toBe('permessage-deflate');
  return params.filter((param) => param !== 'client_max_window_bits=15').sort();
}

describe.each(PAIRINGS)('Python websockets interop with permessage-deflate: $name', (pairing) => {
  it('Python client → wasmsocket server', async () => {
    const ours = new WebSocketServer({ port: 0, host: '127.0.0.1', extensions: [perMessageDeflateNode(pairing.ours).server] });
    const server: EchoServer = await startEcho(ours as unknown as EchoServerLike);
    cleanup.push(() => server.stop());
    const peer = new PythonDeflatePeer(['client', `ws://127.0.0.1:${server.port}/`, '--max-size', String(pairing.maxSize), ...pairing.python]);
    cleanup.push(() => peer.stop());
    const result = await peer.next('result');
    expect(result.errors).toEqual([]);
    expect(result.checked).toBeGreaterThan(20);
    expect(paramsOf(String(result.extensions))).toEqual([...pairing.agreed].sort());
  });

  it('wasmsocket client → Python server', async () => {
    const peer = new PythonDeflatePeer(['server', ...pairing.python]);
    cleanup.push(() => peer.stop());
    const { port } = await peer.next('listening');
    const client = new WebSocket(`ws://127.0.0.1:${String(port)}/`, { extensions: [perMessageDeflateNode(pairing.ours).client] });
    const extensions = await echoAll(client as unknown as EchoClientLike, samples(pairing.maxSize));
    expect(paramsOf(extensions)).toEqual([...pairing.agreed].sort());
    expect(paramsOf(String((await peer.next('connection')).extensions))).toEqual([...pairing.agreed].sort());
  });
});

describe('8-bit windows, checked by an inflater with a true 256-byte window', () => {
  it('§7.1.2.1 the server compresses within server_max_window_bits=8, checked by a 256-byte inflater', async () => {
    const ours = new WebSocketServer({ port: 0, host: '127.0.0.1', extensions: [perMessageDeflateNode().server] });
    const server = await startEcho(ours as unknown as EchoServerLike);
    cleanup.push(() => server.stop());
    const peer = new PythonDeflatePeer(['client', `ws://127.0.0.1:${server.port}/`, '--server-max-window-bits', '8']);
    cleanup.push(() => peer.stop());
    const result = await peer.next('result');
    expect(result.errors).toEqual([]);
    expect(paramsOf(String(result.extensions))).toEqual(['server_max_window_bits=8']);
  });

  it('§7.1.2.2 the client compresses within client_max_window_bits=8, checked by a 256-byte inflater', async () => {
    // Python cannot compress with 8 bits itself (zlib refuses a raw 8-bit deflater), so only
    // the client's window is 8 here.
    const peer = new PythonDeflatePeer(['server', '--client-max-window-bits', '8']);
    cleanup.push(() => peer.stop());
    const { port } = await peer.next('listening');
    const client = new WebSocket(`ws://127.0.0.1:${String(port)}/`, { extensions: [perMessageDeflateNode().client] });
    const extensions = await echoAll(client as unknown as EchoClientLike, samples(1 << 20));
    expect(paramsOf(extensions)).toEqual(['client_max_window_bits=8']);
  });
});
