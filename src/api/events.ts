/**
 * Events of the public faces: the WHATWG event classes (`MessageEvent`, `CloseEvent`,
 * `ErrorEvent`), the port a face's core delivers through (`FaceEvents`), and
 * `EventTargetEmitter`, the event base of the web faces: an `EventTarget` that also speaks
 * Node's `EventEmitter` dialect (`on`, `once`, `off`, `emit`, …), so one object serves code
 * written for browsers and code written for `ws`. (The Node `WebSocket` is the other way
 * round, as in `ws`: an `EventEmitter` with the `EventTarget` methods; see `node-events.ts`.)
 *
 * Decisions
 * ---------
 * - The object is a real `EventTarget` (`instanceof EventTarget`); the emitter methods keep
 *   their own listener lists beside it. For each event, `on()` listeners run first, then the
 *   `addEventListener` / `onxxx` ones. `emit()` reaches only the `on()` listeners, as
 *   `dispatchEvent()` reaches only the others.
 * - A listener that throws does not break the connection's loop, and the remaining listeners
 *   still run; the exception is reported (see `reportListenerError`), never rethrown, so it
 *   cannot end the process.
 * - `emit('error')` without listeners does not throw (Node's emitter would): errors are
 *   reported to whoever listens and always followed by a close, and a browser-style program
 *   that only sets `onerror`, or none, must not crash.
 * - The WHATWG event objects are only built when someone listens through `addEventListener`
 *   or an `onxxx` handler, so `ws`-style code pays nothing for the second face.
 */

/**
 * How a face's core reaches the listeners of the object it serves (`target`, an object of
 * the event base's class); each event base gives one, shared by all its objects
 * (`EventTargetEmitter` here, `EventEmitterTarget` in Node), so a socket holds no port of its own.
 */
export interface FaceEvents {
  /** Call the emitter listeners of `type` with exactly the arguments given after it (at most two). */
  call(target: object, type: string, first?: unknown, second?: unknown): void;
  /** Call the emitter listeners of `type` with any arguments. */
  emit(target: object, type: string, ...args: unknown[]): void;
  /** Whether a WHATWG event object should be dispatched for `type` (someone listens through `addEventListener`). */
  wants(target: object, type: string): boolean;
  /** Dispatch `event`, reporting a listener's exception like `call` does. */
  dispatch(target: object, event: Event): void;
  /** Add the listener of an `onxxx` handler attribute. */
  addHandlerListener(target: object, type: string, listener: (event: Event) => void): void;
}

/** What an event base's port starts from: its targets' `emit` serves for any arguments. */
export abstract class FaceEventsPort<T extends { emit(type: string, ...args: unknown[]): unknown }> implements FaceEvents {
  abstract call(target: T, type: string, first?: unknown, second?: unknown): void;
  emit(target: T, type: string, ...args: unknown[]): void {
    target.emit(type, ...args);
  }
  abstract wants(target: T, type: string): boolean;
  abstract dispatch(target: T, event: Event): void;
  abstract addHandlerListener(target: T, type: string, listener: (event: Event) => void): void;
}

/**
 * Call `listeners` in order with `this` = `target` and the first `count` (0–2) of `first`
 * and `second` — exactly the arguments given, without collecting them into an array (the
 * message path). A listener that throws is reported and the others still run.
 */
export function callEach(listeners: readonly EmitterListener[], target: object, count: number, first: unknown, second: unknown): void {
  for (let i = 0; i < listeners.length; i++) callOne(listeners[i]!, target, count, first, second);
}

/** `callEach` for one listener. */
export function callOne(listener: EmitterListener, target: object, count: number, first: unknown, second: unknown): void {
  try {
    if (count === 2) listener.call(target, first, second);
    else if (count === 1) listener.call(target, first);
    else listener.call(target);
  } catch (error) {
    reportListenerError(error);
  }
}

