/**
 * The socket binding handed a socket that is already gone — the peer reset it, or it was
 * destroyed, while the server decided on the upgrade: the connection ends at once with 1006,
 * reported once, whether the socket's own 'close' was emitted before the handover or is still
 * to come; nothing is written and no 'open' is reported.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionDriver } from '../../../src/adapters/driver.js';
import { attachSocket, nodeScheduler } from '../../../src/adapters/node/socket-binding.js';
import { DEFAULT_TRANSPORT_OPTIONS, type ConnectionSink } from '../../../src/adapters/types.js';
import { portableCodec } from '../../../src/codec/portable/index.js';
import { ServerConnection } from '../../../src/protocol/server-connection.js';

const opened: Array<Server | Socket> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) {
    if ('destroy' in item) item.destroy();
    else await new Promise((resolve) => item.close(resolve));
  }
});

/** A loopback connection: the server's socket for it, and the client's. */
async function loopback(): Promise<{ serverSide: Socket; clientClosed: Promise<unknown> }> {
  const server = createServer();
  opened.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const clientSide = connect((server.address() as AddressInfo).port, '127.0.0.1');
  opened.push(clientSide);
  clientSide.on('error', () => {});
  const clientClosed = once(clientSide, 'close');
  const [serverSide] = await accepted;
  opened.push(serverSide);
  return { serverSide, clientClosed };
}

function recordingSink(): ConnectionSink & { readonly events: string[]; readonly closed: Promise<void> } {
  const events: string[] = [];
  let closed!: () => void;
  return {
    events,
    closed: new Promise<void>((resolve) => (closed = resolve)),
    onOpen: () => events.push('open'),
    onMessage: () => events.push('message'),
    onFragment: () => events.push('fragment'),
    onPing: () => events.push('ping'),
    onPong: () => events.push('pong'),
    onError: (error) => events.push(`error ${error.message}`),
    onClose: (code, _reason, wasClean) => {
      events.push(`close ${code} ${wasClean}`);
      closed();
    },
    onDrain: () => events.push('drain'),
  };
}

describe('attachSocket with a socket destroyed before the handover', () => {
  for (const when of ["after its 'close' was emitted", "before its 'close' was emitted"] as const) {
    it(`${when}: 1006 at once, reported once; no 'open', nothing written`, async () => {
      const { serverSide, clientClosed } = await loopback();
      const written: Buffer[] = [];
      const originalWrite = serverSide.write.bind(serverSide);
      serverSide.write = ((chunk: Buffer, ...rest: never[]) => {
        written.push(chunk);
        return originalWrite(chunk, ...rest);
      }) as typeof serverSide.write;
      serverSide.destroy();
      if (when === "after its 'close' was emitted") await once(serverSide, 'close');
      expect(serverSide.destroyed).toBe(true);

      const sink = recordingSink();
      // A connection whose handshake the server answered: its 'open' is queued.
      const connection = new ServerConnection({ codec: portableCodec, established: {} });
      const driver = new ConnectionDriver(connection, sink, { ...DEFAULT_TRANSPORT_OPTIONS, handshakeTimeout: 0 }, nodeScheduler);
      attachSocket(driver, serverSide, [Uint8Array.of(0x81, 0x00)]);
      expect(driver.terminating).toBe(true);
      await sink.closed;
      // Whatever else the socket emits now changes nothing.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(sink.events).toEqual(['close 1006 false']);
      expect(driver.closed).toBe(true);
      expect(written).toEqual([]);
      // The peer sees the connection go.
      await clientClosed;
    });
  }
});
