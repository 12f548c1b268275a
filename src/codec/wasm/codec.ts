/**
 * The wasm codec: the `Codec` interface driven over the AssemblyScript module's linear memory.
 *
 * Theory of operation
 * - Memory map (assembly/abi.ts): a results block, the descriptor table (rows and mask
 *   keys), then the INPUT scratch region from INPUT_PTR to the end of memory.
 * - Bytes that already live in linear memory at or past INPUT_PTR (a view from
 *   `acquireInput`, or `table.data` of an earlier call) are worked on where they are: zero
 *   copies. Other bytes are copied into INPUT once, with one `Uint8Array.set`.
 * - `parseFrames` leaves unmasked payloads in linear memory: `table.data` is a view of the
 *   INPUT region (from INPUT_PTR to the end of memory), `table.dataOffset` the chunk's place
 *   in it (0 unless the chunk was already in memory), and `table.transient` is true: the
 *   bytes are valid until the next call into this codec.
 *   Rows come back with one `Int32Array.set`, mask keys with one `Uint8Array.set` (a loop
 *   for one or two rows, where the call to `set` would cost more than the copy).
 * - Memory grows only for a `parseFrames` chunk or an `acquireInput` request larger than the
 *   INPUT region, at least doubling it, never past `maxInputCapacity`; past that bound
 *   `parseFrames` runs the portable codec for that call, while `mask`, `maskInto` and
 *   `utf8Step` never grow memory: they work through large inputs in region-sized slices,
 *   carrying the mask phase or the UTF-8 state. Growth detaches the old `ArrayBuffer`, so
 *   right after it every view is re-derived (`memory.buffer !== cachedBuffer`).
 * - Below measured sizes (`WasmThresholds`) the portable code runs instead: for a few bytes
 *   in JS memory, the copy in and out costs more than the wasm pass saves.
 * - No method allocates on its hot path: the views of the INPUT region, the rows and the
 *   keys it copies out are cached by length (a direct-mapped cache for INPUT views).
 */
import { platformUtf8Step } from '../platform-utf8.js';
import { maskKeyWord } from '../portable/mask.js';
import { portableCodec } from '../portable/index.js';
import {
  type Codec,
  FRAME_ROW_FIELDS,
  type FragmentState,
  type FrameTable,
  type ParseOptions,
  ParseStatus,
  UTF8_ACCEPT,
  UTF8_INVALID,
} from '../types.js';
import type { WasmCodecInstance, WasmFunctions } from './module.js';

/**
 * Sizes below which a call runs the portable code, for bytes in JS memory (bytes already in
 * linear memory always go to wasm). Measured with `npm run bench:codec`; see the defaults.
 */
export interface WasmThresholds {
  /** Smallest `mask` / `maskInto` input sent to wasm. */
  readonly maskMinBytes: number;
  /** Smallest `utf8Step` / `validateUtf8` input sent to wasm. */
  readonly utf8MinBytes: number;
  /** Smallest `parseFrames` chunk sent to wasm. */
  readonly parseMinBytes: number;
}

/**
 * The crossovers measured by `npm run bench:codec -- --only crossover` on bytes in JS memory
 * (the figures are in bench/results/codec.md):
 * - mask: wasm wins from 48 B, narrowly until the portable word loop starts at 64 B, so the
 *   threshold is 64 B (maskInto, where wasm wins from 32 B, shares it);
 * - UTF-8, ASCII and mixed script: wasm from 32 B;
 * - parseFrames (one masked text frame per chunk): wasm from 32 B.
 * Below them a wasm call's fixed cost (the copies in and out) exceeds the work.
 */
export const DEFAULT_WASM_THRESHOLDS: WasmThresholds = Object.freeze({
  maskMinBytes: 64,
  utf8MinBytes: 32,
  parseMinBytes: 32,
});

/**
 * How large the INPUT region may grow (16 MiB; the module's maximum memory matches). A
 * chunk as large as a socket read (64 KiB in Node) or a 1 MiB message fits after at most a
 * few doublings; larger ones are rare enough to run the portable codec for that call.
 */
