/**
 * The wasm loader (src/codec/wasm/module.ts): compilation is cached per byte array, a module
 * that lacks part of the ABI is refused with the part named, and `env.abort` becomes an Error
 * that quotes the assertion.
 */
import { describe, expect, it } from 'vitest';
import {
  compileWasm,
  compileWasmSync,
  instantiateWasm,
  instantiateWasmSync,
} from '../../src/codec/wasm/module.js';
import { fakeCodecModule } from './fake-wasm-module.js';
import { wasmBuilds } from './wasm-builds.js';

const release = wasmBuilds.find(([build]) => build === 'release')![1];

describe('compilation', () => {
  it('compiles a byte array once, synchronously or not, and shares the result', async () => {
    const bytes = release.slice();
    const first = compileWasmSync(bytes);
    expect(first).toBeInstanceOf(WebAssembly.Module);
    expect(compileWasmSync(bytes)).toBe(first);
    expect(await compileWasm(bytes)).toBe(first);
  });

  it('concurrent asynchronous compilations of one byte array share one compile', async () => {
    const bytes = release.slice();
    const [a, b] = await Promise.all([compileWasm(bytes), compileWasm(bytes)]);
    expect(a).toBe(b);
    expect(compileWasmSync(bytes)).toBe(a);
  });

  it('a different byte array with the same contents is compiled on its own', async () => {
    expect(await compileWasm(release.slice())).not.toBe(await compileWasm(release.slice()));
  });
});

describe('instantiation checks the ABI', () => {
  it('accepts a module with the memory, every constant and every function', async () => {
    const module = await compileWasm(fakeCodecModule());
    for (const instance of [await instantiateWasm(module), instantiateWasmSync(module)]) {
      expect(instance.memory).toBeInstanceOf(WebAssembly.Memory);
      expect(instance.constants.UTF8_ACCEPT).toBe(0);
      expect(instance.constants.UTF8_INVALID).toBe(1);
      expect(typeof instance.functions.parseFrames).toBe('function');
    }
  });

  it('refuses a module that exports no memory', async () => {
    const module = await compileWasm(fakeCodecModule({ memory: false }));
    await expect(instantiateWasm(module)).rejects.toThrow(new TypeError('the wasm codec module has no linear memory to share'));
    expect(() => instantiateWasmSync(module)).toThrow(TypeError);
  });

  it('refuses a module without one of the ABI constants, naming it', async () => {
    const module = await compileWasm(fakeCodecModule({ omitConstant: 'TABLE_CAPACITY' }));
    await expect(instantiateWasm(module)).rejects.toThrow(new TypeError('the wasm codec module does not export TABLE_CAPACITY'));
  });

  it('refuses a module without one of the functions, naming it', async () => {
    for (const missing of ['mask', 'utf8Step', 'parseFrames'] as const) {
      const module = await compileWasm(fakeCodecModule({ omitFunction: missing }));
      await expect(instantiateWasm(module), missing).rejects.toThrow(new TypeError(`the wasm codec module does not export ${missing}()`));
    }
  });
});

describe('env.abort', () => {
  it('quotes the message and the place of the failed assertion', async () => {
    const instance = await instantiateWasm(
      await compileWasm(fakeCodecModule({ strings: [[64, 'length out of range'], [128, 'assembly/mask.ts']], abortArgs: [64, 128, 12, 5] })),
    );
    expect(() => instance.functions.mask(0, 0, 0, 0)).toThrow(new Error('wasm codec assertion failed: length out of range (assembly/mask.ts:12:5)'));
  });

  it('reports an assertion without message or file by its line and column', async () => {
    const instance = await instantiateWasm(await compileWasm(fakeCodecModule({ abortArgs: [0, 0, 7, 3] })));
    expect(() => instance.functions.utf8Step(0, 0, 0)).toThrow(new Error('wasm codec assertion failed:  (:7:3)'));
  });

  it('reports an assertion that fails while the module starts, before its memory is known', async () => {
    const module = await compileWasm(fakeCodecModule({ strings: [[64, 'never read']], abortArgs: [64, 64, 1, 1], abortOnStart: true }));
    await expect(instantiateWasm(module)).rejects.toThrow(new Error('wasm codec assertion failed:  (:1:1)'));
  });
});
