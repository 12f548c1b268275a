/**
 * Deno runs the packed package from the project's node_modules (through its node:net,
 * node:http and node:zlib): server and client, against each other and against Node's ws, with
 * the wasm and the portable codec. Permissions: loopback, the environment, reading files.
 */
import { join } from 'node:path';
import { findDeno } from './runtimes.js';
import { describeRuntime } from './suite.js';

describeRuntime({
  name: 'Deno',
  binary: findDeno(),
  minimum: '2.9.6',
  command: (script, args) => [
    findDeno()!.path, 'run', '--no-prompt', '--no-lock', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', script, ...args,
  ],
  env: (project) => ({ DENO_DIR: join(project, '.deno-cache'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }),
});
