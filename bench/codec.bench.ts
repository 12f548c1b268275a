/**
 * Codec benchmarks: masking, UTF-8 validation and frame parsing, the wasm and portable codecs
 * side by side with bufferutil, utf-8-validate, buffer.isUtf8, TextDecoder and ws's Receiver,
 * in one run. Also measures the crossover sizes below which the wasm codec runs the portable
 * code (the constants in src/codec/wasm/codec.ts cite this output).
 *
 *   npm run bench:codec [-- --json FILE] [--time MS] [--warmup MS] [--rounds N] [--tier-up MS] [--only mask,receive,utf8,parse,crossover]
 *
 * Before any case, the wasm codec's paths run for at least `--tier-up` ms (default 2000) and
 * until their throughput stops improving, so that V8 has replaced its baseline wasm code with the
 * optimized code; then each case has its own `--warmup` for the JavaScript around it.
 *
 * The machine is shared and noisy: compare the ratios, measured side by side, not absolute times.
 */
import { isUtf8 } from 'node:buffer';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { portableCodec } from '../src/codec/portable/index.js';
import { FrameTable, type FragmentState, type ParseOptions, ParseStatus } from '../src/codec/types.js';
import { createWasmCodec, DEFAULT_WASM_THRESHOLDS, type WasmCodec } from '../src/codec/wasm/index.js';
import { maskedFrame, maskedFrameChunk, seededBytes, TEXT_KINDS, textOfSize, type TextKind } from './fixtures.js';
import { type BenchCase, type BenchResult, batchFor, DEFAULT_WARM_UP, describeWarmUp, measure, warmUpUntilSettled } from './lib/measure.js';
import { loadBufferUtil, loadUtf8Validate, loadWsReceiver, wsUnmaskLoop } from './lib/natives.js';
import { renderTable } from './lib/table.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    time: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    'tier-up': { type: 'string', default: String(DEFAULT_WARM_UP.minMs) },
    only: { type: 'string' },
  },
});
const options = { timeMs: Number(args.time), warmupMs: Number(args.warmup), rounds: Number(args.rounds) };
const tierUpOptions = { ...DEFAULT_WARM_UP, minMs: Number(args['tier-up']), maxMs: Math.max(DEFAULT_WARM_UP.maxMs, 5 * Number(args['tier-up'])) };
const sections = new Set((args.only ?? 'mask,receive,utf8,parse,crossover').split(','));

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [16, 125, KiB, 16 * KiB, 64 * KiB, MiB];
const UTF8_SIZES = [16, 125, 256, KiB, 16 * KiB, 64 * KiB, MiB];
const CROSSOVER_SIZES = [8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, KiB, 2 * KiB, 4 * KiB];
const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const SERVER: ParseOptions = { expectMasked: true, allowedRsv: 0, maxPayload: 100 * MiB, validateUtf8: true };

const bufferUtil = loadBufferUtil();
const utf8Validate = loadUtf8Validate();
const WsReceiver = loadWsReceiver();
/** Every input in wasm, whatever its size: the raw wasm paths. */
const wasm = await createWasmCodec({ thresholds: { maskMinBytes: 0, utf8MinBytes: 0, parseMinBytes: 0 } });

const label = (size: number) => (size >= MiB ? `${size / MiB} MiB` : size >= KiB ? `${size / KiB} KiB` : `${size} B`);
const fresh = (): FragmentState => ({ fragment: 0, utf8: 0 });
const log = (r: BenchResult) => process.stderr.write(`  ${r.group} | ${r.row} | ${r.subject}: ${r.nsPerOp.toFixed(1)} ns/op, ${r.mbPerSecond.toFixed(0)} MB/s ±${r.spreadPercent.toFixed(1)}%\n`);

// Grow the input region once, up front, to the largest input measured: growth detaches every
// view acquired before it, and a detached view would silently measure nothing.
wasm.acquireInput(2 * MiB);
const acquiredViews: Uint8Array[] = [];

