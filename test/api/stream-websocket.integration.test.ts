/**
 * StreamWebSocket over real TCP, against an independent implementation: Node sockets
 * turned into WHATWG stream pairs (`Duplex.toWeb`, the shape sockets have in runtimes that
 * expose TCP as streams), talking to the `ws` package's server and client.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import type { WebStreamPair } from '../../src/adapters/web/stream-binding.js';
import type { MessageData } from '../../src/api/face.js';
import { StreamWebSocket } from '../../src/api/stream-websocket.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import { createCodec } from '../../src/codec/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A connected TCP socket as a WHATWG stream pair. */
function streamsOf(socket: Socket): WebStreamPair {
  return Duplex.toWeb(socket) as unknown as WebStreamPair;
}

function closedEvent(ws: StreamWebSocket): Promise<{ code: number; reason: string; wasClean: boolean }> {
  return new Promise((resolve) => ws.addEventListener('close', (event) => resolve(event as CloseEvent)));
}

describe.each([
  ['portable', async () => portableCodec],
  ['wasm', () => createCodec({ implementation: 'wasm' })],
] as const)('StreamWebSocket over TCP, %s codec', (_name, makeCodec) => {
  it('as a client of the ws server: subprotocol, text, 1 MiB binary, the server\'s ping, close codes', async () => {
    const codec = await makeCodec();
    const server = new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered) => (offered.has('v2') ? 'v2' : false) });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const serverSide = new Promise<{ pong: string; closed: [number, string] }>((resolve) => {
      server.on('connection', (socket) => {
        let pong = '';
        socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
        socket.on('pong', (data) => (pong = data.toString()));
        socket.ping('are you there');
        socket.on('close', (code, reason) => resolve({ pong, closed: [code, reason.toString()] }));
      });
    });
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const ws = StreamWebSocket.connect(streamsOf(socket), `ws://127.0.0.1:${port}/chat`, ['v1', 'v2'], { codec });
    const received: [MessageData, boolean][] = [];
    ws.on('message', (data: MessageData, isBinary: boolean) => received.push([data, isBinary]));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    expect(ws.protocol).toBe('v2');
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    ws.send('hello ws ✓');
    ws.send(big);
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
    expect(received[0]).toEqual(['hello ws ✓', false]);
    expect(received[1]![1]).toBe(true);
    expect(Buffer.compare(Buffer.from(received[1]![0] as Uint8Array), Buffer.from(big))).toBe(0);
    const closed = closedEvent(ws);
    ws.close(4000, 'bye');
    expect(await closed).toMatchObject({ code: 4000, wasClean: true });
    expect(await serverSide).toEqual({ pong: 'are you there', closed: [4000, 'bye'] });
  });

  it('as a server for the ws client: declines permessage-deflate, echoes, closes first (RFC 6455 §7.1.1)', async () => {
    const codec = await makeCodec();
    const transports: StreamWebSocket[] = [];
    const server: Server = createServer((socket) => {
      const ws = StreamWebSocket.accept(streamsOf(socket), { codec, handleProtocols: (offered) => (offered.has('echo') ? 'echo' : false) });
      ws.on('message', (data: MessageData, isBinary: boolean) => ws.send(data as Uint8Array | string, { binary: isBinary }));
      transports.push(ws);
    });
    server.listen(0, '127.0.0.1');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    // ws offers permessage-deflate by default; our server must answer without it.
    const client = new WsClient(`ws://127.0.0.1:${port}/`, ['echo']);
    const upgrade = new Promise<Record<string, string | string[] | undefined>>((resolve) => client.on('upgrade', (response) => resolve(response.headers)));
    await once(client, 'open');
    const headers = await upgrade;
    expect(headers['sec-websocket-extensions']).toBeUndefined();
    expect(client.extensions).toBe('');
    expect(client.protocol).toBe('echo');
    const echoes: [string, boolean][] = [];
    client.on('message', (data, isBinary) => echoes.push([isBinary ? `${(data as Buffer).length} bytes` : data.toString(), isBinary]));
    client.send('from ws');
    client.send(Buffer.alloc(70_000, 1));
    await expect.poll(() => echoes.length).toBe(2);
    expect(echoes).toEqual([
      ['from ws', false],
      ['70000 bytes', true],
    ]);
    const serverClosed = closedEvent(transports[0]!);
    client.close(1000, 'done');
    const [code, reason] = (await once(client, 'close')) as [number, Buffer];
    // The answering close echoes the code and the reason, as ws's does.
    expect([code, reason.toString()]).toEqual([1000, 'done']);
    expect(await serverClosed).toMatchObject({ code: 1000, reason: 'done', wasClean: true });
  });
});
