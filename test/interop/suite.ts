/**
 * The scenarios every interop pairing runs, one client library against one server library
 * over real loopback sockets, with wasmsocket on one side and an independent implementation
 * on the other:
 *
 * - text and binary messages at the frame-length boundaries (0, 125, 126 and 64 KiB; RFC 6455
 *   §5.2) and at 16 MiB, echoed intact;
 * - fragmented messages both ways (§5.4);
 * - ping and pong with a payload both ways (§5.5.2, §5.5.3);
 * - a subprotocol agreed and not agreed, with no Sec-WebSocket-Protocol response header in
 *   the second case (§4.2.2 item 5.4, §11.3.4);
 * - the closing handshake with a code and a reason, started by either side (§5.5.1, §7);
 * - a peer that vanishes partway through a message: wasmsocket reports close 1006 (§7.1.5),
 *   drops the connection, and (as a server) keeps serving its other clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientConnector, ClientDriver, ServerDriver } from './drivers.js';
import { STEP_TIMEOUT_MS, withTimeout } from './events.js';
import { headerValues, rawHandshake, startCuttingProxy } from './net.js';
import { describeMessage, FRAME_LENGTH_BOUNDARIES, LARGE, type MessageType, pattern } from './payloads.js';

/** The subprotocol every server of a pairing accepts. */
export const SUBPROTOCOL = 'chat.wasmsocket.test';

/** How the suite runs a pairing. */
export interface Pairing {
  /** Which side is wasmsocket's: its behaviour is what the vanishing-peer test checks. */
  readonly ours: 'server' | 'client';
  readonly connect: ClientConnector;
  /** What the client library can do besides sending whole messages and closing. */
  readonly clientCan: {
    /** Send a message in fragments of the caller's choosing. */
    readonly fragment: boolean;
    /** Send a ping and report the pong. */
    readonly ping: boolean;
    /** Open the connection when it offered subprotocols and the server agreed to none. RFC
     *  6455 allows it (§4.1 lets the server pick none); the WHATWG client (fetch "obtain a
     *  WebSocket connection") and `ws` fail the connection instead. */
    readonly openWithoutOfferedSubprotocol: boolean;
  };
  /** Start the server, accepting `SUBPROTOCOL` when a client offers it. */
  readonly startServer: () => Promise<ServerDriver>;
}

const TYPES: readonly MessageType[] = ['text', 'binary'];

