/**
 * Fuzz target `frame-parser`: `Codec.parseFrames` and the incremental `FrameParser` over
 * arbitrary bytes.
 *
 * Flags (input byte 0): bit 0 the server side (frames must be masked); bits 1–3 the RSV bits an
 * extension owns; bits 4–5 the payload limit (125, 1000, 65536 or 2^53 − 1); bits 6–7 the
 * fragmentation state the stream starts in (none, an opaque message, a text message). Bits 8–9
 * of the split seed choose the descriptor table's capacity (1, 3, 16 or 1024 rows), bits 24–26
 * the UTF-8 state a text message starts in.
 *
 * Oracles:
 * - differential: every codec describes the chunk exactly as the portable codec does (status,
 *   rows, mask keys, unmasked bytes, carried state), and the parser reports the same frames,
 *   pieces and errors over each codec;
 * - split: the parser reports the same frames and error whether the bytes came in one chunk or
 *   in many;
 * - reference: each frame reported has the payload an independent reading of RFC 6455 §5.2
 *   gives, and obeys the frame rules (control frames short and unfragmented, RSV bits owned);
 * - exception: nothing throws; errors are frame errors with their close codes.
 */
import { describeFrameError } from '../../src/codec/errors.js';
import {
  type Codec,
  Fragment,
  type FragmentState,
  FRAME_HEADER_OFFSET,
  FRAME_ROW_FIELDS,
  FrameTable,
  MAX_SAFE_PAYLOAD,
  type ParseOptions,
} from '../../src/codec/types.js';
import { FrameParser } from '../../src/protocol/parser.js';
import { isControlOpcode, isKnownOpcode, Opcode } from '../../src/shared/constants.js';
import type { ProtocolError } from '../../src/shared/errors.js';
import { concatBytes } from '../../src/shared/bytes.js';
import { buildFrame } from '../../test/codec/frame-builder.js';
import { type ReadFrame, readFrames } from '../../test/helpers/frames.js';
import { frameSpans } from '../engine/mutator.js';
import { codecsUnderTest } from './codecs.js';
import {
  chunkBounds,
  chunksOf,
  describeDifference,
  type FuzzTarget,
  hex,
  INPUT_HEADER_LENGTH,
  makeInput,
  OracleViolation,
  parseInput,
} from './types.js';

const MAX_PAYLOADS = [125, 1000, 65536, MAX_SAFE_PAYLOAD] as const;
const TABLE_CAPACITIES = [1, 3, 16, 1024] as const;

interface Settings {
  readonly options: ParseOptions;
  readonly capacity: number;
  readonly initialFragment: number;
  readonly initialUtf8: number;
}

function settingsOf(flags: number, splitSeed: number): Settings {
  const initialFragment = [Fragment.NONE, Fragment.OPAQUE, Fragment.TEXT, Fragment.NONE][(flags >> 6) & 3]!;
  return {
    options: {
      expectMasked: (flags & 1) !== 0,
      allowedRsv: (flags >> 1) & 7,
      maxPayload: MAX_PAYLOADS[(flags >> 4) & 3]!,
      validateUtf8: true,
    },
    capacity: TABLE_CAPACITIES[(splitSeed >>> 8) & 3]!,
    initialFragment,
    // A text message in progress may stop at any non-invalid UTF-8 state (0–7).
    initialUtf8: initialFragment === Fragment.TEXT ? (splitSeed >>> 24) & 7 : 0,
  };
}

/** Everything `parseFrames` wrote, as strings to compare. */
function describeTable(chunk: Uint8Array, codec: Codec, settings: Settings): string[] {
  const table = new FrameTable(settings.capacity);
  const state: FragmentState = { fragment: settings.initialFragment, utf8: settings.initialUtf8 };
  codec.parseFrames(chunk, table, settings.options, state);
  const out = [`status ${table.status}`, `count ${table.count}`, `consumed ${table.consumed}`];
  if (table.status === 1) out.push(`needed ${table.needed}`, `partialHeader ${table.partialHeader}`);
  if (table.status === 1 && table.partialHeader) out.push(`partialPayloadLength ${table.partialPayloadLength}`);
  if (table.status < 0) out.push(`errorOffset ${table.errorOffset}`);
  const rows = table.count + (table.status === 1 && table.partialHeader ? 1 : 0);
  for (let row = 0; row < rows; row++) {
    const fields = Array.from(table.rows.subarray(row * FRAME_ROW_FIELDS, (row + 1) * FRAME_ROW_FIELDS));
    fields[FRAME_HEADER_OFFSET] = fields[FRAME_HEADER_OFFSET]! - table.dataOffset;
    out.push(`row ${row}: ${fields.join(' ')} key ${hex(table.maskKey(row))}`);
  }
  out.push(`bytes ${hex(table.data.subarray(table.dataOffset, table.dataOffset + table.consumed))}`);
  out.push(`state ${state.fragment} ${state.utf8}`);
  return out;
}

