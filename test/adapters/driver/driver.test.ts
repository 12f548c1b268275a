/**
 * The driver on its own: a `ConnectionDriver` over a scripted `ByteTransport` and a manual
 * `Scheduler` (deferred tasks run when the test says, timers on a fake clock), for what real
 * transports reach only by luck — a transport closing before a deferred flush, timers firing
 * while the connection is closing, calls after the close — and for the driver's own methods
 * no face uses. Every case checks what the driver did: the writes, the ends and aborts,
 * reading stopped and resumed, the timers armed and cleared, and the sink's events in order.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionDriver, type ByteTransport, type DriverOptions, type Scheduler, type Timer, type WriteCallback } from '../../../src/adapters/driver.js';
import { DEFAULT_TRANSPORT_OPTIONS, type ConnectionSink } from '../../../src/adapters/types.js';
import { portableCodec } from '../../../src/codec/portable/index.js';
import { ClientConnection } from '../../../src/protocol/client-connection.js';
import type { Connection } from '../../../src/protocol/connection.js';
import { ServerConnection } from '../../../src/protocol/server-connection.js';
import { ReadyState } from '../../../src/shared/constants.js';
import { ErrorCode, WebSocketError } from '../../../src/shared/errors.js';
import { frame, readClose, readFrames, text } from '../../helpers/frames.js';
import { Opcode } from '../../../src/shared/constants.js';
import { seededRandom } from '../../helpers/connection-pair.js';

/** A scheduler on a fake clock: deferred tasks and due timers run only from `runDeferred` and `advance`. */
class ManualScheduler implements Scheduler {
  time = 0;
  readonly #deferred: Array<() => void> = [];
  readonly #timers = new Map<number, { due: number; run: () => void; delay: number }>();
  #nextId = 1;
  /** Every timer armed, as its delay, in order. */
  readonly armed: number[] = [];
  cleared = 0;

