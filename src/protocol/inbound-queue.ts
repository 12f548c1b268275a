/**
 * Received input that a connection cannot process yet: the frames parsed while an
 * extension's asynchronous decode is pending (permessage-deflate on a thread pool, say), and
 * the bytes that arrived before the opening handshake completed (a server waiting for
 * `accept()`).
 *
 * Theory of operation
 * -------------------
 * The parser reads a whole chunk at once, but a message must be decoded before the frames
 * after it take effect (RFC 6455 processes frames in order; §9.1 extensions transform the
 * data in between). So while a decode is pending, what the parser reports — frame starts,
 * payload pieces, frame ends, violations, and the end of the transport — waits here as items,
 * in order; when the decode settles they are processed until the queue is empty or a decode
 * goes pending again.
 *
 * The bytes waiting are counted (`backlog`, each item with a fixed overhead besides its
 * payload): the connection asks its adapter to stop reading (`shouldPauseReading()`) at
 * `receiveHighWaterMark`, and an adapter that keeps reading past `maxReceiveBacklog` fails
 * the connection (1011, a local fault) rather than letting memory grow without bound.
 */
import { Opcode } from '../shared/constants.js';
import type { ProtocolError } from '../shared/errors.js';
import { asProtocolError, internalError } from './internal-error.js';

// Kinds of the items queued behind a pending decode.
const ITEM_START = 0;
const ITEM_PAYLOAD = 1;
const ITEM_END = 2;
const ITEM_ERROR = 3;
const ITEM_EOF = 4;

type InboundItem =
  | { readonly kind: typeof ITEM_START; readonly opcode: number; readonly fin: boolean; readonly rsv: number; readonly length: number }
  | { readonly kind: typeof ITEM_PAYLOAD; readonly data: Uint8Array }
  | { readonly kind: typeof ITEM_END }
  | { readonly kind: typeof ITEM_ERROR; readonly error: ProtocolError }
  | { readonly kind: typeof ITEM_EOF };

/** Memory a queued item costs beyond its payload, counted in the receive backlog. */
const ITEM_OVERHEAD = 32;

const END_ITEM: InboundItem = Object.freeze({ kind: ITEM_END });
const EOF_ITEM: InboundItem = Object.freeze({ kind: ITEM_EOF });

/** Where queued frames go once they can be processed: the message assembler. */
export interface QueuedFrameTarget {
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): void;
  framePayload(data: Uint8Array): void;
  frameEnd(): void;
  /** The decode the queue waited for finished; `fin`: it decoded the message's last piece. */
  resume(fin: boolean): void;
}

/** What the queue reports to its connection. */
export interface InboundPort {
  /**
   * A violation: found as a queued frame was parsed, a rejected decode, or the backlog
   * overflowed. Fail the connection (which discards the queue).
   */
  fail(error: ProtocolError): void;
  /** The transport ended, reached in order. */
  end(): void;
  /** Processing after a settled decode threw (a defect): fail the connection with 1011. */
  unexpected(error: unknown): void;
  /** Asynchronous work changed the events, the bytes to send or `shouldPauseReading()`. */
  wake(): void;
}

/** The input held back, in order, with its size. */
export class InboundQueue {
  readonly #port: InboundPort;
  readonly #target: QueuedFrameTarget;
  readonly #limit: number;
  #pending = false;
  #items: InboundItem[] = [];
  #head = 0;
  /** The opcode of the frame queued last. */
  #opcode = 0;
  #early: Uint8Array[] = [];
  #earlyHead = 0;
  #backlog = 0;
  /** Bumped whenever a pending decode must be ignored when it settles. */
  #generation = 0;

  /** @param maxReceiveBacklog the bytes that may wait before the connection fails. */
  constructor(maxReceiveBacklog: number, target: QueuedFrameTarget, port: InboundPort) {
    this.#limit = maxReceiveBacklog;
    this.#target = target;
    this.#port = port;
  }

  /** Whether a decode is pending: what is parsed now must be queued. */
  get pending(): boolean {
    return this.#pending;
  }

  /** The bytes waiting, with the overhead of the queued items. */
  get backlog(): number {
    return this.#backlog;
  }

  /** Whether received input is waiting (behind a decode, or for the handshake). */
  holding(): boolean {
    return this.#pending || this.#earlyHead < this.#early.length;
  }

