/**
 * A chain of decoders (RFC 6455 §9.1: with several extensions, incoming data goes through them
 * in the reverse of the response's order): each intermediate stage's output is held until the
 * stage settles, counted against the message limit, and handed to the next stage piece by
 * piece — the next piece only once the stage below settled — with `fin` on the last one.
 */
import { describe, expect, it } from 'vitest';
import { type DecodeOutput, type Extension, runDecoders } from '../../src/protocol/extension.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { CloseCode } from '../../src/shared/constants.js';
import { ErrorCode, ProtocolError } from '../../src/shared/errors.js';
import { text } from '../helpers/frames.js';

/** A decoding stage that answers with `produce(data, fin)`'s pieces, now or after a microtask. */
function stage(produce: (data: Uint8Array, fin: boolean) => Uint8Array[], async = false): Extension & { calls: Array<[string, boolean]> } {
  const calls: Array<[string, boolean]> = [];
  return {
    calls,
    encode: (data) => data,
    decode(data: Uint8Array, fin: boolean, output: DecodeOutput): void | Promise<void> {
      calls.push([text(data), fin]);
      const push = (): void => {
        for (const piece of produce(data, fin)) if (!output.push(piece)) return;
      };
      if (!async) return push();
      return Promise.resolve().then(push);
    },
  };
}

/** The final output, recording pieces and refusing past `limit` bytes. */
function sink(limit = Infinity): DecodeOutput & { pieces: string[] } {
  let size = 0;
  const pieces: string[] = [];
  return {
    pieces,
    get remaining() {
      return limit - size;
    },
    push(bytes) {
      if (size + bytes.length > limit) return false;
      size += bytes.length;
      pieces.push(text(bytes));
      return true;
    },
  };
}

const bytes = (value: string): Uint8Array => utf8Encode(value);
const identity = (data: Uint8Array): Uint8Array[] => [data];

describe('§9.1 a chain of decoders', () => {
  it('a middle stage that holds its output back passes nothing on until the message ends, then an empty last piece if it has none', () => {
    // The middle stage buffers everything and produces it all with the last piece.
    let buffered = '';
    const middle = stage((data, fin) => {
      buffered += text(data);
      if (!fin) return [];
      const all = buffered;
      buffered = '';
      return all === '' ? [] : [bytes(all)];
    });
    const last = stage(identity);
    const output = sink();
    expect(runDecoders([middle, last], bytes('ab'), false, output, 100)).toBeUndefined();
    expect(last.calls).toEqual([]);
    runDecoders([middle, last], bytes('cd'), true, output, 100);
    expect(last.calls).toEqual([['abcd', true]]);
    // A message the middle stage turns into nothing still ends: the last stage sees an empty last piece.
    runDecoders([middle, last], new Uint8Array(0), true, output, 100);
    expect(last.calls).toEqual([
      ['abcd', true],
      ['', true],
    ]);
    expect(output.pieces).toEqual(['abcd', '']);
  });

  it('an asynchronous middle stage makes the chain asynchronous; the next stage runs once it settled', async () => {
    const middle = stage((data) => [data, bytes('!')], true);
    const last = stage(identity);
    const output = sink();
    const result = runDecoders([middle, last], bytes('hi'), true, output, 100);
    expect(typeof (result as PromiseLike<void> | undefined)?.then).toBe('function');
    expect(last.calls).toEqual([]);
    await result;
    expect(last.calls).toEqual([
      ['hi', false],
      ['!', true],
    ]);
    expect(output.pieces).toEqual(['hi', '!']);
  });

  it('an asynchronous last stage gets the middle stage’s pieces one at a time, in order', async () => {
    const middle = stage((data) => Array.from(text(data), (char) => bytes(char)));
    let running = 0;
    let overlapped = false;
    const last: Extension = {
      encode: (data) => data,
      decode: async (data, fin, output) => {
        running++;
        if (running > 1) overlapped = true;
        await Promise.resolve();
        output.push(bytes(`${text(data)}${fin ? '.' : ''}`));
        running--;
      },
    };
    const output = sink();
    await runDecoders([middle, last], bytes('abc'), true, output, 100);
    expect(output.pieces).toEqual(['a', 'b', 'c.']);
    expect(overlapped).toBe(false);
  });

  it('§10.4 a middle stage is held to the message limit: the piece past it is refused, and so is every later push', () => {
    const refusals: boolean[] = [];
    const middle: Extension = {
      encode: (data) => data,
      decode(_data, _fin, output) {
        refusals.push(output.push(new Uint8Array(60)), output.push(new Uint8Array(60)), output.push(new Uint8Array(1)));
        expect(output.remaining).toBe(40);
      },
    };
    const last = stage(identity);
    expect(() => runDecoders([middle, last], bytes('x'), true, sink(), 100)).toThrow(
      new ProtocolError('decoded message exceeds the limit of 100 bytes', ErrorCode.MESSAGE_TOO_BIG, CloseCode.MESSAGE_TOO_BIG),
    );
    expect(refusals).toEqual([true, false, false]);
    expect(last.calls).toEqual([]);
  });

  it('empty pieces from a middle stage are not passed on', () => {
    const middle = stage((data) => [new Uint8Array(0), data, new Uint8Array(0)]);
    const last = stage(identity);
    runDecoders([middle, last], bytes('only'), true, sink(), 100);
    expect(last.calls).toEqual([['only', true]]);
  });

  it('one decoder alone writes straight to the output', () => {
    const only = stage(identity);
    const output = sink();
    runDecoders([only], bytes('direct'), true, output, 100);
    expect(output.pieces).toEqual(['direct']);
  });
});
