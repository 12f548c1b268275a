/**
 * The server a client is connected to dies and comes back: the client sees the connection end
 * abnormally (1006, no close frame), and a new client connects to the restarted server on the
 * same port and is served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { closeOf, openClient, Resources } from '../adapters/node/helpers.js';
import { ServerProcess } from './helpers.js';

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
  ws.send(text);
  return reply;
}

describe('a server that restarts', () => {
  const resources = new Resources();
  const processes: ServerProcess[] = [];
  afterEach(async () => {
    await resources.closeAll();
    for (const server of processes.splice(0)) await server.kill();
  });

  it('killed: its clients see 1006 and an error-free close; a new client reaches the restarted server on the same port', async () => {
    const first = await ServerProcess.start('echo');
    processes.push(first);
    const url = `ws://127.0.0.1:${first.port}`;
    const clients = [await openClient(resources, url), await openClient(resources, url)];
    expect(await echo(clients[0]!, 'before')).toBe('before');
    const errors: Error[] = [];
    for (const client of clients) client.on('error', (error) => errors.push(error));
    const closes = clients.map((client) => closeOf(client, 10_000));

    await first.kill();
    const results = await Promise.all(closes);
    expect(results.map(({ code }) => code)).toEqual([1006, 1006]);
    expect(clients.map((client) => client.readyState)).toEqual([WebSocket.CLOSED, WebSocket.CLOSED]);

    // Nobody listens now: a connection attempt fails (refused), with an error and 1006.
    const refused = resources.track(new WebSocket(url));
    const refusedError = new Promise<Error>((resolve) => refused.once('error', resolve));
    expect((await closeOf(refused)).code).toBe(1006);
    expect((await refusedError).message).toMatch(/ECONNREFUSED|refused/i);

    const second = await ServerProcess.start('echo', first.port);
    processes.push(second);
    const again = await openClient(resources, url);
    expect(await echo(again, 'after the restart')).toBe('after the restart');
    // A reset or a lost connection is the transport's news, not a protocol error: the killed
    // server's clients got no 'error' events, only their 1006 close.
    expect(errors).toEqual([]);
  });
});
