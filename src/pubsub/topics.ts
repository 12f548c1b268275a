/**
 * Topics on one server: who subscribes to what, and delivering a published message to every
 * subscriber with one encoding.
 *
 * Theory of operation
 * -------------------
 * `publish` frames the message once (`EncodedMessage.frame`) and hands the same frame to
 * every subscriber's driver (`ConnectionDriver.sendEncoded`), which queues references to its
 * bytes in that connection's batch for the tick: a subscriber gets everything published to it
 * within one tick in one write, and no subscriber costs a copy or a framing of its own.
 * Subscribers whose permessage-deflate terms let them share a compressed message (no context
 * takeover, RFC 7692 §7.1.1.1) get it compressed once per window size (`deflate-sharing.ts`);
 * the others get the plain frame. Each distinct encoding is made once per publish.
 *
 * Topics match exactly (no wildcards). A topic exists while it has subscribers; the registry
 * tells its listener (`onInterest`: the server's bus) when a topic gets its first subscriber
 * and when it loses its last, so a bus can filter at the source.
 *
 * Order: messages published to one topic reach each subscriber in publish order. A message
 * that waits for its compressed encoding (a compressor on the thread pool) holds the
 * messages published to its topic after it until it is delivered.
 *
 * Slow subscribers meet their connection's backpressure policy (`maxBufferedAmount`: 1008 or
 * terminate), since a shared frame counts in `bufferedAmount` like any send; a topic
 * configured with `slowSubscribers: 'drop'` instead skips a subscriber whose
 * `bufferedAmount` has reached its `highWaterMark`, and counts the message as dropped.
 */
import type { ConnectionDriver } from '../adapters/driver.js';
import type { Codec } from '../codec/types.js';
import type { EncodedMessage } from '../protocol/encoded-message.js';
import { ReadyState } from '../shared/constants.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { type CompressionShare, compressionShareOf, DeflateSharing, type Sharer } from './deflate-sharing.js';

/**
 * The longest topic name, in UTF-16 code units: 4096 keeps every topic within the 65,535
 * bytes of UTF-8 a bus frame gives it (3 bytes per code unit at most), and far beyond any
 * room, symbol or document id.
 */
export const MAX_TOPIC_LENGTH = 4096;

/**
 * The most payload bytes one topic holds while its messages wait for their compressed
 * encoding (a publisher faster than zlib's thread pool): beyond it a message is not published
 * to this server's subscribers but counted as dropped (`droppedMessages`), so memory stays
 * bounded. 64 MiB is seconds of compression at zlib's pace, far beyond a burst.
 */
export const MAX_COMPRESSION_BACKLOG = 64 * 1024 * 1024;

/** What a topic does with a subscriber that is not reading fast enough. */
export type SlowSubscriberPolicy = 'queue' | 'drop';

/** Options of one topic (`WebSocketServer.configureTopic`). */
export interface TopicOptions {
  /**
   * `'queue'` (the default): every message is queued for every subscriber, and the
   * connection's `maxBufferedAmount` policy closes (1008) or terminates one that does not
   * read. `'drop'`: a message is not queued for a subscriber whose `bufferedAmount` has
   * reached its `highWaterMark`; it is counted (`droppedMessages`) instead, and the subscriber
   * stays connected and gets the messages published once it has caught up.
   */
  readonly slowSubscribers?: SlowSubscriberPolicy;
}

/** One connection's subscriptions. */
export class TopicMember implements Sharer {
  /** The connection's driver, which queues the shared frames. */
  readonly driver: ConnectionDriver;
  /** How the connection can share compressed messages (its permessage-deflate terms), or null. */
  readonly compression: CompressionShare | null;
  /** The topics subscribed to, in subscription order. */
  readonly topics = new Set<string>();
  readonly #registry: TopicRegistry;

  constructor(registry: TopicRegistry, driver: ConnectionDriver) {
    this.#registry = registry;
    this.driver = driver;
    this.compression = compressionShareOf(driver.connection);
  }

