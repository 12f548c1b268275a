/**
 * The cluster bus with real processes: a node:cluster primary and two workers sharing one
 * port (fixtures/cluster-server.ts), clients on loopback in both workers. A publish in one
 * worker reaches the subscribers of both, in publish order; a topic only one worker
 * subscribes to is not forwarded to the other; a closed subscriber's worker stops receiving.
 * The bus frame format and the bus's refusals outside a worker are checked here too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterBus, InvalidStateError, WebSocket } from '../../src/node.js';
import { busFramesOf, BusFrameKind, decodeBusFrame, encodeBusBatch, encodeBusFrame, isBusFrame } from '../../src/pubsub/bus-frame.js';
import { InvalidArgumentError } from '../../src/shared/errors.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-server.ts', import.meta.url));

const children: ChildProcess[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
});

/** Start the cluster; resolves to its port once every worker listens. */
function startCluster(): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the cluster did not listen within 30 s: ${stderr}`)), 30_000);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      clearTimeout(timer);
      resolve((JSON.parse(buffered.slice(0, newline)) as { port: number }).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the cluster exited (${String(code)}): ${stderr}`));
    });
  });
}

/** A client and the messages it received, as text. */
interface Client {
  readonly ws: WebSocket;
  readonly worker: number;
  readonly messages: string[];
  /** The first message from index `from` on matching `predicate` (waits for it). */
  next(predicate: (message: string) => boolean, from?: number): Promise<string>;
}

