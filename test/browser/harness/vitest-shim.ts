/**
 * The part of vitest the shared suites use — `describe` (and `.each`), `it` (and `.each`),
 * `beforeAll`, `expect` with the matchers below and `not` — small enough to bundle into a
 * worker, so suites written for Node (the codec contract, the protocol and conformance suites)
 * run unchanged in a browser. The bundler maps the `vitest` import here;
 * `runRegisteredTests()` runs what the suites registered.
 *
 * Semantics follow vitest's where the suites rely on them: `toEqual` ignores undefined
 * properties and compares typed arrays element by element and errors by name and message;
 * `toMatchObject` compares a subset; `toThrow` takes a class, a message part, a pattern or an
 * error (same message); `describe.each` formats `%s`, `%d`, `%i` and `%j` with each row.
 */

type TestFunction = () => unknown;

interface Hook {
  readonly fn: TestFunction;
  outcome: Promise<void> | null;
}

interface RegisteredTest {
  readonly name: string;
  readonly fn: TestFunction;
  /** `beforeAll` hooks of the enclosing suites, outermost first. */
  readonly hooks: readonly Hook[][];
}

/** The outcome of one test. */
export interface TestOutcome {
  readonly name: string;
  readonly passed: boolean;
  readonly error?: string;
}

const registered: RegisteredTest[] = [];
const suites: { name: string; hooks: Hook[] }[] = [];

export function describe(name: string, body: () => void): void {
  suites.push({ name, hooks: [] });
  try {
    body();
  } finally {
    suites.pop();
  }
}

export function it(name: string, fn: TestFunction): void {
  registered.push({ name: [...suites.map((suite) => suite.name), name].join(' > '), fn, hooks: suites.map((suite) => suite.hooks) });
}

export const test = it;

/** Run `fn` once, before the first test of the enclosing suite that runs. */
export function beforeAll(fn: TestFunction): void {
  const suite = suites[suites.length - 1];
  if (suite === undefined) throw new Error('beforeAll outside a describe is not supported here');
  suite.hooks.push({ fn, outcome: null });
}

/** vitest's printf-style test names: `%s`, `%d`, `%i`, `%j`, `%o` take the row's values in order. */
function formatName(template: string, args: readonly unknown[]): string {
  let index = 0;
  return template.replace(/%[sdijo%]/g, (placeholder) => {
    if (placeholder === '%%') return '%';
    const value = args[index++];
    if (placeholder === '%j' || placeholder === '%o') return JSON.stringify(value);
    if (placeholder === '%d' || placeholder === '%i') return String(Number(value));
    return String(value);
  });
}

function each(register: (name: string, fn: (...args: never[]) => unknown) => void) {
  return (rows: readonly unknown[]) =>
    (template: string, fn: (...args: never[]) => unknown): void => {
      for (const row of rows) {
        const args = Array.isArray(row) ? row : [row];
        register(formatName(template, args), () => (fn as (...args: unknown[]) => unknown)(...args));
      }
    };
}

describe.each = each((name, body) => describe(name, body as () => void));
it.each = each((name, fn) => it(name, fn as TestFunction));

/** Which of the registered tests one runner takes: every `count`-th, from the `index`-th. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * Run the registered tests in order (and forget them); each gets the outcome it earned. With
 * `shard`, only that share of them, so several workers can split a long list.
 */
export async function runRegisteredTests(shard: Shard = { index: 0, count: 1 }): Promise<TestOutcome[]> {
  const tests = registered.splice(0).filter((_, i) => i % shard.count === shard.index);
  const outcomes: TestOutcome[] = [];
  for (const { name, fn, hooks } of tests) {
    try {
      for (const suiteHooks of hooks) {
        for (const hook of suiteHooks) await (hook.outcome ??= Promise.resolve().then(hook.fn).then(() => undefined));
      }
      await fn();
      outcomes.push({ name, passed: true });
    } catch (error) {
      outcomes.push({ name, passed: false, error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
    }
  }
  return outcomes;
}

function describeValue(value: unknown): string {
  if (ArrayBuffer.isView(value)) {
    const items = Array.from(value as unknown as ArrayLike<number>);
    return `${value.constructor.name}[${items.slice(0, 16).join(',')}${items.length > 16 ? ',…' : ''}]`;
  }
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** vitest's `equals` for what the suites compare (see the module comment). */
function equals(a: unknown, b: unknown, subset: boolean): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Error && b instanceof Error) return a.name === b.name && a.message === b.message;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => equals(item, b[i], subset));
  }
  if (a instanceof Map || a instanceof Set) return b.constructor === a.constructor && equals([...(a as Map<unknown, unknown>)], [...(b as Map<unknown, unknown>)], subset);
  const actual = a as Record<string, unknown>;
  const expected = b as Record<string, unknown>;
  const keys = Object.keys(expected).filter((key) => expected[key] !== undefined);
  if (!subset) {
    const actualKeys = Object.keys(actual).filter((key) => actual[key] !== undefined);
    if (actualKeys.length !== keys.length) return false;
  }
  return keys.every((key) => key in actual && equals(actual[key], expected[key], subset));
}

