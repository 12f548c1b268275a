/**
 * The part of vitest the shared suites use (`describe`, `it`, `expect` with `toBe`,
 * `toEqual`, `toMatchObject`, `toThrow`, `not`), small enough to bundle into a worker, so a
 * suite written for Node — test/codec/contract.ts — runs unchanged in a browser. The bundler
 * maps the `vitest` import here; `runRegisteredTests()` runs what the suite registered.
 */

type TestFunction = () => unknown;

interface RegisteredTest {
  readonly name: string;
  readonly fn: TestFunction;
}

/** The outcome of one test. */
export interface TestOutcome {
  readonly name: string;
  readonly passed: boolean;
  readonly error?: string;
}

const registered: RegisteredTest[] = [];
const suites: string[] = [];

export function describe(name: string, body: () => void): void {
  suites.push(name);
  try {
    body();
  } finally {
    suites.pop();
  }
}

export function it(name: string, fn: TestFunction): void {
  registered.push({ name: [...suites, name].join(' > '), fn });
}

export const test = it;

/** Run every registered test in order (and forget them); each gets the outcome it earned. */
export async function runRegisteredTests(): Promise<TestOutcome[]> {
  const tests = registered.splice(0);
  const outcomes: TestOutcome[] = [];
  for (const { name, fn } of tests) {
    try {
      await fn();
      outcomes.push({ name, passed: true });
    } catch (error) {
      outcomes.push({ name, passed: false, error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
    }
  }
  return outcomes;
}

function describeValue(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}[${Array.from(value as unknown as ArrayLike<number>).slice(0, 16).join(',')}${(value as unknown as ArrayLike<number>).length > 16 ? ',…' : ''}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** vitest's `equals` for what the suites compare: primitives, arrays, typed arrays, plain objects (undefined properties ignored). */
function equals(a: unknown, b: unknown, subset: boolean): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
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
  const actual = a as Record<string, unknown>;
  const expected = b as Record<string, unknown>;
  const keys = Object.keys(expected).filter((key) => expected[key] !== undefined);
  if (!subset) {
    const actualKeys = Object.keys(actual).filter((key) => actual[key] !== undefined);
    if (actualKeys.length !== keys.length) return false;
  }
  return keys.every((key) => Object.prototype.hasOwnProperty.call(actual, key) && equals(actual[key], expected[key], subset));
}

type ErrorMatcher = (new (...args: never[]) => unknown) | string | RegExp | undefined;

function throwsMatching(fn: () => unknown, expected: ErrorMatcher): { threw: boolean; matched: boolean; error: unknown } {
  try {
    fn();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const matched =
      expected === undefined ||
      (typeof expected === 'function' && error instanceof expected) ||
      (typeof expected === 'string' && message.includes(expected)) ||
      (expected instanceof RegExp && expected.test(message));
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
      check(outcome.threw && outcome.matched, `to throw ${expected === undefined ? 'an error' : String(expected)} (threw ${outcome.threw ? String(outcome.error) : 'nothing'})`);
    },
    toBeGreaterThan: (expected) => check((actual as number) > expected, `to be > ${expected}`),
    toBeGreaterThanOrEqual: (expected) => check((actual as number) >= expected, `to be ≥ ${expected}`),
    toBeLessThan: (expected) => check((actual as number) < expected, `to be < ${expected}`),
    toBeLessThanOrEqual: (expected) => check((actual as number) <= expected, `to be ≤ ${expected}`),
  };
}

export function expect(actual: unknown, label?: string): Matchers & { not: Matchers } {
  return Object.assign(matchers(actual, label, false), { not: matchers(actual, label, true) });
}