  /** Subscribe; false when already subscribed or the connection is closed. @throws InvalidArgumentError for a bad topic. */
  subscribe(topic: string): boolean {
    checkTopic(topic);
    if (this.topics.has(topic) || this.driver.closed) return false;
    this.topics.add(topic);
    this.#registry.add(topic, this);
    return true;
  }

  /** Unsubscribe; false when not subscribed. */
  unsubscribe(topic: string): boolean {
    if (!this.topics.delete(topic)) return false;
    this.#registry.remove(topic, this);
    return true;
  }

  /** Leave every topic (the connection closed). */
  leaveAll(): void {
    for (const topic of this.topics) this.#registry.remove(topic, this);
    this.topics.clear();
  }
}

/** A topic with subscribers. */
interface Topic {
  readonly members: Set<TopicMember>;
  /** Members that can share compressed messages: without any, no compressed encoding is made. */
  sharers: number;
  /** Publications waiting for an encoding, and those behind them (order per topic). */
  backlog: Publication[] | null;
  /** Their payload bytes (bounded by `MAX_COMPRESSION_BACKLOG`). */
  backlogBytes: number;
}

/** A message being delivered to a topic, with the encodings made for it. */
interface Publication {
  readonly plain: EncodedMessage;
  readonly compress: boolean;
  readonly except: TopicMember | null;
  /** The subscribers it is for, taken when it was published (for a publication that waits). */
  readonly members: readonly TopicMember[] | null;
}

/** Publish options, as the registry takes them. */
export interface PublishTerms {
  /** False: every subscriber gets the plain frame. */
  readonly compress: boolean;
  /** The subscriber not to deliver to (the publisher's own connection). */
  readonly except: TopicMember | null;
}

/** The subscriptions of one server. */
export class TopicRegistry {
  readonly #topics = new Map<string, Topic>();
  readonly #options = new Map<string, TopicOptions>();
  readonly #dropped = new Map<string, number>();
  readonly #onInterest: ((topic: string, interested: boolean) => void) | null;
  readonly #deflate: DeflateSharing;

  /** @param onInterest told when a topic gets its first subscriber and when it loses its last. */
  constructor(codec: Codec, onInterest: ((topic: string, interested: boolean) => void) | null) {
    this.#onInterest = onInterest;
    this.#deflate = new DeflateSharing(codec);
  }

  /** A member for `driver`'s connection. */
  member(driver: ConnectionDriver): TopicMember {
    return new TopicMember(this, driver);
  }

  /** How many local connections subscribe to `topic`. */
  subscribers(topic: string): number {
    return this.#topics.get(topic)?.members.size ?? 0;
  }

  /** Set `topic`'s options (they stay when it has no subscribers). @throws InvalidArgumentError */
  configure(topic: string, options: TopicOptions): void {
    checkTopic(topic);
    const policy = options.slowSubscribers ?? 'queue';
    if (policy !== 'queue' && policy !== 'drop') throw new InvalidArgumentError(`slowSubscribers must be 'queue' or 'drop', got ${String(policy)}`);
    if (policy === 'queue') this.#options.delete(topic);
    else this.#options.set(topic, { slowSubscribers: policy });
  }

  /**
   * Messages to `topic` not queued for a subscriber, one per subscriber each was dropped for:
   * a slow subscriber (`slowSubscribers: 'drop'`), or every subscriber of a topic whose
   * compression backlog was full (`MAX_COMPRESSION_BACKLOG`).
   */
  droppedMessages(topic: string): number {
    return this.#dropped.get(topic) ?? 0;
  }

  /**
   * Deliver `message` to the subscribers of `topic`; returns how many it was queued for (or,
   * for a message that waits for its compressed encoding, how many it is for).
   */
  publish(topic: string, message: EncodedMessage, terms: PublishTerms): number {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return 0;
    const publication: Publication = { plain: message, compress: terms.compress, except: terms.except, members: null };
    if (entry.backlog !== null) return this.#wait(topic, entry, publication);
    const waiting = terms.compress && entry.sharers > 0 ? this.#deflate.prepare(publication.plain, entry.members, terms.except) : null;
    if (waiting !== null) return this.#waitFor(topic, entry, publication, waiting);
    return this.#deliver(topic, entry.members, publication);
  }

