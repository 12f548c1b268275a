import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkCompliance,
  collectTestTitles,
  parseRequirementTables,
  splitTableRow,
} from '../../scripts/check-compliance.js';

const HEADER = '| § | Requirement | Applies to | Status | Enforced at | Tests |\n|---|---|---|---|---|---|\n';

const FRAMING_TESTS = `
import { describe, it } from 'vitest';
describe('framing', () => {
  it('§5.5.1 close frame with 1-byte payload → 1002', () => {});
  it(\`§5.2 reserved opcodes → 1002\`, () => {});
  it.skip('§5.4 skipped on purpose', () => {});
  describe.skip('not now', () => {
    it('§5.5 inside a skipped block', () => {});
  });
  it(\`§5.5 built from \${'a'} template\`, () => {});
});
`;

const CONNECTION_SOURCE = `
export class Connection {
  receiveData(bytes: Uint8Array): void {}
}
`;

/** A throwaway repository: `files` maps relative paths to contents. */
function makeRepository(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'compliance-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('check-compliance', () => {
  let root = '';
  const repository = (doc: string, extra: Record<string, string> = {}): string => {
    root = makeRepository({
      'docs/compliance.md': `# Compliance\n\n${HEADER}${doc}`,
      'test/conformance/framing.test.ts': FRAMING_TESTS,
      'src/protocol/connection.ts': CONNECTION_SOURCE,
      ...extra,
    });
    return root;
  };
  beforeEach(() => {
    root = '';
  });
  afterEach(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('passes when every cited test and source location exists', () => {
    repository(
      '| 5.5.1 | close body of 1 byte → 1002 | both | enforced | `src/protocol/connection.ts#Connection.receiveData` | `test/conformance/framing.test.ts` `§5.5.1 close frame with 1-byte payload → 1002` `§5.2 reserved opcodes → 1002` |\n' +
        '| 4.1 | at most one connection CONNECTING per IP | client | user code | the application opens connections | |\n',
    );
    const report = checkCompliance({ root });
    expect(report.errors).toEqual([]);
    expect(report.rows).toHaveLength(2);
    expect(report.citedTests).toBe(2);
    expect(report.statusCounts.get('enforced')).toBe(1);
  });

  it('fails on a cited test that does not exist, naming it', () => {
    repository(
      '| 5.5.1 | close body of 1 byte → 1002 | both | enforced | `src/protocol/connection.ts` | `test/conformance/framing.test.ts` `§5.5.1 close frame with 1-byte payload → 1002` `§5.5.1 close frame with invalid UTF-8 reason → 1007` |\n',
    );
    const { errors } = checkCompliance({ root });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('`§5.5.1 close frame with invalid UTF-8 reason → 1007` is not defined there');
    expect(errors[0]).toContain('docs/compliance.md:5');
  });

  it('fails on a test cited under the wrong file', () => {
    repository(
      '| 5.5.1 | x | both | enforced | `src/protocol/connection.ts` | `test/conformance/closing.test.ts` `§5.5.1 close frame with 1-byte payload → 1002` |\n',
    );
    expect(checkCompliance({ root }).errors).toEqual([
      expect.stringContaining('cited test file `test/conformance/closing.test.ts` does not exist'),
    ]);
  });

  it('does not count skipped tests or tests inside a skipped describe', () => {
    repository(
      '| 5.4 | x | both | enforced | `src/protocol/connection.ts` | `test/conformance/framing.test.ts` `§5.4 skipped on purpose` `§5.5 inside a skipped block` |\n',
    );
    const { errors } = checkCompliance({ root });
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(error).toContain('is skipped');
  });

  it('fails on a cited source file that does not exist, or a name missing from it', () => {
    repository(
      '| 5.2 | x | both | enforced | `src/protocol/parser.ts` and `src/protocol/connection.ts#Connection.sendPing` | `test/conformance/framing.test.ts` `§5.2 reserved opcodes → 1002` |\n',
    );
    const { errors } = checkCompliance({ root });
    expect(errors).toEqual([
      expect.stringContaining('cited source `src/protocol/parser.ts` does not exist'),
      expect.stringContaining('`sendPing` does not occur in `src/protocol/connection.ts`'),
    ]);
  });

  it('requires an enforced row to cite a test and a source location, and other rows to say why', () => {
    repository(
      '| 5.2 | x | both | enforced | the parser | |\n' +
        '| 3 | y | client | not applicable | | |\n' +
        '| 7.2.3 | z | client | maybe | reconnecting is the application\'s | |\n',
    );
    const { errors } = checkCompliance({ root });
    expect(errors).toEqual([
      expect.stringContaining('must cite at least one test'),
      expect.stringContaining('must cite where the code enforces it'),
      expect.stringContaining('a "not applicable" requirement must say why'),
      expect.stringContaining('unknown status "maybe"'),
    ]);
  });

  it('requires cited tests to be named by section and to follow a file path', () => {
    repository(
      '| 5.2 | x | both | enforced | `src/protocol/connection.ts` | `§5.2 reserved opcodes → 1002` `test/conformance/framing.test.ts` `reserved opcodes → 1002` |\n',
      { 'test/conformance/framing.test.ts': `${FRAMING_TESTS}\nit('reserved opcodes → 1002', () => {});\n` },
    );
    const { errors } = checkCompliance({ root });
    expect(errors).toEqual([
      expect.stringContaining('is cited before any test file path'),
      expect.stringContaining('is not named by section'),
    ]);
  });

  it('lists open requirements, and fails on them with strict', () => {
    repository('| 7.2.1 | client fails on lost transport | client | open | | |\n');
    expect(checkCompliance({ root }).errors).toEqual([]);
    expect(checkCompliance({ root }).open).toEqual(['§7.2.1 client fails on lost transport']);
    expect(checkCompliance({ root, strict: true }).errors).toEqual([expect.stringContaining('is open')]);
  });

  it('with a vitest report, fails on cited tests that did not run or did not pass', () => {
    repository(
      '| 5.5.1 | x | both | enforced | `src/protocol/connection.ts` | `test/conformance/framing.test.ts` `§5.5.1 close frame with 1-byte payload → 1002` `§5.2 reserved opcodes → 1002` |\n',
      {
        'report.json': JSON.stringify({
          testResults: [
            { assertionResults: [{ title: '§5.5.1 close frame with 1-byte payload → 1002', status: 'passed' }] },
            { assertionResults: [{ title: '§5.5.1 close frame with 1-byte payload → 1002', status: 'failed' }] },
          ],
        }),
      },
    );
    const { errors } = checkCompliance({ root, results: 'report.json' });
    expect(errors).toEqual([
      expect.stringContaining('`§5.5.1 close frame with 1-byte payload → 1002` did not pass (passed, failed)'),
      expect.stringContaining('`§5.2 reserved opcodes → 1002` did not run'),
    ]);
  });

  it('reports a table without the required columns and a row with the wrong cell count', () => {
    root = makeRepository({
      'docs/compliance.md':
        '| § | Requirement | Tests |\n|---|---|---|\n| 5.2 | x | |\n\n' +
        `${HEADER}| 5.2 | x | both | enforced |\n`,
    });
    const { errors } = checkCompliance({ root });
    expect(errors).toEqual([
      expect.stringContaining('no "applies to" column'),
      expect.stringContaining('no "status" column'),
      expect.stringContaining('no "enforced at" column'),
      expect.stringContaining('row has 4 cells, the table header has 6'),
      expect.stringContaining('no requirement rows were found'),
    ]);
  });

  it('exits 1 from the command line when a cited test is missing, and 0 when all exist', () => {
    const script = resolve('scripts/check-compliance.ts');
    const run = (): { status: number; output: string } => {
      try {
        const output = execFileSync(process.execPath, ['--import', 'tsx', script, '--root', root], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
        return { status: 0, output };
      } catch (error) {
        const failure = error as { status: number; stdout: string; stderr: string };
        return { status: failure.status, output: failure.stdout + failure.stderr };
      }
    };
    repository(
      '| 5.5.1 | x | both | enforced | `src/protocol/connection.ts` | `test/conformance/framing.test.ts` `§5.5.1 close frame with 1-byte payload → 1002` `§5.5.1 missing → 1002` |\n',
    );
    const failing = run();
    expect(failing.status).toBe(1);
    expect(failing.output).toContain('`§5.5.1 missing → 1002` is not defined there');
    rmSync(root, { recursive: true, force: true });

    repository(
      '| 5.5.1 | x | both | enforced | `src/protocol/connection.ts` | `test/conformance/framing.test.ts` `§5.5.1 close frame with 1-byte payload → 1002` |\n',
    );
    const passing = run();
    expect(passing.status).toBe(0);
    expect(passing.output).toContain('compliance check passed');
  });
});

describe('check-compliance parsing', () => {
  it('collects literal titles of it/test calls, including modifiers, and sets aside the rest', () => {
    const defined = collectTestTitles(`
      it('a', () => {});
      test("b", () => {});
      it.concurrent('c', () => {});
      it.skip('d', () => {});
      it.todo('e');
      it.each([1, 2])('f %s', () => {});
      it(\`g \${1}\`, () => {});
      describe.each([1])('h', () => { it('i', () => {}); });
    `);
    expect([...defined.active].sort()).toEqual(['a', 'b', 'c', 'i']);
    expect([...defined.skipped].sort()).toEqual(['d', 'e']);
    expect(defined.dynamic).toEqual(['`g ${1}`']);
  });

  it('splits table rows on unescaped pipes only', () => {
    expect(splitTableRow('| a | `x \\| y` | c |')).toEqual(['a', '`x | y`', 'c']);
  });

  it('skips tables without a Tests column', () => {
    const { rows, errors } = parseRequirementTables('| Status | Meaning |\n|---|---|\n| enforced | yes |\n');
    expect(rows).toEqual([]);
    expect(errors).toEqual([]);
  });
});