async function connect(port: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  clients.push(ws);
  const messages: string[] = [];
  const waiters: Array<{ predicate: (message: string) => boolean; resolve: (message: string) => void }> = [];
  ws.on('message', (data: Buffer) => {
    const message = data.toString('utf8');
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  const next = (predicate: (message: string) => boolean, from = 0): Promise<string> => {
    const found = messages.slice(from).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message; got ${messages.slice(-5).join(' | ')}`)), 15_000);
      waiters.push({ predicate, resolve: (message) => (clearTimeout(timer), resolve(message)) });
    });
  };
  const greeting = await next((message) => message.startsWith('{"worker"'));
  return { ws, worker: (JSON.parse(greeting) as { worker: number }).worker, messages, next };
}

/** Clients until both workers have `perWorker` of them (the primary spreads connections round-robin). */
async function clientsInBothWorkers(port: number, perWorker: number): Promise<Map<number, Client[]>> {
  const byWorker = new Map<number, Client[]>();
  for (let attempts = 0; attempts < 40; attempts++) {
    const client = await connect(port);
    const list = byWorker.get(client.worker) ?? [];
    if (list.length < perWorker) list.push(client);
    else client.ws.terminate();
    byWorker.set(client.worker, list);
    if (byWorker.size === 2 && [...byWorker.values()].every((l) => l.length === perWorker)) return byWorker;
  }
  throw new Error(`40 connections did not reach both workers: ${[...byWorker.keys()].join(', ')}`);
}

async function command(client: Client, body: object, reply: string): Promise<Record<string, number | string>> {
  const from = client.messages.length;
  client.ws.send(JSON.stringify(body));
  return JSON.parse(await client.next((message) => message.startsWith(`{"${reply}"`), from)) as Record<string, number | string>;
}

const published = (messages: string[], worker: number): string[] => messages.filter((message) => message.startsWith(`${worker}:`));

describe('ClusterBus across node:cluster workers', () => {
  it('a publish in one worker reaches the subscribers of every worker, in publish order', async () => {
    const port = await startCluster();
    const byWorker = await clientsInBothWorkers(port, 2);
    const [first, second] = [...byWorker.keys()] as [number, number];
    const everyone = [...byWorker.values()].flat();
    for (const client of everyone) await command(client, { subscribe: 't' }, 'subscribed');
    const publisher = byWorker.get(first)![0]!;
    const result = await command(publisher, { publish: 't', count: 200 }, 'published');
    // The publishing worker's own subscribers are the local count.
    expect(result.reached).toBe(200 * 2);
    const expected = Array.from({ length: 200 }, (_, i) => `${first}:${i}`);
    for (const client of everyone) {
      await client.next((message) => message === `${first}:199`);
      expect(published(client.messages, first)).toEqual(expected);
    }
    // And the other way.
    await command(byWorker.get(second)![1]!, { publish: 't', count: 50 }, 'published');
    for (const client of everyone) {
      await client.next((message) => message === `${second}:49`);
      expect(published(client.messages, second)).toEqual(Array.from({ length: 50 }, (_, i) => `${second}:${i}`));
    }
  });

  it('forwards a topic only to the workers that subscribe to it, and stops once their last subscriber left', async () => {
    const port = await startCluster();
    const byWorker = await clientsInBothWorkers(port, 1);
    const [first, second] = [...byWorker.keys()] as [number, number];
    const here = byWorker.get(first)![0]!;
    const there = byWorker.get(second)![0]!;
    await command(there, { subscribe: 'only-there' }, 'subscribed');
    expect((await command(there, { interest: 'only-there' }, 'interest')).interest).toBe(1);
    // From `here`: no local subscriber to only-there, one in the other worker.
    expect((await command(here, { publish: 'only-there', count: 3 }, 'published')).reached).toBe(0);
    await there.next((message) => message === `${first}:2`);
    expect(published(there.messages, first)).toEqual([`${first}:0`, `${first}:1`, `${first}:2`]);
    // Nothing was forwarded to the publishing worker, nor to a worker without subscribers.
    expect((await command(here, { busFrames: true }, 'busFrames')).busFrames).toBe(0);

    // `there` closes: its worker has no subscriber to only-there any more.
    const closed = new Promise((resolve) => there.ws.once('close', resolve));
    there.ws.close();
    await closed;
    let watcher: Client | null = null;
    for (let attempts = 0; attempts < 40 && watcher === null; attempts++) {
      const client = await connect(port);
      if (client.worker === second) watcher = client;
      else client.ws.terminate();
    }
    if (watcher === null) throw new Error('no connection reached the second worker');
    // The round trip orders the worker's "no more interest", sent before it, first.
    expect((await command(watcher, { interest: 'only-there' }, 'interest')).interest).toBe(0);
    await command(watcher, { subscribe: 'marker' }, 'subscribed');
    const framesBefore = (await command(watcher, { busFrames: true }, 'busFrames')).busFrames as number;
    await command(here, { publish: 'only-there', count: 5 }, 'published');
    await command(here, { publish: 'marker', count: 1 }, 'published');
    // The marker, published after them on the same channels, arrives; the five were never forwarded.
    await watcher.next((message) => message === `${first}:0`);
    expect((await command(watcher, { busFrames: true }, 'busFrames')).busFrames).toBe(framesBefore + 1);
  });
});

describe('ClusterBus outside a worker', () => {
  it('refuses to start in a process that is not a cluster worker', () => {
    expect(() => new ClusterBus()).toThrow(InvalidStateError);
  });
});

describe('bus frames', () => {
  it('carry the topic and the payload as bytes, and refuse what is not one', () => {
    const payload = new Uint8Array([1, 2, 3]);
    const frame = encodeBusFrame(BusFrameKind.PUBLISH, 'rööm', payload, true);
    expect(isBusFrame(frame)).toBe(true);
    expect(decodeBusFrame(frame)).toEqual({ kind: BusFrameKind.PUBLISH, topic: 'rööm', payload, binary: true });
    expect(decodeBusFrame(encodeBusFrame(BusFrameKind.INTEREST, 't', null, false))).toMatchObject({ kind: BusFrameKind.INTEREST, topic: 't', payload: new Uint8Array(0) });
    expect(decodeBusFrame(frame.subarray(0, 9))).toBeNull(); // topic cut short
    expect(decodeBusFrame(new Uint8Array([0x57, 0x53, 0x58, 0x42, 9, 0, 0, 0]))).toBeNull(); // unknown kind
    expect(decodeBusFrame(new Uint8Array([0x57, 0x53, 0x58, 0x42, 1, 0, 0, 2, 0xc3, 0x28]))).toBeNull(); // topic not UTF-8
    const interestWithPayload = encodeBusFrame(BusFrameKind.INTEREST, 't', null, false);
    expect(decodeBusFrame(new Uint8Array([...interestWithPayload, 1]))).toBeNull();
    expect(isBusFrame({ topic: 't' })).toBe(false);
    expect(() => encodeBusFrame(BusFrameKind.PUBLISH, 'x'.repeat(70_000), null, false)).toThrow(InvalidArgumentError);
  });

  it('batch the frames of a tick in order, and refuse a batch that is cut short or nests', () => {
    const frames = [
      encodeBusFrame(BusFrameKind.INTEREST, 'a', null, false),
      encodeBusFrame(BusFrameKind.PUBLISH, 'a', new Uint8Array([1]), true),
      encodeBusFrame(BusFrameKind.PUBLISH, 'b', new Uint8Array(0), false),
    ];
    const batch = encodeBusBatch(frames);
    expect(isBusFrame(batch)).toBe(true);
    expect(decodeBusFrame(batch)).toBeNull();
    expect(busFramesOf(batch)).toEqual(frames);
    expect(busFramesOf(frames[1]!)).toEqual([frames[1]]);
    expect(busFramesOf(batch.subarray(0, batch.length - 1))).toBeNull();
    expect(busFramesOf(encodeBusBatch([batch]))).toBeNull();
    expect(busFramesOf(new Uint8Array([1, 2, 3]))).toBeNull();
  });
});
