/**
 * The public surface of `wasmsocket/codec`: exactly these values, so a harness or a worker that
 * uses the codec on its own sees a deliberate entry, and a name leaves or joins it only on purpose.
 */
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/codec/index.js';

describe('wasmsocket/codec', () => {
  it('exports exactly the public values', () => {
    expect(Object.keys(entry).sort()).toEqual(
      [
        'FRAME_HEADER_LENGTH',
        'FRAME_HEADER_OFFSET',
        'FRAME_INFO',
        'FRAME_PAYLOAD_LENGTH',
        'FRAME_ROW_FIELDS',
        'Fragment',
        'FrameError',
        'FrameTable',
        'MAX_SAFE_PAYLOAD',
        'NO_WASM_ENV',
        'ParseStatus',
        'UTF8_ACCEPT',
        'UTF8_INVALID',
        'createCodec',
        'createCodecSync',
        'createMaskKeyPool',
        'frameHeaderLength',
        'isWasmCodec',
        'isWasmDisabledByEnvironment',
        'isWasmSimdSupported',
        'portableCodec',
      ].sort(),
    );
  });

  it('the portable codec and a synchronously created one share the contract', () => {
    const codec = entry.createCodecSync({ implementation: 'portable' });
    expect(codec).toBe(entry.portableCodec);
    expect(codec.utf8Step(new TextEncoder().encode('é'), entry.UTF8_ACCEPT)).toBe(entry.UTF8_ACCEPT);
  });
});
