/**
 * What a fuzz target is, how its inputs are laid out, and how an oracle reports a failure.
 *
 * Every input starts with a 5-byte header, so that one file replays one execution exactly:
 *
 * | bytes | meaning                                                                      |
 * |-------|------------------------------------------------------------------------------|
 * | 0     | flags: options of the target (side, limits, extensions, …; see each target)  |
 * | 1–4   | split seed, little-endian: how the data is cut into chunks (0: one chunk)    |
 * | 5–    | data: the bytes a peer sends                                                 |
 */
import { Random } from '../engine/random.js';

/** Bytes before the data in every input. */
export const INPUT_HEADER_LENGTH = 5;

/** Kinds of oracle failure. */
export type ViolationKind =
  /** Something threw that must not, or an error that is not a documented one was reported. */
  | 'exception'
  /** Two implementations (wasm and portable codecs) disagreed. */
  | 'differential'
  /** The same bytes split differently gave a different outcome. */
  | 'split'
  /** An outcome broke a rule of RFC 6455 or of the library's contract. */
  | 'contract'
  /** An execution took longer than the time bound. */
  | 'slow';

/** An oracle failed on the input being run. */
export class OracleViolation extends Error {
  readonly kind: ViolationKind;
  constructor(kind: ViolationKind, message: string) {
    super(message);
    this.name = 'OracleViolation';
    this.kind = kind;
  }
}

/** A fuzz target: a part of the library fed arbitrary bytes, with its oracles. */
export interface FuzzTarget {
  readonly name: string;
  /** One line on what is fuzzed and which oracles apply. */
  readonly description: string;
  /** Inputs to start from when the corpus is empty (valid traffic, each feature once). */
  seeds(): Uint8Array[];
  /**
   * Where WebSocket frames begin in `input` (after the header, and after an HTTP head when the
   * input carries one), or null when the input carries no frames: frame-aware mutations apply
   * from there.
   */
  frameOffset(input: Uint8Array): number | null;
  /**
   * Run one input against every oracle.
   * @throws OracleViolation when an oracle fails.
   */
  run(input: Uint8Array): void;
}

/** An input from its parts. */
export function makeInput(flags: number, splitSeed: number, data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const input = new Uint8Array(INPUT_HEADER_LENGTH + bytes.length);
  input[0] = flags;
  new DataView(input.buffer).setUint32(1, splitSeed >>> 0, true);
  input.set(bytes, INPUT_HEADER_LENGTH);
  return input;
}

/** The parts of an input (a short input has zero flags and seed, and no data). */
export function parseInput(input: Uint8Array): { flags: number; splitSeed: number; data: Uint8Array } {
  if (input.length < INPUT_HEADER_LENGTH) return { flags: input[0] ?? 0, splitSeed: 0, data: new Uint8Array(0) };
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  return { flags: input[0]!, splitSeed: view.getUint32(1, true), data: input.subarray(INPUT_HEADER_LENGTH) };
}

/**
 * Where to cut `length` bytes into chunks: `[start, end)` pairs. Seed 0 is one chunk; otherwise
 * the seed's low two bits pick the grain — single bytes, up to 8, up to 64, or anywhere.
 */
export function chunkBounds(length: number, splitSeed: number): Array<readonly [number, number]> {
  if (length === 0) return [];
  if (splitSeed === 0) return [[0, length]];
  const random = new Random(splitSeed);
  const grain = [1, 8, 64, length][splitSeed & 3]!;
  const bounds: Array<readonly [number, number]> = [];
  for (let at = 0; at < length; ) {
    const size = grain === 1 ? 1 : random.between(1, grain);
    const end = Math.min(length, at + size);
    bounds.push([at, end]);
    at = end;
  }
  return bounds;
}

/** Fresh copies of `data`'s chunks (the core unmasks in place, so each run needs its own). */
export function chunksOf(data: Uint8Array, bounds: ReadonlyArray<readonly [number, number]>): Uint8Array[] {
  return bounds.map(([start, end]) => data.slice(start, end));
}

/** Lowercase hex of `bytes`, for traces and messages. */
export function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

/** The first place two traces differ, for a violation's message. */
export function describeDifference(leftName: string, left: readonly string[], rightName: string, right: readonly string[]): string | null {
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    if (left[i] !== right[i]) {
      return `entry ${i}: ${leftName} ${left[i] === undefined ? '(nothing)' : JSON.stringify(left[i]).slice(0, 300)} vs ${rightName} ${right[i] === undefined ? '(nothing)' : JSON.stringify(right[i]).slice(0, 300)}`;
    }
  }
  return null;
}
