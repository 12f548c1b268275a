/**
 * Checks `docs/compliance.md` against the code and the test suite, so the document cannot
 * claim a test or a source location that does not exist.
 *
 * The document's requirement tables are Markdown tables with (at least) the columns
 * `§`, `Requirement`, `Applies to`, `Status`, `Enforced at` and `Tests`. In the last two:
 *
 * - `Enforced at` cites source locations as code spans: `` `src/protocol/connection.ts` ``,
 *   optionally with the names that enforce the rule, `` `src/codec/portable/frames.ts#parseFrames` ``
 *   or `` `src/protocol/connection.ts#Connection.receiveData` `` (every dotted part must occur
 *   in the file as an identifier). Other text in the cell explains; it is not checked.
 * - `Tests` cites tests as code spans: a test file path (`` `test/conformance/framing.test.ts` ``)
 *   followed by the exact, literal titles of tests defined in that file
 *   (`` `§5.5.1 close frame with 1-byte payload → 1002` ``). A path applies to the titles after
 *   it until the next path. Cited titles must be named by section (start with `§`).
 *
 * A row's `Status` is one of:
 *   enforced        — the library enforces it: at least one source location and one test;
 *   adapter         — the Node or web adapter enforces it (sockets, TLS, timers): a reason,
 *                     and its source locations and tests are checked when cited;
 *   user code       — the application decides; the row says why;
 *   not applicable  — binds someone other than an endpoint library; the row says why;
 *   open            — the library should enforce it and does not yet (listed, and an
 *                     error with `--strict`).
 *
 * Failures (exit status 1, each listed): a cited test that is not defined (or only as a
 * skipped test), a cited file that does not exist, a cited name missing from its file, an
 * `enforced` row without a test or a source location, a row with an unknown status. With
 * `--results <vitest JSON report>`, also a cited test that did not run or did not pass.
 *
 * Usage: npx tsx scripts/check-compliance.ts [--doc docs/compliance.md] [--root .]
 *                                           [--results .vitest-report.json] [--strict]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

// ---------------------------------------------------------------------------------------------
// Markdown tables
// ---------------------------------------------------------------------------------------------

/** One row of a requirement table, with the document line it came from. */
export interface RequirementRow {
  readonly line: number;
  readonly section: string;
  readonly requirement: string;
  readonly appliesTo: string;
  readonly status: string;
  readonly enforcedAt: string;
  readonly tests: string;
}

/** The columns a requirement table must have (matched case-insensitively). */
const COLUMNS = {
  section: '§',
  requirement: 'requirement',
  appliesTo: 'applies to',
  status: 'status',
  enforcedAt: 'enforced at',
  tests: 'tests',
} as const;

