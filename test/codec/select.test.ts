/**
 * Codec selection on runtimes without WebAssembly SIMD: `auto` serves the portable codec and an
 * explicit `wasm` fails with a reason. The runtime's verdict is cached per module instance, so
 * each case loads the codec modules afresh under a stubbed `WebAssembly`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

type CodecModule = typeof import('../../src/codec/index.js');

async function loadCodecModule(): Promise<CodecModule> {
  vi.resetModules();
  return import('../../src/codec/index.js');
}

const UNSUPPORTED = 'the wasm codec needs WebAssembly with SIMD, which this runtime does not provide';

describe('codec selection without WebAssembly SIMD', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  const runtimes: Array<[string, () => void]> = [
    ['WebAssembly rejects the SIMD module', () => vi.spyOn(WebAssembly, 'validate').mockReturnValue(false)],
    [
      'WebAssembly.validate throws',
      () =>
        vi.spyOn(WebAssembly, 'validate').mockImplementation(() => {
          throw new TypeError('validation is disabled');
        }),
    ],
    ['there is no WebAssembly at all', () => vi.stubGlobal('WebAssembly', undefined)],
  ];

  for (const [runtime, stub] of runtimes) {
    it(`${runtime}: auto picks the portable codec, wasm fails with the reason`, async () => {
      stub();
      const codec = await loadCodecModule();
      expect(codec.isWasmSimdSupported()).toBe(false);
      expect(await codec.createCodec()).toBe(codec.portableCodec);
      expect(codec.createCodecSync({ implementation: 'auto' })).toBe(codec.portableCodec);
      await expect(codec.createCodec({ implementation: 'wasm' })).rejects.toThrow(UNSUPPORTED);
      expect(() => codec.createCodecSync({ implementation: 'wasm' })).toThrow(UNSUPPORTED);
      expect(codec.createCodecSync({ implementation: 'portable' })).toBe(codec.portableCodec);
    });
  }

  it('asks the runtime once and remembers the answer', async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const codec = await loadCodecModule();
    expect(codec.isWasmSimdSupported()).toBe(false);
    expect(codec.isWasmSimdSupported()).toBe(false);
    expect(validate).toHaveBeenCalledTimes(1);
  });
});
