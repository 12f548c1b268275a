// Bundles src/ into dist/: ESM (.js) and CommonJS (.cjs) per public entry, plus one bundled
// declaration file per entry. The wasm bytes are already inlined into the sources by
// `npm run build:wasm`, so the output loads in Node, a page and a worker without a bundler.
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';
import { dts } from 'rollup-plugin-dts';

/** Public entries: the package.json "exports" map points at these outputs. */
const entries = {
  node: 'src/node.ts',
  codec: 'src/codec/index.ts',
  protocol: 'src/protocol/index.ts',
  web: 'src/web.ts',
};

const external = (id) => id.startsWith('node:');
const shebang = (chunk) => (chunk.name === 'cli' ? '#!/usr/bin/env node' : '');

export default [
  {
    // bench-worker: the load generator's worker threads, started from beside dist/cli.js.
    input: { ...entries, cli: 'src/cli/main.ts', 'bench-worker': 'src/cli/bench/worker.ts' },
    external,
    // The command line's latency histogram (hdr-histogram-js) is bundled in, so the package
    // keeps no runtime dependencies.
    plugins: [nodeResolve({ preferBuiltins: true }), commonjs(), esbuild({ target: 'es2022', sourceMap: true })],
    onwarn(warning, warn) {
      // hdr-histogram-js reaches node:zlib through eval for its (unused here) encoding helpers.
      if (warning.code === 'EVAL' && warning.id?.includes('hdr-histogram-js')) return;
      warn(warning);
    },
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', sourcemap: true, banner: shebang },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', sourcemap: true, exports: 'named', banner: shebang },
    ],
  },
  {
    // For classic workers and plain scripts: importScripts('wasmsocket/web.iife.js') defines
    // a global `wasmsocket` with the web entry's exports.
    input: 'src/web.ts',
    plugins: [esbuild({ target: 'es2022', minify: true })],
    output: { file: 'dist/web.iife.js', format: 'iife', name: 'wasmsocket' },
  },
  {
    input: entries,
    external,
    plugins: [dts({ tsconfig: 'tsconfig.json' })],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
  },
];
