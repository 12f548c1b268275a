/**
 * The server's opening handshake where it departs from ws for RFC 6455, and its edge cases:
 * the subprotocol default (§4.2.2), handleProtocols answering none, 'headers' listeners that
 * add lines the 101 cannot carry, verifyClient refusals with ws's header values and bodies,
 * the version rules, a second handleUpgrade on a socket, and a client that leaves while
 * verifyClient decides — each next to what ws does where they agree.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { InvalidArgumentError, WebSocket, WebSocketServer } from '../../../src/node.js';
import { nextEvent, openClient, portOf, rawConnect, readUntil, Resources, startHttpServer, startServer, upgradeRequest } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** The whole response the server wrote to a raw socket (up to the end of its head, or its close). */
async function responseTo(port: number, request: string, until: (text: string) => boolean = (text) => text.includes('\r\n\r\n')): Promise<string> {
  const socket = await rawConnect(resources, port);
  socket.write(request);
  return (await readUntil(socket, (received) => until(received.toString('latin1')))).toString('latin1');
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
}

function headerOf(response: string, name: string): string | undefined {
  const head = response.slice(0, response.indexOf('\r\n\r\n'));
  return head
    .split('\r\n')
    .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    ?.slice(name.length + 1)
    .trim();
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4);
}

/** A ws server on 127.0.0.1 (the reference for the cases where we agree). */
async function startWsServer(options: ConstructorParameters<typeof WsServer>[0] = {}): Promise<number> {
  const wss = resources.track(new WsServer({ ...options, port: 0, host: '127.0.0.1' }));
  await once(wss, 'listening');
  return portOf(wss as unknown as { address(): import('node:net').AddressInfo });
}

const OFFER = { 'Sec-WebSocket-Protocol': 'chat, superchat' };

describe('subprotocols (RFC 6455 §4.2.2)', () => {
  it('a server with no subprotocols configured selects none and sends no Sec-WebSocket-Protocol (ws selects the first offer)', async () => {
    const { port, wss } = await startServer(resources);
    const connected = nextEvent<[WebSocket]>(wss, 'connection');
    const ours = await responseTo(port, upgradeRequest('/', OFFER));
    expect(statusOf(ours)).toBe(101);
    expect(headerOf(ours, 'Sec-WebSocket-Protocol')).toBeUndefined();
    expect((await connected)[0].protocol).toBe('');
    // The deliberate difference: ws agrees to a subprotocol the server never said it speaks.
    const theirs = await responseTo(await startWsServer(), upgradeRequest('/', OFFER));
    expect(headerOf(theirs, 'Sec-WebSocket-Protocol')).toBe('chat');
  });

  it('protocols: none of them offered → 101 without a subprotocol', async () => {
    const { port } = await startServer(resources, { protocols: ['graphql-ws'] });
    const response = await responseTo(port, upgradeRequest('/', OFFER));
    expect(statusOf(response)).toBe(101);
    expect(headerOf(response, 'Sec-WebSocket-Protocol')).toBeUndefined();
  });

  it('protocols: checked as tokens, and not together with handleProtocols', () => {
    expect(() => new WebSocketServer({ noServer: true, protocols: ['a b'] })).toThrow(InvalidArgumentError);
    expect(() => new WebSocketServer({ noServer: true, protocols: 'chat' as never })).toThrow(InvalidArgumentError);
    expect(() => new WebSocketServer({ noServer: true, protocols: ['chat'], handleProtocols: () => 'chat' })).toThrow(/not both/);
  });

  it.each([
    ['undefined', undefined],
    ['false', false],
    ['null', null],
  ])('handleProtocols returning %s → 101 with no subprotocol, as ws answers', async (_name, value) => {
    const { port } = await startServer(resources, { handleProtocols: () => value as never });
    const ours = await responseTo(port, upgradeRequest('/', OFFER));
    expect(statusOf(ours)).toBe(101);
    expect(headerOf(ours, 'Sec-WebSocket-Protocol')).toBeUndefined();
    const theirs = await responseTo(await startWsServer({ handleProtocols: () => value as never }), upgradeRequest('/', OFFER));
    expect(statusOf(theirs)).toBe(101);
    expect(headerOf(theirs, 'Sec-WebSocket-Protocol')).toBeUndefined();
  });
});

