/**
 * The stream binding on its own, over hand-made streams and a driver that records what the
 * binding reports: the chunk types a readable may yield, streams that fail with reasons that
 * are not Errors, and `write`/`end`/`abort` called in every order after one another — each
 * reporting the transport closed once, and never writing after the end.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionDriver } from '../../../src/adapters/driver.js';
import { StreamBinding, type WebStreamPair } from '../../../src/adapters/web/stream-binding.js';
import { ErrorCode, type WebSocketError } from '../../../src/shared/errors.js';

/** What the binding reported to its driver, in order. */
function recordingDriver() {
  const log: string[] = [];
  const received: Uint8Array[] = [];
  const failures: Error[] = [];
  const driver = {
    receive: (chunk: Uint8Array) => {
      received.push(chunk);
      log.push(`receive ${Array.from(chunk).join(',')}`);
    },
    peerEnded: () => log.push('peer ended'),
    transportClosed: () => log.push('closed'),
    transportFailed: (error: Error) => {
      failures.push(error);
      log.push(`failed: ${error.message}`);
    },
    transportDrained: () => log.push('drained'),
  };
  return { driver: driver as unknown as ConnectionDriver, log, received, failures };
}

/** A readable that yields `chunks`, then ends (or stays open with `end` false). */
function readableOf(chunks: readonly unknown[], end = true): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk as Uint8Array);
      if (end) controller.close();
    },
  });
}

/** A writable that records what happens to it. */
function recordingWritable(strategy?: QueuingStrategy<Uint8Array>) {
  const log: string[] = [];
  let controller!: WritableStreamDefaultController;
  const writable = new WritableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      write: (chunk) => {
        log.push(`write ${chunk.length}`);
      },
      close: () => {
        log.push('close');
      },
      abort: (reason: unknown) => {
        log.push(`abort ${reason instanceof Error ? reason.message : String(reason)}`);
      },
    },
    strategy,
  );
  return { writable, log, error: (reason: unknown) => controller.error(reason) };
}