/** A listener of the emitter dialect. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EmitterListener = (...args: any[]) => void;

interface OnceWrapper extends EmitterListener {
  readonly listener: EmitterListener;
}

/**
 * An application listener threw. WHATWG "report an exception": the exception is reported and
 * the dispatch goes on — the listeners after it run, and the connection keeps its state. It is
 * never rethrown: one faulty handler must not end a process that serves thousands of
 * connections. Reported where the application looks: its `'uncaughtException'` handlers when
 * it has any (as `ws` and Node's EventTarget would reach them), else the platform's
 * `reportError` in pages and workers, else stderr.
 */
export function reportListenerError(error: unknown): void {
  queueMicrotask(() => {
    const host = globalThis as {
      process?: { listenerCount(event: string): number; emit(event: string, ...args: unknown[]): boolean };
      reportError?: (error: unknown) => void;
    };
    if (host.process !== undefined && host.process.listenerCount('uncaughtException') > 0) {
      host.process.emit('uncaughtException', error, 'uncaughtException');
    } else if (host.process === undefined && typeof host.reportError === 'function') {
      host.reportError(error);
    } else {
      console.error('wasmsocket: an event listener threw:', error);
    }
  });
}

/** `init` of a `CloseEvent`. */
export interface CloseEventInit extends EventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/** `init` of an `ErrorEvent`. */
export interface ErrorEventInit extends EventInit {
  message?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
  error?: unknown;
}

/** The WHATWG `CloseEvent` (HTML §10.4.4): how a WebSocket connection closed. */
class CloseEventImpl extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = init.wasClean ?? false;
    this.#code = init.code ?? 0;
    this.#reason = init.reason ?? '';
  }
  /** Whether the closing handshake completed (RFC 6455 §7.1.4). */
  get wasClean(): boolean {
    return this.#wasClean;
  }
  /** The close code (RFC 6455 §7.1.5; 1006 when no close frame arrived). */
  get code(): number {
    return this.#code;
  }
  /** The close reason (RFC 6455 §7.1.6). */
  get reason(): string {
    return this.#reason;
  }
}

/** The WHATWG `ErrorEvent` (HTML §8.1.4.6), carrying the error in `error`. */
class ErrorEventImpl extends Event {
  readonly #message: string;
  readonly #error: unknown;
  readonly #filename: string;
  readonly #lineno: number;
  readonly #colno: number;
  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init);
    this.#message = init.message ?? '';
    this.#error = init.error;
    this.#filename = init.filename ?? '';
    this.#lineno = init.lineno ?? 0;
    this.#colno = init.colno ?? 0;
  }
  get message(): string {
    return this.#message;
  }
  get error(): unknown {
    return this.#error;
  }
  get filename(): string {
    return this.#filename;
  }
  get lineno(): number {
    return this.#lineno;
  }
  get colno(): number {
    return this.#colno;
  }
}

/** `init` of a `MessageEvent`. */
export interface MessageEventInit<T = unknown> extends EventInit {
  data?: T;
  origin?: string;
  lastEventId?: string;
}

/** The WHATWG `MessageEvent` for runtimes that lack it. */
class MessageEventImpl<T = unknown> extends Event {
  readonly #data: T | null;
  readonly #origin: string;
  readonly #lastEventId: string;
  constructor(type: string, init: MessageEventInit<T> = {}) {
    super(type, init);
    this.#data = init.data ?? null;
    this.#origin = init.origin ?? '';
    this.#lastEventId = init.lastEventId ?? '';
  }
  get data(): T | null {
    return this.#data;
  }
  get origin(): string {
    return this.#origin;
  }
  get lastEventId(): string {
    return this.#lastEventId;
  }
  get source(): null {
    return null;
  }
  get ports(): readonly unknown[] {
    return [];
  }
}

type EventConstructor<E, I> = new (type: string, init?: I) => E;
const platform = globalThis as { CloseEvent?: unknown; ErrorEvent?: unknown; MessageEvent?: unknown };

