/**
 * Extensions for testing the extension runtime: a reversible byte transform (synchronous or
 * asynchronous), one whose every call waits for the test to release it, and an expanding
 * "bomb" decoder. They claim RSV bits like a real extension (permessage-deflate claims RSV1).
 */
import type { ClientExtensionNegotiator, NegotiatedExtension, ServerExtensionNegotiator } from '../../src/handshake/extensions.js';
import type { DecodeOutput, Extension } from '../../src/protocol/extension.js';

/** How an extension answers: at once, after a microtask, or after a macrotask. */
export type Timing = 'sync' | 'microtask' | 'timer';

function later<T>(timing: Timing, produce: () => T): T | Promise<T> {
  if (timing === 'sync') return produce();
  if (timing === 'microtask') return Promise.resolve().then(produce);
  return new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(produce());
      } catch (error) {
        reject(error);
      }
    }, 0),
  );
}

/**
 * XOR with a keystream that runs on through the message (`key + position`), restarting at
 * each message: reversible, position-dependent (so a lost, repeated or reordered piece shows),
 * and producing a new buffer like a real transform.
 */
export class XorExtension implements Extension {
  disposed = 0;
  encodedPieces = 0;
  decodedPieces = 0;
  #encodePosition = 0;
  #decodePosition = 0;
  readonly #key: number;
  readonly #timing: Timing;
  readonly #shouldEncode: ((binary: boolean, size: number | undefined) => boolean) | undefined;

  constructor(options: { key?: number; timing?: Timing; shouldEncode?: (binary: boolean, size: number | undefined) => boolean } = {}) {
    this.#key = options.key ?? 0x5a;
    this.#timing = options.timing ?? 'sync';
    this.#shouldEncode = options.shouldEncode;
  }

  shouldEncode(binary: boolean, size: number | undefined): boolean {
    return this.#shouldEncode?.(binary, size) ?? true;
  }

  /** The transform itself, for computing expected wire bytes. */
  static apply(data: Uint8Array, key: number, start = 0): Uint8Array {
    return data.map((byte, i) => byte ^ ((key + start + i) & 0xff));
  }

  encode(data: Uint8Array, fin: boolean): Uint8Array | Promise<Uint8Array> {
    this.encodedPieces++;
    const start = this.#encodePosition;
    this.#encodePosition = fin ? 0 : start + data.length;
    return later(this.#timing, () => XorExtension.apply(data, this.#key, start));
  }

  decode(data: Uint8Array, fin: boolean, output: DecodeOutput): void | Promise<void> {
    this.decodedPieces++;
    const start = this.#decodePosition;
    this.#decodePosition = fin ? 0 : start + data.length;
    const copy = data.slice();
    const result = later(this.#timing, () => {
      output.push(XorExtension.apply(copy, this.#key, start));
    });
    return result instanceof Promise ? result : undefined;
  }

  dispose(): void {
    this.disposed++;
  }
}

/** A decode or encode call waiting for the test. */
export interface HeldCall {
  readonly kind: 'decode' | 'encode';
  readonly data: Uint8Array;
  readonly fin: boolean;
  readonly output: DecodeOutput | null;
  /** Finish the call: a decode pushes `pushes` (default: the data as it is), an encode returns `result`. */
  release(pushes?: Uint8Array[] | Uint8Array): void;
  fail(error: unknown): void;
}

/** An identity transform whose every call is held until the test releases it. */
export class HeldExtension implements Extension {
  readonly calls: HeldCall[] = [];
  disposed = 0;

  /** The oldest call not yet released. */
  next(): HeldCall {
    const call = this.calls.shift();
    if (call === undefined) throw new Error('no call is waiting');
    return call;
  }

  encode(data: Uint8Array, fin: boolean): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        kind: 'encode',
        data,
        fin,
        output: null,
        release: (result) => resolve(result instanceof Uint8Array ? result : data),
        fail: reject,
      });
    });
  }

  decode(data: Uint8Array, fin: boolean, output: DecodeOutput): Promise<void> {
    const copy = data.slice();
    return new Promise((resolve, reject) => {
      this.calls.push({
        kind: 'decode',
        data: copy,
        fin,
        output,
        release: (pushes) => {
          for (const piece of pushes === undefined ? [copy] : pushes instanceof Uint8Array ? [pushes] : pushes) output.push(piece);
          resolve();
        },
        fail: reject,
      });
    });
  }

  dispose(): void {
    this.disposed++;
  }
}

/**
 * Decodes each input byte into `factor` bytes, pushed in pieces of `pieceSize`, and stops as
 * soon as a push is refused — as a well-behaved decompressor stops when its output is refused.
 */
export class ExpandingExtension implements Extension {
  /** Bytes the connection accepted, and pushes after the first refusal (must stay 0). */
  accepted = 0;
  pushesAfterRefusal = 0;
  refused = false;
  readonly #factor: number;
  readonly #pieceSize: number;
  readonly #timing: Timing;

  constructor(factor: number, pieceSize = 64, timing: Timing = 'sync') {
    this.#factor = factor;
    this.#pieceSize = pieceSize;
    this.#timing = timing;
  }

  encode(data: Uint8Array): Uint8Array {
    return data;
  }

  decode(data: Uint8Array, _fin: boolean, output: DecodeOutput): void | Promise<void> {
    const run = (): void => {
      let remaining = data.length * this.#factor;
      while (remaining > 0) {
        const piece = new Uint8Array(Math.min(this.#pieceSize, remaining)).fill(0x61);
        if (this.refused) this.pushesAfterRefusal++;
        if (!output.push(piece)) {
          this.refused = true;
          return;
        }
        this.accepted += piece.length;
        remaining -= piece.length;
      }
    };
    const result = later(this.#timing, run);
    return result instanceof Promise ? result : undefined;
  }
}

/** Negotiated-extension records, for connections started with `established`. */
export function negotiated(extension: Extension, rsvBits = 0b100, name = 'x-test'): NegotiatedExtension<Extension> {
  return { name, rsvBits, params: [], extension };
}

/** Negotiators for a pair, creating a fresh extension per connection side. */
export function negotiatorsFor(
  name: string,
  rsvBits: number,
  makeServer: () => Extension,
  makeClient: () => Extension,
): { server: ServerExtensionNegotiator<Extension>; client: ClientExtensionNegotiator<Extension> } {
  return {
    server: { name, rsvBits, accept: () => ({ response: [], extension: makeServer() }) },
    client: { name, rsvBits, offer: () => [[]], accept: () => makeClient() },
  };
}
