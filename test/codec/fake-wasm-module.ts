/**
 * Hand-assembled stand-ins for the codec module (WebAssembly binary format, core spec §5), to
 * test what the loader does with a module that is not the one it expects — one without a
 * memory, a constant or a function — and how it reports `env.abort` calls, which the real
 * module makes only when a debug-build assertion fails.
 */
import { WASM_CONSTANT_NAMES } from '../../src/codec/wasm/module.js';

const I32 = 0x7f;
const FUNC_TYPE = 0x60;
const END = 0x0b;
const OP_CALL = 0x10;
const OP_I32_CONST = 0x41;
const EXPORT_FUNC = 0x00;
const EXPORT_MEMORY = 0x02;
const EXPORT_GLOBAL = 0x03;

/** What the stand-in holds; by default everything the loader looks for. */
export interface FakeModuleSpec {
  /** Export a memory (default true). */
  readonly memory?: boolean;
  /** Leave out this exported constant. */
  readonly omitConstant?: string;
  /** Leave out this exported function. */
  readonly omitFunction?: 'mask' | 'utf8Step' | 'parseFrames';
  /** AssemblyScript strings to place in memory, by the pointer `abort` receives. */
  readonly strings?: ReadonlyArray<readonly [ptr: number, text: string]>;
  /** Arguments `mask` passes to `env.abort` (message, file, line, column). */
  readonly abortArgs?: readonly [number, number, number, number];
  /** Also call `env.abort` from a start function, before the instance exists. */
  readonly abortOnStart?: boolean;
}

function unsigned(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function signed(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsigned(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsigned(items.length), ...items.flat()];
}

function section(id: number, contents: number[]): number[] {
  return [id, ...unsigned(contents.length), ...contents];
}

function i32Const(value: number): number[] {
  return [OP_I32_CONST, ...signed(value)];
}

/** An AssemblyScript string as it lies in memory: byte length at `ptr - 4`, then UTF-16LE. */
function assemblyScriptString(text: string): number[] {
  const length = text.length * 2;
  const out = [length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, length >>> 24];
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 0xff, text.charCodeAt(i) >>> 8);
  return out;
}

/** The bytes of a stand-in module. */
export function fakeCodecModule(spec: FakeModuleSpec = {}): Uint8Array<ArrayBuffer> {
  const { memory = true, strings = [], abortArgs = [0, 0, 0, 0], abortOnStart = false } = spec;
  const callAbort = [...abortArgs.flatMap(i32Const), OP_CALL, 0];
  const functions = (['mask', 'utf8Step', 'parseFrames'] as const).filter((f) => f !== spec.omitFunction);

  // Types: 0 = abort (i32 ×4) → (), 1 = every exported function () → i32, 2 = start () → ().
  const types = section(1, vector([
    [FUNC_TYPE, ...vector([[I32], [I32], [I32], [I32]]), ...vector([])],
    [FUNC_TYPE, ...vector([]), ...vector([[I32]])],
    [FUNC_TYPE, ...vector([]), ...vector([])],
  ]));
  const imports = section(2, vector([[...name('env'), ...name('abort'), 0x00, 0]]));
  // Function 0 is the import; then the exported functions, then the start function.
  const declared = [...functions.map(() => [1]), ...(abortOnStart ? [[2]] : [])];
  const functionSection = section(3, vector(declared));
  const memorySection = memory ? section(5, vector([[0x00, 1]])) : [];
  const constants = WASM_CONSTANT_NAMES.filter((c) => c !== spec.omitConstant);
  const globals = section(6, vector(constants.map((_, i) => [I32, 0x00, ...i32Const(i), END])));
  const exports = section(7, vector([
    ...(memory ? [[...name('memory'), EXPORT_MEMORY, 0]] : []),
    ...constants.map((c, i) => [...name(c), EXPORT_GLOBAL, ...unsigned(i)]),
    ...functions.map((f, i) => [...name(f), EXPORT_FUNC, ...unsigned(i + 1)]),
  ]));
  const start = abortOnStart ? section(8, unsigned(functions.length + 1)) : [];
  const bodies = [
    ...functions.map(() => [...callAbort, ...i32Const(0), END]),
    ...(abortOnStart ? [[...callAbort, END]] : []),
  ].map((code) => [...unsigned(code.length + 1), 0x00, ...code]);
  const code = section(10, vector(bodies));
  const data = memory
    ? section(11, vector(strings.map(([ptr, text]) => [0x00, ...i32Const(ptr - 4), END, ...vector(assemblyScriptString(text).map((b) => [b]))])))
    : [];

  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...types, ...imports, ...functionSection, ...memorySection, ...globals, ...exports, ...start, ...code, ...data,
  ]);
}
