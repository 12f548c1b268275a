/**
 * Fuzz target `connection`: a whole `ServerConnection` or `ClientConnection` fed arbitrary bytes
 * in arbitrary splits — the opening handshake (or none), frames, control frames, closes — then
 * the application echoes what it received and the transport ends.
 *
 * Flags (input byte 0): bit 0 the client side (else the server); bit 1 the data starts with the
 * opening handshake (a request for a server, a response for a client; else the connection
 * starts OPEN); bit 2 messages are streamed as fragments; bit 3 small limits (300-byte messages,
 * 200-byte frames, 5 fragments); bit 4 no automatic pongs; bit 5 an extension owning RSV1 (an
 * XOR transform, negotiated as `x-xor`); bit 6 the server waits for `accept()`; bit 7 the
 * application closes (1000) at the end instead of echoing.
 *
 * Oracles:
 * - differential: the wasm codecs give exactly the events and bytes out the portable one gives;
 * - split: the same events (fragments joined into messages) and bytes out in one chunk;
 * - exception: nothing throws out of the connection; every error reported is a documented
 *   `WebSocketError` (never the 1011 of an unexpected exception);
 * - contract: messages within the limit and text valid UTF-8, `close` last and once, and every
 *   frame the connection sends valid for its side (masking, control frames, close payloads).
 */
import { computeAcceptKey } from '../../src/handshake/accept-key.js';
import type { ClientExtensionNegotiator, ServerExtensionNegotiator } from '../../src/handshake/extensions.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { ConnectionEvent } from '../../src/protocol/events.js';
import type { DecodeOutput, Extension } from '../../src/protocol/extension.js';
import type { ConnectionLimits } from '../../src/protocol/limits.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import type { Codec } from '../../src/codec/types.js';
import { isKnownOpcode, isControlOpcode, isValidCloseCode, Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, ProtocolError, WebSocketError } from '../../src/shared/errors.js';
import type { RandomSource } from '../../src/shared/ports.js';
import { concatBytes } from '../../src/shared/bytes.js';
import { buildFrame } from '../../test/codec/frame-builder.js';
import { type ReadFrame, readFrames } from '../../test/helpers/frames.js';
import { codecsUnderTest } from './codecs.js';
import { chunkBounds, chunksOf, describeDifference, type FuzzTarget, hex, INPUT_HEADER_LENGTH, makeInput, OracleViolation, parseInput } from './types.js';

const CLIENT = 1;
const HANDSHAKE = 2;
const STREAM = 4;
const SMALL_LIMITS = 8;
const NO_AUTO_PONG = 16;
const EXTENSION = 32;
const MANUAL_ACCEPT = 64;
const CLOSE_AT_END = 128;

const SMALL: Partial<ConnectionLimits> = { maxMessageSize: 300, maxFrameSize: 200, maxFragments: 5 };
const XOR_RSV = 0b100;

/** A stateless transform owning RSV1: each byte XOR 0x5a, decoded in pieces of up to 16 bytes. */
class XorExtension implements Extension {
  encode(data: Uint8Array): Uint8Array {
    return data.map((byte) => byte ^ 0x5a);
  }
  decode(data: Uint8Array, _fin: boolean, output: DecodeOutput): void {
    for (let at = 0; at < data.length; at += 16) {
      if (!output.push(data.slice(at, at + 16).map((byte) => byte ^ 0x5a))) return;
    }
  }
}

const xorServer: ServerExtensionNegotiator<Extension> = {
  name: 'x-xor',
  rsvBits: XOR_RSV,
  accept: (offers) => (offers.some((params) => params.length === 0) ? { response: [], extension: new XorExtension() } : null),
};
const xorClient: ClientExtensionNegotiator<Extension> = { name: 'x-xor', rsvBits: XOR_RSV, offer: () => [[]], accept: () => new XorExtension() };

