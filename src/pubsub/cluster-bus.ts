/**
 * A bus between the workers of `node:cluster`, over the primary's IPC channels: a publish in
 * any worker reaches that topic's subscribers in every worker.
 *
 * Each worker's `ClusterBus` sends the primary one bus frame per publish (`bus-frame.ts`:
 * the topic and the payload's bytes in one buffer) and tells it which topics it has
 * subscribers to; the primary (`ClusterBus.setupPrimary()`) forwards each frame as it is to
 * the other workers with subscribers to its topic, and to no other. What a worker publishes
 * within one tick goes in one IPC message (a batch), and so does what the primary forwards
 * from one such message to each worker: a channel message costs far more than its bytes. The channels use Node's
 * `'advanced'` serialization, which carries a `Uint8Array` as bytes; the default JSON one
 * would turn every payload into an array of numbers, so a worker refuses to start a bus on it.
 *
 * Delivery is at most once (a worker that exits loses what was on its way to it; a new
 * subscription takes effect for the other workers once the primary has read it, so a message
 * they publish meanwhile misses it) and ordered per publishing worker per topic: one channel
 * per worker, forwarded in arrival order.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { ClusterBus, WebSocketServer } from 'wasmsocket';
 *
 * if (cluster.isPrimary) {
 *   ClusterBus.setupPrimary();
 *   for (let i = 0; i < 4; i++) cluster.fork();
 * } else {
 *   const wss = new WebSocketServer({ port: 8080, bus: new ClusterBus() });
 *   wss.on('connection', (ws) => ws.subscribe('news'));
 *   // wss.publish('news', '…') reaches the subscribers of every worker.
 * }
 * ```
 */
import cluster, { type Worker } from 'node:cluster';
import { InvalidStateError } from '../shared/errors.js';
import type { Bus, BusDelivery } from './bus.js';
import { busFramesOf, BusFrameKind, decodeBusFrame, encodeBusBatch, encodeBusFrame } from './bus-frame.js';

/** What the primary does for the workers' buses; `close()` stops forwarding. */
export interface ClusterBusPrimary {
  /** How many workers subscribe to `topic` (as they told the primary). */
  interestIn(topic: string): number;
  /** Stop forwarding and forget every worker's interest. */
  close(): void;
}

/**
 * Set by `setupPrimary` in the primary's environment, which its workers inherit: their
 * channels carry bytes and the primary forwards. (Node's own record of a channel's
 * serialization is removed from a child's environment at startup.)
 */
const PRIMARY_MARK = 'WASMSOCKET_CLUSTER_BUS';

/** A send failed (the channel is closing: the worker or the primary is going away). At most once: the frame is lost. */
const ignoreSendError = (): void => {};

/** One channel message for `frames`: the frame itself, or a batch. */
function channelMessage(frames: readonly Uint8Array[]): Uint8Array {
  return frames.length === 1 ? frames[0]! : encodeBusBatch(frames);
}

/** The bus of one cluster worker (see the module comment). */
export class ClusterBus implements Bus {
  #deliver: BusDelivery | null = null;
  #listener: ((message: unknown) => void) | null = null;
  #closed = false;
  /** The frames of this tick, sent together at its end. */
  #outgoing: Uint8Array[] = [];