  start(opcode: number, fin: boolean, rsv: number, length: number): void {
    this.#opcode = opcode;
    this.#push({ kind: ITEM_START, opcode, fin, rsv, length }, 0);
  }

  payload(data: Uint8Array): void {
    this.#push({ kind: ITEM_PAYLOAD, data }, data.length);
  }

  /** Queue the end of a frame; returns false, to stop the parser, after a close frame. */
  end(): boolean {
    this.#push(END_ITEM, 0);
    // §1.4: "after receiving a control frame indicating the connection should be closed, a
    // peer discards any further data received" — stop parsing now, process in order.
    return this.#opcode !== Opcode.CLOSE;
  }

  error(error: ProtocolError): void {
    this.#push({ kind: ITEM_ERROR, error }, 0);
  }

  eof(): void {
    this.#push(EOF_ITEM, 0);
  }

  /**
   * Keep bytes that arrived before the handshake completed.
   *
   * @returns false when the backlog passed its limit.
   */
  defer(data: Uint8Array): boolean {
    this.#early.push(data);
    this.#backlog += data.length;
    return this.#backlog <= this.#limit;
  }

  /** The next chunk kept by `defer`, no longer counted; undefined when there is none. */
  nextDeferred(): Uint8Array | undefined {
    const early = this.#early;
    if (this.#earlyHead === early.length) return undefined;
    const chunk = early[this.#earlyHead]!;
    early[this.#earlyHead++] = undefined!;
    if (this.#earlyHead === early.length) {
      this.#early = [];
      this.#earlyHead = 0;
    }
    this.#backlog -= chunk.length;
    return chunk;
  }

  /** Hold what is parsed from now on until `decoding` settles; then process it in order. */
  wait(decoding: PromiseLike<void>, fin: boolean): void {
    this.#pending = true;
    const generation = this.#generation;
    Promise.resolve(decoding).then(
      () => this.#settled(generation, fin, false, undefined),
      (error: unknown) => this.#settled(generation, fin, true, error),
    );
  }

  /**
   * Drop everything held and ignore a pending decode.
   *
   * @returns whether the end of the transport was among the items (the caller closes).
   */
  discard(): boolean {
    let eofQueued = false;
    for (let i = this.#head; i < this.#items.length; i++) if (this.#items[i]!.kind === ITEM_EOF) eofQueued = true;
    this.#items = [];
    this.#head = 0;
    this.#early = [];
    this.#earlyHead = 0;
    this.#backlog = 0;
    this.#pending = false;
    this.#generation++;
    return eofQueued;
  }

  #push(item: InboundItem, bytes: number): void {
    this.#items.push(item);
    this.#backlog += bytes + ITEM_OVERHEAD;
    if (this.#backlog > this.#limit) {
      // The adapter kept reading although `shouldPauseReading()` said stop: a local fault.
      this.#port.fail(
        internalError(new Error(`receive backlog passed ${this.#limit} bytes while a decode was pending (the adapter did not pause reading)`)),
      );
    }
  }

  #settled(generation: number, fin: boolean, failed: boolean, error: unknown): void {
    if (generation === this.#generation) {
      this.#pending = false;
      try {
        if (failed) this.#port.fail(asProtocolError(error));
        else this.#target.resume(fin);
        this.#drain();
      } catch (unexpected) {
        this.#port.unexpected(unexpected);
      }
    }
    this.#port.wake();
  }

  /**
   * Process queued items until the queue is empty or a decode goes pending again. Input ends
   * only by a failure, which discards the queue, or by a close frame, after which the parser
   * stopped: nothing but the end of the transport follows it here.
   */
  #drain(): void {
    const target = this.#target;
    while (!this.#pending && this.#head < this.#items.length) {
      const item = this.#items[this.#head++]!;
      this.#backlog -= ITEM_OVERHEAD + (item.kind === ITEM_PAYLOAD ? item.data.length : 0);
      switch (item.kind) {
        case ITEM_START:
          target.frameStart(item.opcode, item.fin, item.rsv, item.length);
          break;
        case ITEM_PAYLOAD:
          target.framePayload(item.data);
          break;
        case ITEM_END:
          target.frameEnd();
          break;
        case ITEM_ERROR:
          this.#port.fail(item.error);
          break;
        case ITEM_EOF:
          this.#port.end();
          break;
      }
    }
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
  }
}
