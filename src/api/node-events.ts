/**
 * Events of the Node `WebSocket`: Node's `EventEmitter`, with the WHATWG `EventTarget` methods
 * on top, as `ws` has them — one listener list for both dialects.
 *
 * Decisions
 * ---------
 * - The object is a real `EventEmitter` (`instanceof EventEmitter`), and not an
 *   `EventTarget`: an object cannot inherit from both without changing Node's own prototypes,
 *   which a library must never do. Code written for `ws` (which made the same choice) runs
 *   unchanged; only an `instanceof EventTarget` check sees the difference.
 * - `addEventListener(type, listener)` adds, to the same list `on()` adds to, a wrapper that
 *   turns the emitter's arguments into a WHATWG event object (`MessageEvent`, `CloseEvent`,
 *   `ErrorEvent`, `Event`) with `target` and `currentTarget` set to the socket. So listeners
 *   run in the order they were added, whichever method added them, and `emit()` reaches all
 *   of them. `removeEventListener` removes only what `addEventListener` added; `{ once }` is
 *   honoured, and adding the same listener twice for a type adds it once (DOM §2.7).
 * - `dispatchEvent(event)` calls the `addEventListener` and `onxxx` listeners of `event.type`
 *   with `event` itself; the `on()` listeners, which take `ws`'s arguments, are not called.
 * - A listener that throws is reported (`reportListenerError`), never rethrown, and the
 *   listeners after it still run; `emit('error')` without listeners does not throw. This is
 *   the rule of every face here (see `events.ts`), where Node's emitter would throw.
 */
import { EventEmitter } from 'node:events';
import { callEach, callOne, type FaceEvents, FaceEventsPort, reportListenerError } from './events.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

const LISTENER = Symbol('listener');
const FOR_HANDLER = Symbol('for-handler');
const DELIVER = Symbol('deliver');

/** A wrapper `addEventListener` put in the emitter's list. */
interface TargetListener extends Listener {
  /** What the application passed to `addEventListener`. */
  readonly [LISTENER]: EventListenerOrEventListenerObject;
  /** Added by an `onxxx` handler attribute: `removeEventListener` does not match it. */
  readonly [FOR_HANDLER]: boolean;
  /** Hand the listener an event (`dispatchEvent` calls this; `emit` calls the wrapper). */
  readonly [DELIVER]: (target: EventEmitterTarget, event: Event) => void;
}

/** Options of `addEventListener` (the DOM's; `capture` and `passive` mean nothing here). */
export interface NodeAddEventListenerOptions {
  readonly once?: boolean;
}

function isTargetListener(listener: Listener): listener is TargetListener {
  return LISTENER in listener;
}

/** Call a DOM listener (a function, or an object with `handleEvent`) as `EventTarget` does. */
function callTargetListener(listener: EventListenerOrEventListenerObject, target: object, event: Event): void {
  if (typeof listener === 'function') listener.call(target, event);
  else listener.handleEvent(event);
}

/** Give an event built outside an `EventTarget` dispatch its `target` and `currentTarget`, as `ws`'s events have. */
function targeted(event: Event, target: object): Event {
  if (event.target === null) {
    Object.defineProperty(event, 'target', { value: target, configurable: true });
    Object.defineProperty(event, 'currentTarget', { value: target, configurable: true });
  }
  return event;
}

/**
 * The emitter's listener table (`_events`), one per socket. Node makes it a null-prototype
 * literal, which V8 keeps in dictionary mode: about 140 bytes more per socket than an object
 * of this class, whose listener slots get shared shapes. Its prototype is an empty object
 * without a prototype, so a lookup of any event name that has no listeners still finds
 * nothing (`toString` is no event), as in Node's own table.
 */
function ListenerTable(): void {}
ListenerTable.prototype = Object.create(null) as object;

/** See the module comment. */
export abstract class EventEmitterTarget extends EventEmitter {
  constructor() {
    super();
    (this as unknown as { _events: object })._events = new (ListenerTable as unknown as new () => object)();
  }

