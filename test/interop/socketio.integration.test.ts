/**
 * socket.io on wasmsocket, with the real socket.io, socket.io-client and engine.io-client:
 * a server whose engine is wasmsocket's WebSocketServer (`wsEngine`), its broadcasts written
 * through `ws._sender.sendFrame` (the frames socket.io's adapter built once with
 * `ws.Sender.frame`), `ws._socket` as engine.io and its users reach it, and engine.io-client's
 * `autoUnref` on a client whose websocket is wasmsocket's.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { join } from 'node:path';
import { Server as SocketIoServer } from 'socket.io';
import { io as connectSocketIo, type Socket as SocketIoClient } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { Resources } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** A socket.io server on 127.0.0.1 whose engine.io runs over wasmsocket; the server-side WebSockets it made. */
async function startSocketIo(): Promise<{ io: SocketIoServer; url: string; sockets: WebSocket[] }> {
  const httpServer = createServer();
  const io = new SocketIoServer(httpServer, { wsEngine: WebSocketServer, transports: ['websocket'] });
  resources.track({ close: () => io.close() });
  const sockets: WebSocket[] = [];
  io.engine.on('connection', (engineSocket: { transport: { socket?: unknown } }) => {
    const ws = engineSocket.transport.socket;
    if (ws instanceof WebSocket) sockets.push(ws);
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, sockets };
}

async function connect(url: string): Promise<SocketIoClient> {
  const client = connectSocketIo(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  resources.track({ close: () => client.close() });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
  return client;
}

describe('socket.io with wsEngine: WebSocketServer', () => {
  it('connects, emits both ways with acknowledgements, and its engine holds wasmsocket WebSockets', async () => {
    const { io, url, sockets } = await startSocketIo();
    io.on('connection', (socket) => socket.on('echo', (payload: unknown, ack: (reply: unknown) => void) => ack({ echoed: payload })));
    const client = await connect(url);
    const reply = await client.timeout(5000).emitWithAck('echo', { text: 'hé', bytes: Buffer.from([1, 2, 3]) });
    expect(reply.echoed.text).toBe('hé');
    expect([...new Uint8Array(reply.echoed.bytes as ArrayBuffer)]).toEqual([1, 2, 3]);
    expect(sockets).toHaveLength(1);
  });

  it('a broadcast goes out through _sender.sendFrame, once framed, and every client gets it intact', async () => {
    const { io, url, sockets } = await startSocketIo();
    const clients = [await connect(url), await connect(url), await connect(url)];
    expect(sockets).toHaveLength(3);
    const spies = sockets.map((ws) => vi.spyOn(ws._sender, 'sendFrame'));
    const received = clients.map((client) => new Promise<unknown[]>((resolve) => client.on('news', (...args: unknown[]) => resolve(args))));
    const big = 'x'.repeat(70_000);
    io.emit('news', { headline: 'hello' }, big);
    for (const args of await Promise.all(received)) expect(args).toEqual([{ headline: 'hello' }, big]);
    for (const spy of spies) expect(spy).toHaveBeenCalledTimes(1);
    // One framing for every recipient: the frames handed to each socket are the same bytes.
    const frames = spies.map((spy) => spy.mock.calls[0]![0]);
    expect(frames[1]).toBe(frames[0]);
    expect(frames[2]).toBe(frames[0]);
  });

  it('_socket is the server-side net.Socket: remoteAddress, setKeepAlive', async () => {
    const { url, sockets } = await startSocketIo();
    await connect(url);
    const socket = sockets[0]!._socket as NetSocket;
    expect(socket.remoteAddress).toBe('127.0.0.1');
    expect(socket.setKeepAlive(true, 1000)).toBe(socket);
  });
});

describe('ws._sender.sendFrame and ws._socket on their own', () => {
  it('sends text, binary, a fragmented message and a ping as the frames say, and calls back with null', async () => {
    const { Sender } = (await import('ws')) as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
    const wss = resources.track(new WebSocketServer({ port: 0, host: '127.0.0.1' }));
    await once(wss, 'listening');
    const serverSide = new Promise<WebSocket>((resolve) => wss.on('connection', resolve));
    const client = resources.track(new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`));
    const messages: Array<[string, boolean]> = [];
    client.on('message', (data: Buffer, isBinary: boolean) => messages.push([data.toString(), isBinary]));
    const pings: string[] = [];
    client.on('ping', (data: Buffer) => pings.push(data.toString()));
    await once(client, 'open');
    const ws = await serverSide;
    expect(client._socket?.remotePort).toBe((wss.address() as AddressInfo).port);
    const frame = (data: string, opcode: number, fin = true): Buffer[] => Sender.frame(Buffer.from(data), { readOnly: false, mask: false, rsv1: false, opcode, fin });
    const callbacks: unknown[] = [];
    ws._sender.sendFrame(frame('text', 1), (error) => callbacks.push(error));
    ws._sender.sendFrame(frame('bin', 2), (error) => callbacks.push(error));
    ws._sender.sendFrame(frame('frag', 1, false));
    ws._sender.sendFrame(frame('ment', 0, true));
    ws._sender.sendFrame(frame('beat', 9));
    // A frame built in one buffer (header and payload merged) works as well.
    ws._sender.sendFrame([Buffer.concat(frame('merged', 1))]);
    await expect.poll(() => messages.length).toBe(4);
    expect(messages).toEqual([['text', false], ['bin', true], ['fragment', false], ['merged', false]]);
    expect(pings).toEqual(['beat']);
    expect(callbacks).toEqual([null, null]);
    expect(() => ws._sender.sendFrame([Buffer.from([0x81, 0x05, 0x61])])).toThrow(/payload/);
    expect(() => ws._sender.sendFrame(Sender.frame(Buffer.from('z'), { readOnly: false, mask: false, rsv1: true, opcode: 1, fin: true }))).toThrow(/RSV/);
  });
});

describe("engine.io-client's autoUnref on a wasmsocket client", () => {
  const fixture = join(import.meta.dirname, 'fixtures/socketio-autounref-client.ts');

  /** Run the fixture client; resolve with its output and whether it exited by itself within `ms`. */
  async function runClient(url: string, autoUnref: boolean, socketMaker: 'wasmsocket' | 'ws', ms: number): Promise<{ output: string; exited: boolean }> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, String(autoUnref), socketMaker], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = await Promise.race([once(child, 'exit').then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
    if (!exited) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    return { output, exited };
  }

  it.each(['wasmsocket', 'ws'] as const)('%s: connects, and the open connection does not keep the process alive; without autoUnref it does', async (socketMaker) => {
    const { url } = await startSocketIo();
    const expected = `connected ${socketMaker === 'ws' ? 'WebSocket' : 'wasmsocket'}\n`;
    const unref = await runClient(url, true, socketMaker, 15_000);
    expect(unref.output).toBe(expected);
    expect(unref.exited).toBe(true);
    const held = await runClient(url, false, socketMaker, 4_000);
    expect(held.output).toBe(expected);
    expect(held.exited).toBe(false);
  }, 40_000);
});