  add(topic: string, member: TopicMember): void {
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      entry = { members: new Set(), sharers: 0, backlog: null, backlogBytes: 0 };
      this.#topics.set(topic, entry);
    }
    entry.members.add(member);
    if (member.compression !== null) entry.sharers++;
    if (entry.members.size === 1) this.#onInterest?.(topic, true);
  }

  remove(topic: string, member: TopicMember): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined || !entry.members.delete(member)) return;
    if (member.compression !== null) entry.sharers--;
    if (entry.members.size > 0) return;
    // A backlog still waiting is delivered to the members it was taken for.
    if (entry.backlog === null) this.#topics.delete(topic);
    this.#onInterest?.(topic, false);
  }

  /** Queue `publication` behind the topic's backlog, for the subscribers it has now (or drop it past the bound). */
  #wait(topic: string, entry: Topic, publication: Publication): number {
    const members = [...entry.members].filter((member) => member !== publication.except);
    const bytes = publication.plain.payload.length;
    if (entry.backlogBytes + bytes > MAX_COMPRESSION_BACKLOG && entry.backlog!.length > 0) {
      this.#countDropped(topic, members.length);
      return 0;
    }
    entry.backlogBytes += bytes;
    entry.backlog!.push({ ...publication, members });
    return members.length;
  }

  #countDropped(topic: string, count: number): void {
    if (count > 0) this.#dropped.set(topic, (this.#dropped.get(topic) ?? 0) + count);
  }

  /** `publication` waits for its compressed encodings (`ready`); the topic's later publications wait behind it. */
  #waitFor(topic: string, entry: Topic, publication: Publication, ready: PromiseLike<void>): number {
    entry.backlog = [];
    const count = this.#wait(topic, entry, publication);
    const settle = (): void => this.#drainBacklog(topic, entry);
    ready.then(settle, settle);
    return count;
  }

  /** Deliver the topic's waiting publications in order, until one waits again. */
  #drainBacklog(topic: string, entry: Topic): void {
    const backlog = entry.backlog!;
    while (backlog.length > 0) {
      const publication = backlog[0]!;
      const waiting = publication.compress ? this.#deflate.prepare(publication.plain, publication.members!, null) : null;
      if (waiting !== null) {
        const settle = (): void => this.#drainBacklog(topic, entry);
        waiting.then(settle, settle);
        return;
      }
      backlog.shift();
      entry.backlogBytes -= publication.plain.payload.length;
      this.#deliver(topic, publication.members!, publication);
    }
    entry.backlog = null;
    entry.backlogBytes = 0;
    if (entry.members.size === 0 && this.#topics.get(topic) === entry) this.#topics.delete(topic);
  }

  /** Queue the publication's frame for each of `members`; returns how many got it. */
  #deliver(topic: string, members: Iterable<TopicMember>, publication: Publication): number {
    const drop = this.#options.get(topic)?.slowSubscribers === 'drop';
    const { plain, compress, except } = publication;
    const deflate = this.#deflate;
    let reached = 0;
    let dropped = 0;
    // A publication that waited was taken for the members of its time: skip those that left.
    const waited = publication.members !== null;
    for (const member of members) {
      if (member === except || (waited && !member.topics.has(topic))) continue;
      const driver = member.driver;
      if (driver.state !== ReadyState.OPEN || driver.terminating) continue;
      if (drop && driver.bufferedAmount >= driver.highWaterMark) {
        dropped++;
        continue;
      }
      driver.sendEncoded(compress ? deflate.encodingFor(member, plain) : plain, undefined);
      reached++;
    }
    deflate.release(plain);
    this.#countDropped(topic, dropped);
    return reached;
  }
}

/** @throws InvalidArgumentError unless `topic` is a string of at most `MAX_TOPIC_LENGTH` code units. */
export function checkTopic(topic: string): void {
  if (typeof topic !== 'string') throw new InvalidArgumentError(`a topic is a string, got ${typeof topic}`);
  if (topic.length > MAX_TOPIC_LENGTH) throw new InvalidArgumentError(`a topic has at most ${MAX_TOPIC_LENGTH} characters, got ${topic.length}`);
}