/** A deterministic stand-in for the random port: every run draws the same keys. */
function fixedRandom(): RandomSource {
  let counter = 0;
  return (target) => {
    for (let i = 0; i < target.length; i++) target[i] = (counter++ * 167 + 13) & 0xff;
  };
}

function makeConnection(codec: Codec, flags: number): Connection {
  const limits = (flags & SMALL_LIMITS) !== 0 ? SMALL : undefined;
  const common = { codec, limits, streamMessages: (flags & STREAM) !== 0, autoPong: (flags & NO_AUTO_PONG) === 0 };
  const established =
    (flags & HANDSHAKE) !== 0
      ? undefined
      : { protocol: null, extensions: (flags & EXTENSION) !== 0 ? [{ name: 'x-xor', rsvBits: XOR_RSV, params: [], extension: new XorExtension() }] : [] };
  if ((flags & CLIENT) !== 0) {
    return new ClientConnection({ ...common, random: fixedRandom(), host: 'example.com', path: '/chat', protocols: ['chat'], extensions: (flags & EXTENSION) !== 0 ? [xorClient] : [], established });
  }
  return new ServerConnection({
    ...common,
    established,
    autoAccept: (flags & MANUAL_ACCEPT) === 0,
    handleProtocols: (offered) => offered.values().next().value ?? false,
    extensions: (flags & EXTENSION) !== 0 ? [xorServer] : [],
  });
}

/** The key the client connection's fixed random source draws for its handshake. */
const CLIENT_KEY = (() => {
  const connection = new ClientConnection({ codec: codecsUnderTest()[0]!.codec, random: fixedRandom(), host: 'example.com', path: '/chat', protocols: ['chat'] });
  return connection.request!.key;
})();

interface Trace {
  /** Every event, as reported. */
  readonly exact: string[];
  /** Events with streamed fragments joined into messages. */
  readonly normalized: string[];
  /** Every byte written, in order. */
  output: Uint8Array;
}

