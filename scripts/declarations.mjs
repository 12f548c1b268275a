/**
 * The package's declaration files, written once. rollup-plugin-dts bundles every entry's
 * declarations into CommonJS-format files (`.d.cts`, with shared chunks); this plugin, run
 * after it, adds the small files each condition of the "exports" map points at:
 *
 * - `codec.d.ts`, `protocol.d.ts` (import): `export * from './codec.cjs'` — the same
 *   declarations; `codec.d.cts`, `protocol.d.cts` (require) are the bundles themselves.
 * - `node.d.ts`, `web.d.ts` (import): the named exports of the bundled API
 *   (`node-api.d.cts`) and `WebSocket` as the default export.
 * - `node.d.cts`, `web.d.cts` (require): the shape of `module.exports`, which is the
 *   `WebSocket` class with every named export as a static (src/node-cjs.ts) —
 *
 *     declare class WebSocket extends api.WebSocket {}
 *     declare namespace WebSocket { export import WebSocketServer = api.WebSocketServer; … }
 *     export = WebSocket;
 *
 *   so `import WebSocket = require('wasmsocket')`, `const { WebSocketServer } = require(…)`,
 *   `new WebSocket.Server(…)` and `let ws: WebSocket` all type-check.
 */
import ts from 'typescript';

/**
 * @param {object} options
 * @param {Record<string, string>} options.reexport public entry → bundled chunk name, for
 *   entries whose import and require declarations are the same (`{ codec: 'codec' }`).
 * @param {Record<string, { api: string, main: string, aliases?: Record<string, string> }>} options.classEntries
 *   public entry → the bundled API chunk, the export that is `module.exports`, and extra
 *   statics the CommonJS entry adds (`{ Server: 'WebSocketServer' }`).
 * @returns {import('rollup').Plugin}
 */
export function entryDeclarations({ reexport, classEntries }) {
  return {
    name: 'entry-declarations',
    // After the declaration bundler's own generateBundle (it points imports of shared types
    // at the public entries that export them).
    generateBundle(_options, bundle) {
      const chunks = new Map(Object.values(bundle).filter((c) => c.type === 'chunk' && c.isEntry).map((c) => [c.name, c]));
      const chunk = (name) => {
        const found = chunks.get(name);
        if (!found) throw new Error(`no declaration entry "${name}" in this build`);
        return found;
      };
      // Type-only export lists become plain ones (see withoutTypeOnlyExports), in every file:
      // the namespace members alias through the shared chunks' exports too.
      for (const file of Object.values(bundle)) {
        if (file.type === 'chunk') file.code = withoutTypeOnlyExports(file.code, file.fileName);
      }
      const specifier = (name) => `./${chunk(name).fileName.replace(/\.d\.cts$/, '.cjs')}`;
      for (const [entry, name] of Object.entries(reexport)) {
        this.emitFile({ type: 'asset', fileName: `${entry}.d.ts`, source: `export * from '${specifier(name)}';\n` });
      }
      for (const [entry, { api, main, aliases = {} }] of Object.entries(classEntries)) {
        const names = exportedNames(chunk(api).code, chunk(api).fileName).filter((name) => name !== 'default');
        if (!names.includes(main)) throw new Error(`${chunk(api).fileName}: no export named ${main}`);
        for (const [alias, target] of Object.entries(aliases)) {
          if (names.includes(alias)) throw new Error(`${chunk(api).fileName}: ${alias} is already an export`);
          if (!names.includes(target)) throw new Error(`${chunk(api).fileName}: alias ${alias} names ${target}, which is not an export`);
        }
        const from = specifier(api);
        this.emitFile({
          type: 'asset',
          fileName: `${entry}.d.ts`,
          source: `export * from '${from}';\nexport { ${main} as default } from '${from}';\n`,
        });
        const ns = '__api';
        if (names.includes(ns)) throw new Error(`${chunk(api).fileName}: an export is named ${ns}`);
        const lines = [
          `// CommonJS: module.exports is the ${main} class, with every named export as a static.`,
          `import ${ns} = require('${from}');`,
          `declare class ${main} extends ${ns}.${main} {}`,
          `declare namespace ${main} {`,
          ...names.map((name) => `  export import ${name} = ${ns}.${name};`),
          ...Object.entries(aliases).map(([alias, target]) => `  export import ${alias} = ${ns}.${target};`),
          '}',
          `export = ${main};`,
          '',
        ];
        this.emitFile({ type: 'asset', fileName: `${entry}.d.cts`, source: lines.join('\n') });
      }
    },
  };
}

/** Every name a bundled declaration file exports (it exports through export lists only). */
export function exportedNames(code, fileName = 'entry.d.cts') {
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = [];
  for (const statement of source.statements) {
    if (ts.isExportAssignment(statement)) throw new Error(`${fileName}: an export assignment where an export list was expected`);
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (!clause || !ts.isNamedExports(clause)) throw new Error(`${fileName}: "export *" cannot be listed; name the exports`);
      for (const element of clause.elements) names.push(element.name.text);
      continue;
    }
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) ?? [] : [];
    if (modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) {
      throw new Error(`${fileName}: an exported declaration (${ts.SyntaxKind[statement.kind]}) where an export list was expected`);
    }
  }
  return names;
}

/**
 * `export type { A, B }` → `export { A, B }` where every declaration of each name is an
 * interface or a type alias (so nothing claims a runtime value): a namespace member can
 * alias (`export import A = api.A`) only what was exported without `type`. A class or value
 * exported as a type alone has no such spelling, and stops the build.
 */
export function withoutTypeOnlyExports(code, fileName = 'entry.d.cts') {
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const kinds = new Map();
  for (const statement of source.statements) {
    const name = 'name' in statement && statement.name && ts.isIdentifier(statement.name) ? statement.name.text : undefined;
    if (name === undefined) continue;
    const typeOnly = ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement);
    kinds.set(name, (kinds.get(name) ?? true) && typeOnly);
  }
  /** @type {Array<[number, number]>} */
  const cuts = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) continue;
    const elements = statement.exportClause.elements;
    const typeOnly = (element) => statement.isTypeOnly || element.isTypeOnly;
    for (const element of elements.filter(typeOnly)) {
      const local = (element.propertyName ?? element.name).text;
      if (statement.moduleSpecifier || kinds.get(local) !== true) {
        throw new Error(`${fileName}: ${element.name.text} is exported as a type only but is not an interface or type alias declared here`);
      }
    }
    if (statement.isTypeOnly) {
      const keyword = statement.getChildren(source).find((child) => child.kind === ts.SyntaxKind.TypeKeyword);
      cuts.push([keyword.getStart(source), keyword.end + 1]);
    }
    for (const element of elements.filter((e) => e.isTypeOnly)) {
      const keyword = element.getChildren(source).find((child) => child.kind === ts.SyntaxKind.TypeKeyword);
      cuts.push([keyword.getStart(source), keyword.end + 1]);
    }
  }
  let text = code;
  for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) text = text.slice(0, start) + text.slice(end);
  return text;
}
