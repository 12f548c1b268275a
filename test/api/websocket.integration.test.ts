/**
 * The public WebSocket on real sockets: the WHATWG face (addEventListener, MessageEvent,
 * CloseEvent, ErrorEvent, onxxx handlers, binaryType) on an EventEmitter, as ws has it, the ws face's details (constants,
 * callbacks, ping/pong, close validation), async iteration, and a quick round against the
 * real `ws` package in both directions — with each codec.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { CloseEvent, ErrorEvent, WebSocket } from '../../src/node.js';
import { closeOf, nextEvent, nodeCodecs, openClient, portOf, Resources, startServer } from '../adapters/node/helpers.js';
import { withUncaughtHandler } from './uncaught.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** An echo server: text back as text, binary back as binary. */
async function echoServer(codec: import('../../src/codec/types.js').Codec, protocols?: string[]): Promise<string> {
  const { wss, url } = await startServer(resources, { codec, protocols });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return url;
}

describe.each(nodeCodecs)('WebSocket (%s codec)', (_name, codec) => {
  describe('WHATWG face', () => {
    it('is an EventEmitter with the EventTarget methods: open, message, close events and handlers', async () => {
      const url = await echoServer(codec);
      const ws = resources.track(new WebSocket(url, { codec }));
      expect(ws).toBeInstanceOf(EventEmitter);
      expect(ws).not.toBeInstanceOf(EventTarget);
      const seen: string[] = [];
      ws.onopen = (event) => {
        seen.push(`open:${event.type}`);
        ws.send('hi');
      };
      ws.addEventListener('message', (event) => {
        seen.push(`message:${String((event as MessageEvent).data)}`);
        ws.close(4000, 'done');
      });
      const closed = new Promise<CloseEvent>((resolve) => {
        ws.onclose = resolve;
      });
      const event = await closed;
      expect(event).toBeInstanceOf(CloseEvent);
      expect(event.wasClean).toBe(true);
      expect(event.code).toBe(4000);
      expect(seen).toEqual(['open:open', 'message:hi']);
      expect(ws.onclose).toBeTypeOf('function');
      expect(ws.readyState).toBe(WebSocket.CLOSED);
    });

    it("binaryType 'arraybuffer' and 'blob' decide what MessageEvent.data is; text is a string", async () => {
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      const data: unknown[] = [];
      ws.onmessage = (event) => data.push(event.data);
      ws.binaryType = 'arraybuffer';
      ws.send(new Uint8Array([1, 2, 3]));
      await expect.poll(() => data.length).toBe(1);
      expect(data[0]).toBeInstanceOf(ArrayBuffer);
      expect([...new Uint8Array(data[0] as ArrayBuffer)]).toEqual([1, 2, 3]);
      ws.binaryType = 'blob';
      ws.send(new Uint8Array([4, 5]).buffer);
      await expect.poll(() => data.length).toBe(2);
      expect(data[1]).toBeInstanceOf(Blob);
      expect([...new Uint8Array(await (data[1] as Blob).arrayBuffer())]).toEqual([4, 5]);
      ws.send('text');
      await expect.poll(() => data.length).toBe(3);
      expect(data[2]).toBe('text');
      ws.binaryType = 'bogus' as never;
      expect(ws.binaryType).toBe('blob');
    });

    it('sends a Blob in order with the sends around it', async () => {
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      const received: string[] = [];
      ws.on('message', (data: Buffer) => received.push(data.toString()));
      ws.send('one');
      ws.send(new Blob(['two']));
      ws.send('three');
      await expect.poll(() => received).toEqual(['one', 'two', 'three']);
    });

    it('error then close events: ErrorEvent carries the error, CloseEvent says 1006 and unclean', async () => {
      const { server, port } = await (async () => {
        const { wss, port } = await startServer(resources, { codec });
        return { server: wss, port };
      })();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      const events: Event[] = [];
      ws.onerror = (event) => events.push(event);
      const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', (event) => resolve(event as CloseEvent)));
      const close = await closed;
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(ErrorEvent);
      expect(((events[0] as ErrorEvent).error as { code?: string }).code).toBe('ECONNREFUSED');
      expect(close.code).toBe(1006);
      expect(close.wasClean).toBe(false);
    });

    it('close() validates like the WHATWG API: InvalidAccessError for a code, SyntaxError for a long reason', async () => {
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      expect(() => ws.close(1005)).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
      expect(() => ws.close(999)).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
      expect(() => ws.close(1000, 'é'.repeat(62))).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
      expect(ws.readyState).toBe(WebSocket.OPEN);
      const closed = closeOf(ws);
      ws.close(undefined, 'just a reason');
      expect(ws.readyState).toBe(WebSocket.CLOSING);
      expect(await closed).toEqual({ code: 1000, reason: 'just a reason' });
    });

    it('a listener that throws (on() or addEventListener) is reported, not rethrown, and does not stop the other listeners or the connection', async () => {
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      const failures: Error[] = [];
      await withUncaughtHandler((error) => failures.push(error), async () => {
        const received: string[] = [];
        ws.on('message', () => {
          throw new Error('emitter listener bug');
        });
        ws.addEventListener('message', () => {
          throw new Error('target listener bug');
        });
        ws.on('message', (data: Buffer) => received.push(data.toString()));
        ws.send('a');
        ws.send('b');
        await expect.poll(() => received).toEqual(['a', 'b']);
        await expect.poll(() => failures.length).toBe(4);
        expect(failures.map((error) => error.message)).toEqual(['emitter listener bug', 'target listener bug', 'emitter listener bug', 'target listener bug']);
        expect(ws.readyState).toBe(WebSocket.OPEN);
      });
    });
  });

  describe('ws face', () => {
    it('has the readyState constants on the class and the instance', async () => {
      expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      expect([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]).toEqual([0, 1, 2, 3]);
      expect(ws.url).toBe(`${url}/`);
    });

    it('ping and pong carry their data; the send callback runs once written', async () => {
      const { wss, url } = await startServer(resources, { codec });
      const serverPings = nextEvent<[WebSocket]>(wss, 'connection').then(([ws]) => nextEvent<[Buffer]>(ws, 'ping'));
      const ws = await openClient(resources, url, undefined, { codec });
      const pong = nextEvent<[Buffer]>(ws, 'pong');
      let pinged: Error | undefined | null | 'not called' = 'not called';
      ws.ping('are you there', undefined, (error) => (pinged = error));
      expect((await serverPings)[0].toString()).toBe('are you there');
      expect((await pong)[0].toString()).toBe('are you there');
      // On success the callbacks get null, as ws's do.
      expect(pinged).toBeNull();
      const sent = await new Promise<Error | undefined>((resolve) => ws.send('x', resolve));
      expect(sent).toBeNull();
    });

    it("'fragments' hands binary messages out as an array of Buffers; text stays a Buffer with isBinary false", async () => {
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      ws.binaryType = 'fragments';
      ws.send([Buffer.from([9]), Buffer.from([8])]);
      const [data, isBinary] = await nextEvent<[Buffer[], boolean]>(ws, 'message');
      expect(isBinary).toBe(true);
      expect(Buffer.concat(data)).toEqual(Buffer.from([9, 8]));
      ws.send(data);
      const [again] = await nextEvent<[Buffer[]]>(ws, 'message');
      expect(Buffer.concat(again)).toEqual(Buffer.from([9, 8]));
      ws.send('t');
      const [text, textIsBinary] = await nextEvent<[Buffer, boolean]>(ws, 'message');
      expect(Buffer.isBuffer(text)).toBe(true);
      expect(textIsBinary).toBe(false);
    });

    it('sending after close reports through the callback and counts in bufferedAmount', async () => {
      const url = await echoServer(codec);
      const ws = await openClient(resources, url, undefined, { codec });
      ws.close();
      const error = await new Promise<Error | undefined>((resolve) => ws.send('late', resolve));
      expect(error?.message).toMatch(/not open/);
      expect(ws.bufferedAmount).toBe(4);
    });
  });

  describe('async iteration', () => {
    it('for await reads every message and ends at the close', async () => {
      const { wss, url } = await startServer(resources, { codec });
      wss.on('connection', (ws) => {
        for (let i = 0; i < 40; i++) ws.send(i % 2 === 0 ? `t${i}` : Buffer.from([i]));
        ws.close(1000);
      });
      const ws = resources.track(new WebSocket(url, { codec }));
      const messages: unknown[] = [];
      for await (const message of ws) messages.push(message);
      expect(messages).toHaveLength(40);
      expect(messages[0]).toBe('t0');
      expect(Buffer.from([1]).equals(messages[1] as Buffer)).toBe(true);
    });

    it('a connection that fails ends the iteration with its error', async () => {
      const { wss, port } = await startServer(resources, { codec });
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const ws = resources.track(new WebSocket(`ws://127.0.0.1:${port}/`, { codec }));
      ws.on('error', () => {});
      await expect(
        (async () => {
          for await (const message of ws) void message;
        })(),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
  });

  describe('against the ws package', () => {
    it('a ws client talks to our server', async () => {
      const url = await echoServer(codec, ['proto']);
      const client = resources.track(new WsClient(url, ['other', 'proto']));
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      expect(client.protocol).toBe('proto');
      client.send('from ws');
      const [data, isBinary] = await nextEvent<[Buffer, boolean]>(client, 'message');
      expect(data.toString()).toBe('from ws');
      expect(isBinary).toBe(false);
      client.send(Buffer.alloc(70_000, 3));
      const [binary] = await nextEvent<[Buffer]>(client, 'message');
      expect(binary.length).toBe(70_000);
      const closed = nextEvent<[number, Buffer]>(client, 'close');
      client.close(4001, 'bye');
      const [code] = await closed;
      expect(code).toBe(4001);
    });

    it('our client talks to a ws server', async () => {
      const server = resources.track(new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => [...protocols][0] ?? false }));
      await nextEvent(server, 'listening');
      server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      const ws = await openClient(resources, `ws://127.0.0.1:${portOf(server)}/`, ['chat'], { codec });
      expect(ws.protocol).toBe('chat');
      ws.send('to ws');
      const [data] = await nextEvent<[Buffer]>(ws, 'message');
      expect(data.toString()).toBe('to ws');
      ws.send(Buffer.alloc(200_000, 5));
      const [binary, isBinary] = await nextEvent<[Buffer, boolean]>(ws, 'message');
      expect(binary.length).toBe(200_000);
      expect(isBinary).toBe(true);
      const closed = closeOf(ws);
      ws.close(1000, 'done');
      expect(await closed).toEqual({ code: 1000, reason: 'done' });
    });
  });
});
