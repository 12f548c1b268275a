// Bundles src/ into dist/: ESM (.js) and CommonJS (.cjs) per public entry, plus one bundled
// declaration file per entry. The wasm bytes are already inlined into the sources by
// `npm run build:wasm`, so the output loads in Node, a page and a worker without a bundler.
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
    input: { ...entries, cli: 'src/cli/main.ts' },
    external,
    plugins: [esbuild({ target: 'es2022', sourceMap: true })],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', sourcemap: true, banner: shebang },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', sourcemap: true, exports: 'named', banner: shebang },
    ],
  },
  {
    input: entries,
    external,
    plugins: [dts({ tsconfig: 'tsconfig.json' })],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
  },
];