/**
 * A view of the wasm codec's input region holding `bytes`, where a socket would have read
 * them. Every such view starts at the region's start, so each case places its bytes there
 * (`place`, run as the case's untimed `beforeAll`) before it is measured.
 */
function inWasmMemory(codec: WasmCodec, bytes: Uint8Array): { view: Uint8Array; place: () => void } {
  const view = codec.acquireInput(bytes.length);
  acquiredViews.push(view);
  const place = () => view.set(bytes);
  place();
  return { view, place };
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark self-check failed: ${what}`);
}

/**
 * One call of every wasm path the cases measure, on inputs large enough to spend their time
 * in the SIMD loops: what has to be tiered up before anything is timed.
 */
function wasmTierUpWork(): () => void {
  const chat = textOfSize('chat', 64 * KiB);
  const ascii = textOfSize('ascii', 64 * KiB);
  const payload = seededBytes(64 * KiB, 3);
  const chunk = maskedFrameChunk(FRAMES_PER_CHUNK, 2, 125, 1);
  const table = new FrameTable(FRAMES_PER_CHUNK + 24);
  const state = fresh();
  return () => {
    check(wasm.validateUtf8(chat) && wasm.validateUtf8(ascii), 'tier-up text is valid');
    wasm.mask(payload, KEY, 0);
    wasm.parseFrames(chunk, table, SERVER, state);
    check(table.count === FRAMES_PER_CHUNK, 'tier-up chunk parses');
  };
}

// --- masking: the operation alone --------------------------------------------------------------

function maskCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const size of SIZES) {
    const ops = batchFor(size);
    const source = seededBytes(size, size);
    const data = Buffer.from(source);
    const target = new Uint8Array(size);
    const key = Buffer.from(KEY);
    const inMemory = inWasmMemory(wasm, source);
    const base = { group: 'mask', row: label(size), bytesPerOp: size, opsPerIteration: ops };
    cases.push(
      { ...base, subject: 'bufferutil', run: () => bufferUtil.unmask(data, key) },
      { ...base, subject: 'ws JS loop', run: () => wsUnmaskLoop(data, key) },
      { ...base, subject: 'portable', run: () => portableCodec.mask(data, KEY, 0) },
      { ...base, subject: 'wasm, JS memory (copy in+out)', run: () => wasm.mask(data, KEY, 0) },
      { ...base, subject: 'wasm, in linear memory', run: () => wasm.mask(inMemory.view, KEY, 0), beforeAll: inMemory.place },
      { ...base, subject: 'Uint8Array.set (ceiling)', run: () => target.set(source) },
    );
  }
  return cases;
}

// --- unmasking as the receive path does it, one frame of each size -----------------------------

function receiveCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const size of SIZES) {
    const ops = batchFor(size);
    const frame = maskedFrame(2, seededBytes(size, size + 1), KEY);
    const headerLength = frame.length - size;
    const jsChunk = Buffer.from(frame);
    const wsPayload = jsChunk.subarray(headerLength);
    const wsKey = Buffer.from(KEY);
    const kept = new Uint8Array(size);
    const table = new FrameTable();
    const state = fresh();
    const options = { ...SERVER, validateUtf8: false };
    const wasmChunk = inWasmMemory(wasm, frame);
    const portableChunk = Buffer.from(frame);
    // Parse, then copy the payload out: the protocol keeps a copy of transient wasm data.
    const parseAndKeep = (chunk: Uint8Array) => () => {
      wasm.parseFrames(chunk, table, options, state);
      kept.set(table.payload(0));
    };
    for (const chunk of [jsChunk, wasmChunk.view]) {
      parseAndKeep(chunk)();
      check(table.status === ParseStatus.OK && table.count === 1 && table.payloadLength(0) === size, `receive ${size}`);
    }
    const base = { group: 'receive', row: label(size), bytesPerOp: size, opsPerIteration: ops };
    cases.push(
      { ...base, subject: 'bufferutil (in place)', run: () => bufferUtil.unmask(wsPayload, wsKey) },
      { ...base, subject: 'portable parseFrames', run: () => portableCodec.parseFrames(portableChunk, table, options, state) },
      { ...base, subject: 'wasm parseFrames, JS chunk (+copy out)', run: parseAndKeep(jsChunk) },
      { ...base, subject: 'wasm parseFrames, acquireInput (+copy out)', run: parseAndKeep(wasmChunk.view), beforeAll: wasmChunk.place },
    );
  }
  return cases;
}

// --- UTF-8 validation ------------------------------------------------------------------------

function utf8Cases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const kind of Object.keys(TEXT_KINDS) as TextKind[]) {
    for (const size of UTF8_SIZES) {
      const text = Buffer.from(textOfSize(kind, size));
      check(isUtf8(text) && wasm.validateUtf8(text) && portableCodec.validateUtf8(text), `valid ${kind} text of ${size}`);
      const inMemory = inWasmMemory(wasm, text);
      check(wasm.validateUtf8(inMemory.view), `valid ${kind} text of ${size} in wasm memory`);
      const ops = batchFor(size);
      const base = { group: 'utf8', row: `${kind} ${label(size)}`, bytesPerOp: size, opsPerIteration: ops };
      cases.push(
        { ...base, subject: 'buffer.isUtf8', run: () => isUtf8(text) },
        { ...base, subject: 'utf-8-validate', run: () => utf8Validate(text) },
        { ...base, subject: 'TextDecoder fatal', run: () => decoder.decode(text) },
        { ...base, subject: 'portable', run: () => portableCodec.validateUtf8(text) },
        { ...base, subject: 'wasm, JS memory (copy in)', run: () => wasm.validateUtf8(text) },
        { ...base, subject: 'wasm, in linear memory', run: () => wasm.validateUtf8(inMemory.view), beforeAll: inMemory.place },
      );
    }
  }
  return cases;
}

// --- frame parsing: a chunk of 1,000 small masked frames -------------------------------------------

const FRAMES_PER_CHUNK = 1000;

function parseCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const variants = [
    { row: 'text 2–125 B', chunk: maskedFrameChunk(FRAMES_PER_CHUNK, 2, 125, 1) },
    { row: 'binary 16–125 B', chunk: maskedFrameChunk(FRAMES_PER_CHUNK, 16, 125, 2) },
  ];
  for (const { row, chunk } of variants) {
    const table = new FrameTable(FRAMES_PER_CHUNK + 24);
    const state = fresh();
    const work = Buffer.from(chunk);
    const restore = () => work.set(chunk);
    const wasmView = wasm.acquireInput(chunk.length);
    const restoreWasm = () => wasmView.set(chunk);
    let messages = 0;
    const receiver = new WsReceiver({ isServer: true, maxPayload: 100 * MiB, allowSynchronousEvents: true });
    receiver.on('message', () => messages++);
    receiver.on('error', (error) => {
      throw error;
    });
    // Self-checks: every implementation sees 1,000 valid frames.
    for (const [name, parse] of [
      ['portable', () => portableCodec.parseFrames(work, table, SERVER, state)],
      ['wasm', () => wasm.parseFrames(chunk, table, SERVER, state)],
      ['wasm in memory', () => wasm.parseFrames(wasmView, table, SERVER, state)],
    ] as const) {
      restore();
      restoreWasm();
      parse();
      check(table.status === ParseStatus.OK && table.count === FRAMES_PER_CHUNK && table.consumed === chunk.length, `${name} parses ${row}`);
    }
    restore();
    receiver.write(work);
    check(messages === FRAMES_PER_CHUNK, `ws Receiver emits ${FRAMES_PER_CHUNK} messages for ${row}`);
    const base = { group: 'parse', row, bytesPerOp: chunk.length, opsPerIteration: 1, itemsPerOp: FRAMES_PER_CHUNK };
    cases.push(
      { ...base, subject: 'ws Receiver', run: () => receiver.write(work), beforeEach: restore },
      { ...base, subject: 'portable', run: () => portableCodec.parseFrames(work, table, SERVER, state), beforeEach: restore },
      { ...base, subject: 'wasm, JS chunk', run: () => wasm.parseFrames(chunk, table, SERVER, state) },
      { ...base, subject: 'wasm, acquireInput', run: () => wasm.parseFrames(wasmView, table, SERVER, state), beforeEach: restoreWasm },
    );
  }
  return cases;
}

// --- crossovers: where the wasm path (with its copies) overtakes the portable code -----------------

function crossoverCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const table = new FrameTable();
  const state = fresh();
  for (const size of CROSSOVER_SIZES) {
    const ops = batchFor(size, 16 * KiB);
    const data = seededBytes(size, size);
    const target = new Uint8Array(size);
    const ascii = textOfSize('ascii', size);
    const mixed = textOfSize('mixed', size);
    const frame = maskedFrame(1, textOfSize('mixed', size - 6), KEY); // a chunk of `size` bytes
    const work = frame.slice();
    const row = label(size);
    for (const [subject, codec] of [['portable', portableCodec], ['wasm', wasm]] as const) {
      const base = { row, subject, bytesPerOp: size, opsPerIteration: ops };
      cases.push(
        { ...base, group: 'crossover mask', run: () => codec.mask(data, KEY, 0) },
        { ...base, group: 'crossover maskInto', run: () => codec.maskInto(data, KEY, target, 0, 0) },
        { ...base, group: 'crossover utf8 ascii', run: () => codec.validateUtf8(ascii) },
        { ...base, group: 'crossover utf8 mixed', run: () => codec.validateUtf8(mixed) },
        // The portable parser unmasks `work` in place; restore it so the text stays valid.
        { ...base, group: 'crossover parseFrames', run: () => (work.set(frame), codec.parseFrames(work, table, SERVER, state)) },
      );
    }
  }
  return cases;
}

/** The smallest measured size from which wasm is at least as fast as portable at every larger size. */
function crossover(results: readonly BenchResult[], group: string): string {
  const rows = CROSSOVER_SIZES.map((size) => {
    const get = (subject: string) => results.find((r) => r.group === group && r.row === label(size) && r.subject === subject)!;
    return { size, wasmWins: get('wasm').nsPerOp <= get('portable').nsPerOp };
  });
  let from: number | undefined;
  for (let i = rows.length - 1; i >= 0 && rows[i]!.wasmWins; i--) from = rows[i]!.size;
  return from === undefined ? 'wasm never wins up to 4 KiB' : `wasm from ${label(from)}`;
}

// --- run ---------------------------------------------------------------------------------------------------

const all: BenchResult[] = [];
const reports: string[] = [];
async function section(name: string, build: () => BenchCase[], render: (results: BenchResult[]) => string[]): Promise<void> {
  if (!sections.has(name)) return;
  process.stderr.write(`${name}…\n`);
  const cases = build();
  check(acquiredViews.every((view) => view.byteLength > 0), 'views of wasm memory are still attached');
  const results = await measure(cases, options, log);
  all.push(...results);
  const text = render(results).join('\n\n');
  reports.push(text);
  process.stdout.write(`\n${text}\n`);
}

const byGroup = (results: BenchResult[], group: string) => results.filter((r) => r.group === group);
process.stdout.write(`wasmsocket codec benchmark — Node ${process.version}, ${process.arch}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}\n`);
process.stdout.write(`tinybench, ${options.timeMs} ms per case in ${options.rounds} rounds alternating with the row's other cases, after ${options.warmupMs} ms warm-up; medians\n`);
const tierUp = await warmUpUntilSettled(wasmTierUpWork(), tierUpOptions);
const tierUpLine = describeWarmUp('the wasm paths (UTF-8 on 64 KiB of chat text, masking 64 KiB, parsing 1,000 text frames)', tierUp, tierUpOptions);
process.stdout.write(`${tierUpLine}\n`);

