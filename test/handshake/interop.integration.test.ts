/**
 * The handshake against a real peer: the `ws` package's client and server, over loopback TCP.
 * Only the opening handshake (and the first frame after it) is exercised here.
 */

import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { buildClientRequest, validateServerResponse } from '../../src/handshake/client.js';
import { RequestHeadParser, ResponseHeadParser, type HttpRequestHead, type HttpResponseHead } from '../../src/handshake/http.js';
import { buildErrorResponse, buildServerResponse, validateClientRequest } from '../../src/handshake/server.js';
import { HandshakeError } from '../../src/shared/errors.js';
import { webCryptoRandom } from '../../src/shared/ports.js';
import { testClientNegotiator, testServerNegotiator } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** Read from `socket` into `parser` until the head completes. */
function readHead<H>(socket: Socket, parser: { push(chunk: Uint8Array): { done: boolean; head?: H; rest?: Uint8Array } }): Promise<{ head: H; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      try {
        const result = parser.push(chunk);
        if (result.done) {
          socket.off('data', onData);
          resolve({ head: result.head!, rest: result.rest! });
        }
      } catch (error) {
        socket.off('data', onData);
        reject(error);
      }
    };
    socket.on('data', onData);
  });
}

describe('interoperability with ws', () => {
  it('a ws client completes the handshake with our server, and its first frame is handed back', async () => {
    const heads: HttpRequestHead[] = [];
    const server = createServer(async (socket) => {
      const { head, rest } = await readHead<HttpRequestHead>(socket, new RequestHeadParser());
      heads.push(head);
      const handshake = validateClientRequest(head, {
        handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
        extensions: [testServerNegotiator('permessage-deflate', 0b100, () => false)],
      });
      socket.write(buildServerResponse(handshake));
      // The client's first frame may already be in `rest`; collect until it is complete.
      let received = Buffer.from(rest);
      const frame = new Promise<Buffer>((resolve) => {
        const check = (): void => {
          if (received.length >= 2 && received.length >= 2 + 4 + (received[1]! & 0x7f)) resolve(received);
        };
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          check();
        });
        check();
      });
      const bytes = await frame;
      const key = bytes.subarray(2, 6);
      const payload = Buffer.from(bytes.subarray(6, 6 + (bytes[1]! & 0x7f)).map((byte, i) => byte ^ key[i % 4]!));
      socket.end(Buffer.from([0x81, payload.length, ...payload])); // echo, unmasked
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const { port } = server.address() as AddressInfo;

    const client = new WebSocket(`ws://127.0.0.1:${port}/path?q=1`, ['superchat', 'chat'], { origin: 'http://example.com' });
    cleanups.push(() => client.terminate());
    await once(client, 'open');
    expect(client.protocol).toBe('chat');
    expect(client.extensions).toBe('');
    client.send('hello');
    const [message] = await once(client, 'message');
    expect(String(message)).toBe('hello');

    const head = heads[0]!;
    expect(head.target).toBe('/path?q=1');
    expect(head.headers.get('Origin')).toBe('http://example.com');
    expect(head.headers.get('Sec-WebSocket-Extensions')).toBe('permessage-deflate; client_max_window_bits');
  });

  it('a ws client that sends version 8 is told 426 with Sec-WebSocket-Version: 13', async () => {
    const server = createServer(async (socket) => {
      const { head } = await readHead<HttpRequestHead>(socket, new RequestHeadParser());
      try {
        validateClientRequest(head);
      } catch (error) {
        socket.end(buildErrorResponse(error as HandshakeError));
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const { port } = server.address() as AddressInfo;

    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { protocolVersion: 8 });
    cleanups.push(() => client.terminate());
    client.on('error', () => {});
    const [, response] = (await once(client, 'unexpected-response')) as [unknown, { statusCode: number; headers: Record<string, string> }];
    expect(response.statusCode).toBe(426);
    expect(response.headers['sec-websocket-version']).toBe('13');
  });

  it('our client completes the handshake with a ws server, negotiating a subprotocol and permessage-deflate', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: true,
      handleProtocols: (protocols) => (protocols.has('superchat') ? 'superchat' : false),
    });
    await once(wss, 'listening');
    cleanups.push(() => wss.close());
    wss.on('connection', (ws) => ws.send('welcome'));
    const { port } = wss.address() as AddressInfo;

    const request = buildClientRequest({
      host: '127.0.0.1',
      port,
      path: '/',
      protocols: ['chat', 'superchat'],
      extensions: [testClientNegotiator('permessage-deflate', 0b100, [[['client_max_window_bits', true]]])],
      random: webCryptoRandom,
    });
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    socket.write(request.bytes);
    const { head, rest } = await readHead<HttpResponseHead>(socket, new ResponseHeadParser());
    const result = validateServerResponse(request, head);
    expect(result.protocol).toBe('superchat');
    expect(result.extensions.map(({ name }) => name)).toEqual(['permessage-deflate']);
    expect(result.rsvBits).toBe(0b100);

    // The first frame ('welcome', compressed: RSV1 set) may have arrived with the head.
    const first = rest.length > 0 ? rest : new Uint8Array((await once(socket, 'data'))[0] as Buffer);
    expect(first[0]! & 0x0f).toBe(0x1);
    expect(first[0]! & 0x40).toBe(0x40);
  });

  it('a ws server refuses our request with a bad key, and we read its 400', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.push(() => wss.close());
    const { port } = wss.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const request = buildClientRequest({ host: '127.0.0.1', port, random: webCryptoRandom });
    socket.write(new TextDecoder().decode(request.bytes).replace(request.key, 'c2hvcnQ='));
    const { head } = await readHead<HttpResponseHead>(socket, new ResponseHeadParser());
    expect(head.status).toBe(400);
    expect(() => validateServerResponse(request, head)).toThrow(HandshakeError);
  });
});
