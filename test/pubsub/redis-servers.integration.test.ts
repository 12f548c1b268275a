/**
 * Three wasmsocket servers in processes of their own (fixtures/redis-node.ts), each with a
 * RedisBus to one real redis-server and two subscribed clients on loopback: a publish on any
 * server reaches the subscribers of all three, in order per publisher; a topic with no
 * subscriber anywhere costs Redis nothing; Redis killed mid-stream and restarted on the same
 * port, the servers resubscribe, count their losses, and local delivery never stops.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RedisBusStats } from '../../src/redis.js';
import { until as untilWithin } from '../hostile/helpers.js';
import { RedisServer } from '../helpers/redis-server.js';

/** Wait for `condition`, polling, for at most 20 s (a busy machine delays Redis's answers). */
const until = (condition: () => boolean, what: string, ms = 20_000) => untilWithin(condition, what, ms);

const FIXTURE = fileURLToPath(new URL('./fixtures/redis-node.ts', import.meta.url));
const NAMES = ['n0', 'n1', 'n2'] as const;

class NodeProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  #nextId = 0;
  stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.on('message', (answer: { id: number }) => {
      const done = this.#waiting.get(answer.id);
      this.#waiting.delete(answer.id);
      done?.(answer);
    });
  }

  static async start(name: string, url: string): Promise<{ node: NodeProcess; port: number }> {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, name, url], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const node = new NodeProcess(child);
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const newline = buffered.indexOf('\n');
        if (newline !== -1) resolve((JSON.parse(buffered.slice(0, newline)) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`${name} exited (${String(code)}): ${node.stderr}`)));
    });
    return { node, port };
  }

  #ask<T>(command: Record<string, unknown>): Promise<T> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve as (answer: Record<string, unknown>) => void);
      this.#child.send({ id, ...command });
    });
  }

  /** Publish `count` messages; resolves to the first one's sequence number once all are published. */
  async publish(topic: string, count = 1, every = 0): Promise<number> {
    return (await this.#ask<{ first: number }>({ publish: topic, count, every })).first;
  }

  async stats(): Promise<RedisBusStats> {
    return (await this.#ask<{ stats: RedisBusStats }>({ stats: true })).stats;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

/** A subscribed client: the messages it received, as "<node>:<seq>". */
interface Client {
  readonly node: number;
  readonly messages: string[];
  readonly ws: WebSocket;
}

async function subscribe(port: number, node: number, topic: string): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const messages: string[] = [];
  const subscribed = new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.startsWith('{')) resolve();
      else messages.push(text);
    });
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ subscribe: topic }));
  await subscribed;
  return { node, messages, ws };
}

/**
 * Which sequence numbers a client received from each node, in arrival order, from
 * `firsts[node]` on (earlier ones are the probes').
 */
function byOrigin(client: Client, firsts: readonly number[] = [0, 0, 0]): Map<string, number[]> {
  const origins = new Map<string, number[]>();
  for (const message of client.messages) {
    const [origin, text] = message.split(':') as [string, string];
    const seq = Number(text);
    if (seq < firsts[NAMES.indexOf(origin as (typeof NAMES)[number])]!) continue;
    let list = origins.get(origin);
    if (!list) origins.set(origin, (list = []));
    list.push(seq);
  }
  return origins;
}