  static #flushTask(bus: ClusterBus): void {
    bus.#flush();
  }

  /**
   * @throws InvalidStateError outside a cluster worker, or in a worker whose channel does not
   *   use the `'advanced'` serialization (call `ClusterBus.setupPrimary()` before forking).
   */
  constructor() {
    if (!cluster.isWorker || typeof process.send !== 'function') {
      throw new InvalidStateError('a ClusterBus runs in a node:cluster worker (in the primary, call ClusterBus.setupPrimary() and fork)');
    }
    if (process.env[PRIMARY_MARK] !== 'advanced') {
      throw new InvalidStateError(
        "the primary did not set up the bus: call ClusterBus.setupPrimary() in the primary before forking (it gives the workers' channels the 'advanced' serialization, which carries bytes, and forwards their messages)",
      );
    }
  }

  attach(deliver: BusDelivery): void {
    if (this.#deliver !== null) throw new InvalidStateError('a ClusterBus serves one server');
    if (this.#closed) throw new InvalidStateError('the ClusterBus is closed');
    this.#deliver = deliver;
    this.#listener = (message) => {
      // Anything else is the application's own messages.
      const frames = message instanceof Uint8Array ? busFramesOf(message) : null;
      if (frames === null) return;
      for (const bytes of frames) {
        const frame = decodeBusFrame(bytes);
        if (frame !== null && frame.kind === BusFrameKind.PUBLISH) deliver(frame.topic, frame.payload, frame.binary);
      }
    };
    process.on('message', this.#listener);
  }

  publish(topic: string, payload: Uint8Array, binary: boolean): void {
    this.#send(encodeBusFrame(BusFrameKind.PUBLISH, topic, payload, binary));
  }

  interest(topic: string, interested: boolean): void {
    this.#send(encodeBusFrame(interested ? BusFrameKind.INTEREST : BusFrameKind.NO_INTEREST, topic, null, false));
  }

  close(): Promise<void> {
    if (!this.#closed) {
      // What this tick said (the last subscribers leaving) still goes.
      this.#flush();
      this.#closed = true;
      if (this.#listener !== null) process.off('message', this.#listener);
      this.#listener = null;
    }
    return Promise.resolve();
  }

  #send(frame: Uint8Array): void {
    if (this.#closed) return;
    if (this.#outgoing.push(frame) === 1) process.nextTick(ClusterBus.#flushTask, this);
  }

  #flush(): void {
    const frames = this.#outgoing;
    if (frames.length === 0) return;
    this.#outgoing = [];
    if (!this.#closed && process.connected === true) process.send!(channelMessage(frames), undefined, undefined, ignoreSendError);
  }

  /**
   * In the primary, before forking: make the workers' channels carry bytes (`'advanced'`
   * serialization) and forward the workers' publishes to the workers with subscribers.
   *
   * @throws InvalidStateError outside the primary, or when called twice.
   */
  static setupPrimary(): ClusterBusPrimary {
    if (!cluster.isPrimary) throw new InvalidStateError('ClusterBus.setupPrimary() runs in the cluster primary');
    if (primaryRunning) throw new InvalidStateError('ClusterBus.setupPrimary() was already called');
    cluster.setupPrimary({ serialization: 'advanced' });
    process.env[PRIMARY_MARK] = 'advanced';
    primaryRunning = true;
    const interest = new Map<string, Set<Worker>>();
    const onMessage = (worker: Worker, message: unknown): void => {
      const frames = message instanceof Uint8Array ? busFramesOf(message) : null;
      if (frames === null) return;
      // What goes to each worker from this message, in order, sent as one message each.
      const forwards = new Map<Worker, Uint8Array[]>();
      for (const bytes of frames) {
        const frame = decodeBusFrame(bytes);
        if (frame === null) continue;
        if (frame.kind === BusFrameKind.PUBLISH) {
          const workers = interest.get(frame.topic);
          if (workers === undefined) continue;
          for (const other of workers) {
            if (other === worker) continue;
            const list = forwards.get(other);
            if (list === undefined) forwards.set(other, [bytes]);
            else list.push(bytes);
          }
        } else if (frame.kind === BusFrameKind.INTEREST) {
          let workers = interest.get(frame.topic);
          if (workers === undefined) interest.set(frame.topic, (workers = new Set()));
          workers.add(worker);
        } else {
          forget(frame.topic, worker);
        }
      }
      for (const [other, list] of forwards) if (other.isConnected()) other.send(channelMessage(list), undefined, ignoreSendError);
    };
    const forget = (topic: string, worker: Worker): void => {
      const workers = interest.get(topic);
      if (workers === undefined) return;
      workers.delete(worker);
      if (workers.size === 0) interest.delete(topic);
    };
    const onExit = (worker: Worker): void => {
      for (const topic of [...interest.keys()]) forget(topic, worker);
    };
    cluster.on('message', onMessage);
    cluster.on('exit', onExit);
    return {
      interestIn: (topic) => interest.get(topic)?.size ?? 0,
      close: () => {
        if (!primaryRunning) return;
        primaryRunning = false;
        cluster.off('message', onMessage);
        cluster.off('exit', onExit);
        interest.clear();
        delete process.env[PRIMARY_MARK];
      },
    };
  }
}

/** Whether `setupPrimary` runs in this process. */
let primaryRunning = false;
