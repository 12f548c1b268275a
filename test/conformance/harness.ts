/**
 * Driving a connection of either role for the conformance suite, through the protocol core's
 * public API only: `receiveData` / `receiveEof` in, `eventsReceived` / `dataToSend` out.
 *
 * `Endpoint` is the connection under test; "the peer" is the other side, whose frames are
 * built independently of the codecs (`test/codec/frame-builder.ts`) and masked exactly when
 * the peer is a client.
 */
import { expect } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import {
  ClientConnection,
  ServerConnection,
  type ClientConnectionOptions,
  type Connection,
  type ConnectionEvent,
  type ServerConnectionOptions,
} from '../../src/protocol/index.js';
import { Opcode, ReadyState } from '../../src/shared/constants.js';
import { ProtocolError } from '../../src/shared/errors.js';
import { buildFrame, type RawFrameSpec } from '../codec/frame-builder.js';
import { countingRandom } from './handshake-helpers.js';
import { readClose, readFrames, type ReadFrame } from '../helpers/frames.js';

export type Role = 'server' | 'client';

/** Both roles, for `describe.each`. */
export const ROLES: readonly Role[] = ['server', 'client'];

/** The mask key the peer's client frames use (any key would do; a fixed one keeps failures readable). */
export const PEER_MASK_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** Options either role accepts, without the ones that pick the role or the codec. */
export type CommonOptions = Omit<ServerConnectionOptions & ClientConnectionOptions, 'codec' | 'random' | 'established'>;

/** A connection of `role`, already OPEN (its opening handshake happened elsewhere). */
export function openConnection(role: Role, codec: Codec, options: Partial<CommonOptions> = {}): Connection {
  const connection =
    role === 'server'
      ? new ServerConnection({ ...options, codec, established: {} })
      : new ClientConnection({ ...options, codec, random: countingRandom(), established: {} });
  expect(connection.state).toBe(ReadyState.OPEN);
  // An established connection reports `open` at once; the tests start after it.
  expect(connection.eventsReceived().map((event) => event.type)).toEqual(['open']);
  return connection;
}

/** A frame as the peer of an endpoint of `role` sends it: masked when the peer is a client. */
export function peerFrame(role: Role, spec: Omit<RawFrameSpec, 'maskKey'>): Uint8Array {
  return buildFrame({ ...spec, maskKey: role === 'server' ? PEER_MASK_KEY : null });
}

/** A frame as the peer sends it with the MASK bit wrong for its side. */
export function wronglyMaskedFrame(role: Role, spec: Omit<RawFrameSpec, 'maskKey'>): Uint8Array {
  return buildFrame({ ...spec, maskKey: role === 'server' ? null : PEER_MASK_KEY });
}

/** What a connection produced since the last call. */
export interface Output {
  readonly events: ConnectionEvent[];
  readonly frames: ReadFrame[];
}

/** Collect the events and the frames written since the last call. */
export function drain(connection: Connection): Output {
  const events = connection.eventsReceived();
  const frames = readFrames(connection.dataToSend());
  return { events, frames };
}

/** Feed the peer's bytes, then collect what the connection produced. */
export function feed(connection: Connection, ...chunks: Uint8Array[]): Output {
  for (const chunk of chunks) connection.receiveData(chunk);
  return drain(connection);
}

/** The events of one type, narrowed. */
export function eventsOf<T extends ConnectionEvent['type']>(
  events: readonly ConnectionEvent[],
  type: T,
): Array<Extract<ConnectionEvent, { type: T }>> {
  return events.filter((event): event is Extract<ConnectionEvent, { type: T }> => event.type === type);
}

/**
 * Check that the connection failed (RFC 6455 §7.1.7) with `closeCode`: exactly one `error`
 * event carrying a `ProtocolError` with that close code (and `errorCode` if given), a close
 * frame with that code written, and the state CLOSING. Returns the error.
 */
export function expectFailed(output: Output, connection: Connection, closeCode: number, errorCode?: string): ProtocolError {
  const errors = eventsOf(output.events, 'error');
  expect(errors, 'one error event').toHaveLength(1);
  const error = errors[0]!.error;
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.closeCode).toBe(closeCode);
  if (errorCode !== undefined) expect(error.code).toBe(errorCode);
  const closes = output.frames.filter((frame) => frame.opcode === Opcode.CLOSE);
  expect(closes, 'one close frame sent').toHaveLength(1);
  expect(readClose(closes[0]!.payload).code).toBe(closeCode);
  expect(connection.state).toBe(ReadyState.CLOSING);
  return error as ProtocolError;
}

/** Every message event's type and text (or hex for binary), for compact comparisons. */
export function messages(events: readonly ConnectionEvent[]): Array<[kind: 'text' | 'binary', data: string]> {
  return eventsOf(events, 'message').map((event) => [
    event.binary ? 'binary' : 'text',
    event.binary ? Buffer.from(event.data).toString('hex') : new TextDecoder().decode(event.data),
  ]);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A close frame's payload: the code, then the reason in UTF-8 (or raw reason bytes). */
export function closeBody(code: number, reason: string | Uint8Array = ''): Uint8Array {
  const reasonBytes = typeof reason === 'string' ? encoder.encode(reason) : reason;
  const out = new Uint8Array(2 + reasonBytes.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(reasonBytes, 2);
  return out;
}