  /**
   * The WHATWG event for an emitter event of `type` with its arguments (for the
   * `addEventListener` listeners; e.g. `('message', [data, isBinary])` → a `MessageEvent`).
   */
  protected abstract eventFor(type: string, args: readonly unknown[]): Event;

  /**
   * Listen with a WHATWG event listener: it gets an event object (see the module comment) and
   * runs in the same order as the `on()` listeners.
   */
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | NodeAddEventListenerOptions): void {
    this.#addTargetListener(type, listener, typeof options === 'object' && options !== null && options.once === true, false);
  }

  /** Remove a listener `addEventListener` added. */
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    if (listener === null) return;
    for (const candidate of this.rawListeners(type) as Listener[]) {
      if (isTargetListener(candidate) && candidate[LISTENER] === listener && !candidate[FOR_HANDLER]) {
        this.removeListener(type, candidate);
        return;
      }
    }
  }

  /**
   * Call the `addEventListener` and `onxxx` listeners of `event.type` with `event`, in order.
   * Returns false if a listener cancelled it (`preventDefault()` on a cancelable event).
   */
  dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event)) throw new TypeError('dispatchEvent takes an Event');
    targeted(event, this);
    for (const candidate of this.rawListeners(event.type) as Listener[]) {
      if (!isTargetListener(candidate)) continue;
      try {
        candidate[DELIVER](this, event);
      } catch (error) {
        reportListenerError(error);
      }
    }
    return !event.defaultPrevented;
  }

  /**
   * Call every listener of `type` with `args`, in order (EventEmitter `emit`). A listener that
   * throws is reported, and the others still run; see the module comment.
   */
  override emit(type: string | symbol, ...args: unknown[]): boolean {
    const listeners = this.rawListeners(type) as Listener[];
    if (listeners.length === 0) return false;
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        reportListenerError(error);
      }
    }
    return true;
  }

  /** The port a face's core delivers through (one for every object): every listener is in the emitter's list. */
  protected faceEvents(): FaceEvents {
    return EventEmitterTarget.#events;
  }

  static readonly #events: FaceEvents = new (class extends FaceEventsPort<EventEmitterTarget> {
    call(target: EventEmitterTarget, type: string, first?: unknown, second?: unknown): void {
      // The message path: read the emitter's own listener slot instead of `rawListeners()`,
      // which copies the list on every call. One listener is one function there, called as it
      // is; several are an array, copied as `emit` does (a once-listener removes itself).
      const slot = (target as unknown as { _events: Record<string, Listener | Listener[] | undefined> })._events[type];
      if (slot === undefined) return;
      if (typeof slot === 'function') callOne(slot, target, arguments.length - 2, first, second);
      else callEach(slot.slice(), target, arguments.length - 2, first, second);
    }
    wants(): boolean {
      // The addEventListener wrappers build their events from the emitter's arguments.
      return false;
    }
    dispatch(target: EventEmitterTarget, event: Event): void {
      target.dispatchEvent(event);
    }
    addHandlerListener(target: EventEmitterTarget, type: string, listener: (event: Event) => void): void {
      target.#addTargetListener(type, listener, false, true);
    }
  })();

  #addTargetListener(type: string, listener: EventListenerOrEventListenerObject | null, once: boolean, forHandler: boolean): void {
    if (listener === null || (typeof listener !== 'function' && typeof listener?.handleEvent !== 'function')) return;
    if (!forHandler) {
      for (const candidate of this.rawListeners(type) as Listener[]) {
        if (isTargetListener(candidate) && candidate[LISTENER] === listener && !candidate[FOR_HANDLER]) return;
      }
    }
    const deliver = (target: EventEmitterTarget, event: Event): void => {
      if (once) target.removeListener(type, wrapper);
      callTargetListener(listener, target, targeted(event, target));
    };
    const wrapper: TargetListener = Object.assign(
      function (this: EventEmitterTarget, ...args: unknown[]): void {
        deliver(this, this.eventFor(type, args));
      },
      { [LISTENER]: listener, [FOR_HANDLER]: forHandler, [DELIVER]: deliver },
    );
    this.on(type, wrapper);
  }
}
