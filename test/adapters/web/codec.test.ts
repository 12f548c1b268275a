/**
 * The web codec handle in Node: it serves at once with the portable codec, switches to wasm
 * when instantiation resolves, and obeys the implementation choice and the kill switch. (The
 * browser tests run it in Chromium's main thread and workers, with and without WebAssembly.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWebCodec, sharedWebCodec } from '../../../src/adapters/web/codec.js';
import { Fragment, FrameTable, UTF8_ACCEPT } from '../../../src/codec/types.js';
import { fromHex, toHex } from '../../../src/shared/bytes.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createWebCodec', () => {
  it('is portable until ready, then wasm; a table filled before the switch stays readable', async () => {
    const codec = createWebCodec();
    expect(codec.implementation).toBe('portable');
    const table = new FrameTable(4);
    // RFC 6455 §5.7: a single-frame masked text message, "Hello".
    codec.parseFrames(fromHex('818537fa213d7f9f4d5158'), table, { expectMasked: true, allowedRsv: 0, maxPayload: 1000, validateUtf8: true }, { fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
    expect(await codec.ready).toBe('wasm');
    expect(codec.implementation).toBe('wasm');
    expect(toHex(table.payload(0))).toBe('48656c6c6f');
    // The same answers after the switch.
    const again = new FrameTable(4);
    codec.parseFrames(fromHex('818537fa213d7f9f4d5158'), again, { expectMasked: true, allowedRsv: 0, maxPayload: 1000, validateUtf8: true }, { fragment: Fragment.NONE, utf8: UTF8_ACCEPT });
    expect(toHex(again.payload(0))).toBe('48656c6c6f');
    expect(codec.validateUtf8(fromHex('f09d849e'))).toBe(true);
    expect(codec.utf8Step(fromHex('f09d'), UTF8_ACCEPT)).not.toBe(UTF8_ACCEPT);
  });

  it("'portable' never loads wasm; WASMSOCKET_NO_WASM keeps 'auto' portable too", async () => {
    expect(await createWebCodec({ implementation: 'portable' }).ready).toBe('portable');
    vi.stubEnv('WASMSOCKET_NO_WASM', '1');
    const codec = createWebCodec();
    expect(await codec.ready).toBe('portable');
    expect(codec.implementation).toBe('portable');
  });

  it("'wasm' resolves with wasm where it runs", async () => {
    expect(await createWebCodec({ implementation: 'wasm' }).ready).toBe('wasm');
  });

  it('refuses an unknown implementation', () => {
    expect(() => createWebCodec({ implementation: 'fast' as 'wasm' })).toThrow(RangeError);
  });

  it('sharedWebCodec is one handle per thread', () => {
    expect(sharedWebCodec()).toBe(sharedWebCodec());
  });
});
