/**
 * The codec for pages and workers: usable at once, fast as soon as it can be.
 *
 * A browser's main thread may refuse to compile WebAssembly synchronously (Chromium does for
 * modules over a few KiB), and even where it may, compiling blocks the thread. So the codec
 * here is a handle that serves every call with the portable codec from the first moment,
 * starts `WebAssembly.compile` / `WebAssembly.instantiate` on the bytes the bundle inlines
 * (no fetch, no extra file), and switches to the wasm codec when instantiation resolves.
 * `ready` says when that happened. Where WebAssembly or its SIMD instructions are missing, or
 * `WASMSOCKET_NO_WASM` is set, the portable codec stays, with the same API.
 *
 * Switching between calls is sound because the codec contract makes the two implementations
 * interchangeable call by call: same frames, same errors, same carried states
 * (src/codec/types.ts). A `FrameTable` filled by one and read after the switch stays valid:
 * its `data` and `transient` fields describe the call that filled it.
 */
import {
  type Codec,
  type CodecChoice,
  type CodecImplementation,
  createCodec,
  type FragmentState,
  type FrameTable,
  isWasmDisabledByEnvironment,
  isWasmSimdSupported,
  type ParseOptions,
  portableCodec,
} from '../../codec/index.js';

/** Options of `createWebCodec`. */
export interface WebCodecOptions {
  /**
   * `auto` (default): switch to wasm where WebAssembly with SIMD runs and `WASMSOCKET_NO_WASM`
   * is not set; `portable`: never load wasm; `wasm`: load it, and reject `ready` where it cannot run.
   */
  readonly implementation?: CodecChoice;
}

/**
 * A codec that serves calls at once with the portable implementation and switches to the wasm
 * one when its asynchronous instantiation resolves.
 */
export interface WebCodec extends Codec {
  /** The implementation serving calls now; changes at most once, from `portable` to `wasm`. */
  readonly implementation: CodecImplementation;
  /**
   * Settles when the codec has its final implementation: resolves with `wasm` once wasm has
   * taken over, or with `portable` when it will not (not supported, or not chosen). Rejects
   * only for `implementation: 'wasm'` where wasm cannot load; the handle still works then,
   * with the portable codec.
   */
  readonly ready: Promise<CodecImplementation>;
}

class SwitchingCodec implements WebCodec {
  readonly ready: Promise<CodecImplementation>;
  #active: Codec = portableCodec;

  constructor(choice: CodecChoice) {
    this.ready = this.#load(choice);
    // An `auto` load that fails keeps the portable codec; nobody need observe the rejection.
    if (choice !== 'wasm') this.ready.catch(() => {});
  }

  async #load(choice: CodecChoice): Promise<CodecImplementation> {
    if (choice === 'portable') return 'portable';
    if (choice === 'auto' && (isWasmDisabledByEnvironment() || !isWasmSimdSupported())) return 'portable';
    // createCodec compiles with WebAssembly.compile and instantiates with
    // WebAssembly.instantiate: nothing synchronous touches the engine's compiler.
    this.#active = await createCodec({ implementation: 'wasm' });
    return 'wasm';
  }

  get implementation(): CodecImplementation {
    return this.#active.implementation;
  }

  mask(data: Uint8Array, key: Uint8Array, phase?: number): number {
    return this.#active.mask(data, key, phase);
  }

  maskInto(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number, phase?: number): number {
    return this.#active.maskInto(source, key, target, targetOffset, phase);
  }

  validateUtf8(data: Uint8Array): boolean {
    return this.#active.validateUtf8(data);
  }

  utf8Step(data: Uint8Array, state: number): number {
    return this.#active.utf8Step(data, state);
  }

  parseFrames(chunk: Uint8Array, table: FrameTable, options: ParseOptions, state: FragmentState): void {
    this.#active.parseFrames(chunk, table, options, state);
  }

  encodeHeader(
    target: Uint8Array,
    offset: number,
    fin: boolean,
    rsv: number,
    opcode: number,
    payloadLength: number,
    maskKey: Uint8Array | null,
  ): number {
    return this.#active.encodeHeader(target, offset, fin, rsv, opcode, payloadLength, maskKey);
  }
}

/**
 * A new codec handle for this thread (page or worker): portable now, wasm once `ready`
 * resolves with `wasm`. Each handle that loads wasm has its own linear memory; one handle
 * serves any number of connections on its thread, so most code wants `sharedWebCodec()`.
 *
 * @example
 * const codec = createWebCodec();
 * const conn = new ClientConnection({ codec, random: webCryptoRandom, host });  // works at once
 * await codec.ready;                                                              // 'wasm' where SIMD runs
 * @throws RangeError for an unknown `implementation`.
 */
export function createWebCodec(options: WebCodecOptions = {}): WebCodec {
  const choice = options.implementation ?? 'auto';
  if (choice !== 'auto' && choice !== 'wasm' && choice !== 'portable') {
    throw new RangeError(`unknown codec implementation: ${String(choice)}`);
  }
  return new SwitchingCodec(choice);
}

let shared: WebCodec | undefined;

/** The thread's shared `auto` codec handle, created (and its wasm load started) on first use. */
export function sharedWebCodec(): WebCodec {
  return (shared ??= createWebCodec());
}
