/**
 * The driver contract: one set of behaviour tests that every binding of the
 * `ConnectionDriver` must pass unchanged, as the codec contract does for every codec. Each
 * binding's test file runs `defineDriverContract` with its environment (environment.ts):
 * real loopback sockets for the Node binding, `createWebStreamPair()` for the stream binding.
 *
 * What it covers: events in order with the state advancing with them, at every split of the
 * bytes; what each face does with options and sends (Blobs, `compress`, `maxPayload`,
 * heartbeat, `'fragment'`); backpressure both ways and the overflow policy; the timers; and
 * every way a connection closes.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, utf8Encode } from '../../../src/shared/bytes.js';
import { ErrorCode, InvalidArgumentError, type WebSocketError } from '../../../src/shared/errors.js';
import { Opcode, ReadyState } from '../../../src/shared/constants.js';
import { type Chunking, chunkings, randomChunks } from '../../helpers/chunkings.js';
import { type ReadFrame, text } from '../../helpers/frames.js';
import { withTimeout } from '../../interop/events.js';
import type { DriverEnvironment, Face, FaceOptions, RawPeer } from './environment.js';
import { describeFrame, openingRequest, peerClose, peerFrame, type PeerSide, peerText, switchingProtocols } from './wire.js';

const STATE = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

/** How long any single wait of this suite may take. */
const STEP_MS = 5000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolve once `condition` holds, polling; fail after `ms`. */
async function until(condition: () => boolean, what: string, ms = STEP_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** Message data as text, whatever the face hands out (a string, a Buffer, a Uint8Array). */
function textOf(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array) return new TextDecoder().decode(data);
  throw new TypeError(`unexpected message data: ${Object.prototype.toString.call(data)}`);
}

interface Closed {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** The face's close event, within `ms`. */
function closeOf(ws: Face, ms = STEP_MS): Promise<Closed> {
  return withTimeout(
    new Promise((resolve) =>
      ws.addEventListener('close', (event) => {
        const { code, reason, wasClean } = event as CloseEvent;
        resolve({ code, reason, wasClean });
      }),
    ),
    'the close event',
    ms,
  );
}

/** Errors a face reports, as they come. */
function errorsOf(ws: Face): Array<WebSocketError> {
  const errors: WebSocketError[] = [];
  ws.on('error', (error: WebSocketError) => errors.push(error));
  return errors;
}

/** A send callback's outcome: `null` on success (as ws gives it), else the error. */
function sendOutcome(): { readonly callback: (error?: Error | null) => void; readonly outcome: Promise<Error | null | undefined> } {
  let callback!: (error?: Error | null) => void;
  const outcome = withTimeout(new Promise<Error | null | undefined>((resolve) => (callback = resolve)), 'the send callback', STEP_MS);
  return { callback, outcome };
}

/** The next frame our end sent to `peer`. */
function nextFrame(peer: RawPeer, what = 'a frame', ms = STEP_MS): Promise<ReadFrame> {
  return peer.frames.next(what, undefined, ms);
}

/**
 * Read frames until a close frame, as one line each. A well-behaved peer that did not start
 * the closing handshake answers the close frame with its code (`answer`); a raw server then
 * closes the TCP connection first (RFC 6455 §7.1.1).
 */
async function framesUntilClose(peer: RawPeer, side: PeerSide, answer: boolean, withReason: boolean): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const frame = await nextFrame(peer, `a frame after ${JSON.stringify(lines)}`);
    lines.push(describeFrame(frame, withReason));
    if (frame.opcode !== Opcode.CLOSE) continue;
    if (answer) void peer.write(peerClose(side, frame.payload.length >= 2 ? (frame.payload[0]! << 8) | frame.payload[1]! : undefined));
    if (side === 'server') peer.end();
    return lines;
  }
}

