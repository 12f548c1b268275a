/**
 * Memory for the bytes connections send: frame headers, small frames and the other small
 * chunks of a batch are cut from one slab, shared by every connection of a thread that sends
 * through the same `allocate` (`ConnectionOptions.allocate`). Node passes `Buffer.allocUnsafe`,
 * so what the socket gets are Buffers off the V8 heap: a header made as a typed array of a few
 * bytes lives on the V8 heap, and `net.Socket` converts every such array to a Buffer, which
 * makes V8 move it off the heap first — more than the header itself costs.
 *
 * Rules
 * -----
 * - Bytes handed out are never written again: each region is cut after the last one, and a
 *   full slab is replaced by a new one (as Node's Buffer pool is); the old one lives as long
 *   as a region of it waits to be written.
 * - Regions cut one after another are adjacent: when a connection queues bytes right behind
 *   its previous chunk, the chunk grows over them (`commit`), so a small frame is one chunk
 *   (header and payload), and the replies to a chunk of small messages are one write.
 * - Chunks of `COPY_BELOW` bytes or more are never copied: they are queued by reference.
 * - Nothing here is per connection: a connection holds only a reference to its thread's slab
 *   (so `allocate` should be one function for all connections, as Node's adapters pass).
 */

/** Memory for `length` bytes, which the caller fills completely (see `ConnectionOptions.allocate`). */
export type Allocate = (length: number) => Uint8Array;

/**
 * Chunks smaller than this are copied into the slab, behind the chunk queued before them;
 * larger ones are written by reference. Each transport write costs an entry (a Writable
 * request and an iovec in Node, a stream chunk and a read on the far side of a WHATWG pair);
 * copying 4 KiB costs less. Measured with a pipelined 1 KiB echo (50 connections, 100
 * messages in flight each): user CPU per message was lower copying below 4 KiB than copying
 * only below 512 B.
 */
export const COPY_BELOW = 4096;

/**
 * The size of a slab: a batch of small chunks up to this size leaves in one write. A region
 * that waits to be written (a peer that does not read) keeps its whole slab alive, as a
 * pooled Buffer keeps Node's pool.
 */
const SLAB_SIZE = 64 * 1024;

const allocateZeroed: Allocate = (length) => new Uint8Array(length);

/**
 * The slab of each `allocate` the thread's connections send through (weakly: a function
 * made for one connection takes its slab with it).
 */
const slabs = new WeakMap<Allocate, FrameSlab>();

/** See the module comment. */
export class FrameSlab {
  /** The thread's slab for memory from `allocate` (default plain `Uint8Array`s). */
  static for(allocate: Allocate | undefined): FrameSlab {
    const key = allocate ?? allocateZeroed;
    let slab = slabs.get(key);
    if (slab === undefined) slabs.set(key, (slab = new FrameSlab(key)));
    return slab;
  }

  readonly allocate: Allocate;
  /** Empty until the first `reserve`. */
  #bytes: Uint8Array = new Uint8Array(0);
  #offset = 0;

  private constructor(allocate: Allocate) {
    this.allocate = allocate;
  }

  /**
   * Make room for `length` bytes (below `COPY_BELOW` plus a frame header) and return the slab
   * to write them into, from `offset`; `commit` then hands out what was written.
   */
  reserve(length: number): Uint8Array {
    if (this.#offset + length > this.#bytes.length) {
      this.#bytes = this.allocate(SLAB_SIZE);
      this.#offset = 0;
    }
    return this.#bytes;
  }

  /** Where the bytes written after `reserve` start. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Hand out the slab's bytes from `offset` to `end` (written since `reserve`): they extend
   * the last chunk of `out` when they follow it in the slab, or are pushed as a chunk.
   */
  commit(out: Uint8Array[], end: number): void {
    const bytes = this.#bytes;
    const start = this.#offset;
    this.#offset = end;
    const last = out.length - 1;
    if (last >= 0) {
      const previous = out[last]!;
      // The offsets first: `.buffer` is read only of a chunk that may be the slab's.
      if (previous.byteOffset + previous.byteLength === bytes.byteOffset + start && previous.buffer === bytes.buffer) {
        out[last] = bytes.subarray(previous.byteOffset - bytes.byteOffset, end);
        return;
      }
    }
    out.push(bytes.subarray(start, end));
  }

  /** Queue `chunk` on `out`: copied into the slab when it is small, else by reference. */
  append(out: Uint8Array[], chunk: Uint8Array): void {
    const length = chunk.length;
    if (length >= COPY_BELOW) {
      out.push(chunk);
      return;
    }
    if (length === 0) return;
    const bytes = this.reserve(length);
    const offset = this.#offset;
    bytes.set(chunk, offset);
    this.commit(out, offset + length);
  }
}
