/**
 * The client while connecting and after close, next to ws on the same real servers: readyState
 * and sends inside the 'error' listener of a failed handshake, ping and pong after close, a
 * handled 'unexpected-response', a Blob that cannot be read, and a null subprotocol list.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { WebSocket } from '../../../src/node.js';
import { closeOf, nextEvent, openClient, Resources, startHttpServer, startServer } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

type Client = WebSocket | WsClient;
const clients: Array<[name: string, make: (url: string) => Client]> = [
  ['wasmsocket', (url) => new WebSocket(url)],
  ['ws', (url) => new WsClient(url)],
];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A Blob whose bytes cannot be read. */
class UnreadableBlob extends Blob {
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.reject(new Error('the blob could not be read'));
  }
}

/** What send and ping do inside the 'error' listener of a failed handshake. */
async function insideErrorListener(ws: Client): Promise<{ state: number; sendThrew: boolean; pingThrew: boolean; sendError: string; closeCode: number }> {
  const closed = nextEvent<[number]>(ws, 'close');
  const seen = await new Promise<{ state: number; sendThrew: boolean; pingThrew: boolean; sendError: Promise<string> }>((resolve) => {
    ws.once('error', () => {
      const state = ws.readyState;
      let sendThrew = false;
      let pingThrew = false;
      let reportError!: (message: string) => void;
      const sendError = new Promise<string>((done) => (reportError = done));
      try {
        ws.send('too late', (error?: Error | null) => reportError(error?.message ?? 'no error'));
      } catch {
        sendThrew = true;
      }
      try {
        ws.ping();
      } catch {
        pingThrew = true;
      }
      resolve({ state, sendThrew, pingThrew, sendError });
    });
  });
  const [code] = await closed;
  return { ...seen, sendError: await seen.sendError, closeCode: code };
}

describe('while connecting', () => {
  it.each(clients)("%s: inside the 'error' listener of a refused handshake readyState is past OPEN, and send/ping report \"not open\" instead of throwing", async (_name, make) => {
    const { port } = await startHttpServer(resources, (_request, response) => response.writeHead(403).end());
    const result = await insideErrorListener(resources.track(make(`ws://127.0.0.1:${port}/`)));
    // ws says CLOSING; wasmsocket CLOSED (the refusal was read whole, connection and all).
    expect([WebSocket.CLOSING, WebSocket.CLOSED]).toContain(result.state);
    expect(result.sendThrew).toBe(false);
    expect(result.pingThrew).toBe(false);
    expect(result.sendError).toMatch(/not open|CLOSING|CLOSED/i);
    expect(result.closeCode).toBe(1006);
  });

  it.each(clients)("%s: so is it when the server cannot be reached", async (_name, make) => {
    const { server, port } = await startHttpServer(resources);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = await insideErrorListener(resources.track(make(`ws://127.0.0.1:${port}/`)));
    expect(result.state).toBe(WebSocket.CLOSING);
    expect([result.sendThrew, result.pingThrew]).toEqual([false, false]);
    expect(result.closeCode).toBe(1006);
  });

  it.each(clients)("%s: a handled 'unexpected-response' leaves the request to the listener — no error, no close — until the application terminates", async (_name, make) => {
    const { port } = await startHttpServer(resources, (_request, response) => response.writeHead(418, { 'X-Kind': 'teapot' }).end('short and stout'));
    const ws = resources.track(make(`ws://127.0.0.1:${port}/`));
    const events: string[] = [];
    ws.on('error', () => events.push('error'));
    ws.on('close', (code: number) => events.push(`close ${code}`));
    const [request, response] = await new Promise<[ClientRequest, IncomingMessage]>((resolve) => ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => resolve([req, res])));
    expect(response.statusCode).toBe(418);
    expect(request.path).toBe('/');
    let body = '';
    response.on('data', (chunk: Buffer) => (body += chunk.toString()));
    await sleep(200);
    expect(body).toBe('short and stout');
    expect(events).toEqual([]);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    ws.terminate();
    await expect.poll(() => events).toEqual(['error', 'close 1006']);
  });
});

describe('after close', () => {
  it.each(clients)('%s: ping and pong after close add to bufferedAmount and tell their callbacks', async (_name, make) => {
    const { url } = await startServer(resources);
    const ws = resources.track(make(url));
    await nextEvent(ws, 'open');
    const closed = closeOf(ws as WebSocket);
    ws.close();
    await closed;
    expect(ws.bufferedAmount).toBe(0);
    const errors: string[] = [];
    ws.ping(Buffer.from('abc'), undefined, (error?: Error | null) => errors.push(error?.message ?? 'none'));
    ws.pong(Buffer.from('de'), undefined, (error?: Error | null) => errors.push(error?.message ?? 'none'));
    expect(ws.bufferedAmount).toBe(5);
    await expect.poll(() => errors.length).toBe(2);
    for (const message of errors) expect(message).toMatch(/not open|CLOSED/i);
  });
});

describe('a Blob that cannot be read', () => {
  it.each(clients)("%s: its callback and the callbacks behind it get the error, 'error' is emitted and the connection closes", async (_name, make) => {
    const { url, wss } = await startServer(resources);
    const received: string[] = [];
    wss.on('connection', (serverSide) => serverSide.on('message', (data) => received.push(String(data))));
    const ws = resources.track(make(url));
    await nextEvent(ws, 'open');
    const events: string[] = [];
    ws.on('error', (error: Error) => events.push(`error: ${error.message}`));
    const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
    const callbacks: string[] = [];
    ws.send(new UnreadableBlob(['x']), (error?: Error | null) => callbacks.push(`blob: ${error?.message ?? 'sent'}`));
    ws.send('behind it', (error?: Error | null) => callbacks.push(`text: ${error?.message ?? 'sent'}`));
    expect(await closed).toBe(1006);
    expect(callbacks).toEqual(['blob: the blob could not be read', 'text: the blob could not be read']);
    expect(events).toEqual(['error: the blob could not be read']);
    await sleep(50);
    expect(received).toEqual([]);
  });
});

describe('the constructor', () => {
  it.each(clients)('%s: a null subprotocol list throws a SyntaxError', (_name, make) => {
    const construct = (): unknown => (make === clients[0]![1] ? new WebSocket('ws://127.0.0.1:1/', null as never) : new WsClient('ws://127.0.0.1:1/', null as never));
    expect(construct).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
  });
});

it('open clients are unaffected: send after open still works', async () => {
  const { url, wss } = await startServer(resources);
  wss.on('connection', (serverSide) => serverSide.on('message', (data) => serverSide.send(data as Buffer)));
  const ws = await openClient(resources, url);
  ws.send('still fine');
  const [data] = await nextEvent<[Buffer]>(ws, 'message');
  expect(data.toString()).toBe('still fine');
});
