/**
 * The cells of the end-to-end benchmark: payload size × connections × message type × closed-
 * loop depth, the full matrix, the quick subset and the cells the performance targets are
 * stated for, and choosing cells on the command line.
 */
import type { MessageType } from '../../src/cli/bench/options.js';

/** One load to drive every server with. */
export interface Cell {
  readonly size: number;
  readonly connections: number;
  readonly type: MessageType;
  readonly depth: number;
}

export const FULL_SIZES = [16, 1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024] as const;
export const FULL_CONNECTIONS = [1, 16, 256] as const;
export const FULL_TYPES: readonly MessageType[] = ['binary', 'text'];
export const FULL_DEPTHS = [1, 16] as const;

/**
 * Most payload bytes a cell may keep in flight (size × connections × depth): 256 MiB. Beyond
 * it a cell measures memory pressure on a 24 GiB machine running the generator and the server
 * side by side, not a WebSocket implementation; it is skipped and listed as skipped: 1 MiB ×
 * 256 connections × depth 16 (4 GiB), and 16 MiB with 256 connections or with 16 and depth 16.
 */
export const MAX_BYTES_IN_FLIGHT = 256 * 1024 * 1024;

/** The quick subset: the reference row (16 connections, binary, depth 1), a text cell and a pipelined one. */
export const QUICK_CELLS: readonly Cell[] = [
  { size: 16, connections: 16, type: 'binary', depth: 1 },
  { size: 1024, connections: 16, type: 'binary', depth: 1 },
  { size: 64 * 1024, connections: 16, type: 'binary', depth: 1 },
  { size: 1024, connections: 16, type: 'text', depth: 1 },
  { size: 1024, connections: 16, type: 'binary', depth: 16 },
];

/** A stable key for a cell: `1024B-16c-binary-d1`. */
export function cellKey(cell: Cell): string {
  return `${cell.size}B-${cell.connections}c-${cell.type}-d${cell.depth}`;
}

/** Bytes a cell keeps in flight. */
export function bytesInFlight(cell: Cell): number {
  return cell.size * cell.connections * cell.depth;
}

/** The cross product of the dimensions, in report order (size, then connections, type, depth). */
export function crossProduct(
  sizes: readonly number[],
  connections: readonly number[],
  types: readonly MessageType[],
  depths: readonly number[],
): Cell[] {
  const cells: Cell[] = [];
  for (const size of sizes) for (const c of connections) for (const type of types) for (const depth of depths) cells.push({ size, connections: c, type, depth });
  return cells;
}

/**
 * The cells the performance targets against the Node floor are stated for: 16 connections,
 * binary at 16 B, 1 KiB and 64 KiB and chat-shaped text at 1 KiB and 64 KiB, each at depth 1
 * and 16; and one connection at depth 1 with 1 MiB and 16 MiB binary messages, where the cost
 * is per byte and assembling a message from many reads.
 */
export const TARGET_CELLS: readonly Cell[] = [
  ...crossProduct([16, 1024, 64 * 1024], [16], ['binary'], [1, 16]),
  ...crossProduct([1024, 64 * 1024], [16], ['text'], [1, 16]),
  ...crossProduct([1024 * 1024, 16 * 1024 * 1024], [1], ['binary'], [1]),
];

/** Split cells into those to run and those over the in-flight budget. */
export function withinBudget(cells: readonly Cell[]): { readonly run: Cell[]; readonly skipped: Cell[] } {
  return {
    run: cells.filter((cell) => bytesInFlight(cell) <= MAX_BYTES_IN_FLIGHT),
    skipped: cells.filter((cell) => bytesInFlight(cell) > MAX_BYTES_IN_FLIGHT),
  };
}

/** `items` rotated left by `by`: the order servers run in, changed from cell to cell and round to round. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = ((by % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
