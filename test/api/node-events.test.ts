/**
 * EventEmitterTarget, the event base of the Node WebSocket: an EventEmitter (as ws's WebSocket
 * is) with addEventListener / removeEventListener / dispatchEvent on the same listener list.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { EventEmitterTarget } from '../../src/api/node-events.js';
import type { FaceEvents } from '../../src/api/events.js';
import { withUncaughtHandler } from './uncaught.js';

class Probe extends EventEmitterTarget {
  protected eventFor(type: string, args: readonly unknown[]): Event {
    const event = new Event(type);
    Object.defineProperty(event, 'args', { value: args });
    return event;
  }
  port(): FaceEvents {
    return this.faceEvents();
  }
}

const argsOf = (event: Event): unknown => (event as Event & { args: unknown }).args;

describe('EventEmitterTarget', () => {
  it('is an EventEmitter and not an EventTarget; Node\'s prototypes are untouched', () => {
    const probe = new Probe();
    expect(probe).toBeInstanceOf(EventEmitter);
    expect(probe).not.toBeInstanceOf(EventTarget);
    expect(Object.getPrototypeOf(EventEmitter.prototype)).toBe(Object.prototype);
    expect('addEventListener' in EventEmitter.prototype).toBe(false);
  });

  it('one list: listeners run in the order they were added, whichever method added them, and emit reaches them all', () => {
    const probe = new Probe();
    const order: string[] = [];
    probe.on('message', (data: string) => order.push(`on 1 ${data}`));
    probe.addEventListener('message', (event) => order.push(`target 1 ${String(argsOf(event))}`));
    probe.on('message', () => order.push('on 2'));
    probe.addEventListener('message', { handleEvent: () => order.push('object') });
    expect(probe.listenerCount('message')).toBe(4);
    expect(probe.emit('message', 'x', false)).toBe(true);
    expect(order).toEqual(['on 1 x', 'target 1 x,false', 'on 2', 'object']);
  });

  it('a listener gets a WHATWG event whose target and currentTarget are the emitter, with the emitter as this', () => {
    const probe = new Probe();
    let seen: { event: Event; self: unknown } | null = null;
    probe.addEventListener('open', function (this: unknown, event) {
      seen = { event, self: this };
    });
    probe.emit('open');
    expect(seen!.event).toBeInstanceOf(Event);
    expect(seen!.event.type).toBe('open');
    expect(seen!.event.target).toBe(probe);
    expect(seen!.event.currentTarget).toBe(probe);
    expect(seen!.self).toBe(probe);
  });

  it('adding the same listener twice adds it once; once runs once; removeEventListener removes what addEventListener added only', () => {
    const probe = new Probe();
    const listener = vi.fn();
    const onListener = vi.fn();
    probe.addEventListener('close', listener);
    probe.addEventListener('close', listener);
    probe.on('close', onListener);
    const onceListener = vi.fn();
    probe.addEventListener('close', onceListener, { once: true });
    probe.emit('close', 1000, 'bye');
    probe.emit('close', 1000, 'bye');
    expect(listener).toHaveBeenCalledTimes(2);
    expect(onceListener).toHaveBeenCalledTimes(1);
    // removeEventListener does not take a listener on() added.
    probe.removeEventListener('close', onListener);
    probe.removeEventListener('close', listener);
    probe.emit('close', 1000, 'bye');
    expect(listener).toHaveBeenCalledTimes(2);
    expect(onListener).toHaveBeenCalledTimes(3);
    expect(probe.listenerCount('close')).toBe(1);
  });

  it('dispatchEvent hands the event itself to the addEventListener listeners, not to on() ones, and reports preventDefault', () => {
    const probe = new Probe();
    const received: Event[] = [];
    const onListener = vi.fn();
    probe.on('custom', onListener);
    probe.addEventListener('custom', (event) => {
      received.push(event);
      event.preventDefault();
    });
    const event = new Event('custom', { cancelable: true });
    expect(probe.dispatchEvent(event)).toBe(false);
    expect(received).toEqual([event]);
    expect(event.target).toBe(probe);
    expect(onListener).not.toHaveBeenCalled();
    expect(() => probe.dispatchEvent({ type: 'custom' } as Event)).toThrow(TypeError);
  });

  it("a throwing listener is reported, not rethrown, and the listeners after it run — through emit and through the face's port", async () => {
    const reported: unknown[] = [];
    await withUncaughtHandler((error) => reported.push(error), async () => {
      const probe = new Probe();
      const after: string[] = [];
      probe.on('message', () => {
        throw new Error('emitter listener');
      });
      probe.addEventListener('message', () => {
        throw new Error('target listener');
      });
      probe.on('message', (...args: unknown[]) => after.push(`after ${args.length}`));
      expect(() => probe.emit('message', 'a', true)).not.toThrow();
      expect(() => probe.port().call(probe, 'message', 'b', false)).not.toThrow();
      expect(after).toEqual(['after 2', 'after 2']);
      await Promise.resolve();
      expect(reported.map((error) => (error as Error).message)).toEqual(['emitter listener', 'target listener', 'emitter listener', 'target listener']);
    });
  });

  it("emit('error') without listeners does not throw (Node's emitter would)", () => {
    expect(new Probe().emit('error', new Error('nobody listens'))).toBe(false);
  });

  it('the port calls listeners with exactly the arguments given, and asks for no separate WHATWG dispatch', () => {
    const probe = new Probe();
    const counts: number[] = [];
    probe.on('x', (...args: unknown[]) => counts.push(args.length));
    const port = probe.port();
    port.call(probe, 'x');
    port.call(probe, 'x', 1);
    port.call(probe, 'x', 1, undefined);
    port.emit(probe, 'x', 1, 2, 3, 4);
    expect(counts).toEqual([0, 1, 2, 4]);
    probe.addEventListener('x', () => {});
    expect(port.wants(probe, 'x')).toBe(false);
  });

  it("a handler attribute's listener keeps its place and removeEventListener does not match it", () => {
    const probe = new Probe();
    const handler = vi.fn();
    probe.port().addHandlerListener(probe, 'open', handler);
    probe.removeEventListener('open', handler);
    probe.emit('open');
    expect(handler).toHaveBeenCalledOnce();
  });
});
