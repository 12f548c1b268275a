/**
 * EventTargetEmitter: an EventTarget that also speaks Node's EventEmitter dialect, and the
 * WHATWG event classes.
 */
import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { CloseEvent, ErrorEvent, EventTargetEmitter, MessageEvent } from '../../src/api/events.js';
import { withUncaughtHandler } from './uncaught.js';

class Probe extends EventTargetEmitter {
  fire(type: string, ...args: [] | [unknown] | [unknown, unknown]): boolean {
    return this.callListeners(type, ...args);
  }
  wants(type: string): boolean {
    return this.hasTargetListeners(type);
  }
}

describe('EventTargetEmitter: the EventEmitter dialect', () => {
  it('on/addListener/emit call listeners in order with the emitter as this', () => {
    const probe = new Probe();
    const calls: unknown[] = [];
    probe.on('x', function (this: unknown, a: unknown, b: unknown) {
      calls.push(['first', this === probe, arguments.length, a, b]);
    });
    probe.addListener('x', (a: unknown) => calls.push(['second', a]));
    expect(probe.emit('x', 1, 2)).toBe(true);
    expect(probe.fire('x', 3)).toBe(true);
    expect(probe.emit('nothing')).toBe(false);
    expect(calls).toEqual([
      ['first', true, 2, 1, 2],
      ['second', 1],
      ['first', true, 1, 3, undefined],
      ['second', 3],
    ]);
  });

  it('once and prependOnceListener run once; off removes by the original listener', () => {
    const probe = new Probe();
    const calls: string[] = [];
    const a = (): void => {
      calls.push('a');
    };
    probe.once('x', a);
    probe.prependOnceListener('x', () => calls.push('p'));
    probe.emit('x');
    probe.emit('x');
    expect(calls).toEqual(['p', 'a']);
    probe.once('y', a);
    expect(probe.listenerCount('y', a)).toBe(1);
    probe.off('y', a);
    expect(probe.listenerCount('y')).toBe(0);
    expect(probe.emit('y')).toBe(false);
  });

  it('prependListener, listeners, rawListeners, eventNames, removeAllListeners', () => {
    const probe = new Probe();
    const a = (): void => {};
    const b = (): void => {};
    probe.on('x', a);
    probe.prependListener('x', b);
    probe.once('y', a);
    expect(probe.listeners('x')).toEqual([b, a]);
    expect(probe.listeners('y')).toEqual([a]);
    expect(probe.rawListeners('y')[0]).not.toBe(a);
    expect(probe.eventNames().sort()).toEqual(['x', 'y']);
    probe.removeAllListeners('x');
    expect(probe.eventNames()).toEqual(['y']);
    probe.removeAllListeners();
    expect(probe.eventNames()).toEqual([]);
    expect(probe.setMaxListeners(50).getMaxListeners()).toBe(50);
  });

  it('removing a listener during emit does not skip the others', () => {
    const probe = new Probe();
    const calls: string[] = [];
    const b = (): void => {
      calls.push('b');
    };
    probe.on('x', () => {
      calls.push('a');
      probe.off('x', b);
    });
    probe.on('x', b);
    probe.emit('x');
    probe.emit('x');
    expect(calls).toEqual(['a', 'b', 'a']);
  });


  it("a throwing listener is reported to the application's uncaughtException handlers, after the next listeners ran", async () => {
    const reported = vi.fn();
    await withUncaughtHandler(reported, async () => {
      const probe = new Probe();
      const after = vi.fn();
      probe.on('x', () => {
        throw new Error('boom');
      });
      probe.on('x', after);
      probe.emit('x');
      expect(after).toHaveBeenCalledOnce();
      expect(reported).not.toHaveBeenCalled();
      await Promise.resolve();
      expect(reported).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }), 'uncaughtException');
    });
  });

  it('with no uncaughtException handler a throwing listener is printed on stderr, never rethrown', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await withUncaughtHandler(null, async () => {
        const probe = new Probe();
        probe.on('x', () => {
          throw new Error('boom');
        });
        probe.emit('x');
        await Promise.resolve();
        expect(printed).toHaveBeenCalledWith(expect.stringContaining('listener threw'), expect.objectContaining({ message: 'boom' }));
      });
    } finally {
      printed.mockRestore();
    }
  });

  it("emit('error') without listeners does not throw", () => {
    expect(new Probe().emit('error', new Error('nobody listens'))).toBe(false);
  });

  it('refuses a listener that is not a function', () => {
    expect(() => new Probe().on('x', 42 as never)).toThrow(TypeError);
  });

  it('works with events.once from node:events (which takes the emitter dialect)', async () => {
    const probe = new Probe();
    const waiting = once(probe, 'ready');
    probe.fire('ready', 42);
    expect(await waiting).toEqual([42]);
  });
});

describe('EventTargetEmitter: the EventTarget side', () => {
  it('is an EventTarget whose addEventListener listeners are separate from on() listeners', () => {
    const probe = new Probe();
    expect(probe).toBeInstanceOf(EventTarget);
    const target = vi.fn();
    const emitter = vi.fn();
    expect(probe.wants('x')).toBe(false);
    probe.addEventListener('x', target);
    probe.on('x', emitter);
    expect(probe.wants('x')).toBe(true);
    probe.dispatchEvent(new Event('x'));
    expect(target).toHaveBeenCalledOnce();
    expect(emitter).not.toHaveBeenCalled();
    probe.emit('x');
    expect(target).toHaveBeenCalledOnce();
    expect(emitter).toHaveBeenCalledOnce();
  });
});

describe('event classes', () => {
  it('CloseEvent carries wasClean, code and reason', () => {
    const event = new CloseEvent('close', { wasClean: true, code: 1001, reason: 'bye' });
    expect(event).toBeInstanceOf(Event);
    expect([event.type, event.wasClean, event.code, event.reason]).toEqual(['close', true, 1001, 'bye']);
    const empty = new CloseEvent('close');
    expect([empty.wasClean, empty.code, empty.reason]).toEqual([false, 0, '']);
  });

  it('ErrorEvent carries the error and its message', () => {
    const error = new Error('bad');
    const event = new ErrorEvent('error', { error, message: 'bad' });
    expect(event).toBeInstanceOf(Event);
    expect(event.error).toBe(error);
    expect(event.message).toBe('bad');
  });

  it('MessageEvent carries data and origin', () => {
    const event = new MessageEvent('message', { data: 'hi', origin: 'ws://example.com' });
    expect(event.data).toBe('hi');
    expect(event.origin).toBe('ws://example.com');
  });
});
