/**
 * Driving single connections in protocol tests: open connections for either side, frames the
 * peer would send, and a runner that feeds an input whole and under every chunking and checks
 * that the outcome never depends on how the bytes were split.
 */
import { expect } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import { ClientConnection, type ClientConnectionOptions } from '../../src/protocol/client-connection.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { ConnectionEvent } from '../../src/protocol/events.js';
import type { Extension } from '../../src/protocol/extension.js';
import { ServerConnection, type ServerConnectionOptions } from '../../src/protocol/server-connection.js';
import { chunkings } from '../helpers/chunkings.js';
import { seededRandom } from '../helpers/connection-pair.js';
import { closeFrame, frame, type FrameOptions, readFrames, type ReadFrame } from '../helpers/frames.js';
import { negotiated } from './test-extensions.js';

export type Side = 'server' | 'client';

export type SideOptions = Partial<ServerConnectionOptions> & Partial<ClientConnectionOptions>;

/** An OPEN connection of `side` (the handshake done elsewhere), its `open` event collected. */
export function openConnection(side: Side, codec: Codec, options: SideOptions = {}): Connection {
  const established = options.established ?? {};
  const connection =
    side === 'server'
      ? new ServerConnection({ codec, ...options, established })
      : new ClientConnection({ codec, random: seededRandom(11), ...options, established });
  const [opened, ...rest] = connection.eventsReceived();
  expect(opened).toMatchObject({ type: 'open', head: null });
  expect(rest).toEqual([]);
  return connection;
}

/**
 * An OPEN connection of `side` using `extensions`, negotiated in this order: the first claims
 * RSV1, the next RSV2, then RSV3 (named `x-0`, `x-1`, …).
 */
export function openWithExtensions(side: Side, codec: Codec, extensions: readonly Extension[], options: SideOptions = {}): Connection {
  return openConnection(side, codec, {
    ...options,
    established: { extensions: extensions.map((extension, i) => negotiated(extension, 0b100 >> i, `x-${i}`)) },
  });
}

/** `base` with some of its methods replaced (to inject a fault); the others call through. */
export function codecWith(base: Codec, overrides: Partial<Omit<Codec, 'implementation'>>): Codec {
  return {
    implementation: base.implementation,
    mask: (data, key, phase) => base.mask(data, key, phase),
    maskInto: (source, key, target, offset, phase) => base.maskInto(source, key, target, offset, phase),
    validateUtf8: (data) => base.validateUtf8(data),
    utf8Step: (data, state) => base.utf8Step(data, state),
    encodeHeader: (target, offset, fin, rsv, opcode, length, key) => base.encodeHeader(target, offset, fin, rsv, opcode, length, key),
    parseFrames: (chunk, table, options, state) => base.parseFrames(chunk, table, options, state),
    ...overrides,
  };
}

/** Frames as `side`'s peer sends them: masked towards a server, unmasked towards a client. */
export function peer(side: Side) {
  const mask = side === 'server';
  return {
    frame: (opcode: number, payload?: Uint8Array | string, options: FrameOptions = {}) => frame(opcode, payload, { mask, ...options }),
    close: (code?: number, reason?: string | Uint8Array) => closeFrame(code, reason, { mask }),
  };
}

/** What a connection did, in a form that compares across chunkings. */
export interface Outcome {
  events: unknown[];
  sent: Array<{ opcode: number; fin: boolean; rsv: number; payload: number[] }>;
  state: number;
  shouldCloseTransport: boolean;
  closeExpected: boolean;
}

export function summarizeEvent(event: ConnectionEvent): unknown {
  switch (event.type) {
    case 'message':
    case 'ping':
    case 'pong':
      return { ...event, data: Array.from(event.data) };
    case 'fragment':
      return { type: 'fragment', binary: event.binary, first: event.first, last: event.last };
    case 'error':
      return { type: 'error', name: event.error.name, code: event.error.code, closeCode: event.error.closeCode, message: event.error.message };
    case 'open':
      return { type: 'open', protocol: event.protocol, extensions: event.extensions.map((e) => e.name) };
    case 'request':
      return { type: 'request' };
    default:
      return event;
  }
}

/** Frames written by `connection` since the last call. */
export function sentFrames(connection: Connection): ReadFrame[] {
  return readFrames(connection.dataToSend());
}

export function outcomeOf(connection: Connection, events: ConnectionEvent[]): Outcome {
  return {
    events: events.map(summarizeEvent),
    sent: sentFrames(connection).map(({ opcode, fin, rsv, payload }) => ({ opcode, fin, rsv, payload: Array.from(payload) })),
    state: connection.state,
    shouldCloseTransport: connection.shouldCloseTransport(),
    closeExpected: connection.closeExpected(),
  };
}

/** Feed `chunks` (and EOF if asked) to a fresh connection; return its outcome. */
export function run(make: () => Connection, chunks: readonly Uint8Array[], eof = false): Outcome {
  const connection = make();
  const events: ConnectionEvent[] = [];
  for (const chunk of chunks) {
    connection.receiveData(chunk);
    events.push(...connection.eventsReceived());
  }
  if (eof) connection.receiveEof();
  events.push(...connection.eventsReceived());
  return outcomeOf(connection, events);
}

/**
 * Run `bytes` whole, then under every chunking (every split point, byte by byte, seeded
 * random); all must give the same outcome. Returns the outcome.
 */
export function runEveryWay(make: () => Connection, bytes: Uint8Array, options: { eof?: boolean; randomCount?: number } = {}): Outcome {
  const whole = run(make, [bytes.slice()], options.eof);
  for (const { name, chunks } of chunkings(bytes, { randomCount: options.randomCount ?? 6 })) {
    expect(run(make, chunks, options.eof), name).toEqual(whole);
  }
  return whole;
}

/** Events of one type. */
export function ofType<T extends ConnectionEvent['type']>(events: readonly ConnectionEvent[], type: T): Extract<ConnectionEvent, { type: T }>[] {
  return events.filter((event): event is Extract<ConnectionEvent, { type: T }> => event.type === type);
}

export { closeFrame };
