// Bundles src/ into dist/: an ES module (.js) and a CommonJS module (.cjs) per public entry,
// with declarations for each (.d.ts beside the ES modules, .d.cts beside the CommonJS ones), the command line (ES module only: the package's bin), and an IIFE of the web entry.
// The wasm bytes are already inlined into the sources by `npm run build:wasm`, so the output
// loads in Node, a page and a worker without a bundler. No source maps: nothing in the package
// that no entry point loads.
import { rmSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';
import { dts } from 'rollup-plugin-dts';
import ts from 'typescript';
import { entryDeclarations } from './scripts/declarations.mjs';

/** Public entries: the package.json "exports" map points at these outputs. */
const entries = {
  node: 'src/node.ts',
  codec: 'src/codec/index.ts',
  protocol: 'src/protocol/index.ts',
  web: 'src/web.ts',
  redis: 'src/redis.ts',
};

/**
 * CommonJS: `require('wasmsocket')` (and `require('wasmsocket/web')`) is the WebSocket class
 * with the named exports as statics, as `require('ws')` is; codec, protocol and redis are plain.
 */
const cjsEntries = { ...entries, node: 'src/node-cjs.ts', web: 'src/web-cjs.ts' };

/**
 * Node's built-ins, and the Redis client behind `wasmsocket/redis`: an optional peer
 * dependency, loaded from the user's own installation, never bundled.
 */
const external = (id) => id.startsWith('node:') || id === 'redis' || id.startsWith('@redis/');
const shebang = (chunk) => (chunk.name === 'cli' ? '#!/usr/bin/env node' : '');

/**
 * The command line's latency histogram comes from hdr-histogram-js, bundled in so the package
 * keeps no runtime dependencies. Its index re-exports everything, including a WebAssembly
 * histogram with its module inlined and the log encoders (pako, base64-js), none of which the
 * command line uses (it builds pure-JavaScript histograms: `useWebAssembly: false`). So the
 * bare import resolves to the builder alone, and the builder's reference to the WebAssembly
 * variant to a stub that says it is not available — which is the branch it takes anyway.
 */
function histogramBuilderOnly() {
  const INDEX = '\0hdr-histogram-js:builder';
  const NO_WASM = '\0hdr-histogram-js:no-wasm';
  return {
    name: 'hdr-histogram-builder-only',
    async resolveId(source, importer) {
      if (source === 'hdr-histogram-js') return INDEX;
      if (source === './wasm' && importer && /hdr-histogram-js[\\/]dist[\\/]HistogramBuilder\.js$/.test(importer)) return NO_WASM;
      return null;
    },
    load(id) {
      if (id === INDEX) return "export { build } from 'hdr-histogram-js/dist/HistogramBuilder.js';";
      if (id === NO_WASM) return 'export const webAssemblyAvailable = false;\nexport const WasmHistogram = undefined;';
      return null;
    },
  };
}

/** dist/ holds only what this build writes: no file left from an earlier layout is packed. */
function cleanDist() {
  let cleaned = false;
  return {
    name: 'clean-dist',
    buildStart() {
      if (cleaned) return;
      cleaned = true;
      rmSync('dist', { recursive: true, force: true });
    },
  };
}

/**
 * The shipped JavaScript without comments: the documentation is in the declarations, and the
 * code's comments are a fifth of the package's compressed size. The TypeScript printer
 * re-emits each chunk as it is (ESNext in, ESNext out, no module transform), without them.
 */
function stripComments() {
  return {
    name: 'strip-comments',
    renderChunk(code, chunk) {
      const { outputText } = ts.transpileModule(code, {
        fileName: chunk.fileName.replace(/\.c?js$/, '.js'),
        compilerOptions: { allowJs: true, removeComments: true, target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.Preserve, newLine: ts.NewLineKind.LineFeed },
      });
      return { code: outputText, map: null };
    },
  };
}

const IIFE_ENTRY = '\0web-iife';
/** The IIFE's entry: the web entry's namespace as the default export. */
function iifeEntry() {
  return {
    name: 'web-iife-entry',
    resolveId: (source) => (source === IIFE_ENTRY ? IIFE_ENTRY : null),
    load: (id) => (id === IIFE_ENTRY ? `import * as api from ${JSON.stringify(resolvePath('src/web.ts'))};\nexport default api;\n` : null),
  };
}

const esbuildPlugin = () => esbuild({ target: 'es2022' });

export default [
  {
    // bench-worker: the load generator's worker threads, started from beside dist/cli.js.
    input: { ...entries, cli: 'src/cli/main.ts', 'bench-worker': 'src/cli/bench/worker.ts' },
    external,
    plugins: [cleanDist(), histogramBuilderOnly(), nodeResolve({ preferBuiltins: true }), commonjs(), esbuildPlugin(), stripComments()],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', banner: shebang },
  },
  {
    input: cjsEntries,
    external,
    plugins: [nodeResolve({ preferBuiltins: true }), esbuildPlugin(), stripComments()],
    // 'auto': module.exports = the class for node and web (default export only), named
    // exports for codec and protocol.
    output: { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', exports: 'auto' },
  },
  {
    // For classic workers and plain scripts: importScripts('wasmsocket/web.iife.js') defines
    // a global `wasmsocket` with the web entry's exports.
    // It is a classic script: its one export is the entry's namespace, so the script assigns
    // the global and nothing in it reads like CommonJS (`exports.…`).
    input: IIFE_ENTRY,
    plugins: [iifeEntry(), esbuild({ target: 'es2022', minify: true })],
    output: { file: 'dist/web.iife.js', format: 'iife', name: 'wasmsocket', exports: 'default' },
  },
  {
    // Declarations, once: CommonJS-format bundles (.d.cts) of every entry, which the ES module
    // declarations (.d.ts) re-export; see scripts/declarations.mjs.
    input: { 'node-api': entries.node, codec: entries.codec, protocol: entries.protocol, 'web-api': entries.web, redis: entries.redis },
    external,
    plugins: [
      dts({ tsconfig: 'tsconfig.json' }),
      entryDeclarations({
        reexport: { codec: 'codec', protocol: 'protocol', redis: 'redis' },
        classEntries: {
          node: { api: 'node-api', main: 'WebSocket', aliases: { Server: 'WebSocketServer' } },
          web: { api: 'web-api', main: 'WebSocket' },
        },
      }),
    ],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: 'chunks/[name]-[hash].d.cts' },
  },
];
