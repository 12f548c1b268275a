/**
 * `wasmsocket bench` as a process against `wasmsocket serve`'s /echo: short bounded runs that
 * count messages, write the documented JSON, keep latency percentiles ordered, and send frames
 * the server accepts in every masking mode; and the errors, with their exit statuses. Against
 * servers that do not echo (`serve`'s /broadcast, `ws` servers that broadcast or send messages
 * unasked): every frame the server reads is exactly a payload the generator meant to send, and
 * `--mode count` counts what arrives. Nothing here asserts a speed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { binaryPayload, textPayload } from '../../src/cli/bench/payload.js';
import type { BenchResult } from '../../src/cli/bench/run.js';
import { type CliProcess, runCli, startServe } from './cli-process.js';

let server: CliProcess;
let echoUrl: string;
let port: number;
let directory: string;

beforeAll(async () => {
  ({ cli: server, port } = await startServe());
  echoUrl = `ws://127.0.0.1:${port}/echo`;
  directory = mkdtempSync(join(tmpdir(), 'wasmsocket-bench-'));
});

afterAll(async () => {
  await server?.stop();
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

let runs = 0;

/** Run `bench` with `args` (plus a one-second window and a JSON file); returns the exit and the JSON. */
async function bench(args: readonly string[], url = echoUrl): Promise<{ code: number | null; stdout: string; stderr: string; result: BenchResult }> {
  const file = join(directory, `run-${++runs}.json`);
  const exit = await runCli(['bench', url, '--duration', '1', '--warmup', '0.2', '--json', file, ...args]);
  return { ...exit, result: JSON.parse(readFileSync(file, 'utf8')) as BenchResult };
}

/** What a checking server saw: messages that were exactly the payload expected, and the others. */
interface Checked {
  exact: number;
  readonly wrong: string[];
  /** Errors of the server's connections (ws fails a connection on invalid UTF-8 with 1007). */
  readonly errors: string[];
}

/**
 * A `ws` server on 127.0.0.1 that checks every message it reads against `expected` (kind and
 * bytes) and then does what `onMessage` says.
 */
async function startCheckingServer(
  expected: { readonly bytes: Uint8Array; readonly binary: boolean },
  onMessage: (wss: WsServer, ws: import('ws').WebSocket, data: Buffer, isBinary: boolean) => void,
  onConnection: (ws: import('ws').WebSocket) => void = () => {},
): Promise<{ readonly url: string; readonly checked: Checked; close(): Promise<void> }> {
  const wss = new WsServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const checked: Checked = { exact: 0, wrong: [], errors: [] };
  const want = Buffer.from(expected.bytes);
  wss.on('connection', (ws) => {
    ws.on('error', (error) => checked.errors.push(error.message));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary === expected.binary && data.equals(want)) checked.exact++;
      else if (checked.wrong.length < 5) checked.wrong.push(`${isBinary ? 'binary' : 'text'}, ${data.length} bytes, starting ${data.subarray(0, 16).toString('hex')}`);
      onMessage(wss, ws, data, isBinary);
    });
    onConnection(ws);
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    checked,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** The error kinds of a result that are not about echoes (wrong or unexpected replies). */
function nonEchoErrors(result: BenchResult): string[] {
  return Object.keys(result.errors.kinds).filter((kind) => !kind.startsWith('echo: '));
}

function expectOrdered(latency: BenchResult['latency']): void {
  const ordered = [latency.min, latency.p50, latency.p90, latency.p99, latency.p999, latency.max];
  expect([...ordered].sort((a, b) => a - b)).toEqual(ordered);
  expect(latency.min).toBeGreaterThan(0);
}

