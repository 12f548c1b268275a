/**
 * The load generator's connections, as one worker thread runs them: each a TCP (or TLS)
 * socket driven by the Sans-I/O `ClientConnection`, which does the opening handshake and
 * parses what the server sends; data frames bypass it on the way out (they come
 * pre-encoded from the `FrameSource`) and are written to the socket directly.
 *
 * Phases, driven by the main thread: connect every connection; load (warm-up, nothing
 * counted); measure (counted); stop (the counters are frozen, sending stops, in-flight echoes
 * are awaited for a moment, every connection is closed with 1000).
 *
 * With `replies: 'echo'` every message received is taken as the echo of the oldest one in
 * flight; with `replies: 'count'` (broadcast and pub/sub servers) messages are sent without
 * waiting for anything and whatever arrives is only counted. Either way a connection has at
 * most `maxInFlight` frames waiting to be written: the socket's write callbacks say when each
 * is written, and only then may its buffer be reused (`frames.ts`).
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { isUtf8 } from 'node:buffer';
import type { JsHistogram } from 'hdr-histogram-js';
import { perMessageDeflateNode } from '../../adapters/node/deflate.js';
import { createZlibEngine } from '../../adapters/node/deflate-zlib.js';
import { createMessageCompressor } from '../../protocol/extensions/permessage-deflate.js';
import { nodeSha1 } from '../../adapters/node/sha1.js';
import { type Codec, createCodecSync } from '../../codec/index.js';
import { ClientConnection } from '../../protocol/client-connection.js';
import type { ConnectionEvent } from '../../protocol/events.js';
import type { Extension } from '../../protocol/extension.js';
import { PerMessageDeflate, type PerMessageDeflateNegotiators, PERMESSAGE_DEFLATE } from '../../protocol/extensions/index.js';
import { CloseCode, ReadyState } from '../../shared/constants.js';
import { HandshakeError, ProtocolError } from '../../shared/errors.js';
import { type RandomSource, webCryptoRandom } from '../../shared/ports.js';
import { createFrameFactory, type FrameFactory, type FrameSource, plainPayloads, type WirePayload } from './frames.js';
import { createLatencyHistogram } from './latency.js';
import { type LoadMode, type MaskMode, MAX_MESSAGE_SIZE, type MessageType, type ReplyMode, type SizeWeight } from './options.js';
import { createSizePicker, makePayloads } from './payload.js';

/** What a worker is given: its share of the connections and everything about the load. */
export interface WorkerConfig {
  readonly url: string;
  /** Index of this worker's first connection, and how many it runs. */
  readonly firstConnection: number;
  readonly connectionCount: number;
  readonly totalConnections: number;
  readonly sizes: readonly SizeWeight[];
  readonly messageType: MessageType;
  readonly mode: LoadMode;
  /** What the server sends back: echoes of every message, or anything (only counted). */
  readonly replies: ReplyMode;
  readonly subprotocols: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** Offer permessage-deflate (RFC 7692). */
  readonly deflate: boolean;
  readonly mask: MaskMode;
  readonly codec: 'auto' | 'wasm' | 'portable';
  readonly connectTimeoutMs: number;
  readonly insecure: boolean;
}

/** Counters of a worker; the measured ones are reset when measuring starts. */
export interface LoadCounters {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  /** Open loop: messages that were due while the connection's backlog was full. */
  skipped: number;
}

/** An error kind with how often it happened and the first message seen. */
export interface ErrorTally {
  count: number;
  readonly example: string;
}

/** What a worker reports after stopping. */
export interface WorkerReport {
  readonly counters: LoadCounters;
  /** Latency histogram buckets (`histogramBuckets`), nanoseconds. */
  readonly latency: number[];
  readonly errors: Record<string, ErrorTally>;
  readonly closeCodes: Record<string, number>;
  /** Connections still open when the measurement ended. */
  readonly openAtEnd: number;
  readonly protocol: string | null;
  readonly extensions: string[];
  readonly codec: string;
}

