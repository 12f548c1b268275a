/**
 * Connections reset (TCP RST, `socket.resetAndDestroy()`) or dropped at every stage: during the
 * opening handshake, in the middle of a frame, during the closing handshake — by the client
 * and by the server. Each ends in a close (1006 when no closing handshake completed) with no
 * error for the application beyond the transport's own, nothing left behind (handshakes in
 * progress, connection counts), and the server serving others as before.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { Opcode } from '../../src/shared/constants.js';
import { clientFrame, closeOf, nodeCodecs, openClient, rawConnect, Resources, startRawServer, upgradeRequest } from '../adapters/node/helpers.js';
import { ControlClient, type EchoServer, rawUpgrade, sleep, startEchoServer, underAttack, until } from '../hostile/helpers.js';

describe.each(nodeCodecs)('resets and drops (%s codec)', (_name, codec) => {
  const resources = new Resources();
  let server!: EchoServer;
  underAttack(resources, { codec, maxConnections: 3, closeTimeout: 2000 }, (started) => (server = started));

  describe('during the opening handshake', () => {
    it.each([
      ['before any byte', () => ''],
      ['in the request line', () => 'GET /cha'],
      ['between header fields', () => upgradeRequest().slice(0, 60)],
      ['after the whole request, before reading the 101', () => upgradeRequest()],
    ])('the client resets %s: nothing is left behind, the connection cap is intact', async (_when, request) => {
      // Three times the cap (3, one taken by the control client): abandoned handshakes must not count.
      for (let i = 0; i < 6; i++) {
        const socket = await rawConnect(resources, server.port);
        if (request() !== '') socket.write(request());
        await sleep(20);
        socket.resetAndDestroy();
      }
      await sleep(100);
      expect(server.socketErrors).toEqual([]);
      // Two more clients fit under the cap of 3.
      const first = await openClient(resources, server.url);
      const second = await openClient(resources, server.url);
      expect([first.readyState, second.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
      await until(() => server.sockets.length >= 3, 'the server-side sockets');
      expect(server.wss.clients!.size).toBe(3);
    });

    it('the server resets before its 101: the client reports an error and closes with 1006', async () => {
      const raw = await startRawServer(resources, (socket: Socket) => {
        socket.once('data', () => socket.resetAndDestroy());
      });
      const client = resources.track(new WebSocket(`ws://127.0.0.1:${raw.port}`, { codec }));
      const error = new Promise<Error>((resolve) => client.once('error', resolve));
      expect((await closeOf(client)).code).toBe(1006);
      expect((await error).message).toMatch(/ECONNRESET|socket hang up|closed/i);
    });

    it('the server resets halfway through its 101: the client reports an error and closes with 1006', async () => {
      const raw = await startRawServer(resources, (socket: Socket) => {
        socket.once('data', () => {
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: webso');
          setTimeout(() => socket.resetAndDestroy(), 20);
        });
      });
      const client = resources.track(new WebSocket(`ws://127.0.0.1:${raw.port}`, { codec }));
      const error = new Promise<Error>((resolve) => client.once('error', resolve));
      expect((await closeOf(client)).code).toBe(1006);
      expect(await error).toBeInstanceOf(Error);
    });
  });

  describe('in the middle of a frame', () => {
    it('the client resets mid-frame: the server closes with 1006 and delivers nothing', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.TEXT, Buffer.alloc(1000, 0x61)).subarray(0, 300));
      await sleep(50);
      peer.socket.resetAndDestroy();
      await until(() => server.closes.length === 1, 'the server-side close');
      expect(server.closes).toEqual([1006]);
      expect(server.received).toEqual([]);
    });

    it('the server drops the connection while the client receives a large message: the client closes with 1006', async () => {
      const client = await openClient(resources, server.url, undefined, { codec });
      await until(() => server.sockets.length === 2, 'the server-side socket');
      const serverSide = server.sockets[1]!;
      let received = 0;
      client.on('message', () => received++);
      client.pause(); // let the large message pile up in the kernel
      // Larger than the loopback socket buffers of both ends can hold, so the message is still
      // being written when the server drops the connection.
      serverSide.send(Buffer.alloc(32 * 1024 * 1024, 1));
      await sleep(50);
      expect(serverSide.bufferedAmount).toBeGreaterThan(0);
      serverSide.terminate();
      client.resume();
      expect((await closeOf(client)).code).toBe(1006);
      expect(received).toBe(0);
    });
  });

  describe('during the closing handshake', () => {
    it('the client resets instead of answering the server close: 1006 at once, not after the close timeout', async () => {
      const peer = await rawUpgrade(resources, server.port);
      await until(() => server.sockets.length === 2, 'the server-side socket');
      const started = Date.now();
      server.sockets[1]!.close(1001, 'going away');
      await peer.waitForFrame((frame) => frame.opcode === Opcode.CLOSE);
      peer.socket.resetAndDestroy();
      await until(() => server.closes.length === 1, 'the server-side close');
      expect(server.closes).toEqual([1006]);
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it('the client sends its close and resets before reading the answer: the server reports the close it received', async () => {
      const peer = await rawUpgrade(resources, server.port);
      peer.write(clientFrame(Opcode.CLOSE, Uint8Array.of(0x0f, 0xa0)));
      await sleep(20);
      peer.socket.resetAndDestroy();
      await until(() => server.closes.length === 1, 'the server-side close');
      expect(server.closes).toEqual([4000]);
    });

    it('the server resets after the client started closing: the client closes with 1006', async () => {
      const client = await openClient(resources, server.url, undefined, { codec });
      await until(() => server.sockets.length === 2, 'the server-side socket');
      const serverSide = server.sockets[1]!;
      serverSide.pause();
      client.close(1000);
      await sleep(20);
      serverSide.terminate();
      expect((await closeOf(client)).code).toBe(1006);
    });
  });

  it('a thousand connections reset at random moments leave the server as it was', async () => {
    const busy = await startEchoServer(resources, { codec, closeTimeout: 2000 });
    const bytes = Buffer.concat([Buffer.from(upgradeRequest()), clientFrame(Opcode.TEXT, Buffer.from('hello')), clientFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8))]);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const socket = await rawConnect(resources, busy.port);
          socket.write(bytes.subarray(0, (batch * 100 + i) * 7 % bytes.length));
          await sleep(i % 5);
          socket.resetAndDestroy();
        }),
      );
    }
    await until(() => busy.wss.clients!.size === 0, 'every connection to be gone', 10_000);
    expect(busy.serverErrors).toEqual([]);
    const after = await ControlClient.open(resources, busy.url);
    await after.echo();
    // Nothing dangles: closing the server finishes (it waits for every connection it knows).
    const closing = once(busy.wss, 'close');
    busy.wss.close();
    await closing;
  });
});
