/**
 * `wasmsocket serve` as a process on a free port: the page at /, the echo and broadcast
 * endpoints (driven by the independent `ws` client), refusals, clean shutdown on SIGTERM, and
 * clear errors with the documented exit statuses.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { EventQueue, withTimeout } from '../interop/events.js';
import { rawHandshake } from '../interop/net.js';
import { patternBytes } from '../interop/payloads.js';
import { type CliProcess, runCli, startServe } from './cli-process.js';

interface Received {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

interface Client {
  readonly ws: WsClient;
  readonly messages: EventQueue<Received>;
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  /** The next message, parsed as a JSON event. */
  nextEvent(): Promise<Record<string, unknown>>;
}

const running: CliProcess[] = [];
const clients: WsClient[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((cli) => cli.stop()));
});

async function serve(): Promise<number> {
  const { cli, port } = await startServe();
  running.push(cli);
  return port;
}

async function connect(port: number, path: string): Promise<Client> {
  const ws = new WsClient(`ws://127.0.0.1:${port}${path}`);
  clients.push(ws);
  const messages = new EventQueue<Received>();
  ws.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    `a connection to ${path}`,
  );
  return {
    ws,
    messages,
    closed,
    nextEvent: async () => JSON.parse((await messages.next('a broadcast event')).data.toString()) as Record<string, unknown>,
  };
}