/**
 * `CloseEvent`: the runtime's own where it has one (so `instanceof` agrees with other
 * WebSocket code), else ours.
 */
export const CloseEvent = (platform.CloseEvent ?? CloseEventImpl) as EventConstructor<globalThis.CloseEvent, CloseEventInit>;
/** `CloseEvent` instances. */
export type CloseEvent = globalThis.CloseEvent;

/** `ErrorEvent`: the runtime's own where it has one, else ours. */
export const ErrorEvent = (platform.ErrorEvent ?? ErrorEventImpl) as EventConstructor<globalThis.ErrorEvent, ErrorEventInit>;
/** `ErrorEvent` instances. */
export type ErrorEvent = globalThis.ErrorEvent;

/** `MessageEvent`: the runtime's own (Node has had one since v15), else ours. */
export const MessageEvent = (platform.MessageEvent ?? MessageEventImpl) as EventConstructor<globalThis.MessageEvent, MessageEventInit>;
/** `MessageEvent` instances. */
export type MessageEvent<T = unknown> = globalThis.MessageEvent<T>;

/**
 * An `EventTarget` with Node's `EventEmitter` methods on top. See the module comment for how
 * the two dialects share an object.
 */
export class EventTargetEmitter extends EventTarget {
  #listeners: Record<string, EmitterListener[]> | null = null;
  /** Event types that ever had an `addEventListener` listener (then WHATWG events are built). */
  #targetTypes: Set<string> | null = null;
  #maxListeners = 10;

  // ----------------------------------------------------------------------------------------
  // The EventTarget side
  // ----------------------------------------------------------------------------------------

  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (listener !== null) (this.#targetTypes ??= new Set()).add(type);
    super.addEventListener(type, listener, options);
  }

  /** Whether WHATWG event objects are wanted for `type` (some `addEventListener` listener was added). */
  protected hasTargetListeners(type: string): boolean {
    return this.#targetTypes !== null && this.#targetTypes.has(type);
  }

  // ----------------------------------------------------------------------------------------
  // The EventEmitter side
  // ----------------------------------------------------------------------------------------

  /** Add `listener` for `type` (EventEmitter `on`). */
  on(type: string, listener: EmitterListener): this {
    return this.#add(type, listener, false);
  }

  /** Same as `on`. */
  addListener(type: string, listener: EmitterListener): this {
    return this.#add(type, listener, false);
  }

  /** Add `listener` before the others. */
  prependListener(type: string, listener: EmitterListener): this {
    return this.#add(type, listener, true);
  }

  /** Add `listener` for the next `type` event only. */
  once(type: string, listener: EmitterListener): this {
    return this.#add(type, this.#onceWrapper(type, listener), false);
  }

  /** Add `listener` for the next `type` event only, before the others. */
  prependOnceListener(type: string, listener: EmitterListener): this {
    return this.#add(type, this.#onceWrapper(type, listener), true);
  }

