/**
 * A bus over Redis pub/sub, so that the servers of many machines publish to each other's
 * subscribers.
 *
 * Theory of operation. Each node (one `RedisBus`, one Redis connection) subscribes to the Redis
 * channel `<prefix>t:<topic>` while its server has subscribers to `topic`, and only then. A
 * message travels as one Redis message: a fixed 18-byte head (format version, flags, the
 * publishing node's id) and the payload's bytes, so a receiving node hands its server a view of
 * the bytes Redis sent, and ignores the messages it published itself.
 *
 * Publishing costs Redis traffic only where someone elsewhere listens. Every node keeps the
 * set of topics that some *other* node subscribes to, and a publish to a topic outside it is
 * not sent at all. The set is learnt from Redis's own subscription table, never from a table
 * of our own that a crashed node could leave stale:
 *
 * - a node that subscribes or unsubscribes a channel announces the topic on the control
 *   channel `<prefix>c:interest`; every node then asks Redis `PUBSUB NUMSUB` for it;
 * - a node that (re)connects announces a resync, and every node (itself included) lists the
 *   channels that have subscribers (`PUBSUB CHANNELS <prefix>t:*`) and counts them;
 * - every `PUBLISH` reply says how many connections received it, so a topic whose remote
 *   subscribers went away without a word (their node crashed) leaves the set at the next
 *   publish.
 *
 * The node asks, publishes and subscribes on one RESP3 connection, so Redis answers in the
 * order it was asked: each count is applied in that order, and a count includes this node's
 * own subscription exactly when its SUBSCRIBE was confirmed before the count was. A change
 * is always followed by its announcement and then a count, so every node's set ends equal to
 * Redis's table; until then a new remote subscriber may miss what is published within a round
 * trip or two of its subscription, which at-most-once delivery allows.
 *
 * Delivery is at most once, in order per publishing node per topic (one connection carries a
 * node's publishes, and Redis forwards each channel's messages in the order it received them).
 * Messages are lost when Redis or a link goes away: those published while this node is
 * disconnected are dropped and counted, or kept in a bounded buffer and sent once the node has
 * resubscribed (`whileDisconnected: 'buffer'`); those in flight when the link fails are
 * counted as unconfirmed; those Redis had accepted but not yet written to a subscriber's
 * connection are lost without a count anywhere. Applications that need every message add
 * their own sequence numbers (and ask the publisher for what they missed) or carry the
 * messages in Redis Streams.
 *
 * One Redis server (the one the URL names) carries the bus; Redis Cluster's sharded pub/sub is
 * not used.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { Bus, BusDelivery } from './bus.js';

/** What a node does with publishes while it is not connected to Redis. */
export type RedisBusOfflinePolicy = 'drop' | 'buffer';

export interface RedisBusOptions {
  /**
   * The Redis server, `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS).
   * Default `redis://127.0.0.1:6379`.
   * @throws TypeError (from the constructor) for a URL that is not a Redis URL.
   */
  readonly url?: string;
  /**
   * The start of every Redis channel name the bus uses, so several applications can share one
   * Redis: data on `<prefix>t:<topic>`, interest announcements on `<prefix>c:interest`. Nodes
   * reach each other only if they use the same prefix. Default `'wasmsocket:'`.
   */
  readonly prefix?: string;
  /**
   * While the connection is down (and until the node has resubscribed after it comes back):
   * `'drop'` (the default) drops each publish and counts it in `stats.dropped`; `'buffer'`
   * keeps publishes in a buffer of at most `bufferBytes` and sends them, in order, once the
   * node is back. A full buffer drops its oldest messages (counted), so what is sent after an
   * outage is the newest; a buffered message whose topic has no remote subscriber when the node
   * is back is dropped (counted) too.
   */
  readonly whileDisconnected?: RedisBusOfflinePolicy;
  /** The buffer's bound in bytes: each message counts its payload and 64 bytes. Default 1 MiB. */
  readonly bufferBytes?: number;
  /**
   * The bytes of PUBLISHes sent and not yet answered by Redis. A publish beyond it is dropped
   * and counted: Redis, or the link to it, is slower than this node publishes, and the client
   * would otherwise queue without bound. Default 16 MiB.
   */
  readonly inFlightBytes?: number;
  /**
   * Reconnection backoff: the n-th attempt after a failure waits between half of and the whole
   * of `min(maxDelay, initialDelay × 2ⁿ)` milliseconds (random, so that many nodes do not all
   * reconnect at once). Defaults 50 and 2000. The bus retries until it is closed.
   */
  readonly reconnect?: { readonly initialDelay?: number; readonly maxDelay?: number };
  /**
   * Connection errors (Redis unreachable, the link dropped). The bus reconnects by itself, so
   * these are for logging; by default they are ignored.
   */
  readonly onError?: (error: Error) => void;
}

