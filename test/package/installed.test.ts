/**
 * The package from its tarball, as a project that depends on it gets it: what `npm pack`
 * ships (size, and nothing that no entry point loads), the imports exactly as `ws` users write
 * them (ESM default and named, `require()` returning the class with its statics), their types
 * under every module resolution TypeScript users have, the package checkers (attw, publint),
 * a real server and client from the installed files, and the command line from its bin.
 * Nothing here imports from src/.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { packedPackage, PACK_TIMEOUT_MS, root, type PackedPackage } from './packed.js';

const run = promisify(execFile);
let pkg: PackedPackage;

beforeAll(async () => {
  pkg = await packedPackage();
}, PACK_TIMEOUT_MS + 30_000);

async function runNode(name: string, source: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  await writeFile(join(pkg.project, name), source);
  const { stdout } = await run(process.execPath, [name], { cwd: pkg.project, timeout: 20_000, env: { ...process.env, ...env } });
  return stdout.trim();
}

/** One message each way between a server and a client of the installed package, on loopback. */
const ECHO = `
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port + '/echo');
  ws.on('open', () => ws.send('héllo'));
  ws.on('message', (data, isBinary) => {
    ws.close(1000, 'done');
    ws.on('close', (code, reason) => {
      wss.close(() => console.log(JSON.stringify({ text: data.toString(), isBinary, code, reason: reason.toString() })));
    });
  });
});
wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
`;
const ECHOED = { text: 'héllo', isBinary: false, code: 1000, reason: 'done' };

