/**
 * Topics over HTTP/2 (RFC 8441): server-side sockets on HTTP/2 streams subscribe and get what
 * is published, beside a socket over HTTP/1.1 on the same TLS port, in publish order.
 */
import { afterEach, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { type H2Fixture, nextConnection, opened, startH2Server } from '../http2/helpers.js';
import { withTimeout } from '../interop/events.js';

let fixture: H2Fixture | null = null;
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await fixture?.close();
  fixture = null;
});

function receive(ws: WebSocket, count: number): Promise<string[]> {
  const messages: string[] = [];
  return withTimeout(
    new Promise((resolve) => {
      ws.on('message', (data: Buffer) => {
        messages.push(data.toString('utf8'));
        if (messages.length === count) resolve(messages);
      });
    }),
    `${count} published messages`,
  );
}

it('publishes to sockets over HTTP/2 streams and over HTTP/1.1 alike', async () => {
  // TLS: ALPN offers h2 and HTTP/1.1 on one port.
  fixture = await startH2Server('tls');
  const { wss, url, trust } = fixture;
  const sockets: WebSocket[] = [];
  for (const http2 of [true, true, false]) {
    const accepted = nextConnection(wss);
    const client = new WebSocket(`${url}/`, { ...trust, http2, perMessageDeflate: false });
    clients.push(client);
    await opened(client);
    const socket = await accepted;
    expect(socket.subscribe('t')).toBe(true);
    sockets.push(socket);
  }
  expect(sockets.map((socket) => socket.httpVersion)).toEqual(['2', '2', '1.1']);
  const arrived = clients.map((client) => receive(client, 50));
  const expected = Array.from({ length: 50 }, (_, i) => `m${i}`);
  for (const message of expected) expect(wss.publish('t', message)).toBe(3);
  for (const messages of await Promise.all(arrived)) expect(messages).toEqual(expected);
});