await section('mask', maskCases, (r) => [renderTable('Masking, the operation alone', r, 'MB/s', 'bufferutil')]);
await section('receive', receiveCases, (r) => [
  renderTable('Unmasking on the receive path: one masked binary frame per call, with every copy that path makes', r, 'MB/s', 'bufferutil (in place)'),
]);
await section('utf8', utf8Cases, (r) => [
  renderTable('UTF-8 validation, valid text (throughput)', r, 'MB/s', 'buffer.isUtf8'),
  renderTable('UTF-8 validation, valid text (per call)', r.filter((x) => x.bytesPerOp <= 256), 'ns/op', 'buffer.isUtf8'),
]);
await section('parse', parseCases, (r) => [
  renderTable(`Frame parsing: a chunk of ${FRAMES_PER_CHUNK} masked frames`, r, 'Mframes/s', 'ws Receiver'),
  renderTable(`Frame parsing: a chunk of ${FRAMES_PER_CHUNK} masked frames`, r, 'ns/frame', 'ws Receiver'),
]);
await section('crossover', crossoverCases, (r) => {
  const groups = ['crossover mask', 'crossover maskInto', 'crossover utf8 ascii', 'crossover utf8 mixed', 'crossover parseFrames'];
  return [
    ...groups.map((g) => renderTable(`${g.replace('crossover ', 'Crossover: ')} (JS memory)`, byGroup(r, g), 'ns/op', 'portable')),
    [
      'Crossovers measured (configured defaults in src/codec/wasm/codec.ts):',
      ...groups.map((g) => `  ${g.replace('crossover ', '').padEnd(12)} ${crossover(r, g)}`),
      `  configured: mask ≥ ${DEFAULT_WASM_THRESHOLDS.maskMinBytes} B, utf8 ≥ ${DEFAULT_WASM_THRESHOLDS.utf8MinBytes} B, parseFrames ≥ ${DEFAULT_WASM_THRESHOLDS.parseMinBytes} B`,
    ].join('\n'),
  ];
});