describe('wasmsocket bench', () => {
  it('counts round trips in a closed loop and writes the documented JSON', async () => {
    const { code, stdout, result } = await bench(['--connections', '4', '--workers', '2', '--size', '100', '--depth', '2', '--server-pid', String(process.pid)]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/messages\/s\s+[\d,]+/);
    expect(stdout).toMatch(/latency\s+p50 .* p90 .* p99 .* p99\.9 .* max /);
    expect(result).toMatchObject({
      tool: 'wasmsocket bench',
      version: 1,
      url: echoUrl,
      options: { connections: 4, sizes: [{ size: 100, weight: 1 }], messageType: 'binary', mode: { kind: 'closed', depth: 2 }, workers: 2, mask: 'fresh' },
      connections: { requested: 4, opened: 4, failed: 0, openAtEnd: 4, protocol: null, extensions: [] },
      errors: { total: 0, kinds: {} },
      closeCodes: { '1000': 4 },
    });
    expect(result.messages.received).toBeGreaterThan(0);
    // Every message counted as received was sent in the window or, at most depth × connections, just before it.
    expect(result.messages.received).toBeLessThanOrEqual(result.messages.sent + 8);
    expect(result.throughput.bytesReceived).toBe(result.messages.received * 100);
    expect(result.latency.count).toBe(result.messages.received);
    expectOrdered(result.latency);
    expect(result.durationSeconds).toBeGreaterThan(0.9);
    expect(result.generator.codec).toMatch(/^(wasm|portable)$/);
    expect(result.generator.cpuMicrosPerMessage).toBeGreaterThan(0);
    expect(result.server).toMatchObject({ pid: process.pid });
    expect(result.server!.rssBytes).toBeGreaterThan(0);
    expect(result.server!.cpuMicrosPerMessage).toBeGreaterThanOrEqual(0);
  });

  it.each(['fresh', 'pooled', 'fixed'])('--mask %s sends frames the server accepts', async (mask) => {
    const { code, result } = await bench(['--connections', '2', '--workers', '1', '--mask', mask, '--size', '1k']);
    expect(code).toBe(0);
    expect(result.options.mask).toBe(mask);
    expect(result.errors.total).toBe(0);
    expect(result.messages.received).toBeGreaterThan(0);
    expect(result.closeCodes).toEqual({ '1000': 2 });
  });

  it('sends chat-shaped text with a size distribution, echoed as text', async () => {
    const { code, result } = await bench(['--connections', '2', '--workers', '1', '--text', '--size', '10:1,2k:1,70k:1']);
    expect(code).toBe(0);
    expect(result.options.messageType).toBe('text');
    expect(result.errors.total).toBe(0);
    expect(result.messages.received).toBeGreaterThan(3);
    // Sizes are drawn per message: the mean payload lies between the smallest and the largest.
    const mean = result.throughput.bytesReceived / result.messages.received;
    expect(mean).toBeGreaterThan(10);
    expect(mean).toBeLessThan(70 * 1024);
  });

  it('paces an open loop at the rate asked', async () => {
    const { code, result } = await bench(['--connections', '2', '--workers', '1', '--rate', '200', '--size', '16']);
    expect(code).toBe(0);
    expect(result.options.mode).toEqual({ kind: 'open', rate: 200, maxInFlight: 1024 });
    expect(result.messages.skipped).toBe(0);
    // 200 messages/s for about a second: far from what the server could do in a closed loop.
    expect(result.messages.received).toBeGreaterThan(100);
    expect(result.messages.received).toBeLessThan(400);
    expectOrdered(result.latency);
  });

  it('holds idle connections without traffic', async () => {
    const { code, stdout, result } = await bench(['--connections', '20', '--workers', '2', '--idle']);
    expect(code).toBe(0);
    expect(stdout).toContain('idle connections');
    expect(result.connections.opened).toBe(20);
    expect(result.messages.sent).toBe(0);
    expect(result.closeCodes).toEqual({ '1000': 20 });
  });

  it('fails with a message and status 1 when the server cannot be reached', async () => {
    const { code, stderr } = await runCli(['bench', 'ws://127.0.0.1:1/echo', '--duration', '1', '-c', '2', '-j', '1']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/wasmsocket bench: cannot load ws:\/\/127\.0\.0\.1:1\/echo: no connection could be opened \(socket: ECONNREFUSED/);
  });

  it('fails with status 1 when the server refuses the handshake, naming the status', async () => {
    const { code, stderr } = await runCli(['bench', `ws://127.0.0.1:${port}/nowhere`, '--duration', '1', '-c', '1', '-j', '1']);
    expect(code).toBe(1);
    expect(stderr).toContain('handshake: HTTP 404');
  });

  it.each([
    [['bench', 'not a url'], /invalid URL "not a url"/],
    [['bench', 'ftp://127.0.0.1/'], /the scheme must be ws: or wss:/],
    [['bench'], /missing the URL/],
    [['bench', 'ws://127.0.0.1:1/', '--depth', '0'], /--depth must be an integer from 1/],
  ])('refuses %j with status 2 and the help', async (args, message) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Usage: wasmsocket bench <url> [options]');
  });

  it('--deflate sends compressed messages to a server that agrees to permessage-deflate', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
    await new Promise((resolve) => wss.once('listening', resolve));
    const compressedIn: boolean[] = [];
    const sockets: Socket[] = [];
    wss.on('connection', (ws, request) => {
      compressedIn.push(/permessage-deflate/.test(String(request.headers['sec-websocket-extensions'])));
      sockets.push(request.socket);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    try {
      const file = join(directory, 'deflate.json');
      const { code } = await runCli(['bench', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, '--deflate', '--text', '--size', '4k', '-c', '2', '-j', '1', '-t', '1', '-w', '0', '--json', file]);
      const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
      expect(code).toBe(0);
      expect(compressedIn).toEqual([true, true]);
      expect(result.connections.extensions).toEqual(['permessage-deflate']);
      expect(result.errors.total).toBe(0);
      expect(result.messages.received).toBeGreaterThan(0);
      expect(result.throughput.bytesReceived).toBe(result.messages.received * 4096);
      // Compressed on the wire: the repeated chat-shaped text takes far less than 4 KiB a message.
      const wireBytes = sockets.reduce((sum, socket) => sum + socket.bytesRead, 0);
      expect(wireBytes).toBeLessThan((result.messages.sent * 4096) / 4);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('loads a wss: server, with --insecure for its self-signed certificate', async () => {
    const fixtures = new URL('../fixtures/', import.meta.url);
    const https = createHttpsServer({ cert: readFileSync(new URL('tls-cert.pem', fixtures)), key: readFileSync(new URL('tls-key.pem', fixtures)) });
    const wss = new WsServer({ server: https });
    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const url = `wss://127.0.0.1:${(https.address() as AddressInfo).port}/`;
      const refused = await runCli(['bench', url, '-c', '1', '-j', '1', '-t', '1', '-w', '0']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/no connection could be opened \(socket: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
      const file = join(directory, 'tls.json');
      const { code } = await runCli(['bench', url, '--insecure', '-c', '2', '-j', '1', '-t', '1', '-w', '0', '--json', file]);
      const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
      expect(code).toBe(0);
      expect(result.errors.total).toBe(0);
      expect(result.messages.received).toBeGreaterThan(0);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => https.close(resolve));
    }
  });

  it('--deflate against a server that declines it sends plain messages', async () => {
    const { code, result } = await bench(['--deflate', '--size', '2k', '-c', '1', '-j', '1']);
    expect(code).toBe(0);
    expect(result.options.deflate).toBe(true);
    expect(result.connections.extensions).toEqual([]);
    expect(result.errors.total).toBe(0);
    expect(result.messages.received).toBeGreaterThan(0);
  });

  it('prints its help', async () => {
    const { code, stdout } = await runCli(['bench', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--mask <mode>');
    expect(stdout).toContain('--server-pid <pid>');
    expect(stdout).toContain('--mode <mode>');
    expect(stdout).toMatch(/count +the server sends anything or nothing back/);
  });
});

describe('wasmsocket bench against servers that do not echo', () => {
  it('sends only the frames it meant to while a server sends messages nobody asked for', async () => {
    // The server echoes, and sends short messages unasked, as a busy broadcast would. For its
    // first 300 ms it does not read: the generator's writes back up into its socket, and a
    // frame's buffer reused because some message arrived would be re-masked while being written.
    const size = 256 * 1024;
    const server = await startCheckingServer(
      { bytes: textPayload(size), binary: false },
      (_wss, ws, data, isBinary) => ws.send(data, { binary: isBinary }),
      (ws) => {
        ws.pause();
        const resume = setTimeout(() => ws.resume(), 300);
        const timer = setInterval(() => {
          for (let i = 0; i < 5; i++) ws.send('news');
        }, 1);
        ws.on('close', () => {
          clearTimeout(resume);
          clearInterval(timer);
        });
      },
    );
    try {
      const { code, result } = await bench(['--text', '--size', String(size), '-c', '2', '-j', '1', '-d', '1', '-w', '0'], server.url);
      expect(server.checked.errors).toEqual([]);
      expect(server.checked.wrong).toEqual([]);
      expect(server.checked.exact).toBeGreaterThan(10);
      expect(result.closeCodes).toEqual({ '1000': 2 });
      // In echo mode the extra messages are reported, as errors about echoes and nothing else.
      expect(nonEchoErrors(result)).toEqual([]);
      expect(result.errors.total).toBeGreaterThan(0);
      expect(code).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("in echo mode against serve's /broadcast, reports wrong replies but never corrupts a frame", async () => {
    const { result } = await bench(['--text', '--size', '1k', '-c', '3', '-j', '1', '-d', '2', '-w', '0'], `ws://127.0.0.1:${port}/broadcast`);
    expect(result.connections.opened).toBe(3);
    // The server would fail a connection that sent invalid UTF-8 with 1007.
    expect(result.closeCodes).toEqual({ '1000': 3 });
    expect(nonEchoErrors(result)).toEqual([]);
    expect(result.errors.kinds['echo: mismatch']?.count).toBeGreaterThan(0);
  });

  it("--mode count: an open loop against serve's /broadcast counts every message relayed", async () => {
    const { code, stdout, result } = await bench(
      ['--mode', 'count', '--text', '--size', '1k', '-c', '4', '-j', '2', '--rate', '400'],
      `ws://127.0.0.1:${port}/broadcast`,
    );
    expect(code).toBe(0);
    expect(result.options.replies).toBe('count');
    expect(result.errors).toEqual({ total: 0, kinds: {} });
    expect(result.closeCodes).toEqual({ '1000': 4 });
    // 400 messages/s for about a second, each relayed to all four connections (the sender too).
    expect(result.messages.sent).toBeGreaterThan(250);
    expect(result.messages.sent).toBeLessThan(550);
    expect(result.messages.skipped).toBe(0);
    expect(result.messages.received).toBeGreaterThan(3 * result.messages.sent);
    expect(result.messages.received).toBeLessThanOrEqual(4 * result.messages.sent + 4 * 50);
    expect(result.messages.perSecond).toBeGreaterThan(3 * result.messages.sentPerSecond);
    // Relayed as JSON events that carry the text: larger than what was sent.
    expect(result.throughput.bytesReceived / result.messages.received).toBeGreaterThan(1024);
    expect(result.throughput.bytesSent).toBe(result.messages.sent * 1024);
    expect(result.latency.count).toBe(0);
    expect(stdout).toContain('counting what arrives');
    expect(stdout).toMatch(/messages\/s\s+[\d,]+ received, [\d,]+ sent/);
  });

  it('--mode count: a closed loop against a ws broadcast server sends exact frames as fast as they are written', async () => {
    const server = await startCheckingServer({ bytes: binaryPayload(2048), binary: true }, (wss, _ws, data) => {
      for (const client of wss.clients) client.send(data, { binary: true });
    });
    try {
      const { code, result } = await bench(['--mode', 'count', '--size', '2k', '-c', '3', '-j', '1', '--depth', '4', '-w', '0'], server.url);
      expect(server.checked.errors).toEqual([]);
      expect(server.checked.wrong).toEqual([]);
      expect(server.checked.exact).toBeGreaterThan(100);
      expect(code).toBe(0);
      expect(result.errors.total).toBe(0);
      expect(result.closeCodes).toEqual({ '1000': 3 });
      expect(result.messages.sent).toBeGreaterThan(0);
      // Every message received is one of the server's three relays of a message it read.
      expect(result.messages.received).toBeGreaterThan(0);
      expect(result.messages.received).toBeLessThanOrEqual(3 * server.checked.exact);
      expect(result.throughput.bytesReceived).toBe(result.messages.received * 2048);
    } finally {
      await server.close();
    }
  });

  it('--mode count --idle: listeners count what a server pushes to them', async () => {
    const server = await startCheckingServer(
      { bytes: new Uint8Array(0), binary: false },
      () => {},
      (ws) => {
        const timer = setInterval(() => ws.send('tick'), 5);
        ws.on('close', () => clearInterval(timer));
      },
    );
    try {
      const { code, stdout, result } = await bench(['--mode', 'count', '--idle', '-c', '2', '-j', '1'], server.url);
      expect(code).toBe(0);
      expect(server.checked.exact + server.checked.wrong.length).toBe(0);
      expect(result.messages.sent).toBe(0);
      // One tick per 5 ms per connection, for about a second.
      expect(result.messages.received).toBeGreaterThan(100);
      expect(result.messages.received).toBeLessThan(2 * 400);
      expect(result.throughput.bytesReceived).toBe(result.messages.received * 4);
      expect(stdout).toMatch(/messages\/s\s+[\d,]+ received, 0 sent/);
    } finally {
      await server.close();
    }
  });
});