describe('wasmsocket serve', () => {
  it('prints the URL it listens on, with the port it chose for --port 0', async () => {
    const { cli, port } = await startServe();
    running.push(cli);
    expect(port).toBeGreaterThan(0);
    expect(await cli.line(/echo/)).toBe(`  echo       ws://127.0.0.1:${port}/echo`);
    expect(await cli.line(/broadcast/)).toBe(`  broadcast  ws://127.0.0.1:${port}/broadcast`);
  });

  it('serves the page at / and refuses the rest with the right status', async () => {
    const port = await serve();
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<!doctype html>');
    expect(html).toContain("new URL('/broadcast', location.href)");
    expect((await fetch(`http://127.0.0.1:${port}/echo`)).status).toBe(426);
    expect((await fetch(`http://127.0.0.1:${port}/nothing-here`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await rawHandshake(port, '/nothing-here')).status).toBe(404);
    expect((await rawHandshake(port, '/echo')).status).toBe(101);
  });

  it('/echo echoes text as text and binary as binary, small and large', async () => {
    const port = await serve();
    const client = await connect(port, '/echo');
    client.ws.send('héllo ✓');
    client.ws.send(Buffer.from([0, 1, 2, 255]));
    const large = patternBytes(4 * 1024 * 1024);
    client.ws.send(large);
    client.ws.send('');
    const text = await client.messages.next('the text echo');
    expect(text.isBinary).toBe(false);
    expect(text.data.toString()).toBe('héllo ✓');
    const binary = await client.messages.next('the binary echo');
    expect(binary).toEqual({ isBinary: true, data: Buffer.from([0, 1, 2, 255]) });
    const echoed = await client.messages.next('the 4 MiB echo');
    expect(echoed.isBinary).toBe(true);
    expect(echoed.data.equals(large)).toBe(true);
    expect(await client.messages.next('the empty echo')).toEqual({ isBinary: false, data: Buffer.alloc(0) });
  });

  it('/broadcast welcomes each client, counts them and relays every message to all', async () => {
    const port = await serve();
    const alice = await connect(port, '/broadcast');
    const aliceWelcome = await alice.nextEvent();
    const origin = { worker: 0, node: expect.any(String) };
    expect(aliceWelcome).toEqual({ type: 'welcome', id: expect.any(Number), clients: 1, ...origin });
    const bob = await connect(port, '/broadcast');
    const bobWelcome = await bob.nextEvent();
    expect(bobWelcome).toEqual({ type: 'welcome', id: expect.any(Number), clients: 2, ...origin });
    expect(bobWelcome.id).not.toBe(aliceWelcome.id);
    expect(await alice.nextEvent()).toEqual({ type: 'clients', clients: 2, ...origin });

    alice.ws.send('hi, everyone');
    const relayed = { type: 'message', from: aliceWelcome.id, text: 'hi, everyone', ...origin };
    expect(await alice.nextEvent()).toEqual(relayed);
    expect(await bob.nextEvent()).toEqual(relayed);

    bob.ws.send(Buffer.from([1, 2, 3]));
    expect(await alice.messages.next('the relayed binary')).toEqual({ isBinary: true, data: Buffer.from([1, 2, 3]) });
    expect(await bob.messages.next('the relayed binary')).toEqual({ isBinary: true, data: Buffer.from([1, 2, 3]) });

    bob.ws.close(1000);
    expect(await alice.nextEvent()).toEqual({ type: 'clients', clients: 1, ...origin });
  });

  it('--workers 2: two node:cluster workers share the port, and a message sent through either reaches the clients of both', async () => {
    const { cli, port } = await startServe(['--workers', '2']);
    running.push(cli);
    expect(await cli.line(/workers/)).toMatch(/^ {2}workers {4}2 /);
    // The primary hands connections to the workers in turn: connect until both have a client.
    const byWorker = new Map<number, Client>();
    for (let attempts = 0; attempts < 20 && byWorker.size < 2; attempts++) {
      const client = await connect(port, '/broadcast');
      const welcome = await client.nextEvent();
      expect(welcome).toMatchObject({ type: 'welcome', worker: expect.any(Number), node: expect.any(String) });
      if (byWorker.has(welcome.worker as number)) client.ws.terminate();
      else byWorker.set(welcome.worker as number, client);
    }
    expect(byWorker.size).toBe(2);
    const [[firstWorker, first], [secondWorker, second]] = [...byWorker.entries()] as [[number, Client], [number, Client]];
    // A worker's subscription reaches the primary asynchronously (at most once: a message
    // published elsewhere meanwhile misses it): probe until each worker has carried one.
    const probe = async (from: Client, to: Client): Promise<void> => {
      for (let attempt = 0; attempt < 50; attempt++) {
        from.ws.send(`probe ${attempt}`);
        try {
          await to.messages.next('a probe', (received) => received.data.toString().includes('"text":"probe '), 500);
          return;
        } catch {
          // Not carried yet: the next probe.
        }
      }
      throw new Error('no probe reached the other worker');
    };
    await probe(first, second);
    await probe(second, first);
    const textFrom = async (client: Client, text: string): Promise<Record<string, unknown>> => {
      for (;;) {
        const event = await client.nextEvent();
        if (event.type === 'message' && event.text === text) return event;
      }
    };
    first.ws.send('through the first worker');
    for (const client of [first, second]) expect(await textFrom(client, 'through the first worker')).toMatchObject({ worker: firstWorker });
    second.ws.send('through the second worker');
    for (const client of [first, second]) expect(await textFrom(client, 'through the second worker')).toMatchObject({ worker: secondWorker });

    cli.signal('SIGTERM');
    for (const client of [first, second]) expect(await withTimeout(client.closed, 'the client to be closed')).toMatchObject({ code: 1001 });
    const exit = await cli.exited();
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('SIGTERM: closing connections and shutting down');
  });

  it('shuts down on SIGTERM: every client gets 1001, the process exits 0', async () => {
    const { cli, port } = await startServe();
    running.push(cli);
    const echo = await connect(port, '/echo');
    const broadcast = await connect(port, '/broadcast');
    cli.signal('SIGTERM');
    expect(await withTimeout(echo.closed, 'the echo client to be closed')).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await withTimeout(broadcast.closed, 'the broadcast client to be closed')).toMatchObject({ code: 1001 });
    const exit = await cli.exited();
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('SIGTERM: closing connections and shutting down');
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it('shuts down on SIGINT as well', async () => {
    const { cli, port } = await startServe();
    running.push(cli);
    const client = await connect(port, '/echo');
    cli.signal('SIGINT');
    expect(await withTimeout(client.closed, 'the client to be closed')).toMatchObject({ code: 1001 });
    expect((await cli.exited()).code).toBe(0);
  });

  it('exits 1 saying so when the port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const exit = await runCli(['serve', '--port', String(port)]);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(`wasmsocket serve: port ${port} is already in use on 127.0.0.1\n`);
    } finally {
      blocker.close();
    }
  });

  it('exits 2 with the usage for a bad --port or an unknown option', async () => {
    const cases = [['--port', 'http'], ['--port', '65536'], ['--port', '-1'], ['--colour'], ['--workers', '0'], ['--workers', '257'], ['--workers', 'two']];
    const exits = await Promise.all(cases.map((args) => runCli(['serve', ...args])));
    cases.forEach((args, index) => {
      const exit = exits[index]!;
      expect(exit.code, args.join(' ')).toBe(2);
      expect(exit.stderr).toMatch(/^wasmsocket serve: /);
      expect(exit.stderr).toContain('Usage: wasmsocket serve');
      expect(exit.stdout).toBe('');
    });
  });

  it('--help shows the usage and exits 0', async () => {
    const exit = await runCli(['serve', '--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('Usage: wasmsocket serve [--port <port>] [--host <host>]');
    expect(exit.stdout).toContain('/broadcast');
  });
});

describe('wasmsocket', () => {
  it('--help lists the commands', async () => {
    const exit = await runCli(['--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^Usage: wasmsocket <command> \[options\]/);
    expect(exit.stdout).toMatch(/^ {2}serve /m);
    expect(exit.stdout).toMatch(/^ {2}connect /m);
    expect(exit.stdout).toMatch(/^ {2}bench /m);
  });

  it('exits 2 with the usage for no command or an unknown one', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: wasmsocket <command>');
    const unknown = await runCli(['benchmark', 'ws://127.0.0.1:1/']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('wasmsocket: unknown command "benchmark"');
  });
});
