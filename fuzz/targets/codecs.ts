/**
 * The codecs a differential oracle compares: the portable codec (the reference), the wasm codec
 * with every input sent to wasm whatever its size, and the wasm codec as it ships (small inputs
 * routed to the portable code below the measured crossovers).
 */
import { portableCodec } from '../../src/codec/portable/index.js';
import type { Codec } from '../../src/codec/types.js';
import { createWasmCodecSync } from '../../src/codec/wasm/index.js';

export interface NamedCodec {
  readonly name: string;
  readonly codec: Codec;
}

let codecs: readonly NamedCodec[] | null = null;

/** The reference first, then the codecs checked against it. */
export function codecsUnderTest(): readonly NamedCodec[] {
  codecs ??= [
    { name: 'portable', codec: portableCodec },
    { name: 'wasm', codec: createWasmCodecSync({ thresholds: { maskMinBytes: 0, utf8MinBytes: 0, parseMinBytes: 0 } }) },
    { name: 'wasm (shipped thresholds)', codec: createWasmCodecSync() },
  ];
  return codecs;
}
