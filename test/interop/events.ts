/**
 * Waiting, always bounded: an event queue that tests read with a timeout, and `withTimeout`
 * for any promise. A peer that never answers fails the test with a message saying what was
 * awaited, instead of hanging the run.
 */

/** How long an interop test waits for any single step (a 16 MiB round trip included). */
export const STEP_TIMEOUT_MS = 15_000;

/** `promise`, or a rejection naming `what` after `ms` milliseconds. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What a peer reports, one JSON object per event (the Python peers print these; the
 * in-process servers record the same shapes): `listening`, `connection`, `open`, `message`,
 * `ping`, `pong`, `closed`, `error`.
 */
export interface PeerEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

interface Waiter<T> {
  readonly accepts: (event: T) => boolean;
  readonly resolve: (event: T) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Events in arrival order. `next(predicate)` takes the first queued event that matches (or
 * waits for one), leaving the others queued; `all()` shows everything seen so far.
 */
export class EventQueue<T> {
  readonly #queued: T[] = [];
  readonly #seen: T[] = [];
  readonly #waiters: Waiter<T>[] = [];
  #ended: Error | null = null;

  push(event: T): void {
    this.#seen.push(event);
    const index = this.#waiters.findIndex((waiter) => waiter.accepts(event));
    if (index === -1) {
      this.#queued.push(event);
      return;
    }
    const [waiter] = this.#waiters.splice(index, 1);
    waiter!.resolve(event);
  }

  /** No more events will come: waiters still pending, and later ones, fail with `error`. */
  end(error: Error): void {
    this.#ended = error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  /** The first event matching `accepts` (any event by default), within `ms`. */
  next(what: string, accepts: (event: T) => boolean = () => true, ms?: number): Promise<T> {
    const index = this.#queued.findIndex(accepts);
    if (index !== -1) return Promise.resolve(this.#queued.splice(index, 1)[0]!);
    if (this.#ended !== null) return Promise.reject(new Error(`${what}: ${this.#ended.message}`));
    let waiter: Waiter<T> | undefined;
    const waiting = new Promise<T>((resolve, reject) => {
      waiter = { accepts, resolve, reject: (error) => reject(new Error(`${what}: ${error.message}`)) };
      this.#waiters.push(waiter);
    });
    return withTimeout(waiting, what, ms).catch((error: unknown) => {
      const index = this.#waiters.indexOf(waiter!);
      if (index !== -1) this.#waiters.splice(index, 1);
      throw error;
    });
  }

  /** Every event pushed so far, including the ones already taken. */
  all(): readonly T[] {
    return this.#seen;
  }
}