/** Run every scenario for `pairing`. */
export function defineInteropSuite(pairing: Pairing): void {
  let server: ServerDriver | null = null;
  const clients: ClientDriver[] = [];

  async function serve(): Promise<ServerDriver> {
    server ??= await pairing.startServer();
    return server;
  }

  async function connect(path: string, protocols: readonly string[] = []): Promise<ClientDriver> {
    const { port } = await serve();
    const client = await pairing.connect(`ws://127.0.0.1:${port}${path}`, protocols);
    clients.push(client);
    return client;
  }

  async function expectEcho(client: ClientDriver, type: MessageType, size: number): Promise<void> {
    client.send(type, size);
    const echo = await client.events.next(`the echo of a ${size}-byte ${type} message`, (event) => event.event === 'message');
    expect(echo).toEqual({ event: 'message', ...describeMessage(pattern(type, size)) });
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    await server?.stop();
    server = null;
  });

  describe('messages (RFC 6455 §5.2, §5.6)', () => {
    for (const type of TYPES) {
      it(`echoes ${type} messages of ${FRAME_LENGTH_BOUNDARIES.join(', ')} bytes intact`, async () => {
        const client = await connect('/echo');
        for (const size of FRAME_LENGTH_BOUNDARIES) await expectEcho(client, type, size);
      });

      it(`echoes a 16 MiB ${type} message intact`, async () => {
        const client = await connect('/echo');
        await expectEcho(client, type, LARGE);
      });
    }

    it('keeps multi-byte UTF-8 text intact', async () => {
      const client = await connect('/echo');
      const text = 'grüße, 世界, 🎉 and a lone ascii tail';
      client.sendText(text);
      const echo = await client.events.next('the echo of a multi-byte text', (event) => event.event === 'message');
      expect(echo.data).toBe(text);
    });
  });

  describe('fragmentation (RFC 6455 §5.4)', () => {
    for (const type of TYPES) {
      it(`receives a ${type} message the server sends in 1000-byte fragments as one message`, async () => {
        const client = await connect('/fragments?size=1000');
        client.send(type, 10_500);
        const echo = await client.events.next('the fragmented echo', (event) => event.event === 'message');
        expect(echo).toEqual({ event: 'message', ...describeMessage(pattern(type, 10_500)) });
      });
    }

    it('receives an empty message sent as one empty final fragment', async () => {
      const client = await connect('/fragments?size=1000');
      client.send('binary', 0);
      const echo = await client.events.next('the echo of an empty message', (event) => event.event === 'message');
      expect(echo).toEqual({ event: 'message', ...describeMessage(pattern('binary', 0)) });
    });

    if (pairing.clientCan.fragment) {
      it('the server assembles messages the client sends in fragments', async () => {
        const client = await connect('/echo');
        for (const type of TYPES) {
          client.sendFragmented!(type, 200_000, 16_384);
          const echo = await client.events.next(`the echo of a fragmented ${type} message`, (event) => event.event === 'message');
          expect(echo).toEqual({ event: 'message', ...describeMessage(pattern(type, 200_000)) });
        }
      });
    }
  });

  describe('ping and pong (RFC 6455 §5.5.2, §5.5.3)', () => {
    if (pairing.clientCan.ping) {
      it("the server answers the client's ping with a pong carrying the same payload", async () => {
        const client = await connect('/echo');
        client.ping!('are you there? ✓');
        const pong = await client.events.next('the pong', (event) => event.event === 'pong');
        expect(pong.data).toBe('are you there? ✓');
      });
    }

    it("the client answers the server's ping with a pong carrying the same payload", async () => {
      // The server sends "pong:<data>" once it has the pong with exactly that payload.
      const client = await connect('/ping?data=heartbeat-42');
      const confirmation = await client.events.next('the server confirming the pong', (event) => event.event === 'message');
      expect(confirmation.data).toBe('pong:heartbeat-42');
    });
  });

  describe('subprotocols (RFC 6455 §4.1, §4.2.2)', () => {
    it('agrees on a subprotocol both sides support', async () => {
      const client = await connect('/echo', ['unknown.test', SUBPROTOCOL]);
      expect(client.protocol).toBe(SUBPROTOCOL);
      expect(headerValues(client.responseHeaders, 'Sec-WebSocket-Protocol')).toEqual([SUBPROTOCOL]);
      expect(await server!.next('connection')).toMatchObject({ subprotocol: SUBPROTOCOL });
    });

    it('agrees on none when the client offers none, and says nothing about it', async () => {
      const client = await connect('/echo');
      expect(client.protocol).toBeNull();
      expect(headerValues(client.responseHeaders, 'Sec-WebSocket-Protocol')).toEqual([]);
      expect(await server!.next('connection')).toMatchObject({ subprotocol: null });
    });

    if (pairing.clientCan.openWithoutOfferedSubprotocol) {
      it('agrees on none when the server supports none offered, and says nothing about it', async () => {
        const client = await connect('/echo', ['unknown.test']);
        expect(client.protocol).toBeNull();
        expect(headerValues(client.responseHeaders, 'Sec-WebSocket-Protocol')).toEqual([]);
        expect(await server!.next('connection')).toMatchObject({ subprotocol: null });
        // The connection works without one.
        await expectEcho(client, 'text', 5);
      });
    } else {
      it('agrees on none when the server supports none offered, which this client refuses', async () => {
        // This client fails a handshake whose response names no subprotocol when it offered
        // some, so the server must have sent none: the raw check below sees the same.
        await expect(connect('/echo', ['unknown.test'])).rejects.toThrow();
        expect(await server!.next('connection')).toMatchObject({ subprotocol: null });
      });
    }

    if (pairing.ours === 'server') {
      it('puts Sec-WebSocket-Protocol on the wire only when one is agreed', async () => {
        const { port } = await serve();
        const agreed = await rawHandshake(port, '/echo', ['unknown.test', SUBPROTOCOL]);
        expect(agreed.status).toBe(101);
        expect(headerValues(agreed.headers, 'Sec-WebSocket-Protocol')).toEqual([SUBPROTOCOL]);
        const none = await rawHandshake(port, '/echo', ['unknown.test']);
        expect(none.status).toBe(101);
        expect(headerValues(none.headers, 'Sec-WebSocket-Protocol')).toEqual([]);
        const notOffered = await rawHandshake(port, '/echo');
        expect(notOffered.status).toBe(101);
        expect(headerValues(notOffered.headers, 'Sec-WebSocket-Protocol')).toEqual([]);
      });
    }
  });

  describe('closing handshake (RFC 6455 §5.5.1, §7)', () => {
    it('the client closes with a code and a reason; the server sees both and echoes the code', async () => {
      const client = await connect('/echo');
      client.close(4001, 'client says bye ✓');
      expect(await server!.next('closed')).toMatchObject({ code: 4001, reason: 'client says bye ✓' });
      expect(await client.events.next('the close', (event) => event.event === 'closed')).toMatchObject({ code: 4001 });
    });

    it('the server closes with a code and a reason; the client sees both', async () => {
      const client = await connect(`/close?code=4002&reason=${encodeURIComponent('server says bye ✓')}`);
      const closed = await client.events.next('the close', (event) => event.event === 'closed');
      expect(closed).toMatchObject({ code: 4002, reason: 'server says bye ✓' });
      expect(await server!.next('closed')).toMatchObject({ code: 4002 });
    });
  });

  describe('a peer that vanishes partway through a message', () => {
    if (pairing.ours === 'server') {
      it('the server reports 1006, forgets the connection and keeps serving the others', async () => {
        const { port } = await serve();
        const bystander = await connect('/echo');
        await server!.next('connection');
        const proxy = await startCuttingProxy(port, 'client-to-server', 64 * 1024);
        try {
          const vanishing = await pairing.connect(`ws://127.0.0.1:${proxy.port}/echo`, []);
          clients.push(vanishing);
          await server!.next('connection');
          expect(server!.clientCount()).toBe(2);
          vanishing.sendRandom(1024 * 1024);
          await withTimeout(proxy.cut, 'the proxy to cut the connection');
          expect(await server!.next('closed')).toMatchObject({ code: 1006 });
          expect(await vanishing.events.next('the dropped connection', (event) => event.event === 'closed')).toMatchObject({ code: 1006 });
          await expectEventually(() => server!.clientCount() === 1, 'the server to forget the vanished client');
          await expectEcho(bystander, 'binary', 1000);
        } finally {
          await proxy.close();
        }
      });
    } else {
      it('the client reports 1006 and ends the connection', async () => {
        const { port } = await serve();
        // 64 KiB into the server's echo of a 1 MiB message, the server side goes away.
        const proxy = await startCuttingProxy(port, 'server-to-client', 64 * 1024);
        try {
          const client = await pairing.connect(`ws://127.0.0.1:${proxy.port}/echo`, []);
          clients.push(client);
          client.sendRandom(1024 * 1024);
          await withTimeout(proxy.cut, 'the proxy to cut the connection');
          expect(await client.events.next('the dropped connection', (event) => event.event === 'closed')).toMatchObject({ code: 1006 });
          expect(client.events.all().filter((event) => event.event === 'message')).toEqual([]);
        } finally {
          await proxy.close();
        }
      });
    }
  });
}

/** Poll `condition` until it holds, within the step timeout. */
async function expectEventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
