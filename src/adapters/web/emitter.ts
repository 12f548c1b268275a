/**
 * A small typed event emitter with the part of Node's `EventEmitter` interface that `ws`
 * users call (`on`, `once`, `off`, `emit`, …), for pages and workers, which have no
 * `node:events`.
 *
 * One difference, on purpose: a listener that throws does not stop the others and does not
 * unwind into the code that emitted (a transport's read loop). The error is reported as an
 * uncaught exception of the page or worker (`reportError`), as `EventTarget` does.
 */

/** Event names mapped to listener argument lists. */
export type EventMap = { [event: string]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;

interface Registration<Args extends unknown[]> {
  readonly listener: Listener<Args>;
  readonly once: boolean;
}

/** Report an exception from a listener the way the platform reports uncaught errors. */
export function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}

/** See the module comment. */
export class Emitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Registration<never>[]>();
  readonly #owner: object;

  /** @param owner the `this` of listener calls (default: the emitter itself). */
  constructor(owner?: object) {
    this.#owner = owner ?? this;
  }

  /** Call `listener` on every `event`. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, false);
  }

  /** Same as `on`. */
  addListener<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, false);
  }

  /** Call `listener` on the next `event` only. */
  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, true);
  }

  /** Remove the most recently added registration of `listener` for `event`. */
  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const registrations = this.#listeners.get(event);
    if (registrations === undefined) return this;
    for (let i = registrations.length - 1; i >= 0; i--) {
      if (registrations[i]!.listener === (listener as unknown)) {
        const rest = registrations.slice();
        rest.splice(i, 1);
        if (rest.length === 0) this.#listeners.delete(event);
        else this.#listeners.set(event, rest);
        break;
      }
    }
    return this;
  }

  /** Same as `off`. */
  removeListener<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.off(event, listener);
  }

  /** Remove every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** The listeners of `event`, in call order. */
  listeners<E extends keyof Events>(event: E): Listener<Events[E]>[] {
    return (this.#listeners.get(event) ?? []).map((registration) => registration.listener as Listener<Events[E]>);
  }

  /**
   * Call the listeners of `event` in order with `args`; returns whether there were any.
   * Listeners added or removed meanwhile take effect from the next emit.
   */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const registrations = this.#listeners.get(event) as Registration<Events[E]>[] | undefined;
    if (registrations === undefined) return false;
    for (const registration of registrations) {
      if (registration.once) this.off(event, registration.listener);
      try {
        registration.listener.apply(this.#owner, args);
      } catch (error) {
        reportListenerError(error);
      }
    }
    return true;
  }

  #add<E extends keyof Events>(event: E, listener: Listener<Events[E]>, once: boolean): this {
    if (typeof listener !== 'function') throw new TypeError(`the listener of '${String(event)}' must be a function`);
    // Copy on write: an emit in progress keeps iterating the array it started with.
    const registrations = this.#listeners.get(event) ?? [];
    this.#listeners.set(event, [...registrations, { listener, once } as Registration<never>]);
    return this;
  }
}