/** Let the streams' promise jobs run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

function bind(streams: WebStreamPair) {
  const recorded = recordingDriver();
  const binding = new StreamBinding(streams, recorded.driver);
  return { binding, ...recorded };
}

describe('StreamBinding', () => {
  it('takes every binary chunk a readable may yield as bytes: typed arrays of any kind, DataViews, ArrayBuffers', async () => {
    const buffer = Uint8Array.of(9, 1, 2, 3, 4, 9).buffer;
    const { binding, log, received } = bind({
      readable: readableOf([Uint8Array.of(1), new Uint16Array([0x0302]), new DataView(buffer, 1, 4), Uint8Array.of(5, 6).buffer]),
      writable: recordingWritable().writable,
    });
    binding.start();
    await settle();
    expect(log).toEqual(['receive 1', 'receive 2,3', 'receive 1,2,3,4', 'receive 5,6', 'peer ended']);
    expect(received.every((chunk) => chunk instanceof Uint8Array)).toBe(true);
    // Views are not copied.
    expect(received[2]!.buffer).toBe(buffer);
    expect(received[2]!.byteOffset).toBe(1);
  });

  for (const [what, chunk, named] of [
    ['a string', 'text', 'string'],
    ['null', null, 'null'],
    ['an object', { length: 1 }, 'object'],
  ] as const) {
    it(`a readable that yields ${what} fails the transport (a TypeError naming it) and is read no further`, async () => {
      const { binding, log, failures } = bind({ readable: readableOf([chunk, Uint8Array.of(1)], false), writable: recordingWritable().writable });
      binding.start();
      await settle();
      expect(log).toEqual([`failed: the readable stream yielded ${named}, not bytes`]);
      expect(failures[0]).toBeInstanceOf(TypeError);
    });
  }

  it('a readable that errors with a reason that is not an Error fails the transport with an Error carrying it', async () => {
    let fail!: (reason: unknown) => void;
    const readable = new ReadableStream<Uint8Array>({
      start(controller) {
        fail = (reason) => controller.error(reason);
      },
    });
    const { binding, log, failures } = bind({ readable, writable: recordingWritable().writable });
    binding.start();
    await settle();
    fail('the tunnel broke');
    await settle();
    expect(log).toEqual(['failed: the tunnel broke']);
    expect(failures[0]).toBeInstanceOf(Error);
  });

  it('a writable that errors while a batch waits for room fails the transport with an Error carrying the reason; nothing is written', async () => {
    // A high-water mark of 0: every batch waits for `ready`.
    const sink = recordingWritable(new CountQueuingStrategy({ highWaterMark: 0 }));
    const { binding, log, failures } = bind({ readable: readableOf([], false), writable: sink.writable });
    const outcomes: Array<Error | null | undefined> = [];
    binding.write([Uint8Array.of(1, 2)], (error) => outcomes.push(error));
    expect(binding.pendingBytes).toBe(2);
    await settle();
    expect(log).toEqual([]);
    sink.error('the far side went away');
    await settle();
    expect(log).toEqual(['failed: the far side went away']);
    expect(failures[0]).toBeInstanceOf(Error);
    expect(sink.log).toEqual([]);
    // The driver aborts on the failure: the batch that never reached the writer fails then.
    expect(outcomes).toEqual([]);
    binding.abort(failures[0]!);
    expect(outcomes).toEqual([failures[0]]);
    expect(binding.pendingBytes).toBe(0);
    await settle();
    expect(log).toEqual(['failed: the far side went away', 'closed']);
  });

  it('an empty batch completes in order: after the batch handed to the writer before it was written, not before', async () => {
    // Room for both batches at once, and a first write that takes until the test lets it finish.
    let finishWrite!: () => void;
    const writes: number[] = [];
    const writable = new WritableStream<Uint8Array>(
      {
        write: (chunk) => {
          writes.push(chunk.length);
          return new Promise<void>((resolve) => (finishWrite = resolve));
        },
      },
      new CountQueuingStrategy({ highWaterMark: 16 }),
    );
    const { binding, log } = bind({ readable: readableOf([], false), writable });
    const outcomes: string[] = [];
    binding.write([Uint8Array.of(1, 2, 3)], (error) => outcomes.push(`first ${String(error)}`));
    binding.write([], (error) => outcomes.push(`empty ${String(error)}`));
    await settle();
    expect(writes).toEqual([3]);
    expect(outcomes).toEqual([]);
    expect(binding.pendingBytes).toBe(3);
    finishWrite();
    await settle();
    expect(outcomes).toEqual(['first null', 'empty null']);
    expect(log).toEqual(['drained', 'drained']);
    expect(binding.pendingBytes).toBe(0);
  });

  it('end() twice closes the writable once and reports the transport closed once; a write after end() fails at once', async () => {
    const sink = recordingWritable();
    const { binding, log } = bind({ readable: readableOf([], false), writable: sink.writable });
    binding.write([Uint8Array.of(1)], null);
    binding.end();
    binding.end();
    const outcomes: Array<Error | null | undefined> = [];
    binding.write([Uint8Array.of(2)], (error) => outcomes.push(error));
    expect(outcomes).toHaveLength(1);
    expect((outcomes[0] as WebSocketError).code).toBe(ErrorCode.INVALID_STATE);
    // A write with no completion after the end is dropped quietly.
    binding.write([Uint8Array.of(3)], null);
    await settle();
    expect(sink.log).toEqual(['write 1', 'close']);
    expect(log).toEqual(['drained', 'closed']);
    // Aborting after the writable closed aborts nothing more and reports nothing more.
    binding.abort(new Error('late'));
    await settle();
    expect(sink.log).toEqual(['write 1', 'close']);
    expect(log).toEqual(['drained', 'closed']);
  });

  it('abort() while the writable is closing: the writable is aborted, the transport reported closed once', async () => {
    // A close that takes a while (the far side is slow to take the end).
    let finishClose!: () => void;
    const log: string[] = [];
    const writable = new WritableStream<Uint8Array>({
      close: () => new Promise<void>((resolve) => (finishClose = resolve)).then(() => void log.push('close done')),
      abort: (reason: unknown) => void log.push(`abort ${(reason as Error).message}`),
    });
    const recorded = bind({ readable: readableOf([], false), writable });
    recorded.binding.end();
    await settle();
    expect(recorded.log).toEqual([]);
    recorded.binding.abort(new Error('closeTimeout'));
    await settle();
    expect(recorded.log).toEqual(['closed']);
    finishClose();
    await settle();
    expect(recorded.log).toEqual(['closed']);
    // A write after the abort fails at once.
    const outcomes: Array<Error | null | undefined> = [];
    recorded.binding.write([Uint8Array.of(1)], (error) => outcomes.push(error));
    expect(outcomes[0]).toBeInstanceOf(Error);
  });

  it('abort() twice, and end() after abort(), abort the writable once, never close it, and report the transport closed once', async () => {
    const sink = recordingWritable();
    const { binding, log } = bind({ readable: readableOf([], false), writable: sink.writable });
    binding.abort(new Error('first'));
    binding.abort(new Error('second'));
    binding.end();
    await settle();
    expect(sink.log).toEqual(['abort first']);
    expect(log).toEqual(['closed']);
    const outcomes: Array<Error | null | undefined> = [];
    binding.write([Uint8Array.of(1)], (error) => outcomes.push(error));
    expect(outcomes[0]).toBeInstanceOf(Error);
    await settle();
    expect(sink.log).toEqual(['abort first']);
  });
});