  defer<T>(task: (arg: T) => void, arg: T): void {
    this.#deferred.push(() => task(arg));
  }
  /** Later turns run only from `runLater`. */
  readonly #later: Array<() => void> = [];
  later<T>(task: (arg: T) => void, arg: T): void {
    this.#later.push(() => task(arg));
  }
  get pendingLater(): number {
    return this.#later.length;
  }
  /** Run one later turn (and the deferred work it leaves). */
  runLater(): void {
    this.#later.shift()?.();
    this.runDeferred();
  }
  setTimer<T>(task: (arg: T) => void, delay: number, arg: T): Timer {
    const id = this.#nextId++;
    this.armed.push(delay);
    this.#timers.set(id, { due: this.time + delay, run: () => task(arg), delay });
    return id;
  }
  clearTimer(timer: Timer): void {
    if (this.#timers.delete(timer as number)) this.cleared++;
  }
  now(): number {
    return this.time;
  }

  get pendingDeferred(): number {
    return this.#deferred.length;
  }
  /** Delays of the timers armed now. */
  get pendingTimers(): number[] {
    return [...this.#timers.values()].map((timer) => timer.delay);
  }

  runDeferred(): void {
    while (this.#deferred.length > 0) this.#deferred.shift()!();
  }
  /** Move the clock on by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { due: number; run: () => void }] | null = null;
      for (const entry of this.#timers) if (entry[1].due <= end && (next === null || entry[1].due < next[1].due)) next = entry;
      if (next === null) break;
      this.#timers.delete(next[0]);
      this.time = next[1].due;
      next[1].run();
      this.runDeferred();
    }
    this.time = end;
  }
}

/** A transport that records what the driver asks of it; the test completes the writes. */
class ScriptedTransport implements ByteTransport {
  readonly log: string[] = [];
  readonly writes: Array<{ bytes: Uint8Array; written: WriteCallback | null }> = [];
  pendingBytes = 0;

  write(chunks: readonly Uint8Array[], written: WriteCallback | null): void {
    const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    this.writes.push({ bytes, written });
    this.log.push('write');
  }
  end(): void {
    this.log.push('end');
  }
  abort(error: Error): void {
    this.log.push(`abort: ${error.message}`);
  }
  setReading(reading: boolean): void {
    this.log.push(reading ? 'read' : 'stop reading');
  }

  /** Every frame written so far, one line each. */
  frames(): string[] {
    return readFrames(this.writes.map((write) => write.bytes)).map((read) => {
      if (read.opcode === Opcode.CLOSE) {
        const { code, reason } = readClose(read.payload);
        return `close ${String(code)}${reason === '' ? '' : ` ${reason}`}`;
      }
      const name = { [Opcode.TEXT]: 'text', [Opcode.BINARY]: 'binary', [Opcode.PING]: 'ping', [Opcode.PONG]: 'pong' }[read.opcode] ?? `opcode ${read.opcode}`;
      return read.payload.length === 0 ? name : `${name} ${text(read.payload)}`;
    });
  }

  /** Complete every write handed over so far. */
  completeAll(error: Error | null = null): void {
    for (const { written } of this.writes.splice(0)) written?.(error);
  }
}

/** A sink recording every call, in order. */
function recordingSink(): ConnectionSink & { readonly events: string[] } {
  const events: string[] = [];
  return {
    events,
    onOpen: () => events.push('open'),
    onMessage: (data) => events.push(`message ${text(data)}`),
    onFragment: (data, _binary, first, last) => events.push(`fragment ${text(data)} ${first} ${last}`),
    onPing: () => events.push('ping'),
    onPong: () => events.push('pong'),
    onError: (error) => events.push(`error ${(error as WebSocketError).code ?? error.message}`),
    onClose: (code, reason, wasClean) => events.push(`close ${code}${reason === '' ? '' : ` ${reason}`} ${wasClean ? 'clean' : 'unclean'}`),
    onDrain: () => events.push('drain'),
  };
}

const encoder = new TextEncoder();

interface Setup {
  readonly side?: 'server' | 'client';
  readonly options?: Partial<DriverOptions>;
  /** Start CONNECTING (a server reading the request) rather than OPEN. */
  readonly connecting?: boolean;
}

function setup({ side = 'server', options = {}, connecting = false }: Setup = {}) {
  const established = connecting ? undefined : {};
  const connection: Connection =
    side === 'server'
      ? new ServerConnection({ codec: portableCodec, established })
      : new ClientConnection({ codec: portableCodec, random: seededRandom(3), host: 'example.com', path: '/', established });
  const sink = recordingSink();
  const scheduler = new ManualScheduler();
  const driver = new ConnectionDriver(connection, sink, { ...DEFAULT_TRANSPORT_OPTIONS, handshakeTimeout: 0, ...options }, scheduler);
  const transport = new ScriptedTransport();
  return { connection, sink, scheduler, driver, transport };
}

/** A frame as the peer of `side` sends it (a client's are masked). */
function fromPeer(side: 'server' | 'client', opcode: number, payload: string | Uint8Array = new Uint8Array(0)): Uint8Array {
  return frame(opcode, payload, { mask: side === 'server' });
}

describe('ConnectionDriver over a scripted transport and a manual clock', () => {
  it('a transport that closes before the deferred flush runs: the send fails once, nothing is written after the close, reading is left alone', () => {
    const { driver, transport, scheduler, sink } = setup();
    driver.attach(transport);
    expect(sink.events).toEqual(['open']);
    const outcomes: Array<Error | null | undefined> = [];
    expect(driver.send(encoder.encode('late'), false, true, (error) => outcomes.push(error))).toBe(true);
    expect(driver.bufferedAmount).toBe(4);
    expect(scheduler.pendingDeferred).toBe(1);
    // The socket reports 'close' (a reset) in the same tick as the send.
    driver.transportClosed();
    expect(sink.events).toEqual(['open', 'close 1006 unclean']);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toBeInstanceOf(WebSocketError);
    expect(driver.bufferedAmount).toBe(0);
    const before = [...transport.log];
    scheduler.runDeferred();
    expect(transport.log).toEqual(before);
    expect(transport.writes).toEqual([]);
    expect(outcomes).toHaveLength(1);
  });

  it('wake() after the close does nothing: no write, no event', () => {
    const { driver, transport, sink } = setup();
    driver.attach(transport);
    driver.transportClosed();
    const log = [...transport.log];
    driver.wake();
    expect(transport.log).toEqual(log);
    expect(sink.events).toEqual(['open', 'close 1006 unclean']);
    expect(driver.closed).toBe(true);
  });

  it('pause() before the transport is attached stops reading as it is attached; resume() reads again', () => {
    const { driver, transport, sink } = setup();
    driver.pause();
    expect(driver.isPaused).toBe(true);
    driver.attach(transport);
    expect(sink.events).toEqual(['open']);
    expect(transport.log).toEqual(['stop reading']);
    driver.resume();
    expect(driver.isPaused).toBe(false);
    expect(transport.log).toEqual(['stop reading', 'read']);
    // After the close, pausing no longer touches the transport.
    driver.transportClosed();
    driver.pause();
    expect(transport.log).toEqual(['stop reading', 'read']);
  });

  it('pong() queues an unsolicited pong, written in the deferred flush with its callback', () => {
    const { driver, transport, scheduler } = setup();
    driver.attach(transport);
    const outcomes: Array<Error | null | undefined> = [];
    driver.pong(encoder.encode('beat'), (error) => outcomes.push(error));
    expect(transport.writes).toEqual([]);
    scheduler.runDeferred();
    expect(transport.frames()).toEqual(['pong beat']);
    expect(outcomes).toEqual([]);
    transport.completeAll();
    expect(outcomes).toEqual([null]);
  });

  describe('fail()', () => {
    it('while OPEN: the close frame with the code goes out, input after it is discarded, and a server ends the transport', () => {
      const { driver, transport, sink, scheduler } = setup({ options: { closeTimeout: 1000 } });
      driver.attach(transport);
      driver.fail(1008, 'policy');
      expect(driver.state).toBe(ReadyState.CLOSING);
      expect(transport.frames()).toEqual(['close 1008 policy']);
      expect(transport.log).toEqual(['write', 'end']);
      // The close timeout is armed for a peer that never closes.
      expect(scheduler.pendingTimers).toEqual([1000]);
      driver.receive(fromPeer('server', Opcode.TEXT, 'ignored'));
      expect(sink.events).toEqual(['open']);
      driver.transportClosed();
      expect(sink.events).toEqual(['open', 'close 1006 unclean']);
      expect(scheduler.pendingTimers).toEqual([]);
    });

    it('while CLOSING (our close frame sent): no second close frame', () => {
      const { driver, transport, sink } = setup({ side: 'client' });
      driver.attach(transport);
      driver.close(1000, 'bye');
      expect(transport.frames()).toEqual(['close 1000 bye']);
      driver.fail(1011, 'later');
      expect(transport.frames()).toEqual(['close 1000 bye']);
      expect(driver.state).toBe(ReadyState.CLOSING);
      expect(sink.events).toEqual(['open']);
    });

    it('while CONNECTING or CLOSED: nothing happens', () => {
      const connecting = setup({ connecting: true });
      connecting.driver.attach(connecting.transport);
      connecting.driver.fail(1008, 'too early');
      expect(connecting.driver.state).toBe(ReadyState.CONNECTING);
      expect(connecting.transport.log).toEqual([]);

      const closed = setup();
      closed.driver.attach(closed.transport);
      closed.driver.transportClosed();
      const log = [...closed.transport.log];
      closed.driver.fail(1008, 'too late');
      expect(closed.transport.log).toEqual(log);
      expect(closed.sink.events).toEqual(['open', 'close 1006 unclean']);
    });
  });

  it('client: close() again once the closing handshake is complete ends the transport at once (the server never closed it)', () => {
    const { driver, transport, sink, scheduler } = setup({ side: 'client', options: { closeTimeout: 5000 } });
    driver.attach(transport);
    driver.close(4000, 'done');
    expect(transport.frames()).toEqual(['close 4000 done']);
    expect(scheduler.pendingTimers).toEqual([5000]);
    driver.receive(fromPeer('client', Opcode.CLOSE, Uint8Array.of(4000 >> 8, 4000 & 0xff)));
    // RFC 6455 §7.1.1: the client waits for the server to close the TCP connection first.
    expect(driver.connection.closingHandshakeComplete).toBe(true);
    expect(transport.log).toEqual(['write']);
    driver.close(undefined, undefined);
    expect(transport.log).toEqual(['write', 'end']);
    // Ending twice is once.
    driver.close(undefined, undefined);
    expect(transport.log).toEqual(['write', 'end']);
    driver.transportClosed();
    expect(sink.events).toEqual(['open', 'close 4000 clean']);
    expect(scheduler.pendingTimers).toEqual([]);
  });

  describe('the handshake deadline after the handshake failed', () => {
    it('server: a refused request is answered (400) and ended; the deadline passing adds no error and does not cut off the response', () => {
      const { driver, transport, sink, scheduler } = setup({ connecting: true, options: { handshakeTimeout: 1000, closeTimeout: 5000 } });
      driver.attach(transport);
      expect(scheduler.pendingTimers).toEqual([1000]);
      driver.receive(encoder.encode('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'));
      expect(sink.events).toEqual([`error ${ErrorCode.HANDSHAKE}`]);
      expect(text(transport.writes[0]!.bytes).split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(transport.log).toEqual(['write', 'end']);
      // The peer is slow to read the response and close: the close timeout governs now.
      scheduler.advance(1000);
      expect(sink.events).toEqual([`error ${ErrorCode.HANDSHAKE}`]);
      expect(transport.log).toEqual(['write', 'end']);
      scheduler.advance(4000);
      expect(transport.log).toEqual(['write', 'end', 'abort: the WebSocket transport was aborted: the peer did not close the connection within 5000 ms']);
      driver.transportClosed();
      expect(sink.events).toEqual([`error ${ErrorCode.HANDSHAKE}`, 'close 1006 unclean']);
      expect(scheduler.pendingTimers).toEqual([]);
    });

    it('client: a response that is not 101 fails the connection once, however late the transport reports it closed', () => {
      const { driver, transport, sink, scheduler } = setup({ side: 'client', connecting: true, options: { handshakeTimeout: 1000 } });
      driver.attach(transport);
      expect(text(transport.writes[0]!.bytes).split('\r\n')[0]).toBe('GET / HTTP/1.1');
      driver.receive(encoder.encode('HTTP/1.1 200 OK\r\n\r\n'));
      expect(sink.events).toEqual([`error ${ErrorCode.HANDSHAKE}`]);
      expect(transport.log).toEqual(['write', 'abort: the WebSocket transport was aborted: the opening handshake failed']);
      scheduler.advance(1000);
      expect(sink.events).toEqual([`error ${ErrorCode.HANDSHAKE}`]);
      driver.transportClosed();
      expect(sink.events).toEqual([`error ${ErrorCode.HANDSHAKE}`, 'close 1006 unclean']);
    });
  });

  it('failDetached() after the close reports nothing more', () => {
    const { driver, sink } = setup({ side: 'client', connecting: true });
    driver.failDetached(new Error('no route'));
    expect(sink.events).toEqual(['error no route', 'close 1006 unclean']);
    driver.failDetached(new Error('again'));
    expect(sink.events).toEqual(['error no route', 'close 1006 unclean']);
  });

  describe('timers while CLOSING', () => {
    it('the idle timer falling due after our close frame went out sends no second close and re-arms nothing', () => {
      const { driver, transport, sink, scheduler } = setup({ options: { idleTimeout: 100, closeTimeout: 1000 } });
      driver.attach(transport);
      expect(scheduler.pendingTimers).toEqual([100]);
      driver.close(1000, 'bye');
      expect(transport.frames()).toEqual(['close 1000 bye']);
      expect(scheduler.pendingTimers.sort((a, b) => a - b)).toEqual([100, 1000]);
      scheduler.advance(150);
      expect(transport.frames()).toEqual(['close 1000 bye']);
      expect(scheduler.pendingTimers).toEqual([1000]);
      expect(sink.events).toEqual(['open']);
      // The close timeout still cuts off a peer that never answers.
      scheduler.advance(1000);
      expect(transport.log).toEqual(['write', 'abort: the WebSocket transport was aborted: the peer did not close the connection within 1000 ms']);
    });

    it('the heartbeat falling due after our close frame went out sends no ping and re-arms nothing', () => {
      const { driver, transport, sink, scheduler } = setup({ options: { heartbeat: { interval: 100, timeout: 50 }, closeTimeout: 1000 } });
      driver.attach(transport);
      driver.close(1001, undefined);
      scheduler.advance(150);
      expect(transport.frames()).toEqual(['close 1001']);
      expect(scheduler.pendingTimers).toEqual([1000]);
      expect(sink.events).toEqual(['open']);
    });
  });

  it('a heartbeat without a timeout waits its interval for the pong, then terminates (an error first)', () => {
    // The driver's options as a binding may give them, without the timeout filled in.
    const { driver, transport, sink, scheduler } = setup({ options: { heartbeat: { interval: 100 } } });
    driver.attach(transport);
    scheduler.advance(100);
    expect(transport.frames()).toEqual(['ping']);
    expect(scheduler.pendingTimers).toEqual([100]);
    scheduler.advance(99);
    expect(sink.events).toEqual(['open']);
    scheduler.advance(1);
    expect(sink.events).toEqual(['open', `error ${ErrorCode.TIMEOUT}`]);
    expect(transport.log.at(-1)).toBe('abort: the WebSocket transport was aborted: the peer stopped answering pings');
    expect(driver.terminating).toBe(true);
    driver.transportClosed();
    expect(sink.events).toEqual(['open', `error ${ErrorCode.TIMEOUT}`, 'close 1006 unclean']);
    expect(driver.terminating).toBe(false);
  });

  it('synchronousEvents false (ws allowSynchronousEvents: false): one message, ping or pong per later turn, nothing read meanwhile, events still in order', () => {
    const { driver, transport, scheduler, sink } = setup({ options: { synchronousEvents: false } });
    driver.attach(transport);
    const chunk = new Uint8Array([...fromPeer('server', 0x1, 'a'), ...fromPeer('server', 0x9, 'p'), ...fromPeer('server', 0x1, 'b'), ...fromPeer('server', 0x8, new Uint8Array([0x03, 0xe8]))]);
    driver.receive(chunk);
    // Nothing delivered in this turn but the open; reading stops while an event waits.
    expect(sink.events).toEqual(['open']);
    expect(transport.log).toContain('stop reading');
    expect(scheduler.pendingLater).toBe(1);
    scheduler.runLater();
    expect(sink.events).toEqual(['open', 'message a']);
    expect(driver.state).toBe(1);
    scheduler.runLater();
    expect(sink.events).toEqual(['open', 'message a', 'ping']);
    expect(driver.state).toBe(1);
    scheduler.runLater();
    // The close frame read after the last message takes effect once that message was delivered.
    expect(sink.events).toEqual(['open', 'message a', 'ping', 'message b']);
    expect(scheduler.pendingLater).toBe(0);
    expect(driver.state).toBe(2);
  });
});