/** Connection attempts running at once per worker: keeps the server's accept backlog short. */
export const MAX_PENDING_HANDSHAKES = 128;

/** How long stopping waits for echoes still in flight before closing anyway. */
export const DRAIN_TIMEOUT_MS = 2000;

/** How long each connection's closing handshake may take before the socket is destroyed. */
export const CLOSE_TIMEOUT_MS = 2000;

/** Open-loop pacing tick: due messages are sent every millisecond (Node's timer resolution). */
const OPEN_LOOP_TICK_MS = 1;

const enum Phase {
  CONNECTING,
  LOADING,
  MEASURING,
  STOPPED,
}

/** Everything a worker's connections share. */
class LoadContext {
  readonly config: WorkerConfig;
  readonly url: URL;
  readonly codec: Codec;
  readonly random: RandomSource = webCryptoRandom;
  readonly payloads: Uint8Array[];
  /** Replaced by compressed frames once permessage-deflate is agreed (`useDeflate`). */
  frames: FrameFactory;
  readonly deflate: PerMessageDeflateNegotiators | null;
  readonly pickSize: () => number;
  readonly histogram: JsHistogram = createLatencyHistogram();
  readonly counters: LoadCounters = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, skipped: 0 };
  /** Every message received, measured or not (for the progress line). */
  totalReceived = 0;
  totalErrors = 0;
  readonly errors: Record<string, ErrorTally> = {};
  readonly closeCodes: Record<string, number> = {};
  phase = Phase.CONNECTING;
  readonly expectBinary: boolean;
  /** Whether messages received are echoes (matched to the ones sent) or only counted. */
  readonly echo: boolean;
  /** The most echoes awaited, and the most frames waiting to be written, per connection. */
  readonly maxInFlight: number;

  constructor(config: WorkerConfig) {
    this.config = config;
    this.url = new URL(config.url);
    // The generator is a Node program: Node's simdutf validator serves the wasm codec (see select.ts).
    this.codec = createCodecSync({ implementation: config.codec, platformIsUtf8: isUtf8 });
    this.payloads = makePayloads(config.sizes, config.messageType);
    this.frames = createFrameFactory(this.codec, this.random, plainPayloads(this.payloads), config.messageType, config.mask);
    // Each message compressed on its own (client_no_context_takeover, RFC 7692 §7.1.1.2), so
    // that one compressed frame serves every send of the same payload.
    this.deflate = config.deflate ? perMessageDeflateNode({ clientNoContextTakeover: true }) : null;
    this.pickSize = createSizePicker(config.sizes, 0x5eed + config.firstConnection);
    this.expectBinary = config.messageType === 'binary';
    this.echo = config.replies === 'echo';
    this.maxInFlight = config.mode.kind === 'closed' ? config.mode.depth : config.mode.kind === 'open' ? config.mode.maxInFlight : 1;
  }

  get sending(): boolean {
    return this.phase === Phase.LOADING || this.phase === Phase.MEASURING;
  }

  /**
   * permessage-deflate was agreed with these terms: compress every payload the extension
   * would compress (from its threshold on), once, each as a message of its own, and send
   * those frames (RSV1 set) from now on.
   */
  async useDeflate(extension: PerMessageDeflate): Promise<void> {
    const compressor = createMessageCompressor(createZlibEngine(), { windowBits: extension.agreement.clientMaxWindowBits, contextTakeover: false });
    const binary = this.expectBinary;
    const wire: WirePayload[] = [];
    try {
      for (const payload of this.payloads) {
        wire.push(extension.shouldEncode(binary, payload.length) ? { bytes: await compressor.compress(payload, true), rsv: 0b100 } : { bytes: payload, rsv: 0 });
      }
    } finally {
      compressor.dispose();
    }
    this.frames = createFrameFactory(this.codec, this.random, wire, this.config.messageType, this.config.mask);
  }

  countError(kind: string, message: string): void {
    this.totalErrors++;
    const tally = this.errors[kind];
    if (tally === undefined) this.errors[kind] = { count: 1, example: message };
    else tally.count++;
  }
}