/** Split a Markdown table row into trimmed cells, honouring `\|` escapes. */
export function splitTableRow(line: string): string[] {
  let text = line.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && text[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (char === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  return cells;
}

function isSeparatorRow(line: string): boolean {
  return /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);
}

/**
 * Every row of every table in `markdown` whose header has a `Tests` column. Tables without
 * one (legends, summaries) are not requirement tables and are skipped. Returns the rows and
 * the problems found in the tables' shape.
 */
export function parseRequirementTables(markdown: string): { rows: RequirementRow[]; errors: string[] } {
  const lines = markdown.split(/\r?\n/);
  const rows: RequirementRow[] = [];
  const errors: string[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|') || !isSeparatorRow(lines[i + 1]!)) continue;
    const header = splitTableRow(lines[i]!).map((cell) => cell.toLowerCase());
    const tableLine = i + 1;
    i += 2;
    if (!header.includes(COLUMNS.tests)) {
      while (i < lines.length && lines[i]!.trim().startsWith('|')) i++;
      i--;
      continue;
    }
    const index = {} as Record<keyof typeof COLUMNS, number>;
    let complete = true;
    for (const [key, name] of Object.entries(COLUMNS) as Array<[keyof typeof COLUMNS, string]>) {
      index[key] = header.indexOf(name);
      if (index[key] < 0) {
        errors.push(`line ${tableLine}: requirement table has no "${name}" column`);
        complete = false;
      }
    }
    for (; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
      if (!complete) continue;
      const cells = splitTableRow(lines[i]!);
      if (cells.length !== header.length) {
        errors.push(`line ${i + 1}: row has ${cells.length} cells, the table header has ${header.length}`);
        continue;
      }
      rows.push({
        line: i + 1,
        section: cells[index.section]!,
        requirement: cells[index.requirement]!,
        appliesTo: cells[index.appliesTo]!,
        status: cells[index.status]!.toLowerCase(),
        enforcedAt: cells[index.enforcedAt]!,
        tests: cells[index.tests]!,
      });
    }
    i--;
  }
  return { rows, errors };
}

/** The contents of the code spans in a cell, in order. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!.trim());
}

/** A test cited by the document: the file that must define it and its exact title. */
export interface TestCitation {
  readonly file: string;
  readonly title: string;
  readonly line: number;
}

/** A source location cited by the document: a file and the names that must occur in it. */
export interface SourceCitation {
  readonly file: string;
  readonly names: readonly string[];
  readonly line: number;
}

const TEST_FILE = /^test\/[\w./-]+\.ts$/;
const SOURCE_FILE = /^(?:src|assembly|scripts|test)\/[\w./-]+\.(?:ts|mjs|js|json)(?:#[\w$.]+)?$/;

/** The tests a row cites; titles before any file path are reported in `errors`. */
export function testCitations(row: RequirementRow, errors: string[]): TestCitation[] {
  const citations: TestCitation[] = [];
  let file: string | null = null;
  for (const span of codeSpans(row.tests)) {
    if (TEST_FILE.test(span)) {
      file = span;
    } else if (file === null) {
      errors.push(`line ${row.line}: test \`${span}\` is cited before any test file path`);
    } else {
      citations.push({ file, title: span, line: row.line });
    }
  }
  return citations;
}

/** The source locations a row cites in its `Enforced at` cell. */
export function sourceCitations(row: RequirementRow): SourceCitation[] {
  const citations: SourceCitation[] = [];
  for (const span of codeSpans(row.enforcedAt)) {
    if (!SOURCE_FILE.test(span)) continue;
    const [file, names] = span.split('#') as [string, string | undefined];
    citations.push({ file, names: names === undefined ? [] : names.split('.'), line: row.line });
  }
  return citations;
}

// ---------------------------------------------------------------------------------------------
// Test titles defined in the suite
// ---------------------------------------------------------------------------------------------

/** The tests a file defines, by literal title. */
export interface DefinedTests {
  /** Titles of tests that run. */
  readonly active: Set<string>;
  /** Titles of tests that are skipped or todo (a citation of one is an error). */
  readonly skipped: Set<string>;
  /** Source text of titles that are not literal strings, so cannot be cited. */
  readonly dynamic: string[];
}

const TEST_FUNCTIONS = new Set(['it', 'test']);
const SKIPPING_MODIFIERS = new Set(['skip', 'todo', 'skipIf', 'runIf']);

/**
 * The name chain of a call's callee: `it` → ['it'], `it.concurrent` → ['it', 'concurrent'],
 * `describe.skip` → ['describe', 'skip']. Null for anything else (including `it.each(…)(…)`,
 * whose titles are format strings).
 */
function calleeChain(expression: ts.Expression): string[] | null {
  if (ts.isIdentifier(expression)) return [expression.text];
  if (ts.isPropertyAccessExpression(expression)) {
    const base = calleeChain(expression.expression);
    return base === null ? null : [...base, expression.name.text];
  }
  return null;
}

/** Collect the tests defined in one TypeScript source text. */
export function collectTestTitles(sourceText: string, fileName = 'test.ts'): DefinedTests {
  const source = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const defined: DefinedTests = { active: new Set(), skipped: new Set(), dynamic: [] };
  const visit = (node: ts.Node, insideSkipped: boolean): void => {
    let skippedHere = insideSkipped;
    if (ts.isCallExpression(node)) {
      const chain = calleeChain(node.expression);
      const modifiers = chain?.slice(1) ?? [];
      const skipping = modifiers.some((modifier) => SKIPPING_MODIFIERS.has(modifier));
      if (chain !== null && chain[0] === 'describe' && skipping) skippedHere = true;
      if (chain !== null && TEST_FUNCTIONS.has(chain[0]!) && !modifiers.includes('each') && node.arguments.length > 0) {
        const title = node.arguments[0]!;
        if (ts.isStringLiteral(title) || ts.isNoSubstitutionTemplateLiteral(title)) {
          (skippedHere || skipping ? defined.skipped : defined.active).add(title.text);
        } else {
          defined.dynamic.push(title.getText(source));
        }
      }
    }
    ts.forEachChild(node, (child) => visit(child, skippedHere));
  };
  visit(source, false);
  // A title defined both as a running and as a skipped test still runs.
  for (const title of defined.active) defined.skipped.delete(title);
  return defined;
}

function listTypeScriptFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(directory)) {
    if (entry === 'node_modules') continue;
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) files.push(...listTypeScriptFiles(path));
    else if (entry.endsWith('.ts')) files.push(path);
  }
  return files;
}