export const DEFAULT_MAX_INPUT_CAPACITY = 16 * 1024 * 1024;

/** Options of a wasm codec instance. */
export interface WasmCodecOptions {
  /** Crossover sizes (default `DEFAULT_WASM_THRESHOLDS`); zeros send everything to wasm. */
  readonly thresholds?: Partial<WasmThresholds>;
  /** Bound on the INPUT region (default and upper limit: `DEFAULT_MAX_INPUT_CAPACITY`). */
  readonly maxInputCapacity?: number;
  /**
   * A platform validator of complete UTF-8, such as Node's `buffer.isUtf8`, to serve
   * `validateUtf8` and `utf8Step` (not the validation inside `parseFrames`, which stays in
   * the one wasm pass). Worth it where it is faster: see `platformIsUtf8` in `select.ts`
   * and bench/results/codec.md.
   */
  readonly platformIsUtf8?: (data: Uint8Array) => boolean;
}

const PAGE_SIZE = 65536;
/** Up to this many rows, copying field by field beats two calls to `TypedArray.set`. */
const SMALL_ROW_COPY = 2;
/** Slots of the direct-mapped cache of INPUT views (by length). */
const INPUT_VIEW_SLOTS = 64;

/** A codec whose heavy operations run in WebAssembly, and which can take input without copies. */
export interface WasmCodec extends Codec {
  readonly implementation: 'wasm';
  /**
   * A view of `length` bytes at the start of the INPUT scratch region, for a transport to
   * read into directly (e.g. Node's `net.Socket` `onread: { buffer: () => codec.acquireInput(n) }`).
   * Passing a chunk of it to `parseFrames`, `mask` or `utf8Step` then copies nothing in.
   *
   * The view is valid until the memory grows (then its buffer is detached): acquire it again
   * before each read, which costs nothing while the memory is unchanged. Its bytes are
   * overwritten by any later call that copies a chunk from JS memory into the region, so
   * keep what must survive (a partial frame) elsewhere before the next call.
   * @throws RangeError if `length` exceeds the bound on the INPUT region.
   */
  acquireInput(length: number): Uint8Array;
  /** Current size of the INPUT region in bytes. */
  readonly inputCapacity: number;
}

/** See `WasmCodec`. */
export class WasmCodecImpl implements WasmCodec {
  readonly implementation = 'wasm' as const;

  readonly #memory: WebAssembly.Memory;
  // The module's functions, held directly: a lookup on the instance's exports object (dozens
  // of properties, in dictionary mode) would cost more than some calls do.
  readonly #wasmMask: WasmFunctions['mask'];
  readonly #wasmUtf8Step: WasmFunctions['utf8Step'];
  readonly #wasmParseFrames: WasmFunctions['parseFrames'];
  readonly #maskMinBytes: number;
  readonly #utf8MinBytes: number;
  readonly #parseMinBytes: number;
  readonly #platformIsUtf8: ((data: Uint8Array) => boolean) | undefined;
  readonly #maxInputCapacity: number;
  // Memory map, from the module's exported constants.
  readonly #inputPtr: number;
  readonly #rowsPtr: number;
  readonly #keysPtr: number;
  readonly #tableCapacity: number;
  readonly #countIndex: number;
  readonly #consumedIndex: number;
  readonly #partialHeaderIndex: number;
  readonly #fragmentIndex: number;
  readonly #utf8Index: number;
  readonly #neededIndex: number;
  readonly #partialPayloadLengthIndex: number;
  readonly #maskedFlag: number;
  readonly #utf8Flag: number;
  readonly #rsvShift: number;
  // Views, re-derived whenever the memory's buffer changes.
  #buffer: ArrayBuffer | undefined;
  #bytes: Uint8Array = new Uint8Array(0);
  /** INPUT_PTR to the end of memory: `table.data` after `parseFrames`. */
  #inputRegion: Uint8Array = new Uint8Array(0);
  #words: Int32Array = new Int32Array(0);
  #doubles: Float64Array = new Float64Array(0);
  #inputCapacity = 0;
  #rowViews: Array<Int32Array | undefined> = [];
  #keyViews: Array<Uint8Array | undefined> = [];
  #inputViews: Array<Uint8Array | undefined> = [];