/** A failure to connect, as an error kind and a message. */
function describeFailure(error: Error & { code?: string }): [string, string] {
  if (error instanceof HandshakeError) {
    return [error.status === 101 ? 'handshake: invalid 101 response' : `handshake: HTTP ${error.status}`, error.message];
  }
  if (error instanceof ProtocolError) return [`protocol: ${error.code}`, error.message];
  if (typeof error.code === 'string') return [`socket: ${error.code}`, error.message];
  return ['socket', error.message];
}

/** One connection of the load. */
class LoadConnection {
  readonly #context: LoadContext;
  readonly #index: number;
  #socket: Socket | null = null;
  #connection: ClientConnection | null = null;
  #frames: FrameSource | null = null;
  /** In-flight messages, oldest first: when each was sent (or due) and which payload it carries. */
  readonly #sentAt: Float64Array;
  readonly #payloadIndex: Int32Array;
  #head = 0;
  #inFlight = 0;
  /** Frames handed to the socket whose write has not completed yet. */
  #unwritten = 0;
  /** A closed-loop refill is queued (a write completed while the pipeline was short). */
  #refillQueued = false;
  /** The write callback of every data frame (one function, made once). */
  readonly #onWritten = (): void => this.#written();
  readonly #refill = (): void => {
    this.#refillQueued = false;
    const socket = this.#socket!;
    socket.cork();
    this.#fill();
    socket.uncork();
  };
  /** Open loop: when this connection's schedule starts, and how many messages it has scheduled. */
  #scheduleStart = 0;
  #scheduled = 0;
  #opened = false;
  #closed = false;
  #onOpen: ((opened: boolean) => void) | null = null;
  #onClosed: (() => void) | null = null;
  #onDrained: (() => void) | null = null;

  constructor(context: LoadContext, index: number) {
    this.#context = context;
    this.#index = index;
    this.#sentAt = new Float64Array(context.maxInFlight);
    this.#payloadIndex = new Int32Array(context.maxInFlight);
  }

  get open(): boolean {
    return this.#opened && !this.#closed;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get protocol(): string | null {
    return this.#connection?.protocol ?? null;
  }

  get extensionNames(): string[] {
    return (this.#connection?.extensions ?? []).map((extension) => extension.name);
  }

  /** The agreed permessage-deflate, if any. */
  get deflate(): PerMessageDeflate | null {
    const found = (this.#connection?.extensions ?? []).find((negotiated) => negotiated.name === PERMESSAGE_DEFLATE);
    const extension: Extension | undefined = found?.extension;
    return extension instanceof PerMessageDeflate ? extension : null;
  }

  /** Connect and complete the opening handshake; resolves to whether the connection is open. */
  connect(): Promise<boolean> {
    const { url, config } = this.#context;
    const secure = url.protocol === 'wss:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    return new Promise((resolve) => {
      this.#onOpen = resolve;
      let connection: ClientConnection;
      try {
        connection = new ClientConnection({
          codec: this.#context.codec,
          random: this.#context.random,
          sha1: nodeSha1,
          host,
          port,
          secure,
          path: `${url.pathname}${url.search}`,
          protocols: config.subprotocols,
          headers: config.headers,
          extensions: this.#context.deflate === null ? [] : [this.#context.deflate.client],
          // Decompression finishes on zlib's thread pool: collect its messages then.
          onWake: () => this.#pump(),
          // Echoes are as large as what is sent; other servers may send anything the generator could.
          limits: {
            maxMessageSize: (this.#context.echo ? Math.max(...config.sizes.map(({ size }) => size)) : MAX_MESSAGE_SIZE) + 1024,
            maxFrameSize: Number.MAX_SAFE_INTEGER,
          },
        });
      } catch (error) {
        this.#fail(error as Error);
        return;
      }
      this.#connection = connection;
      const socket = secure
        ? tlsConnect({ host, port, servername: isIP(host) === 0 ? host : undefined, rejectUnauthorized: !config.insecure })
        : netConnect({ host, port });
      this.#socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => this.#fail(new Error(`the opening handshake did not complete within ${config.connectTimeoutMs} ms`)), config.connectTimeoutMs);
      timer.unref();
      this.#onOpen = (opened) => {
        clearTimeout(timer);
        resolve(opened);
      };
      socket.once(secure ? 'secureConnect' : 'connect', () => this.#pump());
      socket.on('data', (chunk: Buffer) => this.#receive(chunk));
      socket.on('end', () => {
        connection.receiveEof();
        this.#pump();
      });
      socket.on('error', (error) => this.#fail(error));
      socket.on('close', () => {
        connection.abort();
        this.#pump();
        this.#finish();
      });
    });
  }

  /** Closed loop: fill the pipeline (`maxInFlight` deep). */
  startClosedLoop(): void {
    this.#refill();
  }

  /** Open loop: start the schedule at `start` (ms), `interval` ms between this connection's messages. */
  startOpenLoop(start: number): void {
    this.#scheduleStart = start;
    this.#scheduled = 0;
  }

  /** Open loop: send every message due by `now`; those due while the backlog is full are skipped. */
  sendDue(now: number, interval: number): void {
    if (!this.open) return;
    const due = Math.floor((now - this.#scheduleStart) / interval) + 1;
    if (due <= this.#scheduled) return;
    const socket = this.#socket!;
    socket.cork();
    const context = this.#context;
    for (; this.#scheduled < due; this.#scheduled++) {
      if (this.#inFlight === context.maxInFlight || this.#unwritten === context.maxInFlight) {
        if (context.phase === Phase.MEASURING) context.counters.skipped++;
        continue;
      }
      // Latency counts from when the message was due, not from when it could be sent.
      this.#send(this.#scheduleStart + this.#scheduled * interval);
    }
    socket.uncork();
  }

  /** Resolves once no echo is awaited (or the connection is gone). */
  drained(): Promise<void> {
    if (this.#inFlight === 0 || !this.open) return Promise.resolve();
    return new Promise((resolve) => (this.#onDrained = resolve));
  }

  /** Close with 1000 and wait for the closing handshake (bounded); resolves when the socket is closed. */
  close(): Promise<void> {
    if (this.#closed || this.#socket === null) return Promise.resolve();
    const closed = new Promise<void>((resolve) => (this.#onClosed = resolve));
    const connection = this.#connection!;
    if (connection.state === ReadyState.OPEN) {
      connection.sendClose(CloseCode.NORMAL, '');
      this.#pump();
    }
    const timer = setTimeout(() => this.#socket?.destroy(), CLOSE_TIMEOUT_MS);
    timer.unref();
    return closed.finally(() => clearTimeout(timer));
  }

  /**
   * Closed loop: send until `maxInFlight` echoes are awaited (with `replies: 'echo'`) and
   * until `maxInFlight` frames wait to be written.
   */
  #fill(): void {
    const context = this.#context;
    const depth = context.maxInFlight;
    while (context.sending && this.open && this.#inFlight < depth && this.#unwritten < depth) this.#send(performance.now());
  }

  /** The oldest frame not yet written has been: its buffer may be reused, and the pipeline refilled. */
  #written(): void {
    this.#unwritten--;
    this.#frames!.written();
    const context = this.#context;
    // Write callbacks come in batches (one per frame of a corked write): refill once, after
    // all of them, and after the event loop has polled for I/O. A write the kernel takes at
    // once calls back on the next tick: refilling from there would loop without ever reading
    // what the server sends (or the main thread's commands) while the socket keeps up.
    if (!this.#refillQueued && context.sending && context.config.mode.kind === 'closed' && this.#inFlight < context.maxInFlight && this.open) {
      this.#refillQueued = true;
      setImmediate(this.#refill);
    }
  }

  /** Every caller has checked that fewer than `maxInFlight` frames are unwritten (and, for echoes, awaited). */
  #send(sentAt: number): void {
    const context = this.#context;
    const index = context.pickSize();
    this.#frames ??= context.frames.forConnection(context.maxInFlight);
    const frame = this.#frames.next(index);
    if (context.echo) {
      const slot = (this.#head + this.#inFlight) % this.#sentAt.length;
      this.#sentAt[slot] = sentAt;
      this.#payloadIndex[slot] = index;
      this.#inFlight++;
    }
    this.#unwritten++;
    // The frame's buffer stays untouched until this write's callback says the socket is done with it.
    this.#socket!.write(frame, this.#onWritten);
    if (context.phase === Phase.MEASURING) {
      context.counters.sent++;
      context.counters.bytesSent += context.payloads[index]!.length;
    }
  }

  #receive(chunk: Buffer): void {
    const connection = this.#connection!;
    connection.receiveData(chunk);
    const socket = this.#socket!;
    socket.cork();
    this.#pump();
    socket.uncork();
  }

  #pump(): void {
    const connection = this.#connection!;
    const events = connection.eventsReceived();
    for (let i = 0; i < events.length; i++) this.#handle(events[i]!);
    const output = connection.dataToSend();
    const socket = this.#socket!;
    for (let i = 0; i < output.length; i++) socket.write(output[i]!);
    if (connection.shouldCloseTransport() && !socket.destroyed) socket.end();
  }

  #handle(event: ConnectionEvent): void {
    const context = this.#context;
    switch (event.type) {
      case 'message':
        if (context.echo) this.#echo(event.binary, event.data.length);
        else this.#count(event.data.length);
        break;
      case 'open':
        this.#opened = true;
        this.#settleOpen(true);
        break;
      case 'error': {
        const [kind, message] = describeFailure(event.error);
        context.countError(kind, message);
        break;
      }
      case 'close':
        context.closeCodes[event.code] = (context.closeCodes[event.code] ?? 0) + 1;
        // Only our own close at the end is expected; anything else while loading is an error.
        if (this.#opened && context.phase !== Phase.STOPPED) {
          context.countError(`closed: ${event.code}`, `the connection closed during the run with ${event.code}${event.reason === '' ? '' : ` (${event.reason})`}`);
        }
        this.#closed = true;
        this.#onDrained?.();
        break;
      default:
        // Pings are answered by the connection itself; pongs and close-received need nothing.
        break;
    }
  }

  #echo(binary: boolean, length: number): void {
    const context = this.#context;
    const now = performance.now();
    context.totalReceived++;
    if (this.#inFlight === 0) {
      context.countError('echo: unexpected message', 'a message arrived that was not an echo of one sent');
      return;
    }
    const slot = this.#head;
    const index = this.#payloadIndex[slot]!;
    const sentAt = this.#sentAt[slot]!;
    this.#head = (slot + 1) % this.#sentAt.length;
    this.#inFlight--;
    const expected = context.payloads[index]!.length;
    if (binary !== context.expectBinary || length !== expected) {
      context.countError(
        'echo: mismatch',
        `expected a ${context.expectBinary ? 'binary' : 'text'} message of ${expected} bytes, got a ${binary ? 'binary' : 'text'} one of ${length}`,
      );
    } else if (context.phase === Phase.MEASURING) {
      const counters = context.counters;
      counters.received++;
      counters.bytesReceived += length;
      context.histogram.recordValue(Math.max(1, Math.round((now - sentAt) * 1e6)));
    }
    if (context.sending) {
      if (context.config.mode.kind === 'closed') this.#fill();
    } else if (this.#inFlight === 0) {
      this.#onDrained?.();
    }
  }

  /** `replies: 'count'`: a message arrived; it is counted, whatever it is. */
  #count(length: number): void {
    const context = this.#context;
    context.totalReceived++;
    if (context.phase === Phase.MEASURING) {
      context.counters.received++;
      context.counters.bytesReceived += length;
    }
  }

  #fail(error: Error): void {
    if (!this.#opened) {
      const [kind, message] = describeFailure(error);
      this.#context.countError(kind, message);
      this.#socket?.destroy();
      this.#settleOpen(false);
      return;
    }
    if (this.#context.phase !== Phase.STOPPED) {
      const [kind, message] = describeFailure(error);
      this.#context.countError(kind, message);
    }
    this.#socket?.destroy();
  }

  #settleOpen(opened: boolean): void {
    const settle = this.#onOpen;
    this.#onOpen = null;
    settle?.(opened);
  }

  #finish(): void {
    if (!this.#opened) this.#settleOpen(false);
    this.#closed = true;
    this.#onDrained?.();
    this.#onClosed?.();
  }

  toString(): string {
    return `connection ${this.#index}`;
  }
}

/** The connections of one worker and the phases they go through. */
export class LoadWorker {
  readonly #context: LoadContext;
  readonly #connections: LoadConnection[] = [];
  #ticker: NodeJS.Timeout | null = null;

  /** @throws for a configuration the codec or the frames cannot serve (e.g. `codec: 'wasm'` without SIMD). */
  constructor(config: WorkerConfig) {
    this.#context = new LoadContext(config);
  }

  get codecName(): string {
    return this.#context.codec.implementation;
  }

  /** Every message received so far, measured or not, and every error. */
  get progress(): { readonly received: number; readonly errors: number } {
    return { received: this.#context.totalReceived, errors: this.#context.totalErrors };
  }

  /** Open every connection (at most `MAX_PENDING_HANDSHAKES` at once); resolves to how many opened. */
  async connect(): Promise<number> {
    const { config } = this.#context;
    let next = 0;
    let opened = 0;
    const lane = async (): Promise<void> => {
      while (next < config.connectionCount) {
        const connection = new LoadConnection(this.#context, config.firstConnection + next++);
        this.#connections.push(connection);
        if (await connection.connect()) opened++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_PENDING_HANDSHAKES, config.connectionCount) }, lane));
    const deflate = this.#connections.find((connection) => connection.deflate !== null)?.deflate;
    if (deflate !== undefined && deflate !== null) await this.#context.useDeflate(deflate);
    return opened;
  }

  /** Start the load (the warm-up: nothing is counted yet). */
  start(): void {
    const context = this.#context;
    context.phase = Phase.LOADING;
    const mode = context.config.mode;
    if (mode.kind === 'closed') {
      for (const connection of this.#connections) if (connection.open) connection.startClosedLoop();
    } else if (mode.kind === 'open') {
      // Each connection sends rate / totalConnections messages per second; their schedules
      // are staggered so that the messages of a tick do not all leave at once.
      const interval = (1000 * context.config.totalConnections) / mode.rate;
      const start = performance.now();
      this.#connections.forEach((connection, i) => connection.startOpenLoop(start + (interval * i) / this.#connections.length));
      this.#ticker = setInterval(() => {
        const now = performance.now();
        for (const connection of this.#connections) connection.sendDue(now, interval);
      }, OPEN_LOOP_TICK_MS);
    }
  }

  /** Start counting: the counters and the histogram are reset. */
  measure(): void {
    const context = this.#context;
    context.phase = Phase.MEASURING;
    Object.assign(context.counters, { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, skipped: 0 });
    context.histogram.reset();
  }

  /** Freeze the counters and stop sending; returns them. */
  stop(): LoadCounters {
    const context = this.#context;
    context.phase = Phase.STOPPED;
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#ticker = null;
    return { ...context.counters };
  }

  /** Wait (bounded) for the echoes in flight, close every connection, and report. */
  async finish(counters: LoadCounters, histogramBuckets: (histogram: JsHistogram) => number[]): Promise<WorkerReport> {
    const context = this.#context;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#connections.map((connection) => connection.drained())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    const first = this.#connections.find((connection) => connection.open);
    const protocol = first?.protocol ?? null;
    const extensions = first?.extensionNames ?? [];
    const openAtEnd = this.#connections.filter((connection) => connection.open).length;
    await Promise.all(this.#connections.map((connection) => connection.close()));
    return {
      counters,
      latency: histogramBuckets(context.histogram),
      errors: context.errors,
      closeCodes: context.closeCodes,
      openAtEnd,
      protocol,
      extensions,
      codec: context.codec.implementation,
    };
  }
}
