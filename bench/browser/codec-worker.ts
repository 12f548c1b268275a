/**
 * The codec benchmark's cases, run in a module worker of a browser: UTF-8 validation by the
 * wasm codec, the portable codec and the platform's `TextDecoder({ fatal: true })` (the
 * validator browsers have), and masking by the wasm and the portable codec. Posts the medians.
 *
 * Before any case, the wasm paths run until V8 has tiered them up (`warmUpUntilSettled`):
 * measured earlier, they would be its baseline code.
 */
import { portableCodec } from '../../src/codec/portable/index.js';
import { createWasmCodec, type WasmCodec } from '../../src/codec/wasm/index.js';
import { seededBytes, TEXT_KINDS, textOfSize, type TextKind } from '../fixtures.js';
import { type BenchCase, batchFor, describeWarmUp, measure, type MeasureOptions, type WarmUpOptions, warmUpUntilSettled } from '../lib/measure.js';

/** What the runner asks for. */
export interface BrowserBenchRequest {
  readonly measure: MeasureOptions;
  readonly tierUp: WarmUpOptions;
  readonly utf8Sizes: readonly number[];
  readonly maskSizes: readonly number[];
}

/**
 * Work per timed iteration. A browser's timer is coarse (5 µs cross-origin isolated, as the
 * runner serves the page, else 100 µs): 2 MiB takes a wasm validator about 0.25 ms, so the
 * timer's step stays near 2 % of it. Longer iterations would be preempted more often on a
 * busy machine, and the median would then measure the preemption.
 */
const BYTES_PER_ITERATION = 2 * 1024 * 1024;
const MAX_OPS_PER_ITERATION = 262144;

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

function sizeLabel(size: number): string {
  return size >= 1024 * 1024 ? `${size / (1024 * 1024)} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

/** UTF-8 on 64 KiB of chat-shaped and of ASCII text and masking 64 KiB: every wasm loop the cases time. */
function tierUpWork(wasm: WasmCodec): () => void {
  const chat = textOfSize('chat', 64 * 1024);
  const ascii = textOfSize('ascii', 64 * 1024);
  const payload = seededBytes(64 * 1024);
  return () => {
    if (!wasm.validateUtf8(chat) || !wasm.validateUtf8(ascii)) throw new Error('tier-up text is not valid UTF-8');
    wasm.mask(payload, KEY, 0);
  };
}

async function cases(request: BrowserBenchRequest, wasm: WasmCodec): Promise<BenchCase[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const textDecoderValidates = (bytes: Uint8Array): boolean => {
    try {
      decoder.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  const list: BenchCase[] = [];
  // Grow the input region once, to the largest text: growth would detach the views below.
  wasm.acquireInput(Math.max(...request.utf8Sizes));
  for (const kind of Object.keys(TEXT_KINDS) as TextKind[]) {
    for (const size of request.utf8Sizes) {
      const text = textOfSize(kind, size);
      if (!portableCodec.validateUtf8(text) || !wasm.validateUtf8(text) || !textDecoderValidates(text)) throw new Error(`${kind} ${size}: not valid UTF-8`);
      const ops = batchFor(size, BYTES_PER_ITERATION, MAX_OPS_PER_ITERATION);
      const row = `${kind} ${sizeLabel(size)}`;
      // The text where a read into `acquireInput` would have put it; every case's view starts
      // the region, so each places its bytes there before it is timed.
      const inMemory = wasm.acquireInput(size);
      const place = () => inMemory.set(text);
      list.push(
        { group: 'utf8', row, subject: 'wasm, JS memory (copy in)', bytesPerOp: size, opsPerIteration: ops, run: () => wasm.validateUtf8(text) },
        { group: 'utf8', row, subject: 'wasm, in linear memory', bytesPerOp: size, opsPerIteration: ops, run: () => wasm.validateUtf8(inMemory), beforeAll: place },
        { group: 'utf8', row, subject: 'portable', bytesPerOp: size, opsPerIteration: ops, run: () => portableCodec.validateUtf8(text) },
        { group: 'utf8', row, subject: 'TextDecoder fatal', bytesPerOp: size, opsPerIteration: ops, run: () => textDecoderValidates(text) },
      );
    }
  }
  for (const size of request.maskSizes) {
    const payload = seededBytes(size);
    const ops = batchFor(size, BYTES_PER_ITERATION, MAX_OPS_PER_ITERATION);
    const row = sizeLabel(size);
    // Masking in place twice restores the bytes; once per op keeps them random either way.
    list.push(
      { group: 'mask', row, subject: 'wasm', bytesPerOp: size, opsPerIteration: ops, run: () => wasm.mask(payload, KEY, 0) },
      { group: 'mask', row, subject: 'portable', bytesPerOp: size, opsPerIteration: ops, run: () => portableCodec.mask(payload, KEY, 0) },
    );
  }
  return list;
}

addEventListener('message', async (event: MessageEvent<BrowserBenchRequest>) => {
  try {
    // Every input goes to wasm: the columns compare the implementations themselves.
    const wasm = await createWasmCodec({ thresholds: { maskMinBytes: 0, utf8MinBytes: 0, parseMinBytes: 0 } });
    const tierUp = describeWarmUp('the wasm paths (UTF-8 on 64 KiB of chat and ASCII text, masking 64 KiB)', await warmUpUntilSettled(tierUpWork(wasm), event.data.tierUp), event.data.tierUp);
    postMessage({ progress: tierUp });
    const results = await measure(await cases(event.data, wasm), event.data.measure, (result) => postMessage({ progress: `${result.group} ${result.row} ${result.subject}` }));
    postMessage({
      tierUp,
      results,
      environment: { userAgent: navigator.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency },
    });
  } catch (error) {
    postMessage({ error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
  }
});