/** What the bus has done since it was created. */
export interface RedisBusStats {
  /** Messages sent to Redis (one PUBLISH each). */
  readonly published: number;
  /** Publishes not sent because no other node subscribes to the topic. */
  readonly skipped: number;
  /** Messages from other nodes handed to this node's server. */
  readonly delivered: number;
  /**
   * Publishes lost on this node: made while disconnected (`'drop'`), pushed out of a full
   * buffer, buffered for a topic nobody subscribes to any more, or over `inFlightBytes`.
   */
  readonly dropped: number;
  /** PUBLISHes sent but not confirmed: the link failed first, so each may or may not have been delivered. */
  readonly unconfirmed: number;
  /** Messages in the buffer now, and their bytes as the bound counts them. */
  readonly buffered: number;
  readonly bufferedBytes: number;
  /** Times the bus came back after losing its connection. */
  readonly reconnects: number;
  /** Whether the bus is connected and subscribed as its server needs. */
  readonly connected: boolean;
}

type Client = ReturnType<typeof createClient>;
type ChannelListener = (message: Buffer) => void;

/** Message head: format version, flags, the 16-byte id of the node that sent it. */
const FORMAT_VERSION = 1;
const NODE_ID_LENGTH = 16;
const HEAD_LENGTH = 2 + NODE_ID_LENGTH;
const FLAG_BINARY = 1;
/** Control message kinds (in the flags byte of a control message). */
const CONTROL_INTEREST = 1;
const CONTROL_RESYNC = 2;
/** What a buffered message costs beyond its payload: the topic, the record, the array slot. */
const BUFFERED_MESSAGE_OVERHEAD = 64;
const DEFAULT_BUFFER_BYTES = 1024 * 1024;
const DEFAULT_IN_FLIGHT_BYTES = 16 * 1024 * 1024;
/** How long `close()` waits for Redis to answer what is outstanding before it cuts the link. */
const CLOSE_GRACE_MS = 1000;
/** Channels counted per NUMSUB command while taking a snapshot, so no reply is huge. */
const NUMSUB_BATCH = 512;

interface BufferedMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly binary: boolean;
}

/** Redis glob characters, escaped so the prefix matches only itself in PUBSUB CHANNELS. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * A {@link Bus} over Redis pub/sub, through the `redis` client (an optional peer dependency
 * of wasmsocket, imported only by `wasmsocket/redis`).
 *
 * @example
 * ```ts
 * import { WebSocketServer } from 'wasmsocket';
 * import { RedisBus } from 'wasmsocket/redis';
 *
 * const wss = new WebSocketServer({ port: 8080, bus: new RedisBus({ url: 'redis://10.0.0.5:6379', prefix: 'chat:' }) });
 * wss.on('connection', (ws) => ws.subscribe('lobby'));
 * wss.publish('lobby', 'hello from every machine');
 * ```
 */
export class RedisBus implements Bus {
  /** This node's id: what it stamps on the messages it publishes. Random per bus. */
  readonly nodeId: string;
  /**
   * Resolves once the bus has connected and subscribed for the first time; rejects if it is
   * closed before that.
   */
  readonly ready: Promise<void>;
  #rejectReady: (error: Error) => void = () => {};