// --- the issue's targets, checked against this run ---------------------------------------------------

function targetLines(results: readonly BenchResult[]): string[] {
  const find = (group: string, row: string, subject: string) =>
    results.find((r) => r.group === group && r.row === row && r.subject === subject);
  const lines: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'REACHED' : 'NOT REACHED');
  const big = [KiB, 16 * KiB, 64 * KiB, MiB].map(label);
  if (sections.has('receive')) {
    for (const subject of ['wasm parseFrames, JS chunk (+copy out)', 'wasm parseFrames, acquireInput (+copy out)']) {
      const ratios = big.map((row) => find('receive', row, subject)!.mbPerSecond / find('receive', row, 'bufferutil (in place)')!.mbPerSecond);
      lines.push(`unmask ≥ 2× bufferutil, 1 KiB–1 MiB, with the receive path's copies (${subject}): ${ratios.map((x) => `${x.toFixed(2)}×`).join(' ')} — ${verdict(ratios.every((x) => x >= 2))}`);
    }
    const kernel = big.map((row) => find('mask', row, 'wasm, in linear memory')?.mbPerSecond ?? Number.NaN);
    const ceiling = big.map((row) => find('mask', row, 'Uint8Array.set (ceiling)')?.mbPerSecond ?? Number.NaN);
    lines.push(`  bound: in linear memory the unmask alone runs at ${kernel.map((x) => `${(x / 1000).toFixed(1)}`).join(' / ')} GB/s, and the copy out alone (Uint8Array.set) at ${ceiling.map((x) => `${(x / 1000).toFixed(1)}`).join(' / ')} GB/s`);
  }
  if (sections.has('parse')) {
    for (const row of ['binary 16–125 B', 'text 2–125 B']) {
      const perFrame = ['wasm, JS chunk', 'wasm, acquireInput'].map((subject) => find('parse', row, subject)!.nsPerOp / FRAMES_PER_CHUNK);
      lines.push(`${row} frames, ${FRAMES_PER_CHUNK} to a chunk, ≤ 30 ns per frame: ${perFrame.map((x) => `${x.toFixed(1)} ns`).join(' (JS chunk) / ')} (acquireInput) — ${verdict(perFrame.every((x) => x <= 30))}`);
    }
    const ws = find('parse', 'text 2–125 B', 'ws Receiver')!.itemsPerSecond;
    const ratios = ['wasm, JS chunk', 'wasm, acquireInput'].map((subject) => find('parse', 'text 2–125 B', subject)!.itemsPerSecond / ws);
    lines.push(`parse ${FRAMES_PER_CHUNK} masked 2–125 B text frames ≥ 5× ws Receiver frames/s: ${ratios.map((x) => `${x.toFixed(1)}×`).join(' / ')} — ${verdict(ratios.every((x) => x >= 5))}`);
  }
  if (sections.has('utf8')) {
    for (const [kind, goal] of [['ascii', 15_000], ['mixed', 4_000]] as const) {
      const rates = ['wasm, in linear memory', 'wasm, JS memory (copy in)'].map((subject) => find('utf8', `${kind} 64 KiB`, subject)!.mbPerSecond);
      lines.push(`UTF-8 in wasm at 64 KiB, ${kind} ≥ ${goal / 1000} GB/s: ${rates.map((x) => `${(x / 1000).toFixed(1)} GB/s`).join(' (in memory) / ')} (copied in) — ${verdict(rates[0]! >= goal)}`);
    }
    const chat = ['wasm, in linear memory', 'wasm, JS memory (copy in)'].map((subject) => find('utf8', 'chat 64 KiB', subject)!.mbPerSecond / find('utf8', 'chat 64 KiB', 'buffer.isUtf8')!.mbPerSecond);
    lines.push(`UTF-8 in wasm on 64 KiB of chat-shaped text ≥ 0.40× buffer.isUtf8: ${chat.map((x) => `${x.toFixed(2)}×`).join(' (in memory) / ')} (copied in) — ${verdict(chat[0]! >= 0.4)}`);
    const decoderRatios = [KiB, 64 * KiB, MiB].map((size) => {
      const row = `mixed ${label(size)}`;
      return find('utf8', row, 'wasm, in linear memory')!.mbPerSecond / find('utf8', row, 'TextDecoder fatal')!.mbPerSecond;
    });
    lines.push(`≥ 30× TextDecoder fatal on mixed text (1 KiB, 64 KiB, 1 MiB): ${decoderRatios.map((x) => `${x.toFixed(1)}×`).join(' ')} — ${verdict(decoderRatios.every((x) => x >= 30))}`);
    const small: string[] = [];
    let allFaster = true;
    for (const kind of Object.keys(TEXT_KINDS)) {
      for (const size of [16, 125, 256]) {
        const row = `${kind} ${label(size)}`;
        // What the codec does with its measured crossovers: the portable code below utf8MinBytes.
        const subject = size < DEFAULT_WASM_THRESHOLDS.utf8MinBytes ? 'portable' : 'wasm, JS memory (copy in)';
        const ours = find('utf8', row, subject)!.nsPerOp;
        const theirs = find('utf8', row, 'buffer.isUtf8')!.nsPerOp;
        allFaster &&= ours < theirs;
        small.push(`${row} ${ours.toFixed(0)}/${theirs.toFixed(0)} ns`);
      }
    }
    lines.push(`messages ≤ 256 B faster per call than buffer.isUtf8 (codec / isUtf8): ${small.join(', ')} — ${verdict(allFaster)}`);
  }
  return lines;
}

const targets = targetLines(all);
if (targets.length > 0) process.stdout.write(`\nTargets\n${targets.map((line) => `  ${line}`).join('\n')}\n`);

if (args.json !== undefined) {
  const report = {
    node: process.version,
    arch: process.arch,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    date: new Date().toISOString(),
    options,
    tierUp: { options: tierUpOptions, report: tierUp, line: tierUpLine },
    targets,
    results: all,
  };
  await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`results written to ${args.json}\n`);
}
