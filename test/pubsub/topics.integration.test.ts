/**
 * Topics on one server over real loopback sockets: subscribe, publish, counts, exact matching,
 * order, `except`, closed connections leaving their topics, the buffer policy and the drop
 * policy for slow subscribers, and a bus receiving what is published and delivering what
 * other nodes published.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidStateError, WebSocket, type WebSocketServer } from '../../src/node.js';
import type { Bus, BusDelivery } from '../../src/pubsub/bus.js';
import { closeOf, nextEvent, openClient, Resources, startServer } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** The next server-side socket of `wss`, and the client whose connection it is. */
async function connectPair(wss: WebSocketServer, url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ client: WebSocket; socket: WebSocket }> {
  const accepted = nextEvent<[WebSocket]>(wss, 'connection');
  const client = await openClient(resources, url, undefined, { perMessageDeflate: false, ...options });
  const [socket] = await accepted;
  return { client, socket };
}

/** Collect the next `count` messages of `ws` as strings (binary ones as `bin:<length>`). */
function collect(ws: WebSocket, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages arrived`)), 10_000);
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      messages.push(isBinary ? `bin:${data.length}` : data.toString('utf8'));
      if (messages.length === count) {
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(messages);
      }
    };
    ws.on('message', onMessage);
  });
}

/** A bus that records what it is given and lets the test deliver as another node would. */
class RecordingBus implements Bus {
  deliver: BusDelivery | null = null;
  readonly published: Array<[string, string, boolean]> = [];
  readonly interests: Array<[string, boolean]> = [];
  closed = 0;
  attach(deliver: BusDelivery): void {
    this.deliver = deliver;
  }
  publish(topic: string, payload: Uint8Array, binary: boolean): void {
    this.published.push([topic, Buffer.from(payload).toString('utf8'), binary]);
  }
  interest(topic: string, interested: boolean): void {
    this.interests.push([topic, interested]);
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

describe('topics on one server', () => {
  it('subscribes, counts, matches topics exactly and delivers in publish order', async () => {
    const { wss, url } = await startServer(resources);
    const a = await connectPair(wss, url);
    const b = await connectPair(wss, url);
    expect(a.socket.subscribe('room')).toBe(true);
    expect(a.socket.subscribe('room')).toBe(false);
    expect(a.socket.subscribe('other')).toBe(true);
    expect(b.socket.subscribe('room')).toBe(true);
    expect(a.socket.isSubscribed('room')).toBe(true);
    expect(a.socket.isSubscribed('roo')).toBe(false);
    expect(a.socket.topics).toEqual(['room', 'other']);
    expect(wss.subscribers('room')).toBe(2);
    expect(wss.subscribers('other')).toBe(1);
    expect(wss.subscribers('ro*')).toBe(0);

    const atA = collect(a.client, 102);
    const atB = collect(b.client, 101);
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      sent.push(`m${i}`);
      expect(wss.publish('room', `m${i}`)).toBe(2);
    }
    expect(wss.publish('other', Buffer.from('xyz'))).toBe(1);
    expect(wss.publish('ro*', 'nobody')).toBe(0);
    expect(wss.publish('room', 'last', { except: a.socket })).toBe(1);
    expect(wss.publish('room', 'end', { except: b.socket })).toBe(1);
    expect(await atA).toEqual([...sent, 'bin:3', 'end']);
    expect(await atB).toEqual([...sent, 'last']);
  });

  it('unsubscribes, and a closed connection leaves every topic', async () => {
    const { wss, url } = await startServer(resources);
    const a = await connectPair(wss, url);
    const b = await connectPair(wss, url);
    a.socket.subscribe('t1');
    a.socket.subscribe('t2');
    b.socket.subscribe('t1');
    expect(a.socket.unsubscribe('t2')).toBe(true);
    expect(a.socket.unsubscribe('t2')).toBe(false);
    expect(b.socket.unsubscribe('never')).toBe(false);
    expect(wss.subscribers('t2')).toBe(0);
    const closed = nextEvent(a.socket, 'close');
    a.client.close();
    await closed;
    expect(wss.subscribers('t1')).toBe(1);
    expect(a.socket.topics).toEqual([]);
    expect(a.socket.subscribe('t1')).toBe(false);
    const atB = collect(b.client, 1);
    expect(wss.publish('t1', 'still here')).toBe(1);
    expect(await atB).toEqual(['still here']);
  });

  it('counts a published message in bufferedAmount until it is written', async () => {
    const { wss, url } = await startServer(resources);
    const { client, socket } = await connectPair(wss, url);
    socket.subscribe('t');
    const arrived = collect(client, 1);
    wss.publish('t', Buffer.alloc(1000));
    expect(socket.bufferedAmount).toBe(1000);
    await arrived;
    expect(socket.bufferedAmount).toBe(0);
  });

  it('refuses bad topics and bad text, and topics on a client', async () => {
    const { wss, url } = await startServer(resources);
    const { client, socket } = await connectPair(wss, url);
    expect(() => socket.subscribe(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => socket.subscribe('x'.repeat(4097))).toThrow(InvalidArgumentError);
    expect(() => wss.publish('x'.repeat(4097), 'a')).toThrow(InvalidArgumentError);
    socket.subscribe('t');
    expect(() => wss.publish('t', Buffer.from([0xff, 0xfe]), { binary: false })).toThrow(InvalidArgumentError);
    expect(() => client.subscribe('t')).toThrow(InvalidStateError);
    expect(() => client.unsubscribe('t')).toThrow(InvalidStateError);
    expect(client.topics).toEqual([]);
    expect(client.isSubscribed('t')).toBe(false);
  });

  it('holds a published message behind the fragmented message the application is sending', async () => {
    const { wss, url } = await startServer(resources);
    const { client, socket } = await connectPair(wss, url);
    socket.subscribe('t');
    const arrived = collect(client, 2);
    socket.send('first ', { fin: false });
    expect(wss.publish('t', 'published')).toBe(1);
    socket.send('half', { fin: true });
    expect(await arrived).toEqual(['first half', 'published']);
  });

  it('closes a subscriber past maxBufferedAmount with 1008 (the connection policy)', async () => {
    const { wss, url } = await startServer(resources, { maxBufferedAmount: 4096 });
    const { client, socket } = await connectPair(wss, url);
    socket.subscribe('t');
    socket.on('error', () => {});
    // Published within one tick, before anything is written: the sixth passes the limit.
    for (let i = 0; i < 10; i++) wss.publish('t', Buffer.alloc(1024));
    expect((await closeOf(client)).code).toBe(1008);
  });

  it("drops messages for a subscriber at its highWaterMark on a topic with slowSubscribers: 'drop', and counts them", async () => {
    const { wss, url } = await startServer(resources, { highWaterMark: 2048 });
    const slow = await connectPair(wss, url);
    slow.socket.subscribe('ticker');
    slow.socket.subscribe('queued');
    wss.configureTopic('ticker', { slowSubscribers: 'drop' });
    expect(() => wss.configureTopic('ticker', { slowSubscribers: 'maybe' as 'drop' })).toThrow(InvalidArgumentError);
    const arrived = collect(slow.client, 2 + 10);
    const reached: number[] = [];
    // Within one tick nothing is written: two messages reach the high-water mark, the rest are dropped.
    for (let i = 0; i < 10; i++) reached.push(wss.publish('ticker', Buffer.alloc(1024, i)));
    expect(reached).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(wss.droppedMessages('ticker')).toBe(8);
    // Another topic queues as usual.
    for (let i = 0; i < 10; i++) expect(wss.publish('queued', Buffer.alloc(1024, i))).toBe(1);
    expect(wss.droppedMessages('queued')).toBe(0);
    expect((await arrived).length).toBe(12);
    // Caught up: it gets what is published now.
    const next = collect(slow.client, 1);
    expect(wss.publish('ticker', 'again')).toBe(1);
    expect(await next).toEqual(['again']);
  });
});

describe('a server with a bus', () => {
  it('gives the bus what it publishes, tells it its interest, delivers what the bus brings, and closes it', async () => {
    const bus = new RecordingBus();
    const { wss, url } = await startServer(resources, { bus });
    expect(bus.deliver).not.toBeNull();
    const a = await connectPair(wss, url);
    const b = await connectPair(wss, url);
    a.socket.subscribe('t');
    b.socket.subscribe('t');
    expect(bus.interests).toEqual([['t', true]]);
    const atA = collect(a.client, 3);
    expect(wss.publish('t', 'local')).toBe(2);
    expect(wss.publish('nobody-here', 'remote only')).toBe(0);
    expect(bus.published).toEqual([
      ['t', 'local', false],
      ['nobody-here', 'remote only', false],
    ]);
    bus.deliver!('t', Buffer.from('from another node'), false);
    bus.deliver!('t', Buffer.from([1, 2]), true);
    bus.deliver!('elsewhere', Buffer.from('no one'), false);
    expect(await atA).toEqual(['local', 'from another node', 'bin:2']);
    // What the bus delivers is not published back to it.
    expect(bus.published.length).toBe(2);
    a.socket.unsubscribe('t');
    const closed = nextEvent(b.socket, 'close');
    b.client.close();
    await closed;
    expect(bus.interests).toEqual([
      ['t', true],
      ['t', false],
    ]);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    expect(bus.closed).toBe(1);
  });

  it('reports bad text from the bus as an error of the server, without crashing', async () => {
    const bus = new RecordingBus();
    const { wss, url } = await startServer(resources, { bus });
    const a = await connectPair(wss, url);
    a.socket.subscribe('t');
    const error = nextEvent<[Error]>(wss, 'error');
    bus.deliver!('t', Buffer.from([0xc3, 0x28]), false);
    expect((await error)[0]).toBeInstanceOf(InvalidArgumentError);
    const atA = collect(a.client, 1);
    bus.deliver!('t', Buffer.from('fine'), false);
    expect(await atA).toEqual(['fine']);
  });
});
