/**
 * The published package as a user gets it: `rollup -c` builds dist/, and a project that
 * depends on wasmsocket imports it by name — ESM and CommonJS, every public entry — and the
 * classic-worker IIFE defines its global. Nothing here imports from src/.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let project: string;

beforeAll(async () => {
  await run(process.execPath, [join(root, 'node_modules/rollup/dist/bin/rollup'), '-c', 'rollup.config.mjs', '--silent'], { cwd: root });
  project = await mkdtemp(join(tmpdir(), 'wasmsocket-package-'));
  await mkdir(join(project, 'node_modules'));
  await symlink(root, join(project, 'node_modules/wasmsocket'), 'dir');
}, 180_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

async function runScript(name: string, source: string): Promise<string> {
  await writeFile(join(project, name), source);
  const { stdout } = await run(process.execPath, [name], { cwd: project, timeout: 20_000 });
  return stdout.trim();
}

const ECHO_ROUND_TRIP = `
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
  ws.on('open', () => ws.send('héllo'));
  ws.on('message', (data, isBinary) => {
    console.log(JSON.stringify({ text: data.toString(), isBinary, codec: createCodecSync().implementation,
      opened: new ServerConnection({ codec: createCodecSync(), established: {} }).state }));
    ws.close();
    wss.close();
  });
});
wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
`;

describe('the built package', () => {
  it('ESM: the Node entry, wasmsocket/codec and wasmsocket/protocol import by name and work together', async () => {
    const out = await runScript('esm.mjs', `
import { WebSocket, WebSocketServer } from 'wasmsocket';
import { createCodecSync } from 'wasmsocket/codec';
import { ServerConnection } from 'wasmsocket/protocol';
${ECHO_ROUND_TRIP}`);
    expect(JSON.parse(out)).toEqual({ text: 'héllo', isBinary: false, codec: 'wasm', opened: 1 });
  });

  it('CommonJS: require() of the same entries works', async () => {
    const out = await runScript('cjs.cjs', `
const { WebSocket, WebSocketServer } = require('wasmsocket');
const { createCodecSync } = require('wasmsocket/codec');
const { ServerConnection } = require('wasmsocket/protocol');
${ECHO_ROUND_TRIP}`);
    expect(JSON.parse(out)).toEqual({ text: 'héllo', isBinary: false, codec: 'wasm', opened: 1 });
  });

  it('WASMSOCKET_NO_WASM=1 makes the built codec portable', async () => {
    await writeFile(join(project, 'nowasm.mjs'), `import { createCodecSync } from 'wasmsocket/codec'; console.log(createCodecSync().implementation);`);
    const { stdout } = await run(process.execPath, ['nowasm.mjs'], { cwd: project, env: { ...process.env, WASMSOCKET_NO_WASM: '1' } });
    expect(stdout.trim()).toBe('portable');
  });

  it('wasmsocket/web imports in Node too (its codec loads asynchronously)', async () => {
    const out = await runScript('web.mjs', `
import { createWebCodec, StreamWebSocket } from 'wasmsocket/web';
const codec = createWebCodec();
const before = codec.implementation;
console.log(JSON.stringify({ before, after: await codec.ready, transport: typeof StreamWebSocket.connect }));`);
    expect(JSON.parse(out)).toEqual({ before: 'portable', after: 'wasm', transport: 'function' });
  });

  it('the IIFE build defines a global wasmsocket for importScripts, with no module system', async () => {
    const source = await readFile(join(root, 'dist/web.iife.js'), 'utf8');
    const context: Record<string, unknown> = { TextEncoder, TextDecoder, WebAssembly, crypto: globalThis.crypto, EventTarget, Event, DOMException, Blob, URL };
    context.self = context;
    context.globalThis = context;
    runInNewContext(source, context);
    const api = context.wasmsocket as Record<string, unknown>;
    expect(typeof api.WebSocket).toBe('function');
    expect(typeof api.StreamWebSocket).toBe('function');
    expect(typeof api.createCodec).toBe('function');
  });

  it('the command line runs from dist/cli.js', async () => {
    const { stdout } = await run(process.execPath, [join(root, 'dist/cli.js'), '--help']);
    expect(stdout).toMatch(/^Usage: wasmsocket <command>/);
    expect(stdout).toContain('serve');
  });
});