/** What the parser reported: `exact` call by call, `normalized` frame by frame (split-independent). */
interface ParserTrace {
  readonly exact: string[];
  readonly normalized: string[];
  readonly frames: Array<{ opcode: number; fin: boolean; rsv: number; length: number; payload: Uint8Array }>;
  readonly errors: ProtocolError[];
}

function traceParser(codec: Codec, settings: Settings, chunks: readonly Uint8Array[]): ParserTrace {
  const trace: ParserTrace = { exact: [], normalized: [], frames: [], errors: [] };
  let current: { opcode: number; fin: boolean; rsv: number; length: number; pieces: Uint8Array[] } | null = null;
  const parser = new FrameParser(
    codec,
    { expectMasked: settings.options.expectMasked, allowedRsv: settings.options.allowedRsv, maxPayload: settings.options.maxPayload, tableCapacity: settings.capacity },
    {
      onFrame(opcode, fin, rsv, payload) {
        trace.exact.push(`frame ${opcode} ${fin} ${rsv} ${hex(payload)}`);
        if (current !== null) throw new OracleViolation('contract', 'onFrame was called inside a streamed frame');
        const copy = payload.slice();
        trace.frames.push({ opcode, fin, rsv, length: copy.length, payload: copy });
        trace.normalized.push(`frame ${opcode} ${fin} ${rsv} ${copy.length} ${hex(copy)}`);
        return true;
      },
      onFrameStart(opcode, fin, rsv, length) {
        trace.exact.push(`start ${opcode} ${fin} ${rsv} ${length}`);
        current = { opcode, fin, rsv, length, pieces: [] };
        return true;
      },
      onFramePayload(data) {
        trace.exact.push(`payload ${hex(data)}`);
        if (data.length === 0) throw new OracleViolation('contract', 'onFramePayload was called with an empty piece');
        current?.pieces.push(data.slice());
        return true;
      },
      onFrameEnd() {
        trace.exact.push('end');
        if (current !== null) {
          const payload = concatBytes(current.pieces);
          trace.frames.push({ opcode: current.opcode, fin: current.fin, rsv: current.rsv, length: current.length, payload });
          trace.normalized.push(`frame ${current.opcode} ${current.fin} ${current.rsv} ${current.length} ${hex(payload)}`);
        }
        current = null;
        return true;
      },
      onFrameError(error) {
        trace.exact.push(`error ${error.code} ${error.closeCode} ${error.message}`);
        trace.normalized.push(`error ${error.code} ${error.closeCode} ${error.message}`);
        trace.errors.push(error);
        current = null;
      },
    },
  );
  // The parser starts between messages; a carried fragmentation state is the codec's concern.
  for (const chunk of chunks) {
    try {
      parser.receive(chunk);
    } catch (error) {
      throw new OracleViolation('exception', `FrameParser.receive threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  if (current !== null) {
    const open = current as { opcode: number; pieces: Uint8Array[] };
    trace.normalized.push(`incomplete ${open.opcode} ${hex(concatBytes(open.pieces))}`);
  }
  return trace;
}

/** The frames of `data` as RFC 6455 §5.2 reads them, independently of the codecs: complete frames only. */
function referenceFrames(data: Uint8Array): ReadFrame[] {
  let end = 0;
  for (const span of frameSpans(data, 0)) {
    const next = span.start + span.headerLength + span.payloadLength;
    if (next > data.length) break;
    end = next;
  }
  return readFrames(data.subarray(0, end));
}

const FRAME_ERROR_CODES = new Set([-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11].map((error) => describeFrameError(error).code));

function checkContract(trace: ParserTrace, settings: Settings, data: Uint8Array): void {
  const reference = referenceFrames(data);
  trace.frames.forEach((frame, index) => {
    const expected = reference[index];
    if (expected === undefined || expected.opcode !== frame.opcode || expected.fin !== frame.fin || expected.rsv !== frame.rsv || hex(expected.payload) !== hex(frame.payload)) {
      throw new OracleViolation('contract', `frame ${index} differs from the reference reading of the bytes`);
    }
    if (frame.payload.length !== frame.length) throw new OracleViolation('contract', `frame ${index} announced ${frame.length} bytes and delivered ${frame.payload.length}`);
    if (!isKnownOpcode(frame.opcode)) throw new OracleViolation('contract', `frame ${index} has reserved opcode ${frame.opcode}`);
    if ((frame.rsv & ~settings.options.allowedRsv) !== 0) throw new OracleViolation('contract', `frame ${index} has RSV bits ${frame.rsv} no extension owns`);
    if (isControlOpcode(frame.opcode) && (!frame.fin || frame.length > 125 || frame.rsv !== 0)) {
      throw new OracleViolation('contract', `control frame ${index} is fragmented, longer than 125 bytes or has RSV bits`);
    }
    if (frame.length > settings.options.maxPayload) throw new OracleViolation('contract', `frame ${index} is over the payload limit`);
    if (frame.opcode === Opcode.CONTINUATION && frame.rsv !== 0) throw new OracleViolation('contract', `continuation ${index} has RSV bits`);
  });
  for (const error of trace.errors) {
    if (!FRAME_ERROR_CODES.has(error.code) || ![1002, 1007, 1009].includes(error.closeCode)) {
      throw new OracleViolation('exception', `undocumented parser error ${error.code} (${error.closeCode}): ${error.message}`);
    }
  }
  if (trace.errors.length > 1) throw new OracleViolation('contract', 'the parser reported more than one error');
}

function run(input: Uint8Array): void {
  const { flags, splitSeed, data } = parseInput(input);
  const settings = settingsOf(flags, splitSeed);
  const [reference, ...others] = codecsUnderTest();

  // One codec pass over the whole chunk, from the carried state.
  const expectedTable = describeTable(data.slice(), reference!.codec, settings);
  for (const other of others) {
    const difference = describeDifference(reference!.name, expectedTable, other.name, describeTable(data.slice(), other.codec, settings));
    if (difference !== null) throw new OracleViolation('differential', `parseFrames: ${difference}`);
  }

  // The incremental parser, split as the seed says, over each codec; and in one chunk.
  const bounds = chunkBounds(data.length, splitSeed);
  const expected = traceParser(reference!.codec, settings, chunksOf(data, bounds));
  for (const other of others) {
    const actual = traceParser(other.codec, settings, chunksOf(data, bounds));
    const difference = describeDifference(reference!.name, expected.exact, other.name, actual.exact);
    if (difference !== null) throw new OracleViolation('differential', `FrameParser: ${difference}`);
  }
  if (bounds.length > 1) {
    const whole = traceParser(reference!.codec, settings, [data.slice()]);
    const difference = describeDifference('in one chunk', whole.normalized, 'split', expected.normalized);
    if (difference !== null) throw new OracleViolation('split', `FrameParser: ${difference}`);
  }
  checkContract(expected, settings, data);
}

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function seeds(): Uint8Array[] {
  const masked = (opcode: number, payload: Uint8Array, fin = true, rsv = 0): Uint8Array => buildFrame({ opcode, payload, fin, rsv, maskKey: KEY });
  const plain = (opcode: number, payload: Uint8Array, fin = true, rsv = 0): Uint8Array => buildFrame({ opcode, payload, fin, rsv });
  const join = (...frames: Uint8Array[]): Uint8Array => concatBytes(frames);
  const server = 0b0010_0001; // masked, limit 1000
  const client = 0b0010_0000;
  return [
    makeInput(server, 0, join(masked(Opcode.TEXT, text('Hello')), masked(Opcode.BINARY, new Uint8Array(300).fill(7)))),
    makeInput(server, 0x0000_0101, join(masked(Opcode.TEXT, text('Hel'), false), masked(Opcode.PING, text('p')), masked(Opcode.CONTINUATION, text('lo'), true))),
    makeInput(client, 0x0000_0302, join(plain(Opcode.TEXT, text('κόσμε')), plain(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8)))),
    makeInput(client | 0b1000, 3, join(plain(Opcode.TEXT, text('compressed'), true, 0b100), plain(Opcode.PONG, new Uint8Array(0)))),
    makeInput(server | 0b0011_0000, 1, masked(Opcode.BINARY, new Uint8Array(70_000 % 4096))),
    makeInput(server, 2, buildFrame({ opcode: Opcode.BINARY, maskKey: KEY, lengthBits: 64, declaredLength: 2n ** 63n })),
    makeInput(client | 0b1000_0000, 0x0300_0001, join(plain(Opcode.CONTINUATION, Uint8Array.of(0x82, 0xac), true))),
    makeInput(server, 0, join(masked(Opcode.TEXT, Uint8Array.of(0xed, 0xa0, 0x80)))),
  ];
}

export const frameParserTarget: FuzzTarget = {
  name: 'frame-parser',
  description: 'Codec.parseFrames and FrameParser: codecs agree, splits agree, frames match an independent reading, nothing throws',
  seeds,
  frameOffset: (input) => (input.length >= INPUT_HEADER_LENGTH ? INPUT_HEADER_LENGTH : null),
  run,
};
