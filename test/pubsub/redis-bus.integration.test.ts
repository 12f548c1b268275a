/**
 * RedisBus against a real redis-server on a loopback port: bytes between nodes, subscriptions
 * only while a node has interest, no traffic for a topic nobody subscribes to, and faults —
 * Redis killed and restarted, one node's link cut — with resubscription and counted losses.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBus, type RedisBusOptions } from '../../src/pubsub/redis-bus.js';
import { until as untilWithin } from '../hostile/helpers.js';
import { freePort, RedisServer } from '../helpers/redis-server.js';

/** Wait for `condition`, polling, for at most 15 s (a busy machine delays Redis's answers). */
const until = (condition: () => boolean, what: string, ms = 15_000) => untilWithin(condition, what, ms);

interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly binary: boolean;
}

/** A bus with a recording server behind it. */
function node(redis: RedisServer | string, options: RedisBusOptions = {}): { bus: RedisBus; received: Received[]; calls: () => number } {
  const received: Received[] = [];
  const bus = new RedisBus({ url: typeof redis === 'string' ? redis : redis.url, reconnect: { initialDelay: 10, maxDelay: 100 }, ...options });
  bus.attach((topic, payload, binary) => received.push({ topic, payload: Buffer.from(payload), binary }));
  buses.push(bus);
  let calls = 0;
  const publish = bus.publish.bind(bus);
  bus.publish = (topic, payload, binary) => {
    calls++;
    publish(topic, payload, binary);
  };
  return { bus, received, calls: () => calls };
}

const buses: RedisBus[] = [];
let redis: RedisServer;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

afterAll(async () => {
  await redis?.kill();
});

/**
 * Publish `make(i)` from `from` until `received` has something from it: the publisher learns
 * of a new remote subscriber a round trip or two after it subscribed. Bounded.
 */
