/** The two wasm builds the codec tests run against, as module bytes. */
import { decodeInlineBytes } from '../../src/codec/wasm/inline-bytes.js';
import { wasmBase64 as debugBase64 } from '../../src/codec/wasm/debug.generated.js';
import { wasmReleaseBytes } from '../../src/codec/wasm/index.js';

export const wasmBuilds = [
  ['debug', decodeInlineBytes(debugBase64)],
  ['release', wasmReleaseBytes()],
] as const;

/** Thresholds that send every input to wasm, whatever its size. */
export const ALL_WASM = { maskMinBytes: 0, utf8MinBytes: 0, parseMinBytes: 0 } as const;