  constructor(instance: WasmCodecInstance, options: WasmCodecOptions = {}) {
    const c = instance.constants;
    if (c.STATIC_DATA_END > c.TABLE_ROWS_PTR) {
      throw new Error(`wasm codec static data (ends at ${c.STATIC_DATA_END}) overlaps the descriptor table`);
    }
    this.#memory = instance.memory;
    this.#wasmMask = instance.functions.mask;
    this.#wasmUtf8Step = instance.functions.utf8Step;
    this.#wasmParseFrames = instance.functions.parseFrames;
    const thresholds = { ...DEFAULT_WASM_THRESHOLDS, ...options.thresholds };
    this.#maskMinBytes = thresholds.maskMinBytes;
    this.#utf8MinBytes = thresholds.utf8MinBytes;
    this.#parseMinBytes = thresholds.parseMinBytes;
    this.#platformIsUtf8 = options.platformIsUtf8;
    const maxInput = options.maxInputCapacity ?? DEFAULT_MAX_INPUT_CAPACITY;
    if (!Number.isInteger(maxInput) || maxInput < PAGE_SIZE || maxInput > DEFAULT_MAX_INPUT_CAPACITY) {
      throw new RangeError(`maxInputCapacity must be an integer from ${PAGE_SIZE} to ${DEFAULT_MAX_INPUT_CAPACITY}`);
    }
    this.#maxInputCapacity = maxInput;
    this.#inputPtr = c.INPUT_PTR;
    this.#rowsPtr = c.TABLE_ROWS_PTR;
    this.#keysPtr = c.TABLE_KEYS_PTR;
    this.#tableCapacity = c.TABLE_CAPACITY;
    this.#countIndex = (c.RESULT_PTR + c.RESULT_COUNT) >> 2;
    this.#consumedIndex = (c.RESULT_PTR + c.RESULT_CONSUMED) >> 2;
    this.#partialHeaderIndex = (c.RESULT_PTR + c.RESULT_PARTIAL_HEADER) >> 2;
    this.#fragmentIndex = (c.RESULT_PTR + c.RESULT_FRAGMENT) >> 2;
    this.#utf8Index = (c.RESULT_PTR + c.RESULT_UTF8) >> 2;
    this.#neededIndex = (c.RESULT_PTR + c.RESULT_NEEDED) >> 3;
    this.#partialPayloadLengthIndex = (c.RESULT_PTR + c.RESULT_PARTIAL_PAYLOAD_LENGTH) >> 3;
    this.#maskedFlag = c.FLAG_EXPECT_MASKED;
    this.#utf8Flag = c.FLAG_VALIDATE_UTF8;
    this.#rsvShift = c.FLAG_ALLOWED_RSV_SHIFT;
    this.#refresh();
  }

  get inputCapacity(): number {
    this.#refresh();
    return this.#inputCapacity;
  }