describe('the tarball', () => {
  const KiB = 1024;

  // 320 KiB for the core entries and the command line (with WebSockets over HTTP/2 and topics
  // they pack to about 312 KiB), and 20 KiB for the optional Redis bus entry (its ESM and
  // CommonJS builds and declarations pack to about 9 KiB).
  it(`packs to at most 340 KiB, with dist/, the README, the licence and package.json`, () => {
    const paths = pkg.report.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/node.js', 'dist/node.cjs', 'dist/cli.js', 'dist/redis.js', 'dist/redis.cjs']));
    expect(pkg.report.size).toBeLessThanOrEqual(340 * KiB);
    expect(paths.filter((path) => !path.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(path))).toEqual([]);
  });

  it('holds no source map, no CommonJS copy of the command line and none of the histogram library\'s unused parts', () => {
    const paths = pkg.report.files.map((file) => file.path);
    expect(paths.filter((path) => path.endsWith('.map'))).toEqual([]);
    expect(paths.filter((path) => /(^|\/)(cli|bench-worker|latency[^/]*)\.cjs$/.test(path))).toEqual([]);
    for (const path of paths.filter((p) => /\.c?js$/.test(p))) {
      const text = readFileSync(join(pkg.installed, path), 'utf8');
      // pako (zlib in JavaScript), base64-js, and the histogram's WebAssembly variant (its
      // loader and inlined module).
      expect(text, path).not.toMatch(/pako|base64-js|fromByteArray|@assemblyscript\/loader|initWebAssembly/);
    }
  });

  it('holds nothing that no entry point can load: every file is reached from package.json', () => {
    const manifest = JSON.parse(readFileSync(join(pkg.installed, 'package.json'), 'utf8'));
    const roots = new Set<string>();
    const collect = (value: unknown): void => {
      if (typeof value === 'string') roots.add(posix.normalize(value));
      else if (value && typeof value === 'object') for (const inner of Object.values(value)) collect(inner);
    };
    collect(manifest.exports);
    collect(manifest.bin);
    collect(manifest.typesVersions);
    for (const field of ['main', 'module', 'types']) collect(manifest[field]);
    const reached = new Set<string>();
    const queue = [...roots].filter((path) => path.startsWith('dist/'));
    while (queue.length > 0) {
      const path = queue.pop()!;
      if (reached.has(path)) continue;
      reached.add(path);
      const text = readFileSync(join(pkg.installed, path), 'utf8');
      // Every relative module specifier or file URL in the file (imports, requires, the
      // worker's new URL('./bench-worker.js', import.meta.url)).
      for (const [, specifier] of text.matchAll(/['"](\.\.?\/[\w./-]+?\.c?js)['"]/g)) {
        let target = posix.normalize(posix.join(posix.dirname(path), specifier!));
        // Declarations name the JavaScript file they describe.
        if (/\.d\.c?ts$/.test(path)) target = target.replace(/\.cjs$/, '.d.cts').replace(/\.js$/, '.d.ts');
        if (existsSync(join(pkg.installed, target))) queue.push(target);
      }
    }
    const shipped = pkg.report.files.map((file) => file.path).filter((path) => path.startsWith('dist/'));
    expect(shipped.filter((path) => !reached.has(path))).toEqual([]);
  });

  it('ships each shared declaration chunk once (the import and require declarations share them)', () => {
    const chunks = pkg.report.files.map((file) => file.path).filter((path) => /^dist\/chunks\/.*\.d\.c?ts$/.test(path));
    const names = chunks.map((path) => path.replace(/-[\w-]{8}\.d\.c?ts$/, ''));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('ESM: import as ws users write it', () => {
  it('the default export is the WebSocket class; WebSocketServer and createWebSocketStream are named exports', async () => {
    const out = await runNode('esm-shape.mjs', `
import WebSocket, { WebSocket as Named, WebSocketServer, createWebSocketStream } from 'wasmsocket';
console.log(JSON.stringify({
  same: WebSocket === Named, cls: typeof WebSocket, server: typeof WebSocketServer, stream: typeof createWebSocketStream,
  states: [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
}));`);
    expect(JSON.parse(out)).toEqual({ same: true, cls: 'function', server: 'function', stream: 'function', states: [0, 1, 2, 3] });
  });

  it('a server and a client from the installed package echo a message', async () => {
    const out = await runNode('esm-echo.mjs', `import WebSocket, { WebSocketServer } from 'wasmsocket';\n${ECHO}`);
    expect(JSON.parse(out)).toEqual(ECHOED);
  });

  it('createWebSocketStream from the default import wraps a client', async () => {
    const out = await runNode('esm-stream.mjs', `
import WebSocket, { WebSocketServer, createWebSocketStream } from 'wasmsocket';
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
  const duplex = createWebSocketStream(new WebSocket('ws://127.0.0.1:' + wss.address().port));
  duplex.on('data', (chunk) => { console.log(String(chunk)); duplex.destroy(); wss.close(); });
  duplex.write('through a stream');
});
wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));`);
    expect(out).toBe('through a stream');
  });

  it('wasmsocket/codec, wasmsocket/protocol and wasmsocket/web import by name', async () => {
    const out = await runNode('esm-entries.mjs', `
import { createCodecSync } from 'wasmsocket/codec';
import { ServerConnection } from 'wasmsocket/protocol';
import WebWebSocket, { WebSocket, StreamWebSocket } from 'wasmsocket/web';
console.log(JSON.stringify({ codec: createCodecSync().implementation, opened: new ServerConnection({ codec: createCodecSync(), established: {} }).state,
  web: WebWebSocket === WebSocket, transport: typeof StreamWebSocket.connect }));`);
    expect(JSON.parse(out)).toEqual({ codec: 'wasm', opened: 1, web: true, transport: 'function' });
  });
});

describe('CommonJS: require as ws users write it', () => {
  it("require('wasmsocket') is the WebSocket class, with Server, WebSocketServer, WebSocket and createWebSocketStream as statics", async () => {
    const out = await runNode('cjs-shape.cjs', `
const WebSocket = require('wasmsocket');
const { WebSocket: Named, WebSocketServer, createWebSocketStream, CloseCode } = require('wasmsocket');
console.log(JSON.stringify({
  cls: typeof WebSocket, isClass: /^class\\b/.test(Function.prototype.toString.call(WebSocket)),
  self: WebSocket.WebSocket === WebSocket, named: Named === WebSocket,
  server: WebSocket.Server === WebSocket.WebSocketServer && typeof WebSocketServer === 'function' && WebSocketServer === WebSocket.Server,
  stream: typeof WebSocket.createWebSocketStream === 'function' && createWebSocketStream === WebSocket.createWebSocketStream,
  closeCode: typeof CloseCode, states: [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
  esModule: '__esModule' in WebSocket,
}));`);
    expect(JSON.parse(out)).toEqual({
      cls: 'function', isClass: true, self: true, named: true, server: true, stream: true, closeCode: 'object', states: [0, 1, 2, 3], esModule: false,
    });
  });

  it('a server from WebSocket.Server and a client from the required class echo a message', async () => {
    const out = await runNode('cjs-echo.cjs', `const WebSocket = require('wasmsocket');\nconst WebSocketServer = WebSocket.Server;\n${ECHO}`);
    expect(JSON.parse(out)).toEqual(ECHOED);
  });

  it('destructuring keeps working: const { WebSocket, WebSocketServer } = require(…)', async () => {
    const out = await runNode('cjs-destructured.cjs', `const { WebSocket, WebSocketServer } = require('wasmsocket');\n${ECHO}`);
    expect(JSON.parse(out)).toEqual(ECHOED);
  });

  it('wasmsocket/codec, wasmsocket/protocol and wasmsocket/web require by name; WASMSOCKET_NO_WASM=1 makes the codec portable', async () => {
    const source = `
const { createCodecSync } = require('wasmsocket/codec');
const { ServerConnection } = require('wasmsocket/protocol');
const WebWebSocket = require('wasmsocket/web');
console.log(JSON.stringify({ codec: createCodecSync().implementation, opened: new ServerConnection({ codec: createCodecSync(), established: {} }).state,
  web: WebWebSocket.WebSocket === WebWebSocket && typeof WebWebSocket.StreamWebSocket }));`;
    expect(JSON.parse(await runNode('cjs-entries.cjs', source))).toEqual({ codec: 'wasm', opened: 1, web: 'function' });
    expect(JSON.parse(await runNode('cjs-entries.cjs', source, { WASMSOCKET_NO_WASM: '1' })).codec).toBe('portable');
  });
});

describe('wasmsocket/redis and its optional peer dependency', () => {
  const TWO_NODES = (load: string) => `
${load}
const url = process.argv[2];
const a = new RedisBus({ url }), b = new RedisBus({ url });
const got = [];
b.attach((topic, payload, binary) => got.push({ topic, text: Buffer.from(payload).toString(), binary }));
a.attach(() => {});
Promise.all([a.ready, b.ready]).then(async () => {
  b.interest('room', true);
  for (let i = 0; i < 400 && got.length === 0; i++) {
    a.publish('room', Buffer.from('héllo'), false);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  console.log(JSON.stringify(got[0]));
  await Promise.all([a.close(), b.close()]);
});`;

  it('without the redis client installed, wasmsocket loads and wasmsocket/redis fails naming the missing package', async () => {
    expect(existsSync(join(pkg.project, 'node_modules/redis'))).toBe(false);
    const out = await runNode('redis-missing.mjs', `
import { WebSocketServer } from 'wasmsocket';
let error = '';
try { await import('wasmsocket/redis'); } catch (caught) { error = caught.code + ' ' + caught.message; }
console.log(JSON.stringify({ server: typeof WebSocketServer, error }));`);
    const { server, error } = JSON.parse(out) as { server: string; error: string };
    expect(server).toBe('function');
    expect(error).toMatch(/^ERR_MODULE_NOT_FOUND .*'redis'/);
    // The command line says what to install.
    const serve = await run(process.execPath, [join(pkg.installed, 'dist/cli.js'), 'serve', '--port', '0', '--redis', 'redis://127.0.0.1:1'], { timeout: 20_000 })
      .catch((failure: { code: number; stderr: string }) => failure);
    expect(serve).toMatchObject({ code: 1, stderr: 'wasmsocket serve: --redis needs the redis package: npm install redis\n' });
  });

  it('with it installed, two buses from the installed entry carry a message through a real redis-server (ESM and CommonJS)', async () => {
    await symlink(join(root, 'node_modules/redis'), join(pkg.project, 'node_modules/redis'), 'junction');
    const redis = await RedisServer.start();
    try {
      for (const [name, load] of [['redis.mjs', "import { RedisBus } from 'wasmsocket/redis';"], ['redis.cjs', "const { RedisBus } = require('wasmsocket/redis');"]] as const) {
        await writeFile(join(pkg.project, name), TWO_NODES(load));
        const { stdout } = await run(process.execPath, [name, redis.url], { cwd: pkg.project, timeout: 20_000 });
        expect(JSON.parse(stdout.trim()), name).toEqual({ topic: 'room', text: 'héllo', binary: false });
      }
    } finally {
      await redis.kill();
    }
  }, 60_000);
});

/** A consumer's TypeScript files, type-checked against the installed declarations. */
const ESM_CONSUMER = `
import WebSocket, { WebSocketServer, createWebSocketStream, type ServerOptions } from 'wasmsocket';
import { WebSocket as NamedWebSocket, CloseCode } from 'wasmsocket';
import { createCodecSync, type Codec } from 'wasmsocket/codec';
import { ServerConnection } from 'wasmsocket/protocol';
import WebClient, { StreamWebSocket } from 'wasmsocket/web';
import { RedisBus, type Bus, type RedisBusOptions, type RedisBusStats } from 'wasmsocket/redis';

const options: ServerOptions = { port: 0, host: '127.0.0.1' };
const wss: WebSocketServer = new WebSocketServer(options);
wss.on('connection', (socket: WebSocket) => {
  socket.on('message', (data, isBinary: boolean) => socket.send(data, { binary: isBinary }));
});
const client: WebSocket = new WebSocket('ws://127.0.0.1:8080');
const same: NamedWebSocket = client;
const duplex = createWebSocketStream(client);
duplex.end();
client.close(CloseCode.NORMAL, 'bye');
const codec: Codec = createCodecSync();
const accept: number = new ServerConnection({ codec, established: {} }).state;
const web: WebClient = new WebClient('ws://127.0.0.1:8080');
const busOptions: RedisBusOptions = { url: 'redis://127.0.0.1:6379', prefix: 'app:', whileDisconnected: 'buffer' };
const bus: Bus = new RedisBus(busOptions);
const counters: RedisBusStats = new RedisBus().stats;
void [same, codec, accept, web, StreamWebSocket, WebSocket.OPEN, bus, counters];
// @ts-expect-error the ES module class has no CommonJS statics
void WebSocket.Server;
`;

const CJS_CONSUMER = `
import WebSocket = require('wasmsocket');
import codecs = require('wasmsocket/codec');
import protocol = require('wasmsocket/protocol');
import redis = require('wasmsocket/redis');

const wss: WebSocket.WebSocketServer = new WebSocket.Server({ port: 0, host: '127.0.0.1' });
const other = new WebSocket.WebSocketServer({ noServer: true });
wss.on('connection', (socket: WebSocket) => {
  socket.on('message', (data, isBinary: boolean) => socket.send(data, { binary: isBinary }));
});
const client: WebSocket = new WebSocket('ws://127.0.0.1:8080');
const fromStatic: WebSocket = new WebSocket.WebSocket('ws://127.0.0.1:8080');
const asNamed: WebSocket.WebSocket = client;
const back: WebSocket = asNamed;
WebSocket.createWebSocketStream(client).end();
const options: WebSocket.ServerOptions = { noServer: true };
const codec: codecs.Codec = codecs.createCodecSync();
const accept: number = new protocol.ServerConnection({ codec, established: {} }).state;
const bus: redis.Bus = new redis.RedisBus({ prefix: 'app:' });
void [other, fromStatic, back, options, codec, accept, WebSocket.OPEN, bus];
`;

const CJS_NAMED_CONSUMER = `
import { WebSocket, WebSocketServer, createWebSocketStream } from 'wasmsocket';
import DefaultWebSocket from 'wasmsocket';
const wss = new WebSocketServer({ noServer: true });
const client: WebSocket = new DefaultWebSocket('ws://127.0.0.1:8080');
createWebSocketStream(client).end();
void wss;
`;

const WEB_CONSUMER = `
import WebSocket, { WebSocket as Named, StreamWebSocket } from 'wasmsocket';
const client: WebSocket = new WebSocket('wss://example.com/');
const same: Named = client;
client.on('message', (data, isBinary: boolean) => void [data, isBinary]);
client.send('hello');
void [same, StreamWebSocket];
// @ts-expect-error the web entry has no server
import type { WebSocketServer } from 'wasmsocket';
`;

interface TypeCase {
  readonly name: string;
  readonly compilerOptions: Record<string, unknown>;
  readonly files: Record<string, string>;
}

const TYPE_CASES: TypeCase[] = [
  {
    name: 'nodenext, from ESM and CommonJS files',
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', esModuleInterop: true },
    files: { 'esm.mts': ESM_CONSUMER, 'cjs.cts': CJS_CONSUMER, 'cjs-named.cts': CJS_NAMED_CONSUMER },
  },
  {
    name: 'node16, from a CommonJS file (import = require)',
    compilerOptions: { module: 'node16', moduleResolution: 'node16' },
    files: { 'cjs.cts': CJS_CONSUMER, 'esm.mts': ESM_CONSUMER },
  },
  {
    // A bundler for Node resolves the "node" condition, as Node does.
    name: 'moduleResolution bundler, for Node',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', customConditions: ['node'] },
    files: { 'esm.ts': ESM_CONSUMER },
  },
  {
    // Without a platform condition the "default" one gives the web entry: the same client.
    name: 'moduleResolution bundler, for the web',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler' },
    files: { 'web.ts': WEB_CONSUMER },
  },
  {
    name: 'moduleResolution node10 (CommonJS)',
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: { 'cjs.ts': CJS_CONSUMER, 'cjs-named.ts': CJS_NAMED_CONSUMER },
  },
];

describe('TypeScript: the installed declarations', () => {
  beforeAll(async () => {
    // The declarations use Node's types, as ws's do: the consumer has @types/node. They also
    // name DOM event types (EventInit, CloseEvent, …), hence lib "dom" below.
    const types = join(pkg.project, 'node_modules/@types');
    await mkdir(types, { recursive: true });
    if (!existsSync(join(types, 'node'))) await symlink(join(root, 'node_modules/@types/node'), join(types, 'node'), 'junction');
  });

  for (const testCase of TYPE_CASES) {
    it(`type-check under ${testCase.name}`, async () => {
      const dir = join(pkg.project, `types-${testCase.name.replace(/\W+/g, '-')}`);
      await mkdir(dir, { recursive: true });
      for (const [file, source] of Object.entries(testCase.files)) await writeFile(join(dir, file), source);
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'es2022', lib: ['es2022', 'dom'], types: ['node'], strict: true, noEmit: true, skipLibCheck: false, ...testCase.compilerOptions },
        files: Object.keys(testCase.files),
      }));
      const tsc = join(root, 'node_modules/typescript/bin/tsc');
      const result = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, timeout: 120_000 })
        .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
        .catch((error: { code: number; stdout: string; stderr: string }) => error);
      expect({ code: result.code, diagnostics: `${result.stdout}${result.stderr}`.trim() }).toEqual({ code: 0, diagnostics: '' });
    }, 120_000);
  }
});