/** Our server's face with a raw client that completed the opening handshake. */
async function openServer(env: DriverEnvironment, options: FaceOptions = {}): Promise<{ ws: Face; peer: RawPeer }> {
  const { peer, opened } = await env.acceptRaw(options);
  void peer.write(openingRequest(options.deflate ?? false));
  const response = await withTimeout(peer.head, 'the 101 response', STEP_MS);
  expect(response.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
  if (options.deflate === true) expect(response).toMatch(/^sec-websocket-extensions: *permessage-deflate/im);
  return { ws: await opened, peer };
}

/** Our client's face with a raw server that answered the opening handshake. */
async function openClient(env: DriverEnvironment, options: FaceOptions = {}): Promise<{ ws: Face; peer: RawPeer }> {
  const { ws, peer } = await env.connectRaw(options);
  const open = withTimeout(new Promise((resolve) => ws.once('open', resolve)), 'the client to open', STEP_MS);
  void peer.write(switchingProtocols(await peer.head, options.deflate ?? false));
  await open;
  return { ws, peer };
}

/** What a run of the ordering cases saw: our face's events (with the state), the peer's frames, the echoes' send callbacks. */
interface OrderingRun {
  readonly events: string[];
  readonly wire: string[];
  readonly written: Array<Error | null | undefined>;
}

/** Echo every message from the 'message' listener, recording the state it was seen in and what send said. */
function echoing(ws: Face): OrderingRun {
  const run: OrderingRun = { events: [], wire: [], written: [] };
  ws.on('message', (data: unknown, isBinary: boolean) => {
    run.events.push(`message ${textOf(data)} ${STATE[ws.readyState]}`);
    run.events.push(`echo sent: ${String(ws.send(data as string, { binary: isBinary }, (error) => run.written.push(error)))}`);
  });
  ws.on('error', (error: WebSocketError) => run.events.push(`error ${String(error.closeCode)}`));
  return run;
}

/** What follows the message in the same read, and what it leads to. */
interface Tail {
  readonly name: string;
  /** The frame, as `side` sends it. */
  bytes(side: PeerSide, deflate: boolean): Uint8Array;
  /** The close code our end sends (echoed, or failing the connection). */
  readonly closeCode: number;
  /** Whether it is a protocol violation (our end fails the connection, reporting an error). */
  readonly violation: boolean;
}

const TAILS: readonly Tail[] = [
  { name: 'a close frame', bytes: (side) => peerClose(side, 1000, 'bye'), closeCode: 1000, violation: false },
  {
    name: 'a frame with RSV1 set',
    // With permessage-deflate RSV1 is allowed on a message's first frame, never on a control frame (RFC 7692 §6.1).
    bytes: (side, deflate) => (deflate ? peerFrame(side, Opcode.PING, 'p', { rsv: 4 }) : peerFrame(side, Opcode.TEXT, 'x', { rsv: 4 })),
    closeCode: 1002,
    violation: true,
  },
  { name: 'a reserved opcode', bytes: (side) => peerFrame(side, 0x3, 'x'), closeCode: 1002, violation: true },
  { name: 'a fragmented ping', bytes: (side) => peerFrame(side, Opcode.PING, 'p', { fin: false }), closeCode: 1002, violation: true },
];

/** The close frame our end sends after the tail: the echo of the peer's, or the failure's code. */
function closeFrameLine(tail: Tail): string {
  return tail.violation ? `close ${tail.closeCode}` : `close ${tail.closeCode} bye`;
}

/**
 * What our face reports after the tail: a clean close with the peer's code and reason; or,
 * for a violation, the error and then 1006, since a failed connection reads no close frame
 * (RFC 6455 §7.1.7 discards further input; §7.1.5: 1006 when none was received).
 */
function closeEvents(tail: Tail): string[] {
  return tail.violation ? [`error ${tail.closeCode}`, 'close 1006'] : [`close ${tail.closeCode} bye`];
}

/** Every chunking of an HTTP head and the frames after it: the head whole with every chunking of the frames, and some chunkings of everything. */
function chunkingsAfterHead(head: Uint8Array, frames: Uint8Array): Chunking[] {
  const out: Chunking[] = [{ name: 'head alone, then the frames whole', chunks: [head.slice(), frames.slice()] }];
  for (const { name, chunks } of chunkings(frames, { randomCount: 4 })) {
    out.push({ name: `head with ${name}`, chunks: [concatBytes([head, chunks[0]!]), ...chunks.slice(1)] });
  }
  const whole = concatBytes([head, frames]);
  for (let seed = 1; seed <= 4; seed++) out.push({ name: `everything in random chunks (seed ${seed})`, chunks: randomChunks(whole, seed, 16) });
  return out;
}

/** Compare each chunking's run with what every chunking must give, naming the chunkings that differ. */
function expectEveryChunking(runs: ReadonlyMap<string, OrderingRun>, expected: OrderingRun): void {
  const differing = [...runs].filter(([, run]) => JSON.stringify(run) !== JSON.stringify(expected));
  expect(differing.slice(0, 3), `${differing.length} of ${runs.size} chunkings differ`).toEqual([]);
}

/** What sets a binding's transport apart, where the contract must know it. */
export interface ContractTraits {
  /**
   * The request opens the transport (an HTTP/2 stream begins with its extended CONNECT): a
   * peer cannot connect and say nothing, so the case of one that does is not defined.
   */
  readonly requestOpensTransport?: boolean;
}

/**
 * Define the contract for one binding. `makeEnvironment` is called once; the environment's
 * `cleanup` runs after every test and `dispose` after the last.
 */
export function defineDriverContract(makeEnvironment: () => DriverEnvironment, traits: ContractTraits = {}): void {
  let env: DriverEnvironment;
  beforeAll(() => {
    env = makeEnvironment();
  });
  afterEach(() => env.cleanup());
  afterAll(() => env.dispose());

  describe('events in order, the state advancing with them, at every split of the bytes', () => {
    for (const deflate of [false, true]) {
      const compressed = deflate ? ' deflated' : '';
      describe(deflate ? 'with permessage-deflate (asynchronous inflate and deflate)' : 'without extensions', () => {
        for (const tail of TAILS) {
          it(`server: the request, a message and ${tail.name} in the same read: the message is delivered while OPEN, and its echo goes out before the close (${tail.closeCode})`, async () => {
            const request = openingRequest(deflate);
            const frames = concatBytes([peerText('client', 'hello', deflate), tail.bytes('client', deflate)]);
            const runs = new Map<string, OrderingRun>();
            for (const { name, chunks } of chunkingsAfterHead(request, frames)) {
              let run: OrderingRun | null = null;
              let closed: Promise<Closed> | null = null;
              const { peer } = await env.acceptRaw({ deflate }, (ws) => {
                run = echoing(ws);
                closed = closeOf(ws);
              });
              for (const chunk of chunks) await peer.deliver(chunk);
              expect((await withTimeout(peer.head, 'the 101 response', STEP_MS)).split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
              await until(() => run !== null, 'the server-side socket');
              run!.wire.push(...(await framesUntilClose(peer, 'client', tail.violation, !tail.violation)));
              const { code, reason } = await closed!;
              run!.events.push(`close ${code} ${reason}`.trim());
              await withTimeout(peer.closed, 'the connection to close', STEP_MS);
              runs.set(name, run!);
              await env.cleanup();
            }
            expectEveryChunking(runs, {
              events: ['message hello OPEN', 'echo sent: true', ...closeEvents(tail)],
              wire: [`text hello${compressed}`, closeFrameLine(tail)],
              written: [null],
            });
          });

          it(`client: the 101 response, a message and ${tail.name} in the same read: 'open' sees OPEN and can send, the message is echoed before the close (${tail.closeCode})`, async () => {
            const frames = concatBytes([peerText('server', 'hello', deflate), tail.bytes('server', deflate)]);
            const runs = new Map<string, OrderingRun>();
            // Every connection has its own accept key, of the same length: the chunkings are
            // made once, as lengths, and cut each connection's own bytes.
            let shapes: Array<{ name: string; lengths: number[] }> | null = null;
            for (let i = 0; shapes === null || i < shapes.length; i++) {
              const { ws, peer } = await env.connectRaw({ deflate });
              const head = switchingProtocols(await peer.head, deflate);
              shapes ??= chunkingsAfterHead(head, frames).map(({ name, chunks }) => ({ name, lengths: chunks.map((chunk) => chunk.length) }));
              const { name, lengths } = shapes[i]!;
              const run = echoing(ws);
              ws.on('open', () => {
                run.events.unshift(`open ${STATE[ws.readyState]}`, `open sent: ${String(ws.send('from open'))}`);
              });
              const closed = closeOf(ws);
              const bytes = concatBytes([head, frames]);
              let at = 0;
              for (const length of lengths) {
                await peer.deliver(bytes.slice(at, at + length));
                at += length;
              }
              run.wire.push(...(await framesUntilClose(peer, 'server', tail.violation, !tail.violation)));
              const { code, reason } = await closed;
              run.events.push(`close ${code} ${reason}`.trim());
              runs.set(name, run);
              await env.cleanup();
            }
            expectEveryChunking(runs, {
              events: ['open OPEN', 'open sent: true', 'message hello OPEN', 'echo sent: true', ...closeEvents(tail)],
              wire: [`text from open${compressed}`, `text hello${compressed}`, closeFrameLine(tail)],
              written: [null],
            });
          });
        }
      });
    }
  });

  describe('what every face does the same', () => {
    for (const sender of ['client', 'server'] as const) {
      it(`${sender}: send(blob) then close() delivers the message before the close frame`, async () => {
        const pair = await env.pair();
        const [from, to] = sender === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
        const received: string[] = [];
        to.on('message', (data: unknown) => received.push(textOf(data)));
        const closed = closeOf(to);
        expect(from.send(new Blob(['from a blob']))).toBe(true);
        from.send('after the blob');
        from.close(4000, 'after the messages');
        expect(from.readyState).toBe(ReadyState.CLOSING);
        expect(await closed).toEqual({ code: 4000, reason: 'after the messages', wasClean: true });
        expect(received).toEqual(['from a blob', 'after the blob']);
      });
    }

    it("server: send(data, { compress: false }) goes without RSV1 where permessage-deflate was negotiated; the others are compressed", async () => {
      const { ws, peer } = await openServer(env, { deflate: true });
      ws.send('a'.repeat(2000), { compress: false });
      ws.send('b'.repeat(2000));
      ws.send('c'.repeat(2000), { compress: false, fin: false });
      ws.send('d'.repeat(10), { fin: true });
      const frames = [await nextFrame(peer), await nextFrame(peer), await nextFrame(peer), await nextFrame(peer)];
      expect(frames.map((frame) => [frame.opcode, frame.rsv, frame.fin])).toEqual([
        [Opcode.TEXT, 0, true],
        [Opcode.TEXT, 4, true],
        [Opcode.TEXT, 0, false],
        [Opcode.CONTINUATION, 0, true],
      ]);
      expect(describeFrame(frames[0]!)).toBe(`text ${'a'.repeat(2000)}`);
      expect(describeFrame(frames[1]!)).toBe(`text ${'b'.repeat(2000)} deflated`);
      // The message's later fragments follow its first: uncompressed too.
      expect(text(frames[2]!.payload) + text(frames[3]!.payload)).toBe(`${'c'.repeat(2000)}${'d'.repeat(10)}`);
    });

    it("client: send(data, { compress: false }) goes without RSV1 where permessage-deflate was negotiated; the others are compressed", async () => {
      const { ws, peer } = await openClient(env, { deflate: true });
      ws.send('a'.repeat(2000), { compress: false });
      ws.send('b'.repeat(2000));
      const frames = [await nextFrame(peer), await nextFrame(peer)];
      expect(frames.map((frame) => [frame.opcode, frame.rsv, frame.masked])).toEqual([
        [Opcode.TEXT, 0, true],
        [Opcode.TEXT, 4, true],
      ]);
      expect(frames.map((frame) => describeFrame(frame))).toEqual([`text ${'a'.repeat(2000)}`, `text ${'b'.repeat(2000)} deflated`]);
    });

    it('an invalid maxPayload throws InvalidArgumentError on every face', () => {
      for (const face of env.faces) {
        for (const maxPayload of [-1, 1.5, Number.NaN, 2 ** 53, '1024' as unknown as number]) {
          let made: ReturnType<typeof face.create> | undefined;
          let thrown: unknown;
          try {
            made = face.create({ maxPayload });
          } catch (error) {
            thrown = error;
          } finally {
            if (made !== undefined) 'terminate' in made ? made.terminate() : made.close();
          }
          expect(thrown, `${face.name} with maxPayload ${String(maxPayload)}`).toBeInstanceOf(InvalidArgumentError);
          expect((thrown as WebSocketError).code).toBe(ErrorCode.INVALID_ARGUMENT);
        }
      }
    });

    it('server: the heartbeat starts when the connection opens: nothing while CONNECTING, a ping within the interval once OPEN', async () => {
      const interval = 100;
      const { peer, opened } = await env.acceptRaw({ heartbeat: { interval } });
      // The request comes late: the connection stays CONNECTING for three intervals.
      await sleep(3 * interval);
      expect(peer.received).toBe(0);
      void peer.write(openingRequest(false));
      await withTimeout(peer.head, 'the 101 response', STEP_MS);
      const start = Date.now();
      const ws = await opened;
      expect(ws.readyState).toBe(ReadyState.OPEN);
      const first = await nextFrame(peer, 'the first ping', 2000);
      expect(describeFrame(first)).toBe('ping');
      expect(Date.now() - start).toBeLessThan(interval * 2.5);
    });

    it('client: the heartbeat starts when the connection opens: nothing while CONNECTING, a ping within the interval once OPEN', async () => {
      const interval = 100;
      const { ws, peer } = await env.connectRaw({ heartbeat: { interval } });
      await sleep(3 * interval);
      expect(ws.readyState).toBe(ReadyState.CONNECTING);
      expect(peer.received).toBe(0);
      const open = withTimeout(new Promise((resolve) => ws.once('open', resolve)), 'the client to open', STEP_MS);
      void peer.write(switchingProtocols(await peer.head, false));
      await open;
      const start = Date.now();
      const first = await nextFrame(peer, 'the first ping', 2000);
      expect(describeFrame(first)).toBe('ping');
      expect(Date.now() - start).toBeLessThan(interval * 2.5);
    });

    for (const side of ['server', 'client'] as const) {
      it(`${side}: with streamMessages, a message arrives as 'fragment' events (data, isBinary, first, last) and no 'message'`, async () => {
        const peerSide: PeerSide = side === 'server' ? 'client' : 'server';
        const { ws, peer } = side === 'server' ? await openServer(env, { streamMessages: true }) : await openClient(env, { streamMessages: true });
        let messageEvents = 0;
        const pieces: Array<[text: string, isBinary: boolean, first: boolean, last: boolean]> = [];
        ws.on('message', () => messageEvents++);
        ws.on('fragment', (data: Uint8Array, isBinary: boolean, first: boolean, last: boolean) => pieces.push([textOf(data), isBinary, first, last]));
        void peer.write(concatBytes([peerFrame(peerSide, Opcode.TEXT, 'hel', { fin: false }), peerFrame(peerSide, Opcode.CONTINUATION, 'lo')]));
        void peer.write(peerFrame(peerSide, Opcode.BINARY, 'bin'));
        await until(() => pieces.filter(([, , , last]) => last).length === 2, "both messages' last 'fragment' events");
        await sleep(20);
        // The pieces of each message, joined, with the flags of its first and last piece.
        const messages: string[] = [];
        for (const [data, isBinary, first, last] of pieces) {
          if (first) messages.push(`${isBinary ? 'binary' : 'text'} [`);
          messages[messages.length - 1] += data + (last ? ']' : '');
        }
        expect(messages).toEqual(['text [hello]', 'binary [bin]']);
        expect(messageEvents).toBe(0);
      });
    }
  });

  describe('backpressure', () => {
    for (const sender of ['client', 'server'] as const) {
      it(`${sender}: send returns false from the high-water mark on, bufferedAmount is exact, and 'drain' follows`, async () => {
        const highWaterMark = 1000;
        const pair = await env.pair(sender === 'client' ? { highWaterMark } : {}, sender === 'server' ? { highWaterMark } : {});
        const [from, to] = sender === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
        const received: number[] = [];
        to.on('message', (data: Uint8Array) => received.push(data.length));
        const drained = withTimeout(new Promise((resolve) => from.once('drain', resolve)), "'drain'", STEP_MS);
        expect(from.send(new Uint8Array(400))).toBe(true);
        expect(from.bufferedAmount).toBe(400);
        expect(from.send('x'.repeat(400))).toBe(true);
        expect(from.bufferedAmount).toBe(800);
        expect(from.send(new Uint8Array(400))).toBe(false);
        expect(from.bufferedAmount).toBe(1200);
        await drained;
        expect(from.bufferedAmount).toBe(0);
        expect(from.send(new Uint8Array(1))).toBe(true);
        await until(() => received.length === 4, 'four messages');
        expect(received).toEqual([400, 400, 400, 1]);
      });
    }

    it('both ends send many small messages at once: all of them arrive both ways (message bytes never stop reading)', async () => {
      const { client, server } = await env.pair();
      const count = 50_000;
      const received = { client: 0, server: 0 };
      client.on('message', () => received.client++);
      server.on('message', () => received.server++);
      // Frame headers outweigh one-byte payloads: what waits is mostly not message bytes, yet it is the messages'.
      for (let i = 0; i < count; i++) {
        client.send('c');
        server.send('s');
      }
      await until(() => received.client === count && received.server === count, `${count} messages each way (${JSON.stringify(received)} so far)`);
      expect([client.readyState, server.readyState]).toEqual([ReadyState.OPEN, ReadyState.OPEN]);
    });

    it('server: pause() stops reading (the peer backs up) and resume() reads on, in order', async () => {
      const { ws, peer } = await openServer(env);
      const received: number[] = [];
      ws.on('message', (data: unknown) => received.push(Number.parseInt(textOf(data), 10)));
      ws.pause();
      expect(ws.isPaused).toBe(true);
      const size = 64 * 1024;
      let sent = 0;
      while (peer.unsent < 512 * 1024 && sent < 1024) {
        void peer.write(peerFrame('client', Opcode.TEXT, String(sent++).padEnd(size, '.')));
        await nextTurn();
      }
      expect(peer.unsent).toBeGreaterThanOrEqual(512 * 1024);
      await sleep(100);
      expect(received).toEqual([]);
      expect(peer.unsent).toBeGreaterThanOrEqual(512 * 1024);
      ws.resume();
      expect(ws.isPaused).toBe(false);
      await until(() => received.length === sent, `${sent} messages`);
      expect(received).toEqual(Array.from({ length: sent }, (_, i) => i));
      await until(() => peer.unsent === 0, "the peer's writes to flow");
    });

    for (const action of ['close', 'terminate'] as const) {
      it(`server: past maxBufferedAmount with a peer that never reads, onBufferOverflow '${action}' ${action === 'close' ? 'fails the connection with 1008' : 'drops it (1006)'}`, async () => {
        const limit = 1024 * 1024;
        const { ws, peer } = await openServer(env, { maxBufferedAmount: limit, onBufferOverflow: action, closeTimeout: 10_000 });
        peer.pause();
        const errors = errorsOf(ws);
        const closed = closeOf(ws, STEP_MS * 2);
        const chunk = new Uint8Array(256 * 1024);
        // Each send's callback outcome, by send: null once written, else the error.
        const outcomes: Array<Error | null | undefined | 'called twice'> = [];
        let sends = 0;
        let peak = 0;
        while (errors.length === 0 && sends < 400) {
          const index = sends;
          ws.send(chunk, (error) => (outcomes[index] = index in outcomes ? 'called twice' : error));
          sends++;
          peak = Math.max(peak, ws.bufferedAmount);
          await nextTurn();
        }
        expect(errors.map((error) => [error.code, error.closeCode])).toEqual([[ErrorCode.BUFFER_OVERFLOW, action === 'close' ? 1008 : undefined]]);
        // Bounded: never more than the limit and the one send that crossed it.
        expect(sends * chunk.length).toBeGreaterThan(limit);
        expect(peak).toBeLessThanOrEqual(limit + chunk.length);
        const late = sendOutcome();
        expect(ws.send(chunk, late.callback)).toBe(false);
        expect(await late.outcome).toBeInstanceOf(Error);
        const overflowAt = Date.now();
        if (action === 'terminate') {
          expect((await closed).code).toBe(1006);
          expect(Date.now() - overflowAt).toBeLessThan(2000);
          // A peer that does not read does not see the connection go either.
          peer.resume();
          await withTimeout(peer.closed, 'the connection to close', STEP_MS);
          await sleep(20);
          // Every callback was called once, in order: those written (null), then those dropped.
          const written = outcomes.filter((outcome) => outcome === null).length;
          expect(outcomes.length).toBe(sends);
          expect(outcomes.slice(0, written).every((outcome) => outcome === null)).toBe(true);
          expect(outcomes.slice(written).every((outcome) => outcome instanceof Error)).toBe(true);
          expect(written).toBeLessThan(sends);
          return;
        }
        expect(ws.readyState).toBe(ReadyState.CLOSING);
        // The peer reads again: every message it was sent, then the close frame, nothing after it.
        peer.resume();
        const lines = await framesUntilClose(peer, 'client', true, true);
        expect(lines.length).toBe(sends + 1);
        expect(lines.slice(0, -1).every((line) => line === `binary ${chunk.length} bytes`)).toBe(true);
        expect(lines.at(-1)).toBe('close 1008 send buffer overflow');
        // Failed, it reads no close frame: 1006, as soon as its close frame is out (not after closeTimeout).
        const { code, wasClean } = await closed;
        expect([code, wasClean]).toEqual([1006, false]);
        expect(Date.now() - overflowAt).toBeLessThan(5000);
        expect(outcomes).toEqual(Array.from({ length: sends }, () => null));
      });
    }

    it('server: a peer that floods pings and reads no pongs is stopped being read; it reads again once the pongs flow', async () => {
      const { ws, peer } = await openServer(env, { highWaterMark: 16 * 1024 });
      let pings = 0;
      ws.on('ping', () => pings++);
      peer.pause();
      const batch = concatBytes(Array.from({ length: 512 }, () => peerFrame('client', Opcode.PING, new Uint8Array(125))));
      let batches = 0;
      while (peer.unsent < 512 * 1024 && batches < 1000) {
        void peer.write(batch);
        batches++;
        await nextTurn();
      }
      expect(peer.unsent).toBeGreaterThanOrEqual(512 * 1024);
      const plateau = pings;
      await sleep(100);
      // Reading stopped: no more pings taken in, and so no more pongs queued.
      expect(pings).toBe(plateau);
      expect(plateau).toBeLessThan(batches * 512);
      let pongs = 0;
      peer.frames.next('never', (frame) => {
        if (frame.opcode === Opcode.PONG) pongs++;
        return false;
      }, STEP_MS * 2).catch(() => {});
      peer.resume();
      await until(() => pings === batches * 512, `all ${batches * 512} pings to be read (${pings} so far)`, STEP_MS * 2);
      expect(ws.readyState).toBe(ReadyState.OPEN);
    });
  });

  describe('timers', () => {
    for (const side of ['server', 'client'] as const) {
      it(`${side}: closeTimeout cuts off a peer that never answers our close frame (1006)`, async () => {
        const closeTimeout = 200;
        const { ws, peer } = side === 'server' ? await openServer(env, { closeTimeout }) : await openClient(env, { closeTimeout });
        const closed = closeOf(ws);
        const start = Date.now();
        ws.close(1000, 'bye');
        expect(describeFrame(await nextFrame(peer))).toBe('close 1000 bye');
        const { code, wasClean } = await closed;
        const elapsed = Date.now() - start;
        expect([code, wasClean]).toEqual([1006, false]);
        expect(elapsed).toBeGreaterThanOrEqual(closeTimeout - 20);
        expect(elapsed).toBeLessThan(closeTimeout + 1500);
        await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      });
    }

    it('client: a server that answers our close frame but never closes the connection is cut off after closeTimeout', async () => {
      const closeTimeout = 200;
      const { ws, peer } = await openClient(env, { closeTimeout });
      const closed = closeOf(ws);
      const start = Date.now();
      ws.close(4006, 'client done');
      expect(describeFrame(await nextFrame(peer))).toBe('close 4006 client done');
      void peer.write(peerClose('server', 4006, 'client done'));
      // RFC 6455 §7.1.1: the client waits for the server to close the TCP connection first, but not forever.
      expect(await closed).toEqual({ code: 4006, reason: 'client done', wasClean: true });
      expect(Date.now() - start).toBeGreaterThanOrEqual(closeTimeout - 20);
      await withTimeout(peer.closed, 'the connection to close', STEP_MS);
    });

    it("server: idleTimeout closes a quiet connection with 1001 'idle timeout', and traffic defers it", async () => {
      const idleTimeout = 200;
      const { ws, peer } = await openServer(env, { idleTimeout });
      const closed = closeOf(ws);
      const seen: string[] = [];
      let lastSent = 0;
      for (let i = 0; i < 6; i++) {
        if (i > 0) await sleep(idleTimeout / 3);
        lastSent = Date.now();
        void peer.write(peerFrame('client', Opcode.PING, 'still here'));
      }
      for (;;) {
        const line = describeFrame(await nextFrame(peer));
        seen.push(line);
        if (line.startsWith('close')) break;
      }
      expect(Date.now() - lastSent).toBeGreaterThanOrEqual(idleTimeout - 20);
      expect(seen).toEqual([...Array.from({ length: 6 }, () => 'pong'), 'close 1001 idle timeout']);
      void peer.write(peerClose('client', 1001));
      expect(await closed).toEqual({ code: 1001, reason: '', wasClean: true });
    });

    it('server: idleTimeout counts from the open: a connection CONNECTING for longer than idleTimeout still closes once idle', async () => {
      const idleTimeout = 100;
      const { peer, opened } = await env.acceptRaw({ idleTimeout, handshakeTimeout: 0 });
      await sleep(3 * idleTimeout);
      void peer.write(openingRequest(false));
      await withTimeout(peer.head, 'the 101 response', STEP_MS);
      const start = Date.now();
      const ws = await opened;
      const closed = closeOf(ws);
      expect(describeFrame(await nextFrame(peer, 'the idle close frame', 2000))).toBe('close 1001 idle timeout');
      expect(Date.now() - start).toBeGreaterThanOrEqual(idleTimeout - 20);
      void peer.write(peerClose('client', 1001));
      expect((await closed).code).toBe(1001);
    });

    it('server: the heartbeat terminates a peer that stops answering pings (an error, then 1006); one that answers stays', async () => {
      const heartbeat = { interval: 100, timeout: 100 };
      const silent = await openServer(env, { heartbeat });
      const errors = errorsOf(silent.ws);
      const closed = closeOf(silent.ws);
      const start = Date.now();
      expect(describeFrame(await nextFrame(silent.peer))).toBe('ping');
      expect((await closed).code).toBe(1006);
      expect(Date.now() - start).toBeLessThan(heartbeat.interval + heartbeat.timeout + 1000);
      expect(errors.map((error) => error.code)).toEqual([ErrorCode.TIMEOUT]);

      const { client, server } = await env.pair({}, { heartbeat });
      let pongs = 0;
      server.on('pong', () => pongs++);
      await sleep(heartbeat.interval * 5);
      expect([client.readyState, server.readyState]).toEqual([ReadyState.OPEN, ReadyState.OPEN]);
      expect(pongs).toBeGreaterThanOrEqual(3);
    });

    if (traits.requestOpensTransport !== true) it('server: a peer that connects and says nothing is cut off after handshakeTimeout', async () => {
      const handshakeTimeout = 150;
      const { peer, early } = await env.acceptRaw({ handshakeTimeout });
      const errors = early === null ? [] : errorsOf(early);
      const closed = early === null ? null : closeOf(early);
      const start = Date.now();
      await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      expect(Date.now() - start).toBeGreaterThanOrEqual(handshakeTimeout - 20);
      expect(peer.received).toBe(0);
      if (closed !== null) {
        expect((await closed).code).toBe(1006);
        expect(errors.map((error) => error.code)).toEqual([ErrorCode.TIMEOUT]);
      }
    });

    it('server: a refused request is answered whole, even to a peer that reads it only after handshakeTimeout; one error, no timeout', async () => {
      const handshakeTimeout = 100;
      const { peer, early } = await env.acceptRaw({ handshakeTimeout, closeTimeout: 3000 });
      const errors = early === null ? [] : errorsOf(early);
      const closed = early === null ? null : closeOf(early);
      peer.pause();
      void peer.write(utf8Encode('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      await sleep(handshakeTimeout * 3);
      peer.resume();
      const response = await withTimeout(peer.head, 'the error response', STEP_MS);
      expect(response.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 4\d\d /);
      await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      if (closed !== null) {
        expect((await closed).code).toBe(1006);
        expect(errors.map((error) => error.code)).toEqual([ErrorCode.HANDSHAKE]);
      }
    });

    it('client: a server that never answers the opening request is cut off after handshakeTimeout (an error, then 1006)', async () => {
      const handshakeTimeout = 150;
      const { ws, peer } = await env.connectRaw({ handshakeTimeout });
      const errors = errorsOf(ws);
      const closed = closeOf(ws);
      const start = Date.now();
      const { code, wasClean } = await closed;
      expect([code, wasClean]).toEqual([1006, false]);
      expect(Date.now() - start).toBeGreaterThanOrEqual(handshakeTimeout - 40);
      expect(errors.map((error) => error.code)).toEqual([ErrorCode.TIMEOUT]);
      await withTimeout(peer.closed, 'the connection to close', STEP_MS);
    });
  });

  describe('closing', () => {
    for (const closer of ['client', 'server'] as const) {
      it(`${closer} closes: a clean close on both ends with the code and reason echoed`, async () => {
        const pair = await env.pair();
        const [from, to] = closer === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
        const closedFrom = closeOf(from);
        const closedTo = closeOf(to);
        from.close(4001, `${closer} says bye`);
        expect(await closedTo).toEqual({ code: 4001, reason: `${closer} says bye`, wasClean: true });
        expect(await closedFrom).toEqual({ code: 4001, reason: `${closer} says bye`, wasClean: true });
      });
    }

    for (const side of ['server', 'client'] as const) {
      it(`${side}: the answering close frame echoes the peer's code and reason`, async () => {
        const peerSide: PeerSide = side === 'server' ? 'client' : 'server';
        const { ws, peer } = side === 'server' ? await openServer(env) : await openClient(env);
        const closed = closeOf(ws);
        void peer.write(peerClose(peerSide, 4003, 'echo me ✓'));
        expect(describeFrame(await nextFrame(peer))).toBe('close 4003 echo me ✓');
        if (peerSide === 'server') peer.end();
        expect(await closed).toEqual({ code: 4003, reason: 'echo me ✓', wasClean: true });
        await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      });
    }

    it('terminate() drops the connection without a close frame: 1006 on our end, the peer sees it close', async () => {
      const { ws, peer } = await openServer(env);
      const closed = closeOf(ws);
      ws.terminate();
      expect(ws.readyState).toBe(ReadyState.CLOSING);
      expect(await closed).toMatchObject({ code: 1006, wasClean: false });
      await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      expect(peer.received).toBe(0);

      const pair = await env.pair();
      const clientClosed = closeOf(pair.client);
      pair.server.terminate();
      expect((await clientClosed).code).toBe(1006);
    });

    it('terminate() with writes in flight and queued: every send callback is called once, in order, before the close event (null for what was taken, then errors)', async () => {
      const bad: string[] = [];
      // Terminate at every point of the first writes' way to the transport (microtasks apart).
      for (let first = 0; first <= 6; first++) {
        for (let second = 0; second <= 6; second++) {
          const { ws } = await openServer(env);
          const outcomes: string[] = [];
          const record = (name: string) => (error?: Error | null) => outcomes.push(`${name} ${error === null ? 'null' : error instanceof Error ? 'error' : String(error)}`);
          let closedWith: string[] | null = null;
          ws.on('close', () => (closedWith = [...outcomes]));
          ws.send(new Uint8Array(100 * 1024), record('a'));
          for (let i = 0; i < first; i++) await Promise.resolve();
          ws.send(new Uint8Array(10), record('b'));
          for (let i = 0; i < second; i++) await Promise.resolve();
          ws.terminate();
          await until(() => closedWith !== null, 'the close event');
          await sleep(5);
          const order = outcomes.map((outcome) => outcome.split(' ')[0]).join(',');
          const firstError = outcomes.findIndex((outcome) => outcome.endsWith('error'));
          const inOrder = order === 'a,b' && (firstError === -1 || outcomes.slice(firstError).every((outcome) => outcome.endsWith('error')));
          if (!inOrder || closedWith!.length !== 2) bad.push(`${first}/${second}: ${JSON.stringify(outcomes)} (${closedWith!.length} before the close)`);
          await env.cleanup();
        }
      }
      expect(bad).toEqual([]);
    });

    for (const side of ['server', 'client'] as const) {
      it(`${side}: a peer vanishing in the middle of a message: 1006, and no message`, async () => {
        const peerSide: PeerSide = side === 'server' ? 'client' : 'server';
        const { ws, peer } = side === 'server' ? await openServer(env) : await openClient(env);
        const messages: string[] = [];
        ws.on('message', (data: unknown) => messages.push(textOf(data)));
        const closed = closeOf(ws);
        const next = peerFrame(peerSide, Opcode.CONTINUATION, 'llo');
        await peer.deliver(concatBytes([peerFrame(peerSide, Opcode.TEXT, 'he', { fin: false }), next.subarray(0, 4)]));
        peer.destroy();
        expect(await closed).toMatchObject({ code: 1006, wasClean: false });
        expect(messages).toEqual([]);
      });

      it(`${side}: a peer that sends its close frame and ends its side at once gets our answer, and the close is clean`, async () => {
        const peerSide: PeerSide = side === 'server' ? 'client' : 'server';
        const { ws, peer } = side === 'server' ? await openServer(env) : await openClient(env);
        const closed = closeOf(ws);
        void peer.write(peerClose(peerSide, 4005, 'and goodbye'));
        peer.end();
        expect(await closed).toEqual({ code: 4005, reason: 'and goodbye', wasClean: true });
        expect(describeFrame(await nextFrame(peer))).toBe('close 4005 and goodbye');
        await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      });
    }

    for (const side of ['server', 'client'] as const) {
      it(`${side}: ping() and an unsolicited pong() go out with their payloads, each callback null once written; the peer's pong is reported`, async () => {
        const peerSide: PeerSide = side === 'server' ? 'client' : 'server';
        const { ws, peer } = side === 'server' ? await openServer(env) : await openClient(env);
        const pinged = sendOutcome();
        const ponged = sendOutcome();
        ws.ping('are you there', false, pinged.callback);
        ws.pong('heartbeat', false, ponged.callback);
        const ping = await nextFrame(peer, 'the ping');
        const pong = await nextFrame(peer, 'the pong');
        expect([ping.opcode, text(ping.payload), ping.masked]).toEqual([Opcode.PING, 'are you there', side === 'client']);
        expect([pong.opcode, text(pong.payload), pong.masked]).toEqual([Opcode.PONG, 'heartbeat', side === 'client']);
        expect(await pinged.outcome).toBeNull();
        expect(await ponged.outcome).toBeNull();
        const answer = withTimeout(new Promise<unknown>((resolve) => ws.once('pong', resolve)), "the 'pong' event", STEP_MS);
        void peer.write(peerFrame(peerSide, Opcode.PONG, 'are you there'));
        expect(textOf(await answer)).toBe('are you there');
        expect(ws.readyState).toBe(ReadyState.OPEN);
      });
    }

    it('client: close() again once the server answered our close frame closes the connection at once, without waiting for closeTimeout', async () => {
      const closeTimeout = 3000;
      const { ws, peer } = await openClient(env, { closeTimeout });
      const closed = closeOf(ws);
      ws.close(4007, 'first');
      expect(describeFrame(await nextFrame(peer))).toBe('close 4007 first');
      // The server answers but keeps the connection open (RFC 6455 §7.1.1 has it close first).
      await peer.deliver(peerClose('server', 4007, 'first'));
      const start = Date.now();
      ws.close();
      expect(ws.readyState).toBe(ReadyState.CLOSING);
      // Our end closes its side: the peer sees the connection end, and the close is clean.
      await withTimeout(peer.closed, 'the connection to close', STEP_MS);
      expect(await closed).toEqual({ code: 4007, reason: 'first', wasClean: true });
      expect(Date.now() - start).toBeLessThan(closeTimeout / 2);
      // Nothing followed our close frame.
      expect(peer.frames.all().map((frame) => describeFrame(frame))).toEqual(['close 4007 first']);
    });

    it('send callbacks get null once written, and an error for a send after close()', async () => {
      const { client } = await env.pair();
      const first = sendOutcome();
      expect(client.send('written', first.callback)).toBe(true);
      expect(await first.outcome).toBeNull();
      const closed = closeOf(client);
      client.close(1000);
      const late = sendOutcome();
      expect(client.send('too late', late.callback)).toBe(false);
      expect(await late.outcome).toBeInstanceOf(Error);
      await closed;
      const afterClose = sendOutcome();
      expect(client.send(utf8Encode('after the close event'), afterClose.callback)).toBe(false);
      expect(await afterClose.outcome).toBeInstanceOf(Error);
    });
  });
}