  /**
   * Re-derive every view from `memory.buffer` if it is no longer the cached buffer (memory
   * growth detaches the old one). Growth happens only in `#reserveInput`: the module never
   * grows its own memory (nothing in it allocates) and the Memory object never leaves this
   * class. So the hot paths need no check, which matters: reading `memory.buffer` is a host
   * call that costs more than some whole calls into wasm (bench/results/codec.md).
   */
  #refresh(): void {
    const buffer = this.#memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#inputRegion = new Uint8Array(buffer, this.#inputPtr);
    this.#words = new Int32Array(buffer);
    this.#doubles = new Float64Array(buffer);
    this.#inputCapacity = Math.min(buffer.byteLength - this.#inputPtr, this.#maxInputCapacity);
    this.#rowViews = [];
    this.#keyViews = [];
    this.#inputViews = [];
  }

  /** Make the INPUT region hold `length` bytes; false if that is past the bound. */
  #reserveInput(length: number): boolean {
    if (length <= this.#inputCapacity) return true;
    if (length > this.#maxInputCapacity) return false;
    // At least double, so that growth (which detaches every view) stays rare.
    const capacity = Math.min(this.#maxInputCapacity, Math.max(length, this.#inputCapacity * 2));
    const pages = Math.ceil((this.#inputPtr + capacity) / PAGE_SIZE) - this.#memory.buffer.byteLength / PAGE_SIZE;
    this.#memory.grow(pages);
    this.#refresh();
    return true;
  }

  /** Whether `data` lies in the INPUT region of linear memory. */
  #inInput(data: Uint8Array): boolean {
    return data.buffer === this.#buffer && data.byteOffset >= this.#inputPtr;
  }

  /** The view of INPUT bytes [0, length), cached by length. */
  #inputView(length: number): Uint8Array {
    const slot = length % INPUT_VIEW_SLOTS;
    let view = this.#inputViews[slot];
    if (view === undefined || view.length !== length) {
      view = this.#bytes.subarray(this.#inputPtr, this.#inputPtr + length);
      this.#inputViews[slot] = view;
    }
    return view;
  }

  acquireInput(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer, got ${length}`);
    this.#refresh();
    if (!this.#reserveInput(length)) {
      throw new RangeError(`cannot acquire ${length} bytes: the input region is bounded to ${this.#maxInputCapacity} bytes`);
    }
    return this.#inputView(length);
  }

  mask(data: Uint8Array, key: Uint8Array, phase = 0): number {
    const length = data.length;
    if (length < this.#maskMinBytes) return portableCodec.mask(data, key, phase);
    if (this.#inInput(data)) return this.#wasmMask(data.byteOffset, length, maskKeyWord(key), phase & 3);
    return this.#maskThroughInput(data, maskKeyWord(key), phase & 3, data, 0);
  }

  maskInto(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number, phase = 0): number {
    const length = source.length;
    if (targetOffset < 0 || targetOffset + length > target.length) {
      throw new RangeError(`target has no room for ${length} bytes at offset ${targetOffset}`);
    }
    if (length < this.#maskMinBytes) return portableCodec.maskInto(source, key, target, targetOffset, phase);
    if (this.#inInput(target)) {
      // Copy straight to where the masked bytes belong and mask them there.
      const at = target.byteOffset + targetOffset;
      this.#bytes.set(source, at);
      return this.#wasmMask(at, length, maskKeyWord(key), phase & 3);
    }
    return this.#maskThroughInput(source, maskKeyWord(key), phase & 3, target, targetOffset);
  }

  /** Copy `source` into INPUT, mask it there, copy it to `target`; region-sized slices. */
  #maskThroughInput(source: Uint8Array, keyWord: number, phase: number, target: Uint8Array, targetOffset: number): number {
    const length = source.length;
    const capacity = this.#inputCapacity;
    const bytes = this.#bytes;
    const input = this.#inputPtr;
    for (let done = 0; done < length; ) {
      const n = Math.min(capacity, length - done);
      bytes.set(n === length ? source : source.subarray(done, done + n), input);
      phase = this.#wasmMask(input, n, keyWord, phase);
      target.set(this.#inputView(n), targetOffset + done);
      done += n;
    }
    return phase;
  }

  utf8Step(data: Uint8Array, state: number): number {
    const length = data.length;
    if (length < this.#utf8MinBytes) return portableCodec.utf8Step(data, state);
    if (this.#platformIsUtf8 !== undefined && state === UTF8_ACCEPT) return platformUtf8Step(data, this.#platformIsUtf8);
    if (this.#inInput(data)) return this.#wasmUtf8Step(data.byteOffset, length, state);
    const capacity = this.#inputCapacity;
    const input = this.#inputPtr;
    for (let done = 0; done < length && state !== UTF8_INVALID; ) {
      const n = Math.min(capacity, length - done);
      this.#bytes.set(n === length ? data : data.subarray(done, done + n), input);
      state = this.#wasmUtf8Step(input, n, state);
      done += n;
    }
    return state;
  }

  validateUtf8(data: Uint8Array): boolean {
    if (this.#platformIsUtf8 !== undefined) return this.#platformIsUtf8(data);
    return this.utf8Step(data, UTF8_ACCEPT) === UTF8_ACCEPT;
  }

  parseFrames(chunk: Uint8Array, table: FrameTable, options: ParseOptions, state: FragmentState): void {
    const length = chunk.length;
    let ptr: number;
    if (this.#inInput(chunk)) {
      ptr = chunk.byteOffset;
    } else {
      if (length < this.#parseMinBytes || !this.#reserveInput(length)) {
        portableCodec.parseFrames(chunk, table, options, state);
        return;
      }
      ptr = this.#inputPtr;
      this.#bytes.set(chunk, ptr);
    }
    const flags =
      (options.expectMasked ? this.#maskedFlag : 0) |
      (options.validateUtf8 ? this.#utf8Flag : 0) |
      ((options.allowedRsv & 7) << this.#rsvShift);
    const words = this.#words;
    let fragment = state.fragment;
    let utf8 = state.utf8;
    let rowBase = 0;
    let offset = 0;
    let status: number;
    let partial: number;
    // One call describes up to TABLE_CAPACITY frames; a larger FrameTable takes another.
    for (;;) {
      const maxRows = Math.min(table.capacity - rowBase, this.#tableCapacity);
      status = this.#wasmParseFrames(ptr + offset, length - offset, maxRows, flags, options.maxPayload, fragment, utf8);
      const count = words[this.#countIndex]!;
      partial = words[this.#partialHeaderIndex]!;
      fragment = words[this.#fragmentIndex]!;
      utf8 = words[this.#utf8Index]!;
      offset += words[this.#consumedIndex]!;
      const rows = count + partial;
      if (rows > SMALL_ROW_COPY) {
        table.rows.set(this.#rowView(rows), rowBase * FRAME_ROW_FIELDS);
        table.maskKeys.set(this.#keyView(rows), rowBase * 4);
      } else if (rows > 0) {
        this.#copyRows(table, rowBase, rows);
      }
      rowBase += count;
      if (status !== ParseStatus.OK || count < maxRows || rowBase === table.capacity || offset === length) break;
    }
    const doubles = this.#doubles;
    table.count = rowBase;
    table.status = status;
    table.consumed = offset;
    table.needed = doubles[this.#neededIndex]!;
    table.partialHeader = partial === 1;
    table.partialPayloadLength = doubles[this.#partialPayloadLengthIndex]!;
    table.errorOffset = status < 0 ? offset : 0;
    table.data = this.#inputRegion;
    table.dataOffset = ptr - this.#inputPtr;
    table.transient = true;
    state.fragment = fragment;
    state.utf8 = utf8;
  }

  /** Copy `rows` (≤ SMALL_ROW_COPY) rows and keys one field at a time. */
  #copyRows(table: FrameTable, rowBase: number, rows: number): void {
    const words = this.#words;
    const bytes = this.#bytes;
    const source = this.#rowsPtr >> 2;
    const target = rowBase * FRAME_ROW_FIELDS;
    for (let i = 0; i < rows * FRAME_ROW_FIELDS; i++) table.rows[target + i] = words[source + i]!;
    for (let i = 0; i < rows * 4; i++) table.maskKeys[rowBase * 4 + i] = bytes[this.#keysPtr + i]!;
  }

  /** The first `rows` descriptor rows of the wasm table, cached by row count. */
  #rowView(rows: number): Int32Array {
    let view = this.#rowViews[rows];
    if (view === undefined) {
      const start = this.#rowsPtr >> 2;
      view = this.#words.subarray(start, start + rows * FRAME_ROW_FIELDS);
      this.#rowViews[rows] = view;
    }
    return view;
  }

  /** The first `rows` mask keys of the wasm table, cached by row count. */
  #keyView(rows: number): Uint8Array {
    let view = this.#keyViews[rows];
    if (view === undefined) {
      view = this.#bytes.subarray(this.#keysPtr, this.#keysPtr + rows * 4);
      this.#keyViews[rows] = view;
    }
    return view;
  }

  /** Writes 2–14 bytes straight into the caller's buffer: a wasm call could only add a copy. */
  readonly encodeHeader: Codec['encodeHeader'] = portableCodec.encodeHeader;

}