  /** Remove the most recently added registration of `listener` (EventEmitter `removeListener`). */
  removeListener(type: string, listener: EmitterListener): this {
    const listeners = this.#listeners;
    const list = listeners?.[type];
    if (list === undefined) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      const candidate = list[i]!;
      if (candidate === listener || (candidate as Partial<OnceWrapper>).listener === listener) {
        // Copy on write: an emit in progress keeps iterating the old array.
        const next = list.slice(0, i).concat(list.slice(i + 1));
        if (next.length === 0) delete listeners![type];
        else listeners![type] = next;
        break;
      }
    }
    return this;
  }

  /** Same as `removeListener`. */
  off(type: string, listener: EmitterListener): this {
    return this.removeListener(type, listener);
  }

  /** Remove every emitter listener of `type`, or of every type. (EventTarget listeners stay.) */
  removeAllListeners(type?: string): this {
    if (this.#listeners === null) return this;
    if (type === undefined) this.#listeners = null;
    else delete this.#listeners[type];
    return this;
  }

  /**
   * Call the emitter listeners of `type` with `args`, in order. Returns whether there were any.
   * (It does not reach `addEventListener` listeners; see the module comment.)
   */
  emit(type: string, ...args: unknown[]): boolean {
    const list = this.#listeners?.[type];
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.apply(this, args);
      } catch (error) {
        reportListenerError(error);
      }
    }
    return true;
  }

  /**
   * `emit` for up to two arguments without collecting them into an array (the message path).
   * Listeners get exactly the arguments given, as with `emit`.
   */
  protected callListeners(type: string, first?: unknown, second?: unknown): boolean {
    const list = this.#listeners?.[type];
    if (list === undefined) return false;
    callEach(list, this, arguments.length - 1, first, second);
    return true;
  }

  /** Dispatch a WHATWG event, reporting a listener's exception like `emit` does. */
  protected dispatchSafely(event: Event): void {
    try {
      this.dispatchEvent(event);
    } catch (error) {
      reportListenerError(error);
    }
  }

  /** The port a face's core delivers through (one for every object of the class). */
  protected faceEvents(): FaceEvents {
    return EventTargetEmitter.#events;
  }

  static readonly #events: FaceEvents = new (class extends FaceEventsPort<EventTargetEmitter> {
    call(target: EventTargetEmitter, type: string, first?: unknown, second?: unknown): void {
      const list = target.#listeners?.[type];
      if (list !== undefined) callEach(list, target, arguments.length - 2, first, second);
    }
    wants(target: EventTargetEmitter, type: string): boolean {
      return target.hasTargetListeners(type);
    }
    dispatch(target: EventTargetEmitter, event: Event): void {
      target.dispatchSafely(event);
    }
    addHandlerListener(target: EventTargetEmitter, type: string, listener: (event: Event) => void): void {
      target.addEventListener(type, listener);
    }
  })();

  /** How many emitter listeners `type` has, or how many registrations of `listener`. */
  listenerCount(type: string, listener?: EmitterListener): number {
    const list = this.#listeners?.[type];
    if (list === undefined) return 0;
    if (listener === undefined) return list.length;
    let count = 0;
    for (const candidate of list) if (candidate === listener || (candidate as Partial<OnceWrapper>).listener === listener) count++;
    return count;
  }

  /** The emitter listeners of `type` (once-listeners unwrapped). */
  listeners(type: string): EmitterListener[] {
    return (this.#listeners?.[type] ?? []).map((listener) => (listener as Partial<OnceWrapper>).listener ?? listener);
  }

  /** The emitter listeners of `type` as registered (once-listeners wrapped). */
  rawListeners(type: string): EmitterListener[] {
    return [...(this.#listeners?.[type] ?? [])];
  }

  /** The types that have emitter listeners. */
  eventNames(): string[] {
    return this.#listeners === null ? [] : Object.keys(this.#listeners);
  }

  /** Kept for compatibility: the leak warning threshold (no warning is printed). */
  setMaxListeners(count: number): this {
    this.#maxListeners = count;
    return this;
  }

  getMaxListeners(): number {
    return this.#maxListeners;
  }

  #add(type: string, listener: EmitterListener, prepend: boolean): this {
    if (typeof listener !== 'function') throw new TypeError(`the listener must be a function, got ${typeof listener}`);
    const listeners = (this.#listeners ??= Object.create(null) as Record<string, EmitterListener[]>);
    const list = listeners[type];
    if (list === undefined) listeners[type] = [listener];
    else listeners[type] = prepend ? [listener, ...list] : [...list, listener];
    return this;
  }

  #onceWrapper(type: string, listener: EmitterListener): OnceWrapper {
    if (typeof listener !== 'function') throw new TypeError(`the listener must be a function, got ${typeof listener}`);
    const wrapper = Object.assign(
      function (this: EventTargetEmitter, ...args: unknown[]): void {
        this.removeListener(type, wrapper);
        listener.apply(this, args);
      },
      { listener },
    );
    return wrapper;
  }
}
