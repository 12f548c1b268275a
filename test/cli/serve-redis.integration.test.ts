/**
 * `wasmsocket serve --redis URL`: several serve processes (one of them with `--workers 2`)
 * behind one real redis-server carry the page's broadcast to each other's clients, and every
 * event says which node (and worker) it came from. Bad arguments are usage errors, and the
 * URL's password is never printed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { parseServeArgs } from '../../src/cli/serve.js';
import { RedisServer } from '../helpers/redis-server.js';
import { EventQueue, withTimeout } from '../interop/events.js';
import { type CliProcess, runCli, startServe } from './cli-process.js';

let redis: RedisServer;
const running: CliProcess[] = [];
const clients: WsClient[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((cli) => cli.stop()));
});

afterAll(async () => {
  await redis?.kill();
});

type Event = Record<string, unknown>;

async function broadcastClient(port: number): Promise<{ ws: WsClient; events: EventQueue<Event>; welcome: Event }> {
  const ws = new WsClient(`ws://127.0.0.1:${port}/broadcast`);
  clients.push(ws);
  const events = new EventQueue<Event>();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) events.push(JSON.parse(data.toString('utf8')) as Event);
  });
  await withTimeout(new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject)), 'a connection to /broadcast');
  const welcome = await events.next('the welcome', (event) => event.type === 'welcome');
  return { ws, events, welcome };
}

describe('wasmsocket serve --redis', () => {
  it('three serve processes (one with two workers) behind one Redis carry the broadcast to each other, naming the node it came from', async () => {
    const started = await Promise.all([
      startServe(['--redis', redis.url]),
      startServe(['--redis', redis.url]),
      startServe(['--redis', redis.url, '--workers', '2', '--redis-prefix', 'wasmsocket:']),
    ]);
    running.push(...started.map(({ cli }) => cli));
    const nodes: string[] = [];
    for (const { cli } of started) {
      const line = await cli.line(/^ {2}redis /);
      const match = /^ {2}redis {6}(\S+) \(prefix "wasmsocket:", node (\S+)\)$/.exec(line);
      expect(match?.[1], line).toBe(redis.url);
      nodes.push(match![2]!);
    }
    expect(new Set(nodes).size).toBe(3);
    const [a, b, c] = await Promise.all(started.map(({ port }) => broadcastClient(port)));
    expect(a!.welcome).toMatchObject({ worker: 0, node: nodes[0] });
    expect(b!.welcome).toMatchObject({ worker: 0, node: nodes[1] });
    expect(c!.welcome).toMatchObject({ worker: expect.any(Number), node: nodes[2] });
    expect(c!.welcome.worker).toBeGreaterThan(0);

    // Each server learns of the others' subscribers a round trip or two after they join: say
    // it until the others hear, then once more and expect that one everywhere.
    for (const [sender, index] of [[a!, 0], [b!, 1], [c!, 2]] as const) {
      const others = [a!, b!, c!].filter((client) => client !== sender);
      let heard = [false, false];
      for (let attempt = 0; attempt < 200 && !heard.every(Boolean); attempt++) {
        sender.ws.send(`probe ${index}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        heard = others.map((client) => client.events.all().some((event) => event.text === `probe ${index}`));
      }
      expect(heard, `the others hearing node ${index}`).toEqual([true, true]);
      sender.ws.send(`from node ${index}`);
      for (const client of [a!, b!, c!]) {
        const event = await client.events.next(`"from node ${index}"`, (e) => e.text === `from node ${index}`);
        expect(event).toMatchObject({ type: 'message', from: sender.welcome.id, node: nodes[index], worker: sender.welcome.worker });
      }
    }
  }, 60_000);

  it('the Redis URL is printed and reported without its password', async () => {
    const { cli } = await startServe(['--redis', 'redis://:sekrit@127.0.0.1:1']);
    running.push(cli);
    expect(await cli.line(/^ {2}redis /)).toMatch(/^ {2}redis {6}redis:\/\/:\*\*\*@127\.0\.0\.1:1 /);
    // Nothing listens on port 1: the bus says so, and keeps trying.
    expect(await cli.errorLine(/redis/)).toMatch(/^wasmsocket serve: redis redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*; retrying$/);
    cli.signal('SIGTERM');
    const exit = await cli.exited();
    expect(exit.code).toBe(0);
    expect(`${exit.stdout}${exit.stderr}`).not.toContain('sekrit');
  });

  it('exits 2 with the usage for a --redis that is not a Redis URL, or --redis-prefix alone', async () => {
    const cases = [['--redis', 'http://127.0.0.1:6379'], ['--redis', '127.0.0.1:6379'], ['--redis-prefix', 'app:']];
    const exits = await Promise.all(cases.map((args) => runCli(['serve', ...args])));
    cases.forEach((args, index) => {
      expect(exits[index]!.code, args.join(' ')).toBe(2);
      expect(exits[index]!.stderr).toMatch(/^wasmsocket serve: --redis/);
    });
  });

  it('parses --redis and --redis-prefix', () => {
    expect(parseServeArgs(['--redis', 'redis://10.0.0.5:6379'])).toMatchObject({ redis: { url: 'redis://10.0.0.5:6379', prefix: 'wasmsocket:' } });
    expect(parseServeArgs(['--redis', 'rediss://h', '--redis-prefix', 'app:'])).toMatchObject({ redis: { url: 'rediss://h', prefix: 'app:' } });
    expect(parseServeArgs([])).not.toHaveProperty('redis');
  });
});
