/**
 * A `'connection'` listener that throws: the exception reaches the application's
 * `'uncaughtException'` handler, and the connection it was given still works, as with `ws` —
 * it was accepted before the listener ran, and the listeners registered before the throw are
 * in place.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { Resources } from '../adapters/node/helpers.js';
import { until } from '../hostile/helpers.js';
import { ServerProcess } from './helpers.js';

describe("a throwing 'connection' listener", () => {
  const resources = new Resources();
  let server: ServerProcess;

  beforeEach(async () => {
    server = await ServerProcess.start('listeners');
  });
  afterEach(async () => {
    await resources.closeAll();
    await server.kill();
  });

  it('the exception is reported, the client opens and is echoed, and the server still closes', async () => {
    const client = resources.track(new WebSocket(`ws://127.0.0.1:${server.port}/throw-in-connection`, { handshakeTimeout: 3000 }));
    const opened = await new Promise<boolean>((resolve) => {
      client.once('open', () => resolve(true));
      client.once('close', () => resolve(false));
    });
    expect(opened).toBe(true);
    await until(() => server.events.some((event) => event.event === 'uncaught'), 'the uncaught exception');
    const reply = new Promise<string>((resolve) => client.once('message', (data: Buffer) => resolve(data.toString())));
    client.send('hello');
    expect(await reply).toBe('hello');
    client.close(1000);
    await until(() => server.events.some((event) => event.event === 'close'), 'the server-side close');
    server.child.kill('SIGTERM');
    const exit = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5000))]);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