/** Every test defined under `root/test`, keyed by repository-relative path with `/`. */
export function collectSuite(root: string): Map<string, DefinedTests> {
  const suite = new Map<string, DefinedTests>();
  for (const path of listTypeScriptFiles(join(root, 'test'))) {
    const key = relative(root, path).split(sep).join('/');
    suite.set(key, collectTestTitles(readFileSync(path, 'utf8'), path));
  }
  return suite;
}

// ---------------------------------------------------------------------------------------------
// Test results (vitest's JSON reporter)
// ---------------------------------------------------------------------------------------------

interface VitestAssertion {
  readonly title: string;
  readonly status: string;
}
interface VitestReport {
  readonly testResults?: ReadonlyArray<{ readonly assertionResults?: readonly VitestAssertion[] }>;
}

/** Title → every status it had in a vitest JSON report (a title may run per codec and role). */
export function resultsByTitle(report: VitestReport): Map<string, string[]> {
  const byTitle = new Map<string, string[]>();
  for (const file of report.testResults ?? []) {
    for (const assertion of file.assertionResults ?? []) {
      const statuses = byTitle.get(assertion.title) ?? [];
      statuses.push(assertion.status);
      byTitle.set(assertion.title, statuses);
    }
  }
  return byTitle;
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

export const STATUSES = ['enforced', 'adapter', 'user code', 'not applicable', 'open'] as const;

export interface CheckOptions {
  /** Repository root; cited paths are relative to it. */
  readonly root: string;
  /** The compliance document, relative to `root`. */
  readonly doc?: string;
  /** A vitest JSON report; when given, cited tests must have run and passed. */
  readonly results?: string;
  /** Treat `open` rows as errors. */
  readonly strict?: boolean;
}

export interface CheckReport {
  readonly errors: string[];
  readonly rows: readonly RequirementRow[];
  /** Rows per status. */
  readonly statusCounts: ReadonlyMap<string, number>;
  /** Distinct (file, title) test citations. */
  readonly citedTests: number;
  /** Rows whose status is `open`, as "§ requirement". */
  readonly open: readonly string[];
}

/** Check the compliance document; see the module comment for the rules. */
export function checkCompliance(options: CheckOptions): CheckReport {
  const root = resolve(options.root);
  const docPath = options.doc ?? 'docs/compliance.md';
  const errors: string[] = [];
  const absoluteDoc = resolve(root, docPath);
  if (!existsSync(absoluteDoc)) {
    return { errors: [`${docPath} does not exist`], rows: [], statusCounts: new Map(), citedTests: 0, open: [] };
  }
  const { rows, errors: tableErrors } = parseRequirementTables(readFileSync(absoluteDoc, 'utf8'));
  errors.push(...tableErrors.map((error) => `${docPath}:${error}`));
  if (rows.length === 0) errors.push(`${docPath}: no requirement rows were found (rows of a table with a "Tests" column)`);

  const suite = collectSuite(root);
  const results = options.results === undefined
    ? null
    : resultsByTitle(JSON.parse(readFileSync(resolve(root, options.results), 'utf8')) as VitestReport);
  const statusCounts = new Map<string, number>();
  const open: string[] = [];
  const cited = new Set<string>();
  const fileTexts = new Map<string, string | null>();
  const readCited = (file: string): string | null => {
    if (!fileTexts.has(file)) {
      const path = resolve(root, file);
      fileTexts.set(file, existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : null);
    }
    return fileTexts.get(file)!;
  };

  for (const row of rows) {
    const where = `${docPath}:${row.line} (§${row.section.replace(/^§/, '')})`;
    statusCounts.set(row.status, (statusCounts.get(row.status) ?? 0) + 1);
    if (!(STATUSES as readonly string[]).includes(row.status)) {
      errors.push(`${where}: unknown status "${row.status}" (expected one of: ${STATUSES.join(', ')})`);
    }
    if (!/^§?\d+(\.\d+)*$/.test(row.section)) errors.push(`${where}: "${row.section}" is not a section number`);
    if (!/^(server|client|both)$/i.test(row.appliesTo)) {
      errors.push(`${where}: "Applies to" must be server, client or both, not "${row.appliesTo}"`);
    }

    const citationErrors: string[] = [];
    const tests = testCitations(row, citationErrors);
    errors.push(...citationErrors.map((error) => `${docPath}:${error}`));
    const sources = sourceCitations(row);

    for (const source of sources) {
      const text = readCited(source.file);
      if (text === null) {
        errors.push(`${where}: cited source \`${source.file}\` does not exist`);
        continue;
      }
      for (const name of source.names) {
        if (!new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(text)) {
          errors.push(`${where}: \`${name}\` does not occur in \`${source.file}\``);
        }
      }
    }

    for (const test of tests) {
      cited.add(`${test.file}\u0000${test.title}`);
      if (!test.title.startsWith('§')) {
        errors.push(`${where}: cited test \`${test.title}\` is not named by section (its title must start with §)`);
      }
      const defined = suite.get(test.file);
      if (defined === undefined) {
        errors.push(`${where}: cited test file \`${test.file}\` does not exist`);
        continue;
      }
      if (!defined.active.has(test.title)) {
        const why = defined.skipped.has(test.title) ? 'is skipped' : 'is not defined there';
        errors.push(`${where}: cited test \`${test.title}\` ${why} (\`${test.file}\`)`);
        continue;
      }
      if (results !== null) {
        const statuses = results.get(test.title);
        if (statuses === undefined) errors.push(`${where}: cited test \`${test.title}\` did not run`);
        else if (statuses.some((status) => status !== 'passed')) {
          errors.push(`${where}: cited test \`${test.title}\` did not pass (${[...new Set(statuses)].join(', ')})`);
        }
      }
    }

    const label = `§${row.section.replace(/^§/, '')} ${row.requirement}`;
    if (row.status === 'enforced') {
      if (tests.length === 0) errors.push(`${where}: an enforced requirement must cite at least one test`);
      if (sources.length === 0) errors.push(`${where}: an enforced requirement must cite where the code enforces it`);
    } else if (row.status !== 'open' && row.enforcedAt.replace(/`[^`]*`/g, '').trim().length === 0) {
      errors.push(`${where}: a "${row.status}" requirement must say why in "Enforced at"`);
    }
    if (row.status === 'open') {
      open.push(label);
      if (options.strict === true) errors.push(`${where}: requirement is open (not enforced yet)`);
    }
  }
  return { errors, rows, statusCounts, citedTests: cited.size, open };
}

function parseArguments(argv: readonly string[]): CheckOptions {
  let root = process.cwd();
  let doc: string | undefined;
  let results: string | undefined;
  let strict = false;
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${argument} needs a value`);
      return next;
    };
    if (argument === '--root') root = value();
    else if (argument === '--doc') doc = value();
    else if (argument === '--results') results = value();
    else if (argument === '--strict') strict = true;
    else throw new Error(`unknown argument ${argument}`);
  }
  return { root, doc, results, strict };
}

function main(): void {
  let options: CheckOptions;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    console.error('usage: check-compliance [--doc docs/compliance.md] [--root .] [--results report.json] [--strict]');
    process.exit(2);
  }
  const report = checkCompliance(options);
  const counts = [...report.statusCounts].map(([status, count]) => `${count} ${status}`).join(', ');
  console.log(`${report.rows.length} requirements (${counts}); ${report.citedTests} distinct tests cited`);
  for (const label of report.open) console.log(`open: ${label}`);
  if (report.errors.length > 0) {
    for (const error of report.errors) console.error(error);
    console.error(`compliance check failed: ${report.errors.length} problem(s)`);
    process.exit(1);
  }
  console.log('compliance check passed');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