  readonly #client: Client;
  readonly #prefix: string;
  readonly #controlChannel: string;
  readonly #policy: RedisBusOfflinePolicy;
  readonly #bufferLimit: number;
  readonly #inFlightLimit: number;
  readonly #onError: (error: Error) => void;
  /** The message head this node stamps: version, flags 0, node id. */
  readonly #head: Buffer;
  readonly #id: Buffer;
  #deliver: BusDelivery | undefined;

  /** Topics this node's server has subscribers to. */
  readonly #wanted = new Set<string>();
  /** Topics whose SUBSCRIBE Redis confirmed, and not yet an UNSUBSCRIBE. */
  readonly #subscribed = new Set<string>();
  /** Channel listeners of topics this node may be subscribed to (deleted once unsubscribed). */
  readonly #listeners = new Map<string, ChannelListener>();
  /** Topics with a SUBSCRIBE or UNSUBSCRIBE outstanding. */
  readonly #syncing = new Set<string>();
  /** Topics some other node subscribes to → their channel names. */
  readonly #remote = new Map<string, string>();
  /** Topics announced since the last count, counted together at the end of the tick. */
  readonly #toCount = new Set<string>();
  #countScheduled = false;

  #buffer: BufferedMessage[] = [];
  #bufferHead = 0;
  #bufferedBytes = 0;
  /** Bytes of PUBLISHes Redis has not answered yet. */
  #inFlightBytes = 0;

  /** Connected, subscribed and counted: publishes go straight to Redis. */
  #online = false;
  /** Bumped on every connection: a resync started on an older one stops. */
  #epoch = 0;
  #everReady = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  #published = 0;
  #skipped = 0;
  #delivered = 0;
  #dropped = 0;
  #unconfirmed = 0;
  #reconnects = 0;

  constructor(options: RedisBusOptions = {}) {
    const bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    const inFlightBytes = options.inFlightBytes ?? DEFAULT_IN_FLIGHT_BYTES;
    for (const [name, value] of [['bufferBytes', bufferBytes], ['inFlightBytes', inFlightBytes]] as const) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
    }
    const policy = options.whileDisconnected ?? 'drop';
    if (policy !== 'drop' && policy !== 'buffer') throw new TypeError(`whileDisconnected must be 'drop' or 'buffer', got ${String(policy)}`);
    const initialDelay = options.reconnect?.initialDelay ?? 50;
    const maxDelay = options.reconnect?.maxDelay ?? 2000;
    if (!(initialDelay > 0) || !(maxDelay >= initialDelay)) throw new RangeError(`reconnect delays must satisfy 0 < initialDelay <= maxDelay, got ${initialDelay} and ${maxDelay}`);
    this.#prefix = options.prefix ?? 'wasmsocket:';
    this.#controlChannel = `${this.#prefix}c:interest`;
    this.#policy = policy;
    this.#bufferLimit = bufferBytes;
    this.#inFlightLimit = inFlightBytes;
    this.#onError = options.onError ?? (() => {});
    this.#id = randomBytes(NODE_ID_LENGTH);
    this.nodeId = this.#id.toString('hex');
    this.#head = Buffer.alloc(HEAD_LENGTH);
    this.#head[0] = FORMAT_VERSION;
    this.#id.copy(this.#head, 2);