describe('package checkers', () => {
  it('attw: no problem for any entry under node10, node16 (CJS and ESM) and bundler', async () => {
    const cli = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    // web.iife.js is a classic script for importScripts(), not a module: nothing imports it.
    const result = await run(process.execPath, [cli, pkg.tarball, '--format', 'json', '--exclude-entrypoints', './web.iife.js'], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 })
      .catch((error: { stdout: string }) => error);
    const { analysis, problems } = JSON.parse(result.stdout) as { analysis: { entrypoints: Record<string, unknown> }; problems: unknown };
    expect(Object.keys(analysis.entrypoints).sort()).toEqual(['.', './codec', './package.json', './protocol', './redis', './web']);
    expect(problems).toEqual({});
    expect(analysis).toHaveProperty(['problems'], []);
  }, 150_000);

  it('publint --strict: no message on the installed package', async () => {
    const { publint } = await import('publint');
    const { messages } = await publint({ pkgDir: pkg.installed, pack: false, strict: true, level: 'suggestion' });
    expect(messages).toEqual([]);
  }, 60_000);
});

describe('the command line from its bin', () => {
  it('wasmsocket --help', async () => {
    const bin = join(pkg.project, 'node_modules/.bin', process.platform === 'win32' ? 'wasmsocket.cmd' : 'wasmsocket');
    const { stdout } = await run(bin, ['--help'], { timeout: 20_000 });
    expect(stdout).toMatch(/^Usage: wasmsocket <command>/);
  });

  it('serve on a free port, and bench against it: the worker and the latency histogram load from dist/', async () => {
    const cli = join(pkg.installed, 'dist/cli.js');
    const server = spawn(process.execPath, [cli, 'serve', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk;
          const match = /echo\s+(ws:\/\/\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      const report = join(pkg.project, 'bench.json');
      await run(process.execPath, [cli, 'bench', url, '-c', '1', '-j', '1', '-t', '1', '-w', '0', '--json', report], { timeout: 30_000 });
      const text = await readFile(report, 'utf8');
      expect(text).toMatch(/p99/);
    } finally {
      server.kill('SIGTERM');
    }
  }, 60_000);
});
