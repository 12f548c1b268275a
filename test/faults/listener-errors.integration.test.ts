/**
 * Exceptions thrown by the application's own listeners. The documented behaviour
 * (src/api/events.ts): the exception is reported — to the application's `'uncaughtException'`
 * handlers when it has any (where `ws` would send it), else to stderr — and never rethrown, so
 * it cannot end the process; the listeners after it still run, and the connection and the
 * server carry on as if nothing happened.
 *
 * The server runs in a process of its own, with or without an `'uncaughtException'` handler,
 * so the test can watch the process survive.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { closeOf, openClient, Resources } from '../adapters/node/helpers.js';
import { until } from '../hostile/helpers.js';
import { type ProcessEvent, ServerProcess } from './helpers.js';

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
  ws.send(text);
  return reply;
}

function uncaught(server: ServerProcess): string[] {
  return server.events.filter((event) => event.event === 'uncaught').map((event) => event.message as string);
}

describe('exceptions in application listeners', () => {
  const resources = new Resources();
  let server: ServerProcess;
  let url: string;

  beforeEach(async () => {
    server = await ServerProcess.start('listeners');
    url = `ws://127.0.0.1:${server.port}`;
  });
  afterEach(async () => {
    await resources.closeAll();
    expect(server.alive).toBe(true);
    await server.kill();
  });

  it("a throwing 'message' listener: the exception reaches the 'uncaughtException' handler; later listeners run; the connection keeps echoing", async () => {
    const client = await openClient(resources, url);
    const bystander = await openClient(resources, url);
    client.send('boom');
    await server.waitFor((event) => event.event === 'uncaught', 'the uncaught exception');
    expect(uncaught(server)).toEqual(['message listener failed']);
    await server.waitFor((event) => event.event === 'second-listener' && event.data === 'boom', 'the second listener');
    expect(await echo(client, 'still here')).toBe('still here');
    expect(await echo(bystander, 'me too')).toBe('me too');
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(server.events.some((event: ProcessEvent) => event.event === 'socket-error' || event.event === 'server-error')).toBe(false);
  });

  it('a throwing onmessage handler is reported the same way, once per message', async () => {
    const client = await openClient(resources, url);
    client.send('boom-whatwg');
    client.send('boom-whatwg');
    await until(() => uncaught(server).length === 2, 'two uncaught exceptions');
    expect(uncaught(server)).toEqual(['onmessage handler failed', 'onmessage handler failed']);
    expect(await echo(client, 'after')).toBe('after');
  });

  it("a throwing 'close' listener: the close completes, the server goes on accepting", async () => {
    const client = await openClient(resources, url);
    expect(await echo(client, 'throw-on-close')).toBe('throw-on-close');
    client.close(1000);
    expect((await closeOf(client)).code).toBe(1000);
    await until(() => uncaught(server).length === 1, 'the uncaught exception');
    expect(uncaught(server)).toEqual(['close listener failed']);
    const next = await openClient(resources, url);
    expect(await echo(next, 'next')).toBe('next');
  });

  it('without an uncaughtException handler the exception goes to stderr and the process lives on', async () => {
    const unhandled = await ServerProcess.start('listeners-unhandled');
    try {
      const client = await openClient(resources, `ws://127.0.0.1:${unhandled.port}`);
      client.send('boom');
      await until(() => unhandled.stderr.includes('message listener failed'), 'the report on stderr');
      expect(await echo(client, 'alive')).toBe('alive');
      expect(unhandled.alive).toBe(true);
    } finally {
      await unhandled.kill();
    }
  });

  it('a hundred throwing listeners in a row: each is reported, and the connection still echoes', async () => {
    const client = await openClient(resources, url);
    for (let i = 0; i < 100; i++) client.send('boom');
    await until(() => uncaught(server).length === 100, '100 uncaught exceptions', 10_000);
    expect(await echo(client, 'done')).toBe('done');
  });
});