async function publishUntilReceived(from: RedisBus, topic: string, received: Received[]): Promise<void> {
  const before = received.length;
  for (let attempt = 0; attempt < 400 && received.length === before; attempt++) {
    from.publish(topic, Buffer.from('probe'), false);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(received.length, `a probe on ${topic} to arrive`).toBeGreaterThan(before);
  // Probes still in flight arrive before anything published later.
  await until(() => received.length > 0 && received.at(-1)!.payload.toString() === 'probe', 'the last probe');
  await new Promise((resolve) => setTimeout(resolve, 20));
  received.length = 0;
}

/**
 * Two nodes, `b` subscribed to `topic` and `a` already sending to it (`a` on `aUrl`, with
 * `aOptions`; `b` on `bUrl`).
 */
async function linked(topic: string, aUrl: RedisServer | string, aOptions: RedisBusOptions = {}, bUrl: RedisServer | string = aUrl) {
  const a = node(aUrl, aOptions);
  const b = node(bUrl);
  await Promise.all([a.bus.ready, b.bus.ready]);
  b.bus.interest(topic, true);
  await publishUntilReceived(a.bus, topic, b.received);
  return { a, b };
}

describe('RedisBus between nodes', () => {
  it('carries payload bytes and the binary flag, in publish order, and a node ignores its own messages', async () => {
    const a = node(redis);
    const b = node(redis);
    await Promise.all([a.bus.ready, b.bus.ready]);
    a.bus.interest('room', true);
    b.bus.interest('room', true);
    await publishUntilReceived(a.bus, 'room', b.received);
    await publishUntilReceived(b.bus, 'room', a.received);

    const binary = new Uint8Array([0, 255, 1, 254, 0x80]);
    a.bus.publish('room', binary, true);
    for (let i = 0; i < 500; i++) a.bus.publish('room', Buffer.from(`m${i}`), false);
    await until(() => b.received.length === 501, 'all 501 messages at b');
    expect(b.received[0]).toEqual({ topic: 'room', payload: Buffer.from(binary), binary: true });
    expect(b.received.slice(1).map((m) => m.payload.toString())).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(b.received.slice(1).every((m) => !m.binary)).toBe(true);
    // a is subscribed to 'room' too, and Redis sent it its own messages: it delivered none.
    expect(a.received).toEqual([]);
    expect(b.bus.stats.delivered).toBeGreaterThanOrEqual(501);
  });

  it('subscribes to a channel only while the node has interest, under the configured prefix', async () => {
    const a = node(redis, { prefix: 'app1:' });
    await a.bus.ready;
    const client = await redis.client();
    try {
      a.bus.interest('ticker/ACME', true);
      await until(() => a.bus.stats.connected, 'a online');
      const subscribed = async () => (await client.sendCommand(['PUBSUB', 'NUMSUB', 'app1:t:ticker/ACME']) as unknown[])[1];
      for (let i = 0; i < 200 && (await subscribed()) !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await subscribed()).toBe(1);
      expect(await client.sendCommand(['PUBSUB', 'CHANNELS', 'app1:*'])).toEqual(expect.arrayContaining(['app1:t:ticker/ACME', 'app1:c:interest']));
      a.bus.interest('ticker/ACME', false);
      for (let i = 0; i < 200 && (await subscribed()) !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await subscribed()).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('interest that flaps faster than Redis answers ends as the last call says', async () => {
    const a = node(redis, { prefix: 'flap:' });
    await a.bus.ready;
    const client = await redis.client();
    const count = async (topic: string) => Number((await client.sendCommand(['PUBSUB', 'NUMSUB', `flap:t:${topic}`]) as unknown[])[1]);
    try {
      for (let i = 0; i < 51; i++) {
        a.bus.interest('on', i % 2 === 0);
        a.bus.interest('off', i % 2 === 1);
      }
      // 51 calls: the last said interested for 'on' and not for 'off'.
      for (let i = 0; i < 400 && ((await count('on')) !== 1 || (await count('off')) !== 0); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect([await count('on'), await count('off')]).toEqual([1, 0]);
      // And it stays so once every command is answered.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([await count('on'), await count('off')]).toEqual([1, 0]);
    } finally {
      await client.close();
    }
  });

  it('a prefix with glob characters lists only its own channels, and keeps its nodes apart from the prefixes it would match as a pattern', async () => {
    const other = node(redis, { prefix: 'axb:' });
    await other.bus.ready;
    other.bus.interest('z', true);
    const monitor = await redis.client();
    const seen: string[] = [];
    try {
      for (let i = 0; i < 400 && ((await monitor.sendCommand(['PUBSUB', 'CHANNELS', 'axb:t:z'])) as unknown[]).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      await monitor.monitor((line: string) => seen.push(line));
      // Started after: it learns from the snapshot, whose pattern 'a*b:t:*' would match 'axb:t:z' unescaped.
      const globbed = node(redis, { prefix: 'a*b:' });
      await globbed.bus.ready;
      globbed.bus.publish('z', Buffer.from('x'), false);
      expect(globbed.bus.stats).toMatchObject({ published: 0, skipped: 1 });
      // MONITOR shows commands in the order Redis ran them: once it shows this marker, it has
      // shown everything the bus sent before.
      const marker = await redis.client();
      await marker.sendCommand(['ECHO', 'glob-marker']);
      await marker.close();
      await until(() => seen.some((line) => line.includes('glob-marker')), 'MONITOR to show the marker');
      expect(seen.some((line) => line.includes('"CHANNELS" "a\\\\*b:t:*"'))).toBe(true);
      // The listing did not return the other prefix's channel, so nothing counted it.
      expect(seen.filter((line) => line.includes('NUMSUB'))).toEqual([]);
    } finally {
      await monitor.close();
    }
  });

  it('nodes with different prefixes do not reach each other', async () => {
    const a = node(redis, { prefix: 'one:' });
    const b = node(redis, { prefix: 'two:' });
    const c = node(redis, { prefix: 'two:' });
    await Promise.all([a.bus.ready, b.bus.ready, c.bus.ready]);
    b.bus.interest('news', true);
    await publishUntilReceived(c.bus, 'news', b.received);
    const published = a.bus.stats.published;
    for (let i = 0; i < 20; i++) a.bus.publish('news', Buffer.from('from one'), false);
    c.bus.publish('news', Buffer.from('from two'), false);
    await until(() => b.received.length === 1, 'the message from the same prefix');
    expect(b.received[0]!.payload.toString()).toBe('from two');
    // a never learnt of a subscriber: nothing was sent.
    expect(a.bus.stats.published).toBe(published);
  });

  it('a topic with no subscriber anywhere costs no Redis traffic (MONITOR and INFO commandstats)', async () => {
    const { a, b } = await linked('busy', redis);

    const monitor = await redis.client();
    const seen: string[] = [];
    await monitor.monitor((line: string) => seen.push(line));
    const publishesBefore = await redis.calls('publish');
    const skippedBefore = a.bus.stats.skipped;
    for (let i = 0; i < 1000; i++) {
      a.bus.publish('nobody-listens', Buffer.from(`quiet ${i}`), false);
      b.bus.publish('nobody-listens', Buffer.from(`quiet ${i}`), true);
    }
    // One message on a topic with a subscriber, as the marker that MONITOR is seeing a's traffic.
    a.bus.publish('busy', Buffer.from('marker'), false);
    await until(() => b.received.some((m) => m.payload.toString() === 'marker'), 'the marker');
    await until(() => seen.some((line) => line.includes('wasmsocket:t:busy')), 'MONITOR to show the marker');
    await monitor.close();
    expect(seen.filter((line) => line.includes('nobody-listens'))).toEqual([]);
    expect(a.bus.stats.skipped - skippedBefore).toBe(1000);
    // The only PUBLISH since: the marker (the calls counter counts commands Redis ran).
    expect((await redis.calls('publish')) - publishesBefore).toBe(1);
  });

  it('stops sending once the last remote subscriber leaves, and again when it comes back', async () => {
    const { a, b } = await linked('t', redis);
    b.bus.interest('t', false);
    // a hears b's announcement and counts the channel: then it sends nothing.
    const skipped = a.bus.stats.skipped;
    for (let i = 0; i < 400 && a.bus.stats.skipped === skipped; i++) {
      a.bus.publish('t', Buffer.from('after'), false);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(a.bus.stats.skipped).toBeGreaterThan(skipped);
    // b no longer delivers what still reached it before a heard of the change.
    expect(b.received.filter((m) => m.payload.toString() === 'after')).toEqual([]);
    b.bus.interest('t', true);
    await publishUntilReceived(a.bus, 't', b.received);
  });

  it('a remote subscriber that goes away without a word (its connection dies) stops the sending at the next publish', async () => {
    const a = node(redis);
    await a.bus.ready;
    // A bare subscriber in a's place of another node: it never announces anything.
    const other = await redis.client();
    await other.subscribe('wasmsocket:t:silent', () => {});
    await other.publish('wasmsocket:c:interest', Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(16, 7), Buffer.from('silent')]));
    const published = a.bus.stats.published;
    for (let i = 0; i < 400 && a.bus.stats.published === published; i++) {
      a.bus.publish('silent', Buffer.from('x'), false);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(a.bus.stats.published).toBeGreaterThan(published);
    other.destroy();
    // Each PUBLISH reply counts the receivers: the first with none left takes the topic off.
    const skipped = a.bus.stats.skipped;
    for (let i = 0; i < 400 && a.bus.stats.skipped === skipped; i++) {
      a.bus.publish('silent', Buffer.from('x'), false);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(a.bus.stats.skipped).toBeGreaterThan(skipped);
  });

  it("ignores what is not a bus message on its channels: too short, another format version, the control channel's unknown kinds", async () => {
    const { a, b } = await linked('room', redis);
    const other = await redis.client();
    try {
      await other.publish('wasmsocket:t:room', Buffer.from('short'));
      await other.publish('wasmsocket:t:room', Buffer.concat([Buffer.from([2, 0]), Buffer.alloc(16, 9), Buffer.from('version 2')]));
      await other.publish('wasmsocket:c:interest', Buffer.from([1]));
      await other.publish('wasmsocket:c:interest', Buffer.concat([Buffer.from([1, 99]), Buffer.alloc(16, 9), Buffer.from('room')]));
      // A well-formed message from a node of its own, last: everything before it was read.
      await other.publish('wasmsocket:t:room', Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(16, 9), Buffer.from([7, 7])]));
      await until(() => b.received.length === 1, 'the well-formed message');
      expect(b.received).toEqual([{ topic: 'room', payload: Buffer.from([7, 7]), binary: true }]);
      // Still working.
      a.bus.publish('room', Buffer.from('after'), false);
      await until(() => b.received.length === 2, 'the next message from a');
    } finally {
      await other.close();
    }
  });

  it('rejects options it cannot honour', () => {
    expect(() => new RedisBus({ bufferBytes: -1 })).toThrow(RangeError);
    expect(() => new RedisBus({ inFlightBytes: 1.5 })).toThrow(/inFlightBytes must be a non-negative integer/);
    expect(() => new RedisBus({ whileDisconnected: 'queue' as 'drop' })).toThrow(/'drop' or 'buffer'/);
    expect(() => new RedisBus({ reconnect: { initialDelay: 100, maxDelay: 10 } })).toThrow(RangeError);
    expect(() => new RedisBus({ url: 'http://127.0.0.1:6379' })).toThrow(/not a valid Redis protocol/);
    expect(() => new RedisBus({ url: 'redis://127.0.0.1:99999' })).toThrow(TypeError);
  });

  it('serves one server', async () => {
    const a = node(redis);
    expect(() => a.bus.attach(() => {})).toThrow(/serves one server/);
  });
});

describe('RedisBus faults', () => {
  it('Redis killed mid-stream and restarted on the same port: both nodes reconnect and resubscribe; publishes meanwhile are dropped and counted', async () => {
    const own = await RedisServer.start();
    try {
      const errors: Error[] = [];
      const { a, b } = await linked('stream', own, { onError: (error) => errors.push(error) });

      let sequence = 0;
      const publishSome = async (count: number) => {
        for (let i = 0; i < count; i++) {
          a.bus.publish('stream', Buffer.from(String(sequence++)), false);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      await publishSome(50);
      await until(() => b.received.length === 50, 'the first 50 messages');
      await own.kill();
      await until(() => !a.bus.stats.connected && !b.bus.stats.connected, 'both nodes to see the link down');
      await publishSome(50);
      const droppedInOutage = a.bus.stats.dropped;
      expect(droppedInOutage).toBeGreaterThan(0);
      await own.restart();
      await until(() => a.bus.stats.connected && b.bus.stats.connected, 'both nodes back', 10_000);
      expect(a.bus.stats.reconnects).toBe(1);
      expect(b.bus.stats.reconnects).toBe(1);
      // Resubscribed: messages flow again, once a has counted b's resubscription.
      const before = b.received.length;
      for (let i = 0; i < 400 && b.received.length === before; i++) await publishSome(1);
      expect(b.received.length).toBeGreaterThan(before);
      await publishSome(20);
      const last = String(sequence - 1);
      await until(() => b.received.at(-1)?.payload.toString() === last, 'the last message');

      const numbers = b.received.map((m) => Number(m.payload.toString()));
      // At most once, in order: strictly increasing, with a gap where Redis was down.
      for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
      expect(numbers.length).toBeLessThan(sequence);
      const { published, skipped, dropped } = a.bus.stats;
      // Every publish was sent, skipped (no remote subscriber known) or dropped (offline) …
      expect(published + skipped + dropped).toBe(a.calls());
      // … and b received no more than was sent.
      expect(numbers.length).toBeLessThanOrEqual(published);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await own.kill();
    }
  });

  it("one node's link cut: with whileDisconnected 'buffer' its publishes wait in a bounded buffer, the oldest beyond the bound are dropped and counted, the rest are sent in order once it is back", async () => {
    const proxy = await TcpProxy.start(redis.port);
    try {
      const payload = (i: number) => Buffer.from(`buffered-${String(i).padStart(4, '0')}`);
      const perMessage = payload(0).length + 64;
      const { a, b } = await linked('orders', proxy.url, { whileDisconnected: 'buffer', bufferBytes: 10 * perMessage }, redis);

      await proxy.cut();
      await until(() => !a.bus.stats.connected, 'a to see its link down');
      for (let i = 0; i < 50; i++) a.bus.publish('orders', payload(i), false);
      expect(a.bus.stats.buffered).toBe(10);
      expect(a.bus.stats.bufferedBytes).toBe(10 * perMessage);
      expect(a.bus.stats.dropped).toBe(40);
      // b did not lose its subscription: Redis stayed up.
      expect(b.received).toEqual([]);

      await proxy.restore();
      await until(() => b.received.length === 10, 'the 10 buffered messages at b', 10_000);
      expect(b.received.map((m) => m.payload.toString())).toEqual(Array.from({ length: 10 }, (_, i) => payload(40 + i).toString()));
      expect(a.bus.stats).toMatchObject({ buffered: 0, bufferedBytes: 0, dropped: 40, reconnects: 1, connected: true });
      // And new publishes follow the buffered ones.
      a.bus.publish('orders', Buffer.from('after'), false);
      await until(() => b.received.length === 11, 'the message after the outage');
      expect(b.received[10]!.payload.toString()).toBe('after');
    } finally {
      await proxy.close();
    }
  });

  it("'buffer': a message larger than the buffer is dropped at once, a long outage keeps only the newest, and what nobody subscribes to by the time the node is back is dropped too", async () => {
    const proxy = await TcpProxy.start(redis.port);
    try {
      const small = Buffer.from('s');
      const { a, b } = await linked('gone', proxy.url, { whileDisconnected: 'buffer', bufferBytes: 10 * (small.length + 64) }, redis);
      await proxy.cut();
      await until(() => !a.bus.stats.connected, 'a to see its link down');
      a.bus.publish('gone', Buffer.alloc(1000), true);
      expect(a.bus.stats).toMatchObject({ buffered: 0, dropped: 1 });
      // 3,000 into a buffer of 10: the oldest 2,990 pushed out, one by one.
      for (let i = 0; i < 3000; i++) a.bus.publish('gone', small, false);
      expect(a.bus.stats).toMatchObject({ buffered: 10, bufferedBytes: 10 * (small.length + 64), dropped: 2991 });
      // b leaves while a is away: a learns it from the snapshot it takes once back.
      b.bus.interest('gone', false);
      const client = await redis.client();
      try {
        for (let i = 0; i < 400 && Number(((await client.sendCommand(['PUBSUB', 'NUMSUB', 'wasmsocket:t:gone'])) as unknown[])[1]) !== 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        await client.close();
      }
      const published = a.bus.stats.published;
      await proxy.restore();
      await until(() => a.bus.stats.connected, 'a back');
      expect(a.bus.stats).toMatchObject({ buffered: 0, dropped: 3001, published });
      a.bus.publish('gone', small, false);
      expect(a.bus.stats.skipped).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });

  it("with whileDisconnected 'drop' (the default) nothing is buffered during a cut link", async () => {
    const proxy = await TcpProxy.start(redis.port);
    try {
      const { a, b } = await linked('news', proxy.url, {}, redis);
      await proxy.cut();
      await until(() => !a.bus.stats.connected, 'a to see its link down');
      for (let i = 0; i < 25; i++) a.bus.publish('news', Buffer.alloc(1000), true);
      expect(a.bus.stats).toMatchObject({ buffered: 0, bufferedBytes: 0, dropped: 25 });
      await proxy.restore();
      await until(() => a.bus.stats.connected, 'a back', 10_000);
      await publishUntilReceived(a.bus, 'news', b.received);
    } finally {
      await proxy.close();
    }
  });

  it('while Redis does not answer (CLIENT PAUSE), at most inFlightBytes of PUBLISHes wait; the rest are dropped and counted', async () => {
    const payload = Buffer.alloc(1024, 0x61);
    const perMessage = 18 + payload.length;
    const { a, b } = await linked('load', redis, { inFlightBytes: 20 * perMessage });
    const client = await redis.client();
    try {
      const { published, dropped } = a.bus.stats;
      // Redis holds every client's writes (PUBLISH among them) for a while, then answers them.
      await client.sendCommand(['CLIENT', 'PAUSE', '300', 'WRITE']);
      for (let i = 0; i < 100; i++) a.bus.publish('load', payload, true);
      expect(a.bus.stats.published - published).toBe(20);
      expect(a.bus.stats.dropped - dropped).toBe(80);
      await until(() => b.received.length === 20, 'the 20 that waited', 10_000);
      expect(b.received.every((m) => m.binary && m.payload.equals(payload))).toBe(true);
      // Answered: there is room again.
      a.bus.publish('load', payload, true);
      expect(a.bus.stats.published - published).toBe(21);
    } finally {
      await client.close();
    }
  });

  it('close() does not wait for a Redis that does not answer: what was outstanding is cut and counted', async () => {
    const { a, b } = await linked('held', redis);
    const client = await redis.client();
    try {
      await client.sendCommand(['CLIENT', 'PAUSE', '20000', 'WRITE']);
      for (let i = 0; i < 5; i++) a.bus.publish('held', Buffer.from('never answered'), false);
      await a.bus.close();
      // Closed: publishing and interest do nothing any more.
      const after = a.bus.stats;
      a.bus.publish('held', Buffer.from('after close'), false);
      a.bus.interest('another', true);
      expect(a.bus.stats).toEqual(after);
      // Closed while Redis still held every PUBLISH: the client cut them, none answered.
      await until(() => a.bus.stats.unconfirmed === 5, 'the 5 PUBLISHes to be cut');
      expect(a.bus.stats.published).toBeGreaterThanOrEqual(5);
    } finally {
      await client.sendCommand(['CLIENT', 'UNPAUSE']);
      await client.close();
    }
  });

  it('a node that starts after the others learns every topic they subscribe to from one snapshot, counted in batches', async () => {
    const b = node(redis, { prefix: 'many:' });
    await b.bus.ready;
    const topics = Array.from({ length: 700 }, (_, i) => `topic-${i}`);
    for (const topic of topics) b.bus.interest(topic, true);
    const client = await redis.client();
    try {
      const subscribed = async () => (await client.sendCommand(['PUBSUB', 'CHANNELS', 'many:t:*']) as unknown[]).length;
      for (let i = 0; i < 400 && (await subscribed()) < 700; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await subscribed()).toBe(700);
    } finally {
      await client.close();
    }
    const a = node(redis, { prefix: 'many:' });
    await a.bus.ready;
    // Learnt before it went online: the first publish to any of them is sent.
    for (const topic of topics) a.bus.publish(topic, Buffer.from(topic), false);
    expect(a.bus.stats).toMatchObject({ published: 700, skipped: 0 });
    await until(() => b.received.length === 700, 'all 700 at b');
    expect(b.received.map((m) => m.topic)).toEqual(topics);
  });

  it('a bus whose Redis is not there yet keeps trying and connects once it starts', async () => {
    const own = await RedisServer.start();
    await own.kill();
    try {
      const a = node(own);
      let ready = false;
      void a.bus.ready.then(() => (ready = true));
      a.bus.publish('x', Buffer.from('lost'), false);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ready).toBe(false);
      await own.restart();
      await a.bus.ready;
      expect(a.bus.stats.connected).toBe(true);
    } finally {
      await own.kill();
    }
  });

  it('a bus closed before it ever connected says so through ready', async () => {
    const a = node(`redis://127.0.0.1:${await freePort()}`);
    await a.bus.close();
    await expect(a.bus.ready).rejects.toThrow(/closed before it connected/);
  });

  it('close() while Redis is down returns and stops the reconnecting', async () => {
    const own = await RedisServer.start();
    const a = node(own);
    await a.bus.ready;
    await own.kill();
    await until(() => !a.bus.stats.connected, 'a to see its link down');
    await a.bus.close();
    await own.restart();
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const client = await own.client();
      const clients = String(await client.sendCommand(['CLIENT', 'LIST']));
      await client.close();
      // Only the client that asked.
      expect(clients.trim().split('\n')).toHaveLength(1);
    } finally {
      await own.kill();
    }
  });
});

/** A TCP proxy to Redis whose link can be cut (every connection destroyed, nothing accepted) and restored on the same port. */
class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  private constructor(readonly port: number, readonly target: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(target: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.restore();
    return proxy;
  }

  async restore(): Promise<void> {
    const server = createServer((socket) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.#sockets.add(socket).add(upstream);
      const forget = () => {
        this.#sockets.delete(socket);
        this.#sockets.delete(upstream);
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', forget).on('close', forget);
      upstream.on('error', forget).on('close', forget);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.cut();
  }
}