/** Poll an asynchronous condition every 20 ms, for at most `ms`. */
async function eventually(condition: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const allStats = () => Promise.all(nodes.map((node) => node.stats()));

let redis: RedisServer;
const nodes: NodeProcess[] = [];
const ports: number[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  for (const name of NAMES) {
    const { node, port } = await NodeProcess.start(name, redis.url);
    nodes.push(node);
    ports.push(port);
  }
  for (let node = 0; node < NAMES.length; node++) {
    for (let i = 0; i < 2; i++) clients.push(await subscribe(ports[node]!, node, 'room'));
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.all(nodes.map((node) => node.stop()));
  await redis?.kill();
});

/**
 * Every node publishes on `topic` until every client has a message from every node: each
 * node learns of the others' subscriptions a round trip or two after they are made. Bounded.
 * Then the clients' lists start empty.
 */
async function untilEveryoneHearsEveryone(): Promise<void> {
  const heardAll = () => clients.every((client) => NAMES.every((_, node) => byOrigin(client).has(NAMES[node]!)));
  for (let round = 0; round < 300 && !heardAll(); round++) {
    await Promise.all(nodes.map((node) => node.publish('room')));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(heardAll(), 'every client to hear from every node').toBe(true);
}

describe('three servers through Redis', () => {
  it("a publish on any server reaches every server's subscribers, in order per publisher", async () => {
    await untilEveryoneHearsEveryone();
    const firsts = await Promise.all(nodes.map((node) => node.publish('room', 200)));
    const complete = (client: Client) => [...byOrigin(client, firsts).values()].reduce((sum, list) => sum + list.length, 0) === 600;
    await until(() => clients.every(complete), 'all 600 messages at every client', 20_000);
    for (const client of clients) {
      const origins = byOrigin(client, firsts);
      expect([...origins.keys()].sort()).toEqual([...NAMES]);
      for (const [origin, list] of origins) {
        expect(list, `${origin} at a client of n${client.node}`).toHaveLength(200);
        // Consecutive: nothing lost, nothing twice, in publish order.
        for (let i = 1; i < list.length; i++) expect(list[i]).toBe(list[i - 1]! + 1);
      }
    }
  }, 60_000);

  it('a topic with no subscriber anywhere costs no Redis traffic', async () => {
    const before = await redis.calls('publish');
    const skipped = await Promise.all(nodes.map(async (node) => (await node.stats()).skipped));
    await Promise.all(nodes.map((node) => node.publish('nobody-listens', 1000)));
    const after = await Promise.all(nodes.map(async (node) => (await node.stats()).skipped));
    expect(after.map((count, i) => count - skipped[i]!)).toEqual([1000, 1000, 1000]);
    expect((await redis.calls('publish')) - before).toBe(0);
  });

  it('Redis killed mid-stream and restarted: the servers resubscribe and count their losses, and local subscribers miss nothing', async () => {
    await untilEveryoneHearsEveryone();
    const before = await allStats();
    const streams = nodes.map((node) => node.publish('room', 400, 3));
    const fromOthers = (client: Client) => byOrigin(client).get(NAMES[(client.node + 1) % 3]!)?.length ?? 0;
    const received = clients.map(fromOthers);
    await until(() => clients.every((client, i) => fromOthers(client) >= received[i]! + 20), 'stream messages from another node');
    await redis.kill();
    await eventually(async () => (await allStats()).every((stats) => !stats.connected), 'every server to see Redis gone', 10_000);
    // Publishing goes on for a while with Redis down.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await redis.restart();
    await eventually(async () => (await allStats()).every((stats) => stats.connected), 'every server back', 20_000);
    // The streams' first sequence numbers.
    const firsts = await Promise.all(streams);

    const after = await allStats();
    expect(after.map((s, i) => s.reconnects - before[i]!.reconnects)).toEqual([1, 1, 1]);
    // Each server dropped (and counted) what it published while Redis was down.
    expect(after.every((s, i) => s.dropped > before[i]!.dropped)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of clients) {
      const origins = byOrigin(client, firsts);
      for (const [origin, list] of origins) {
        for (let i = 1; i < list.length; i++) expect(list[i], `${origin} at a client of n${client.node}`).toBeGreaterThan(list[i - 1]!);
      }
      // Its own server's stream reached it whole: local delivery does not go through Redis.
      expect(origins.get(NAMES[client.node]!), `n${client.node}'s own stream`).toEqual(Array.from({ length: 400 }, (_, i) => firsts[client.node]! + i));
      // The other servers' streams have a gap where Redis was down.
      for (const other of NAMES.filter((_, node) => node !== client.node)) expect(origins.get(other)!.length).toBeLessThan(400);
    }

    // Resubscribed: messages between servers flow again, whole and in order.
    await untilEveryoneHearsEveryone();
    const next = await Promise.all(nodes.map((node) => node.publish('room', 50)));
    const complete = (client: Client) => [...byOrigin(client, next).values()].reduce((sum, list) => sum + list.length, 0) === 150;
    await until(() => clients.every(complete), 'the 150 messages after the restart', 20_000);
  }, 60_000);
});
