/**
 * Bun runs the packed package (through its node:net, node:http and node:zlib): server and
 * client, against each other and against Node's ws, with the wasm and the portable codec.
 */
import { findBun } from './runtimes.js';
import { describeRuntime } from './suite.js';

describeRuntime({
  name: 'Bun',
  binary: findBun(),
  minimum: '1.4.4',
  command: (script, args) => [findBun()!.path, script, ...args],
  env: () => ({ DO_NOT_TRACK: '1', BUN_CONFIG_NO_CLEAR_TERMINAL_ON_RELOAD: '1' }),
});