    this.#client = createClient({
      url: options.url ?? 'redis://127.0.0.1:6379',
      // RESP3 lets one connection subscribe and run commands, which keeps counts and
      // subscriptions in one order (see the module comment).
      RESP: 3,
      // Commands made while disconnected fail at once instead of piling up in the client: the
      // bus keeps its own bounded buffer, or drops and counts.
      disableOfflineQueue: true,
      socket: {
        // Always retry (the client's default gives up on a socket timeout), with jittered backoff.
        reconnectStrategy: (retries: number) => {
          const delay = Math.min(maxDelay, initialDelay * 2 ** Math.min(retries, 30));
          return Math.round(delay / 2 + (Math.random() * delay) / 2);
        },
      },
    });
    this.#client.on('error', (error: Error) => {
      if (!this.#client.isReady) this.#goOffline();
      this.#onError(error);
    });
    this.#client.on('reconnecting', () => this.#goOffline());
    this.#client.on('end', () => this.#goOffline());
    let firstReady: () => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      firstReady = resolve;
      this.#rejectReady = reject;
    });
    // Handled here too, so that closing a bus nobody awaited is not an unhandled rejection.
    this.ready.catch(() => {});
    this.#client.on('ready', () => {
      if (this.#everReady) this.#reconnects++;
      this.#everReady = true;
      void this.#resync(this.#epoch + 1).then((done) => {
        if (done) firstReady();
      });
    });
    // The first connection; later ones are the client's own reconnects. A failure here is
    // reported like any other and retried by the strategy above.
    this.#client.connect().catch((error: Error) => this.#onError(error));
  }

  attach(deliver: BusDelivery): void {
    if (this.#deliver) throw new Error('this RedisBus already serves a server: a bus serves one server');
    this.#deliver = deliver;
  }

  publish(topic: string, payload: Uint8Array, binary: boolean): void {
    if (this.#closed) return;
    const channel = this.#remote.get(topic);
    if (channel === undefined) {
      this.#skipped++;
      return;
    }
    // Behind a non-empty buffer too, so that buffered messages go first (per-topic order).
    if (!this.#online || this.#bufferHead < this.#buffer.length) {
      this.#publishOffline(topic, payload, binary);
      return;
    }
    this.#send(topic, channel, payload, binary);
  }

  interest(topic: string, interested: boolean): void {
    if (this.#closed) return;
    if (interested) this.#wanted.add(topic);
    else this.#wanted.delete(topic);
    if (this.#online) this.#syncSubscription(topic);
  }

  /** Counters since the bus was created (a new object per read). */
  get stats(): RedisBusStats {
    return {
      published: this.#published,
      skipped: this.#skipped,
      delivered: this.#delivered,
      dropped: this.#dropped,
      unconfirmed: this.#unconfirmed,
      buffered: this.#buffer.length - this.#bufferHead,
      bufferedBytes: this.#bufferedBytes,
      reconnects: this.#reconnects,
      connected: this.#online,
    };
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#online = false;
    this.#epoch++;
    this.#rejectReady(new Error('the RedisBus was closed before it connected'));
    this.#dropped += this.#buffer.length - this.#bufferHead;
    this.#clearBuffer();
    this.#remote.clear();
    // Closing gracefully waits for outstanding replies, but no longer than CLOSE_GRACE_MS (a
    // Redis that does not answer must not hold the server's close); with the link down there
    // is nothing to wait for. Destroying the client also stops its reconnecting.
    const client = this.#client;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const graceful = client.isReady ? client.close().then(() => (closed = true), () => {}) : Promise.resolve();
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    this.#closing = Promise.race([graceful, grace]).then(() => {
      clearTimeout(timer);
      if (!closed) client.destroy();
    });
    return this.#closing;
  }

  #send(topic: string, channel: string, payload: Uint8Array, binary: boolean): void {
    const length = HEAD_LENGTH + payload.length;
    if (this.#inFlightBytes + length > this.#inFlightLimit) {
      this.#dropped++;
      return;
    }
    const message = Buffer.allocUnsafe(length);
    this.#head.copy(message, 0);
    message[1] = binary ? FLAG_BINARY : 0;
    message.set(payload, HEAD_LENGTH);
    this.#published++;
    this.#inFlightBytes += length;
    this.#client.publish(channel, message).then(
      (receivers: number) => {
        this.#inFlightBytes -= length;
        // Redis's count includes this node's own subscription, if it has one: nobody else
        // received it, so the remote subscribers went away (a node that crashed says nothing).
        if (receivers <= (this.#subscribed.has(topic) ? 1 : 0)) this.#remote.delete(topic);
      },
      () => {
        this.#inFlightBytes -= length;
        this.#unconfirmed++;
      },
    );
  }

  #publishOffline(topic: string, payload: Uint8Array, binary: boolean): void {
    if (this.#policy === 'drop') {
      this.#dropped++;
      return;
    }
    const cost = payload.length + BUFFERED_MESSAGE_OVERHEAD;
    if (cost > this.#bufferLimit) {
      this.#dropped++;
      return;
    }
    this.#buffer.push({ topic, payload, binary });
    this.#bufferedBytes += cost;
    while (this.#bufferedBytes > this.#bufferLimit) {
      const oldest = this.#buffer[this.#bufferHead]!;
      this.#bufferHead++;
      this.#bufferedBytes -= oldest.payload.length + BUFFERED_MESSAGE_OVERHEAD;
      this.#dropped++;
    }
    // Compact now and then, so the array does not keep a long dead prefix.
    if (this.#bufferHead > 1024 && this.#bufferHead * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#bufferHead);
      this.#bufferHead = 0;
    }
  }

  #clearBuffer(): void {
    this.#buffer = [];
    this.#bufferHead = 0;
    this.#bufferedBytes = 0;
  }

  /** Send what was buffered while disconnected, in order; what nobody listens to any more is dropped. */
  #flushBuffer(): void {
    const buffer = this.#buffer;
    for (let i = this.#bufferHead; i < buffer.length; i++) {
      const { topic, payload, binary } = buffer[i]!;
      const channel = this.#remote.get(topic);
      if (channel === undefined) this.#dropped++;
      else this.#send(topic, channel, payload, binary);
    }
    this.#clearBuffer();
  }

  /** The link is down (the client reports each failed attempt too): stop any resync under way. */
  #goOffline(): void {
    this.#online = false;
    this.#epoch++;
  }

  #channelOf(topic: string): string {
    return `${this.#prefix}t:${topic}`;
  }

  /**
   * After each (re)connection: subscribe to the control channel and to every wanted topic,
   * unsubscribe what is no longer wanted, announce a resync, count every channel, and only
   * then go online and send the buffer. Returns false if the connection was lost meanwhile.
   */
  async #resync(epoch: number): Promise<boolean> {
    this.#epoch = epoch;
    const current = () => this.#epoch === epoch && !this.#closed;
    try {
      await this.#client.subscribe(this.#controlChannel, this.#onControl, true);
      // The client resubscribed what it had confirmed; what was outstanding when the link
      // failed is settled here, one way or the other.
      this.#syncing.clear();
      this.#subscribed.clear();
      const topics = new Set([...this.#wanted, ...this.#listeners.keys()]);
      await Promise.all([...topics].map((topic) => this.#syncSubscription(topic)));
      if (!current()) return false;
      await this.#client.publish(this.#controlChannel, this.#controlMessage(CONTROL_RESYNC, ''));
      await this.#countAll();
      if (!current()) return false;
      this.#online = true;
      this.#flushBuffer();
      // Interest that changed while the counts were taken.
      for (const topic of this.#wanted) this.#syncSubscription(topic);
      for (const topic of this.#listeners.keys()) this.#syncSubscription(topic);
      return true;
    } catch (error) {
      // The link failed mid-way: the next 'ready' starts again.
      if (current()) this.#onError(error as Error);
      return false;
    }
  }

  /**
   * Make Redis's subscription to `topic` match the server's interest: one command at a time
   * per topic, looking again once it is answered. Announces each change it makes.
   */
  #syncSubscription(topic: string): Promise<void> {
    if (this.#syncing.has(topic) || this.#closed) return Promise.resolve();
    const channel = this.#channelOf(topic);
    let command: Promise<void>;
    if (this.#wanted.has(topic)) {
      if (this.#subscribed.has(topic)) return Promise.resolve();
      let listener = this.#listeners.get(topic);
      if (!listener) {
        listener = (message) => this.#onMessage(topic, message);
        this.#listeners.set(topic, listener);
      }
      command = this.#client.subscribe(channel, listener, true).then(() => {
        this.#subscribed.add(topic);
      });
    } else {
      if (!this.#listeners.has(topic)) return Promise.resolve();
      command = this.#client.unsubscribe(channel).then(() => {
        this.#subscribed.delete(topic);
        this.#listeners.delete(topic);
      });
    }
    this.#syncing.add(topic);
    const epoch = this.#epoch;
    return command.then(
      () => {
        if (this.#epoch !== epoch || this.#closed) return;
        this.#syncing.delete(topic);
        this.#client.publish(this.#controlChannel, this.#controlMessage(CONTROL_INTEREST, topic)).catch(() => {});
        if (this.#online) return this.#syncSubscription(topic);
      },
      () => {
        // The link failed: the next resync settles this topic.
        if (this.#epoch === epoch) this.#syncing.delete(topic);
      },
    );
  }

  #controlMessage(kind: number, topic: string): Buffer {
    const text = Buffer.from(topic, 'utf8');
    const message = Buffer.allocUnsafe(HEAD_LENGTH + text.length);
    this.#head.copy(message, 0);
    message[1] = kind;
    text.copy(message, HEAD_LENGTH);
    return message;
  }

  #fromThisNode(message: Buffer): boolean {
    const id = this.#id;
    for (let i = 0; i < NODE_ID_LENGTH; i++) if (message[2 + i] !== id[i]) return false;
    return true;
  }

  readonly #onControl = (message: Buffer): void => {
    if (message.length < HEAD_LENGTH || message[0] !== FORMAT_VERSION || this.#closed) return;
    const kind = message[1];
    if (kind === CONTROL_INTEREST) {
      this.#toCount.add(message.toString('utf8', HEAD_LENGTH));
      if (!this.#countScheduled) {
        this.#countScheduled = true;
        setImmediate(this.#countAnnounced);
      }
    } else if (kind === CONTROL_RESYNC && !this.#fromThisNode(message)) {
      this.#countAll().catch(() => {});
    }
  };

  #onMessage(topic: string, message: Buffer): void {
    // Another version's messages, or not ours at all: not delivered.
    if (message.length < HEAD_LENGTH || message[0] !== FORMAT_VERSION) return;
    if (this.#fromThisNode(message) || !this.#deliver || !this.#wanted.has(topic)) return;
    this.#delivered++;
    this.#deliver(topic, message.subarray(HEAD_LENGTH), (message[1]! & FLAG_BINARY) !== 0);
  }

  readonly #countAnnounced = (): void => {
    this.#countScheduled = false;
    const topics = [...this.#toCount];
    this.#toCount.clear();
    if (!this.#closed) this.#countInBatches(topics).catch(() => {});
  };

  /** Count `topics` in commands of at most NUMSUB_BATCH channels, sent together. */
  async #countInBatches(topics: readonly string[]): Promise<void> {
    const counts: Promise<void>[] = [];
    for (let i = 0; i < topics.length; i += NUMSUB_BATCH) counts.push(this.#count(topics.slice(i, i + NUMSUB_BATCH)));
    await Promise.all(counts);
  }

  /** Ask Redis how many connections subscribe to each topic's channel, and apply the answer. */
  async #count(topics: readonly string[]): Promise<void> {
    const reply = (await this.#client.sendCommand(['PUBSUB', 'NUMSUB', ...topics.map((topic) => this.#channelOf(topic))])) as unknown[];
    if (this.#closed) return;
    // The reply alternates channel and count, in the order asked.
    for (let i = 0; i < topics.length; i++) this.#applyCount(topics[i]!, Number(reply[2 * i + 1]));
  }

  #applyCount(topic: string, subscribers: number): void {
    const others = subscribers - (this.#subscribed.has(topic) ? 1 : 0);
    if (others > 0) {
      if (!this.#remote.has(topic)) this.#remote.set(topic, this.#channelOf(topic));
    } else {
      this.#remote.delete(topic);
    }
  }

  /** List every channel with subscribers under the prefix and count each. */
  async #countAll(): Promise<void> {
    const dataPrefix = `${this.#prefix}t:`;
    const channels = (await this.#client.sendCommand(['PUBSUB', 'CHANNELS', `${escapeGlob(dataPrefix)}*`])) as unknown[];
    if (this.#closed) return;
    const listed = new Set(channels.map((channel) => String(channel).slice(dataPrefix.length)));
    // What is not listed has no subscriber at all, as of this reply.
    for (const topic of this.#remote.keys()) if (!listed.has(topic)) this.#remote.delete(topic);
    await this.#countInBatches([...listed]);
  }
}
