/**
 * The server's ws options and events on real sockets: the WebSocket option (a subclass for
 * server-side sockets), 'wsClientError', autoPong, maxFragments, skipUTF8Validation and
 * allowSynchronousEvents — next to ws where they agree.
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { HandshakeError, InvalidArgumentError, WebSocket, WebSocketServer } from '../../../src/node.js';
import { clientFrame, nextEvent, openClient, portOf, rawConnect, readUntil, Resources, startServer, upgradeRequest } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('the WebSocket option', () => {
  it('server-side sockets are instances of the subclass, built by its constructor with ws\'s arguments', async () => {
    const constructed: unknown[][] = [];
    class TaggedSocket extends WebSocket {
      readonly tag: string;
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        constructed.push(args);
        this.tag = 'mine';
      }
      shout(text: string): void {
        this.send(text.toUpperCase());
      }
    }
    const { wss, url } = await startServer(resources, { WebSocket: TaggedSocket });
    const connected = nextEvent<[TaggedSocket]>(wss, 'connection');
    const client = await openClient(resources, url);
    const [serverSide] = await connected;
    expect(serverSide).toBeInstanceOf(TaggedSocket);
    expect(serverSide.tag).toBe('mine');
    expect(serverSide.isServer).toBe(true);
    expect(constructed).toHaveLength(1);
    expect(constructed[0]![0]).toBeNull();
    expect([...wss.clients]).toEqual([serverSide]);
    const message = nextEvent<[Buffer]>(client, 'message');
    serverSide.shout('hello');
    expect((await message)[0].toString()).toBe('HELLO');
  });

  it('must be WebSocket or a subclass; new WebSocket(null) elsewhere is an invalid URL', () => {
    expect(() => new WebSocketServer({ noServer: true, WebSocket: class {} as never })).toThrow(InvalidArgumentError);
    expect(() => new WebSocket(null as never)).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
  });

  it('a subclass constructor that throws refuses the connection and reports the error', async () => {
    class Throwing extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        throw new Error('constructor failed');
      }
    }
    const { wss, url } = await startServer(resources, { WebSocket: Throwing });
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    let connections = 0;
    wss.on('connection', () => connections++);
    const ws = resources.track(new WebSocket(url));
    const [code] = await nextEvent<[number]>(ws, 'close');
    expect(code).toBe(1006);
    expect(errors.map((error) => error.message)).toEqual(['constructor failed']);
    expect(connections).toBe(0);
  });
});

describe("'wsClientError'", () => {
  const malformed = upgradeRequest().replace('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Key: short');

  it.each([
    ['wasmsocket', async () => (await startServer(resources)).wss as unknown as WsServer],
    ['ws', async () => {
      const wss = resources.track(new WsServer({ port: 0, host: '127.0.0.1' }));
      await once(wss, 'listening');
      return wss;
    }],
  ] as const)('%s: a malformed request goes to the listener with the socket and the request, and nothing is written for it', async (_name, start) => {
    const wss = await start();
    const seen: Array<{ error: Error; request: IncomingMessage }> = [];
    wss.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) => {
      seen.push({ error, request });
      socket.end('HTTP/1.1 418 I\'m a teapot\r\nContent-Length: 0\r\n\r\n');
    });
    const socket = await rawConnect(resources, portOf(wss as never));
    socket.write(malformed);
    const answer = (await readUntil(socket, (received) => received.includes('\r\n\r\n'))).toString('latin1');
    expect(answer).toMatch(/^HTTP\/1\.1 418 /);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.error.message).toMatch(/Sec-WebSocket-Key/);
    expect(seen[0]!.request.headers['sec-websocket-key']).toBe('short');
  });

  it('the error is a HandshakeError with the status the request would have had', async () => {
    const { wss, port } = await startServer(resources);
    const errors = new Promise<HandshakeError>((resolve) => wss.on('wsClientError', (error, socket) => {
      socket.destroy();
      resolve(error);
    }));
    const socket = await rawConnect(resources, port);
    socket.write(malformed);
    const error = await errors;
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.status).toBe(400);
  });

  it('without listeners the server answers itself (400)', async () => {
    const { port } = await startServer(resources);
    const socket = await rawConnect(resources, port);
    socket.write(malformed);
    expect((await readUntil(socket, (received) => received.includes('\r\n\r\n'))).toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('autoPong, skipUTF8Validation, allowSynchronousEvents', () => {
  /** A raw client that finished its handshake with the server. */
  async function rawClient(port: number): Promise<import('node:net').Socket> {
    const socket = await rawConnect(resources, port);
    socket.write(upgradeRequest());
    await readUntil(socket, (received) => received.includes('\r\n\r\n'));
    return socket;
  }

  it.each([
    [true, true],
    [false, false],
  ])('autoPong %s: a ping is answered %s, and reported either way', async (autoPong, answered) => {
    const { wss, port } = await startServer(resources, { autoPong });
    const pinged = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => nextEvent<[Buffer]>(ws, 'ping'));
    const socket = await rawClient(port);
    const reply = readUntil(socket, (received) => received.length >= 4, 300).catch(() => Buffer.alloc(0));
    socket.write(clientFrame(0x9, Buffer.from('hi')));
    expect((await pinged)[0].toString()).toBe('hi');
    const received = await reply;
    expect(received.length > 0 && received[0] === 0x8a).toBe(answered);
  });

  it('skipUTF8Validation is accepted, and invalid UTF-8 still fails the connection with 1007 (RFC 6455 §8.1)', async () => {
    const { wss, port } = await startServer(resources, { skipUTF8Validation: true });
    const errors = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => nextEvent<[Error & { closeCode?: number }]>(ws, 'error'));
    const socket = await rawClient(port);
    const answer = readUntil(socket, (received) => received.length >= 4);
    socket.write(clientFrame(0x1, Buffer.from([0xff, 0xfe])));
    expect((await errors)[0].closeCode).toBe(1007);
    const frame = await answer;
    expect(frame[0]).toBe(0x88);
    expect(frame.readUInt16BE(2)).toBe(1007);
  });

  it("maxFragments (ws's option): a message of more fragments fails the connection, with ws's code", async () => {
    const { wss, port } = await startServer(resources, { maxFragments: 2 });
    const errors = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => nextEvent<[Error & { code?: string; closeCode?: number }]>(ws, 'error'));
    const socket = await rawClient(port);
    socket.write(Buffer.concat([clientFrame(0x1, Buffer.from('a'), false), clientFrame(0x0, Buffer.from('b'), false), clientFrame(0x0, Buffer.from('c'))]));
    const error = (await errors)[0];
    expect(error.code).toBe('WS_ERR_TOO_MANY_BUFFERED_PARTS');
    expect(error.closeCode).toBe(1009);
    expect(() => new WebSocketServer({ noServer: true, maxFragments: -1 })).toThrow(InvalidArgumentError);
  });

  it.each([
    [true, ['m1', 'm2', 'immediate']],
    [false, ['m1', 'immediate', 'm2']],
  ])('allowSynchronousEvents %s: two messages read together are delivered in one turn, or each in a turn of its own, as ws does', async (allowSynchronousEvents, order) => {
    for (const server of ['wasmsocket', 'ws'] as const) {
      const seen: string[] = [];
      let port: number;
      let wss: { on(event: 'connection', listener: (ws: { on(event: 'message', listener: (data: Buffer) => void): unknown }) => void): unknown };
      if (server === 'wasmsocket') ({ wss, port } = await startServer(resources, { allowSynchronousEvents }));
      else {
        const ws = resources.track(new WsServer({ port: 0, host: '127.0.0.1', allowSynchronousEvents }));
        await once(ws, 'listening');
        wss = ws as unknown as typeof wss;
        port = portOf(ws);
      }
      const done = new Promise<void>((resolve) => {
        wss.on('connection', (ws) => {
          ws.on('message', (data: Buffer) => {
            const name = data.toString();
            seen.push(name);
            if (name === 'm1') setImmediate(() => seen.push('immediate'));
            else setImmediate(resolve);
          });
        });
      });
      const socket = await rawClient(port);
      socket.write(Buffer.concat([clientFrame(0x1, Buffer.from('m1')), clientFrame(0x1, Buffer.from('m2'))]));
      await done;
      expect(seen, server).toEqual(order);
    }
    expect(() => new WebSocketServer({ noServer: true, allowSynchronousEvents: 'no' as unknown as boolean })).toThrow(InvalidArgumentError);
  });
});