describe("'headers' listeners", () => {
  it.each([
    ['a field the handshake owns', 'Sec-WebSocket-Accept: forged'],
    ['another one', 'Upgrade: h2c'],
    ['a line that is not a header field', 'no colon here'],
  ])('%s is left out of the 101, reported through the server\'s error listeners, and the connection opens', async (_name, line) => {
    const { wss, url } = await startServer(resources);
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    wss.on('headers', (headers: string[]) => headers.push('X-Kept: yes', line));
    const upgrade = new Promise<import('node:http').IncomingMessage>((resolve) => {
      const ws = resources.track(new WebSocket(url));
      ws.once('upgrade', resolve);
    });
    const response = await upgrade;
    expect(response.statusCode).toBe(101);
    expect(response.headers['x-kept']).toBe('yes');
    expect(response.headers.upgrade).toBe('websocket');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidArgumentError);
    expect(errors[0]!.message).toContain(JSON.stringify(line.includes(':') ? line : `${line}: `));
  });

  it('without an error listener the line is still left out, and nothing escapes the upgrade', async () => {
    const { wss, url } = await startServer(resources);
    wss.on('headers', (headers: string[]) => headers.push('Sec-WebSocket-Accept: forged'));
    const reported: unknown[] = [];
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (error) => reported.push(error));
    try {
      const ws = await openClient(resources, url);
      expect(ws.readyState).toBe(WebSocket.OPEN);
      await expect.poll(() => reported.length).toBe(1);
      expect(reported[0]).toBeInstanceOf(InvalidArgumentError);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of saved) process.on('uncaughtException', listener);
    }
  });
});

describe('verifyClient refusals', () => {
  it('headers with a number value give the status asked for, and the body is the reason phrase with no newline — as ws', async () => {
    const verifyClient = (_info: unknown, callback: (ok: boolean, code?: number, message?: string, headers?: Record<string, number>) => void): void =>
      callback(false, 503, undefined, { 'Retry-After': 120 });
    const complete = (text: string): boolean => text.includes('\r\n\r\n') && text.endsWith('Service Unavailable');
    for (const port of [(await startServer(resources, { verifyClient })).port, await startWsServer({ verifyClient })]) {
      const response = await responseTo(port, upgradeRequest(), complete);
      expect(statusOf(response)).toBe(503);
      expect(headerOf(response, 'Retry-After')).toBe('120');
      expect(bodyOf(response)).toBe('Service Unavailable');
    }
  });

  it("a 403 without a message has the body \"Forbidden\", as ws's", async () => {
    const verifyClient = (_info: unknown, callback: (ok: boolean, code?: number) => void): void => callback(false, 403);
    for (const port of [(await startServer(resources, { verifyClient })).port, await startWsServer({ verifyClient })]) {
      const response = await responseTo(port, upgradeRequest(), (text) => text.endsWith('Forbidden') && text.includes('\r\n\r\n'));
      expect(statusOf(response)).toBe(403);
      expect(bodyOf(response)).toBe('Forbidden');
      expect(headerOf(response, 'Content-Length')).toBe('9');
    }
  });

  it.each(['end', 'destroy'] as const)("a client that goes away (%s) while an asynchronous verifyClient decides never reaches 'connection'", async (how) => {
    let decide: (() => void) | null = null;
    const { wss, port } = await startServer(resources, {
      verifyClient: (_info, callback) => {
        if (decide === null) decide = () => callback(true);
        else callback(true);
      },
    });
    let connections = 0;
    wss.on('connection', () => connections++);
    const socket = await rawConnect(resources, port);
    socket.write(upgradeRequest());
    await expect.poll(() => decide).not.toBeNull();
    if (how === 'end') socket.end();
    else socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    decide!();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connections).toBe(0);
    // The server still serves the next client.
    await openClient(resources, `ws://127.0.0.1:${port}`);
    expect(connections).toBe(1);
  });
});

describe('versions', () => {
  it('no Sec-WebSocket-Version at all → 400, as ws answers (the request is malformed)', async () => {
    const request = upgradeRequest().replace('Sec-WebSocket-Version: 13\r\n', '');
    const { port } = await startServer(resources);
    for (const target of [port, await startWsServer()]) expect(statusOf(await responseTo(target, request))).toBe(400);
  });

  it('an unsupported version → 426 with Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2, §4.4; ws answers 400)', async () => {
    const request = upgradeRequest().replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 7');
    const { port } = await startServer(resources);
    const ours = await responseTo(port, request);
    expect(statusOf(ours)).toBe(426);
    expect(headerOf(ours, 'Sec-WebSocket-Version')).toBe('13');
    expect(statusOf(await responseTo(await startWsServer(), request))).toBe(400);
  });
});

describe('handleUpgrade', () => {
  it('a second handleUpgrade() with the same socket throws, as ws does', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const thrown: unknown[] = [];
    const connected: WebSocket[] = [];
    const { server, port } = await startHttpServer(resources);
    server.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => connected.push(resources.track(ws)));
      try {
        wss.handleUpgrade(request, socket, head, () => {});
      } catch (error) {
        thrown.push(error);
      }
    });
    await openClient(resources, `ws://127.0.0.1:${port}`);
    expect(thrown).toHaveLength(1);
    expect((thrown[0] as Error).message).toMatch(/handleUpgrade\(\) was called more than once with the same socket/);
    expect(connected).toHaveLength(1);
  });
});
