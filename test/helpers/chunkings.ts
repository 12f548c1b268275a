/**
 * Ways to split a byte stream into the chunks a transport might deliver, so every parser test
 * also runs with the input split at every byte and with seeded random chunkings (as uWS's
 * `makeChunked` and ws's "spanning multiple writes" tests do). Each chunking is a list of
 * fresh copies: the connection owns, and unmasks in place, what it is given.
 */

/** A named way of delivering a stream. */
export interface Chunking {
  readonly name: string;
  readonly chunks: Uint8Array[];
}

/** Deterministic 32-bit generator (mulberry32), so a failing chunking reproduces from its seed. */
export function seededGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** Cut `bytes` at the given offsets (ascending, within 1..length−1), copying each piece. */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const offset of offsets) {
    chunks.push(bytes.slice(start, offset));
    start = offset;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}

/** Seeded random chunks of 1 to `maxChunk` bytes. */
export function randomChunks(bytes: Uint8Array, seed: number, maxChunk = 64): Uint8Array[] {
  const next = seededGenerator(seed);
  const offsets: number[] = [];
  let at = 0;
  for (;;) {
    at += 1 + Math.floor(next() * maxChunk);
    if (at >= bytes.length) break;
    offsets.push(at);
  }
  return splitAt(bytes, offsets);
}

/**
 * Every chunking a parser test runs with: whole, one byte at a time, split in two at every
 * offset, and `randomCount` seeded random chunkings (small and large pieces).
 */
export function chunkings(bytes: Uint8Array, options: { readonly randomCount?: number; readonly seed?: number } = {}): Chunking[] {
  const { randomCount = 8, seed = 0x5eed } = options;
  const out: Chunking[] = [{ name: 'whole', chunks: [bytes.slice()] }];
  if (bytes.length > 1) {
    out.push({ name: 'byte by byte', chunks: splitAt(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)) });
    for (let i = 1; i < bytes.length; i++) out.push({ name: `split at ${i}`, chunks: splitAt(bytes, [i]) });
  }
  for (let k = 0; k < randomCount; k++) {
    const maxChunk = k % 2 === 0 ? 7 : 256;
    out.push({ name: `random #${k} (seed ${seed + k}, ≤${maxChunk} bytes)`, chunks: randomChunks(bytes, seed + k, maxChunk) });
  }
  return out;
}