const VALID_ERROR_CODES = new Set<string>(Object.values(ErrorCode));
const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeThrown(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Drive one connection over `chunks` and record everything it did, checking each event. */
function drive(codec: Codec, flags: number, chunks: readonly Uint8Array[]): Trace {
  const trace: Trace = { exact: [], normalized: [], output: new Uint8Array(0) };
  const output: Uint8Array[] = [];
  const received: Array<{ binary: boolean; data: Uint8Array }> = [];
  let streamed: Uint8Array[] = [];
  let closed = false;
  let opened = (flags & HANDSHAKE) === 0;
  const connection = makeConnection(codec, flags);
  const limit = connection.limits.maxMessageSize;

  const record = (event: ConnectionEvent): void => {
    if (closed) throw new OracleViolation('contract', `event ${event.type} after close`);
    switch (event.type) {
      case 'open':
        opened = true;
        trace.exact.push(`open ${event.protocol} ${event.extensions.map(({ name }) => name).join(',')}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        return;
      case 'request':
        trace.exact.push(`request ${event.handshake.protocol}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        (connection as ServerConnection).accept();
        return;
      case 'message':
        checkMessage(event.binary, event.data, limit);
        received.push({ binary: event.binary, data: event.data });
        trace.exact.push(`message ${event.binary} ${hex(event.data)}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        return;
      case 'fragment': {
        trace.exact.push(`fragment ${event.binary} ${event.first} ${event.last} ${hex(event.data)}`);
        if (event.first !== (streamed.length === 0)) throw new OracleViolation('contract', `fragment first=${event.first} out of place`);
        streamed.push(event.data.slice());
        if (event.last) {
          const data = concatBytes(streamed);
          streamed = [];
          checkMessage(event.binary, data, limit);
          received.push({ binary: event.binary, data });
          trace.normalized.push(`message ${event.binary} ${hex(data)}`);
        }
        return;
      }
      case 'ping':
      case 'pong':
        trace.exact.push(`${event.type} ${hex(event.data)}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        return;
      case 'close-received':
        if (event.code !== 1005 && !isValidCloseCode(event.code)) throw new OracleViolation('contract', `close-received with code ${event.code}`);
        trace.exact.push(`close-received ${event.code} ${event.reason}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        return;
      case 'close':
        closed = true;
        trace.exact.push(`close ${event.code} ${event.reason} ${event.wasClean}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        return;
      case 'error': {
        const error = event.error;
        if (!(error instanceof WebSocketError) || !VALID_ERROR_CODES.has(error.code)) {
          throw new OracleViolation('exception', `an undocumented error was reported: ${describeThrown(error)}`);
        }
        if (error.code === ErrorCode.INTERNAL_ERROR) {
          const cause = (error as { cause?: unknown }).cause;
          throw new OracleViolation('exception', `an unexpected exception became a 1011: ${error.message}${cause === undefined ? '' : `\ncause: ${describeThrown(cause)}`}`);
        }
        if (error instanceof ProtocolError && ![1002, 1007, 1008, 1009, 1010].includes(error.closeCode)) {
          throw new OracleViolation('contract', `a protocol error with close code ${error.closeCode}: ${error.message}`);
        }
        trace.exact.push(`error ${error.name} ${error.code} ${error.closeCode} ${error.message}`);
        trace.normalized.push(trace.exact[trace.exact.length - 1]!);
        return;
      }
    }
  };

  const pump = (): void => {
    let events: ConnectionEvent[];
    let chunksOut: Uint8Array[];
    try {
      events = connection.eventsReceived();
    } catch (error) {
      throw new OracleViolation('exception', `eventsReceived threw: ${describeThrown(error)}`);
    }
    for (const event of events) record(event);
    try {
      chunksOut = connection.dataToSend();
    } catch (error) {
      throw new OracleViolation('exception', `dataToSend threw: ${describeThrown(error)}`);
    }
    for (const chunk of chunksOut) output.push(chunk.slice());
    // Events reported while collecting (an accept() above) come in the next round.
    if (events.length > 0) pump();
  };

  pump(); // a client's request
  for (const chunk of chunks) {
    try {
      connection.receiveData(chunk);
    } catch (error) {
      throw new OracleViolation('exception', `receiveData threw: ${describeThrown(error)}`);
    }
    pump();
  }
  // The application answers: an echo of each message, or a close.
  if (connection.state === ReadyState.OPEN) {
    if ((flags & CLOSE_AT_END) !== 0) {
      connection.sendClose(1000, 'done');
    } else {
      for (const { binary, data } of received) {
        if (connection.state !== ReadyState.OPEN) break;
        try {
          if (binary) connection.sendBinary(data);
          else connection.sendText(data);
        } catch (error) {
          throw new OracleViolation('contract', `echoing a received ${binary ? 'binary' : 'text'} message failed: ${describeThrown(error)}`);
        }
      }
    }
  }
  pump();
  try {
    connection.receiveEof();
  } catch (error) {
    throw new OracleViolation('exception', `receiveEof threw: ${describeThrown(error)}`);
  }
  pump();
  if (!closed) throw new OracleViolation('contract', 'no close event after the end of the transport');
  trace.output = concatBytes(output);
  if (opened) checkOutgoingFrames(trace.output, flags);
  return trace;
}

function checkMessage(binary: boolean, data: Uint8Array, limit: number): void {
  if (data.length > limit) throw new OracleViolation('contract', `a message of ${data.length} bytes passed the limit of ${limit}`);
  if (!binary) {
    try {
      utf8.decode(data);
    } catch {
      throw new OracleViolation('contract', `a text message is not valid UTF-8: ${hex(data).slice(0, 200)}`);
    }
  }
}

/** Every frame the connection wrote must be one its side may send (RFC 6455 §5). */
function checkOutgoingFrames(output: Uint8Array, flags: number): void {
  let at = 0;
  if ((flags & HANDSHAKE) !== 0) {
    for (; at + 3 < output.length; at++) if (output[at] === 13 && output[at + 1] === 10 && output[at + 2] === 13 && output[at + 3] === 10) break;
    at += 4;
  }
  let frames: ReadFrame[];
  try {
    frames = readFrames(output.subarray(at));
  } catch (error) {
    throw new OracleViolation('contract', `the output is not whole frames: ${describeThrown(error)}`);
  }
  const client = (flags & CLIENT) !== 0;
  let closeSent = false;
  let inMessage = false;
  for (const { opcode, fin, rsv, masked, payload } of frames) {
    if (masked !== client) throw new OracleViolation('contract', `a ${client ? 'client' : 'server'} sent a${masked ? ' masked' : 'n unmasked'} frame`);
    if (!isKnownOpcode(opcode)) throw new OracleViolation('contract', `sent a frame with opcode ${opcode}`);
    if (closeSent) throw new OracleViolation('contract', 'sent a frame after the close frame');
    if (isControlOpcode(opcode)) {
      if (!fin || payload.length > 125 || rsv !== 0) throw new OracleViolation('contract', 'sent an invalid control frame');
      if (opcode === Opcode.CLOSE) {
        closeSent = true;
        checkClosePayload(payload);
      }
    } else {
      if ((opcode === Opcode.CONTINUATION) !== inMessage) throw new OracleViolation('contract', 'sent frames out of message order');
      if (rsv !== 0 && (opcode === Opcode.CONTINUATION || rsv !== XOR_RSV || (flags & EXTENSION) === 0)) throw new OracleViolation('contract', `sent RSV bits ${rsv} on opcode ${opcode}`);
      inMessage = !fin;
    }
  }
}

/** A close frame's payload: empty, or a code that may be sent and a UTF-8 reason (RFC 6455 §5.5.1, §7.4). */
function checkClosePayload(payload: Uint8Array): void {
  if (payload.length === 0) return;
  if (payload.length === 1) throw new OracleViolation('contract', 'sent a close frame of 1 byte');
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) throw new OracleViolation('contract', `sent close code ${code}`);
  try {
    utf8.decode(payload.subarray(2));
  } catch {
    throw new OracleViolation('contract', 'sent a close reason that is not UTF-8');
  }
}

function run(input: Uint8Array): void {
  const { flags, splitSeed, data } = parseInput(input);
  const bounds = chunkBounds(data.length, splitSeed);
  const [reference, ...others] = codecsUnderTest();
  const expected = drive(reference!.codec, flags, chunksOf(data, bounds));
  for (const other of others) {
    const actual = drive(other.codec, flags, chunksOf(data, bounds));
    const difference = describeDifference(reference!.name, expected.exact, other.name, actual.exact);
    if (difference !== null) throw new OracleViolation('differential', `events: ${difference}`);
    if (hex(actual.output) !== hex(expected.output)) throw new OracleViolation('differential', `bytes out differ between ${reference!.name} and ${other.name}`);
  }
  if (bounds.length > 1) {
    const whole = drive(reference!.codec, flags, [data.slice()]);
    const difference = describeDifference('in one chunk', whole.normalized, 'split', expected.normalized);
    if (difference !== null) throw new OracleViolation('split', `events: ${difference}`);
    if (hex(whole.output) !== hex(expected.output)) throw new OracleViolation('split', 'bytes out differ between one chunk and the split');
  }
}

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const encoder = new TextEncoder();

function seeds(): Uint8Array[] {
  const c = (opcode: number, payload: Uint8Array | string, fin = true, rsv = 0): Uint8Array =>
    buildFrame({ opcode, payload: typeof payload === 'string' ? encoder.encode(payload) : payload, fin, rsv, maskKey: KEY });
  const s = (opcode: number, payload: Uint8Array | string, fin = true, rsv = 0): Uint8Array =>
    buildFrame({ opcode, payload: typeof payload === 'string' ? encoder.encode(payload) : payload, fin, rsv });
  const xor = (text: string): Uint8Array => encoder.encode(text).map((byte) => byte ^ 0x5a);
  const join = (...parts: Array<Uint8Array | string>): Uint8Array => concatBytes(parts.map((part) => (typeof part === 'string' ? encoder.encode(part) : part)));
  const request = (extra = ''): string =>
    `GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n${extra}\r\n`;
  const response = (extra = ''): string =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(CLIENT_KEY)}\r\nSec-WebSocket-Protocol: chat\r\n${extra}\r\n`;
  const closeFrame = (make: typeof c, code: number, reason = ''): Uint8Array => make(Opcode.CLOSE, join(Uint8Array.of(code >> 8, code & 0xff), reason));
  return [
    makeInput(0, 0, join(c(Opcode.TEXT, 'Hello'), c(Opcode.BINARY, new Uint8Array(40).fill(1)), c(Opcode.PING, 'p'), closeFrame(c, 1000, 'bye'))),
    makeInput(STREAM, 0x105, join(c(Opcode.TEXT, 'Hel', false), c(Opcode.PING, 'x'), c(Opcode.CONTINUATION, 'lo', false), c(Opcode.CONTINUATION, ' κόσμε', true))),
    makeInput(HANDSHAKE, 2, join(request(), c(Opcode.TEXT, 'after the head'))),
    makeInput(HANDSHAKE | EXTENSION | MANUAL_ACCEPT, 0x203, join(request('Sec-WebSocket-Extensions: x-xor\r\n'), c(Opcode.TEXT, xor('transformed'), true, XOR_RSV), c(Opcode.BINARY, xor('tr'), false, XOR_RSV), c(Opcode.CONTINUATION, xor('ansformed')))),
    makeInput(SMALL_LIMITS, 1, join(c(Opcode.BINARY, new Uint8Array(150), false), c(Opcode.CONTINUATION, new Uint8Array(151)))),
    makeInput(CLIENT, 0, join(s(Opcode.TEXT, 'from the server'), s(Opcode.PONG, ''), closeFrame(s, 4000))),
    makeInput(CLIENT | HANDSHAKE, 0x301, join(response(), s(Opcode.BINARY, new Uint8Array(300).fill(9)), s(Opcode.PING, 'keepalive'))),
    makeInput(CLIENT | HANDSHAKE | EXTENSION | CLOSE_AT_END, 2, join(response('Sec-WebSocket-Extensions: x-xor\r\n'), s(Opcode.TEXT, xor('compressed?'), true, XOR_RSV))),
    makeInput(NO_AUTO_PONG | CLOSE_AT_END, 0, join(c(Opcode.PING, 'unanswered'), c(Opcode.TEXT, Uint8Array.of(0xce, 0xba, 0xe1)), c(Opcode.CONTINUATION, Uint8Array.of(0xbd, 0xb9)))),
    makeInput(0, 3, join(c(Opcode.TEXT, Uint8Array.of(0xed, 0xa0, 0x80)))),
  ];
}

/** Where frames start: after the header, and after the HTTP head when the input has one. */
function frameOffset(input: Uint8Array): number | null {
  if (input.length < INPUT_HEADER_LENGTH) return null;
  if ((input[0]! & HANDSHAKE) === 0) return INPUT_HEADER_LENGTH;
  for (let at = INPUT_HEADER_LENGTH; at + 3 < input.length; at++) {
    if (input[at] === 13 && input[at + 1] === 10 && input[at + 2] === 13 && input[at + 3] === 10) return at + 4;
  }
  return null;
}

export const connectionTarget: FuzzTarget = {
  name: 'connection',
  description: 'ServerConnection and ClientConnection over random bytes in random splits: codecs agree, splits agree, nothing escapes, every event and frame sent is valid',
  seeds,
  frameOffset,
  run,
};
