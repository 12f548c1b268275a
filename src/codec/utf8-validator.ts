/** A stateful UTF-8 validator over any codec's `utf8Step` (the state numbering is shared). */
import { UTF8_ACCEPT, UTF8_INVALID, type Utf8Validator } from './types.js';

export class StepUtf8Validator implements Utf8Validator {
  readonly #step: (data: Uint8Array, state: number) => number;
  #state: number = UTF8_ACCEPT;

  constructor(step: (data: Uint8Array, state: number) => number) {
    this.#step = step;
  }

  get state(): number {
    return this.#state;
  }

  push(chunk: Uint8Array): boolean {
    if (this.#state !== UTF8_INVALID) this.#state = this.#step(chunk, this.#state);
    return this.#state !== UTF8_INVALID;
  }

  end(): boolean {
    return this.#state === UTF8_ACCEPT;
  }

  reset(): void {
    this.#state = UTF8_ACCEPT;
  }
}