type ErrorMatcher = (abstract new (...args: never[]) => unknown) | string | RegExp | Error | undefined;

function throwsMatching(fn: () => unknown, expected: ErrorMatcher): { threw: boolean; matched: boolean; error: unknown } {
  try {
    fn();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const matched =
      expected === undefined ||
      (typeof expected === 'function' && error instanceof expected) ||
      (typeof expected === 'string' && message.includes(expected)) ||
      (expected instanceof RegExp && expected.test(message)) ||
      (expected instanceof Error && message === expected.message);
    return { threw: true, matched, error };
  }
  return { threw: false, matched: false, error: undefined };
}

interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toStrictEqual(expected: unknown): void;
  toMatchObject(expected: unknown): void;
  toThrow(expected?: ErrorMatcher): void;
  toHaveLength(length: number): void;
  toContain(item: unknown): void;
  toContainEqual(item: unknown): void;
  toMatch(pattern: string | RegExp): void;
  toBeNull(): void;
  toBeUndefined(): void;
  toBeDefined(): void;
  toBeInstanceOf(type: abstract new (...args: never[]) => unknown): void;
  toBeTypeOf(type: string): void;
  toBeGreaterThan(expected: number): void;
  toBeGreaterThanOrEqual(expected: number): void;
  toBeLessThan(expected: number): void;
  toBeLessThanOrEqual(expected: number): void;
}

function matchers(actual: unknown, label: string | undefined, negated: boolean): Matchers {
  const check = (pass: boolean, what: string): void => {
    if (pass === negated) throw new Error(`${label !== undefined ? `${label}: ` : ''}expected ${describeValue(actual)} ${negated ? 'not ' : ''}${what}`);
  };
  return {
    toBe: (expected) => check(Object.is(actual, expected), `to be ${describeValue(expected)}`),
    toEqual: (expected) => check(equals(actual, expected, false), `to equal ${describeValue(expected)}`),
    toStrictEqual: (expected) => check(equals(actual, expected, false), `to strictly equal ${describeValue(expected)}`),
    toMatchObject: (expected) => check(equals(actual, expected, true), `to match ${describeValue(expected)}`),
    toThrow: (expected) => {
      const outcome = throwsMatching(actual as () => unknown, expected);
      check(outcome.threw && outcome.matched, `to throw ${expected === undefined ? 'an error' : describeValue(expected)} (threw ${outcome.threw ? describeValue(outcome.error) : 'nothing'})`);
    },
    toHaveLength: (length) => check((actual as { length?: unknown } | null)?.length === length, `to have length ${length}`),
    toContain: (item) =>
      check(typeof actual === 'string' ? actual.includes(String(item)) : Array.from(actual as Iterable<unknown>).includes(item), `to contain ${describeValue(item)}`),
    toContainEqual: (item) => check(Array.from(actual as Iterable<unknown>).some((element) => equals(element, item, false)), `to contain an element equal to ${describeValue(item)}`),
    toMatch: (pattern) => check(typeof actual === 'string' && (typeof pattern === 'string' ? actual.includes(pattern) : pattern.test(actual)), `to match ${String(pattern)}`),
    toBeNull: () => check(actual === null, 'to be null'),
    toBeUndefined: () => check(actual === undefined, 'to be undefined'),
    toBeDefined: () => check(actual !== undefined, 'to be defined'),
    toBeInstanceOf: (type) => check(actual instanceof type, `to be an instance of ${type.name}`),
    toBeTypeOf: (type) => check(typeof actual === type, `to be of type ${type}`),
    toBeGreaterThan: (expected) => check((actual as number) > expected, `to be > ${expected}`),
    toBeGreaterThanOrEqual: (expected) => check((actual as number) >= expected, `to be ≥ ${expected}`),
    toBeLessThan: (expected) => check((actual as number) < expected, `to be < ${expected}`),
    toBeLessThanOrEqual: (expected) => check((actual as number) <= expected, `to be ≤ ${expected}`),
  };
}

export function expect(actual: unknown, label?: string): Matchers & { not: Matchers } {
  return Object.assign(matchers(actual, label, false), { not: matchers(actual, label, true) });
}

/** Fail: this line must not be reached. */
expect.unreachable = (message?: string): never => {
  throw new Error(message ?? 'reached a line that must not be reached');
};

/** Fail with `message`. */
expect.fail = (message?: string): never => {
  throw new Error(message ?? 'failed');
};
