/**
 * Loading the wasm codec module: its export surface as TypeScript sees it (mirroring
 * `assembly/index.ts`), compilation with a per-bytes cache, and instantiation with the one
 * import a debug build needs (`env.abort`, called when an assertion fails).
 */

/** The functions `assembly/index.ts` exports. */
export interface WasmFunctions {
  mask(ptr: number, length: number, key: number, phase: number): number;
  utf8Step(ptr: number, length: number, state: number): number;
  parseFrames(
    ptr: number,
    length: number,
    maxRows: number,
    flags: number,
    maxPayload: number,
    fragment: number,
    utf8: number,
  ): number;
}

/** Names of the constants `assembly/index.ts` exports as wasm globals. */
export const WASM_CONSTANT_NAMES = [
  'UTF8_ACCEPT',
  'UTF8_INVALID',
  'HEADER_OK',
  'HEADER_NEED_MORE',
  'ERR_RSV_NOT_ALLOWED',
  'ERR_RESERVED_OPCODE',
  'ERR_CONTROL_FRAGMENTED',
  'ERR_CONTROL_TOO_LONG',
  'ERR_EXPECTED_MASK',
  'ERR_UNEXPECTED_MASK',
  'ERR_LENGTH_MSB_SET',
  'ERR_PAYLOAD_TOO_BIG',
  'ERR_INVALID_UTF8',
  'ERR_UNEXPECTED_CONTINUATION',
  'ERR_EXPECTED_CONTINUATION',
  'FRAME_ROW_FIELDS',
  'FRAME_INFO',
  'FRAME_HEADER_OFFSET',
  'FRAME_HEADER_LENGTH',
  'FRAME_PAYLOAD_LENGTH',
  'FRAME_INFO_MASKED',
  'FRAGMENT_NONE',
  'FRAGMENT_OPAQUE',
  'FRAGMENT_TEXT',
  'FLAG_EXPECT_MASKED',
  'FLAG_VALIDATE_UTF8',
  'FLAG_ALLOWED_RSV_SHIFT',
  'RESULT_PTR',
  'RESULT_COUNT',
  'RESULT_CONSUMED',
  'RESULT_ERROR_OFFSET',
  'RESULT_PARTIAL_HEADER',
  'RESULT_FRAGMENT',
  'RESULT_UTF8',
  'RESULT_NEEDED',
  'RESULT_PARTIAL_PAYLOAD_LENGTH',
  'RESULT_SIZE',
  'UTF8_DFA_PTR',
  'TABLE_CAPACITY',
  'TABLE_ROWS_PTR',
  'TABLE_KEYS_PTR',
  'INPUT_PTR',
  'STATIC_DATA_END',
] as const;

export type WasmConstantName = (typeof WASM_CONSTANT_NAMES)[number];

/** An instantiated codec module: its memory, its functions and its ABI constants. */
export interface WasmCodecInstance {
  readonly memory: WebAssembly.Memory;
  readonly functions: WasmFunctions;
  readonly constants: Readonly<Record<WasmConstantName, number>>;
}

const compiled = new WeakMap<Uint8Array<ArrayBuffer>, WebAssembly.Module>();
const compiling = new WeakMap<Uint8Array<ArrayBuffer>, Promise<WebAssembly.Module>>();

/** Compile `bytes` synchronously (allowed in Node and workers; browsers may refuse on the main thread). */
export function compileWasmSync(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  let module = compiled.get(bytes);
  if (module === undefined) {
    module = new WebAssembly.Module(bytes);
    compiled.set(bytes, module);
  }
  return module;
}

/** Compile `bytes` off the main thread where the engine can; compiled once per byte array. */
export function compileWasm(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  const module = compiled.get(bytes);
  if (module !== undefined) return Promise.resolve(module);
  let pending = compiling.get(bytes);
  if (pending === undefined) {
    pending = WebAssembly.compile(bytes).then((result) => {
      compiled.set(bytes, result);
      return result;
    });
    compiling.set(bytes, pending);
  }
  return pending;
}

/** Read the length-prefixed UTF-16 string AssemblyScript passes to `abort`. */
function readAssemblyScriptString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (memory === undefined || ptr === 0) return '';
  const bytes = new Uint8Array(memory.buffer);
  const byteLength = new DataView(memory.buffer).getUint32(ptr - 4, true);
  let text = '';
  for (let i = 0; i < byteLength; i += 2) text += String.fromCharCode(bytes[ptr + i]! | (bytes[ptr + i + 1]! << 8));
  return text;
}

function importsFor(holder: { memory?: WebAssembly.Memory }): WebAssembly.Imports {
  return {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        const text = readAssemblyScriptString(holder.memory, message);
        const where = readAssemblyScriptString(holder.memory, file);
        throw new Error(`wasm codec assertion failed: ${text} (${where}:${line}:${column})`);
      },
    },
  };
}

function wrapInstance(instance: WebAssembly.Instance, holder: { memory?: WebAssembly.Memory }): WasmCodecInstance {
  const exports = instance.exports as Record<string, unknown>;
  const memory = exports['memory'];
  if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('the wasm codec module has no linear memory to share');
  holder.memory = memory;
  const constants = {} as Record<WasmConstantName, number>;
  for (const name of WASM_CONSTANT_NAMES) {
    const global = exports[name];
    if (!(global instanceof WebAssembly.Global)) throw new TypeError(`the wasm codec module does not export ${name}`);
    constants[name] = global.value as number;
  }
  for (const name of ['mask', 'utf8Step', 'parseFrames'] as const) {
    if (typeof exports[name] !== 'function') throw new TypeError(`the wasm codec module does not export ${name}()`);
  }
  return { memory, functions: exports as unknown as WasmFunctions, constants };
}

/** Instantiate a compiled codec module synchronously. */
export function instantiateWasmSync(module: WebAssembly.Module): WasmCodecInstance {
  const holder: { memory?: WebAssembly.Memory } = {};
  return wrapInstance(new WebAssembly.Instance(module, importsFor(holder)), holder);
}

/** Instantiate a compiled codec module. */
export async function instantiateWasm(module: WebAssembly.Module): Promise<WasmCodecInstance> {
  const holder: { memory?: WebAssembly.Memory } = {};
  return wrapInstance(await WebAssembly.instantiate(module, importsFor(holder)), holder);
}
