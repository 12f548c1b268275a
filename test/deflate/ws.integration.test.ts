/**
 * permessage-deflate interop with the `ws` package over loopback, both directions: `ws`
 * clients against wasmsocket's server and wasmsocket's client against `ws` servers, with `ws`'s
 * defaults, with no context takeover and small windows asked by either side, over text and
 * binary of 0 B to 16 MiB, compressible and not, whole and fragmented.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../../src/adapters/node/deflate.js';
import { perMessageDeflateWeb } from '../../src/adapters/web/deflate-streams.js';
import type { WebStreamPair } from '../../src/adapters/web/stream-binding.js';
import { StreamWebSocket } from '../../src/api/stream-websocket.js';
import { WebSocket, WebSocketServer } from '../../src/node.js';
import { echoAll, type EchoClientLike, type EchoServer, type EchoServerLike, samples, startEcho, totalSize } from './echo.js';

interface Pairing {
  readonly name: string;
  /** Options of the `ws` side's perMessageDeflate. */
  readonly ws: Record<string, unknown> | true;
  /** Options of wasmsocket's side. */
  readonly ours: PerMessageDeflateNodeOptions;
  /** The parameters of the response element the pairing settles on (in any order). */
  readonly agreed: readonly string[];
}

const PAIRINGS: Pairing[] = [
  { name: 'defaults', ws: true, ours: {}, agreed: [] },
  {
    name: 'ws asks for no context takeover and small windows',
    ws: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 10, threshold: 0 },
    ours: {},
    agreed: ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits=9', 'client_max_window_bits=10'],
  },
  {
    name: 'wasmsocket asks for no context takeover and small windows',
    ws: true,
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9, threshold: 0 },
    agreed: ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits=10', 'client_max_window_bits=9'],
  },
  { name: '8-bit windows both ways', ws: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, ours: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, agreed: ['server_max_window_bits=8', 'client_max_window_bits=8'] },
];

let server: EchoServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

describe.each(PAIRINGS)('ws interop with permessage-deflate: $name', (pairing) => {
  // The 16 MiB messages go through the default pairing; the others stop at 1 MiB.
  const workload = samples(pairing.name === 'defaults' ? 16 << 20 : 1 << 20);

  it('ws client → wasmsocket server', async () => {
    const ours = new WebSocketServer({ port: 0, host: '127.0.0.1', extensions: [perMessageDeflateNode(pairing.ours).server] });
    server = await startEcho(ours as unknown as EchoServerLike);
    const client = new WsClient(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: pairing.ws });
    const extensions = await echoAll(client as unknown as EchoClientLike, workload);
    expect(Object.keys((client as unknown as { _extensions: object })._extensions)).toEqual(['permessage-deflate']);
    expect(extensions).toBe('permessage-deflate');
    await waitFor(() => server!.bytesRead.length === 1);
    // Half the workload is compressible: well compressed, the wire carries much less than all of it.
    expect(server.bytesRead[0]!).toBeLessThan(totalSize(workload) * 0.75);
  });

  it('wasmsocket client → ws server', async () => {
    const theirs = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: pairing.ws === true ? true : pairing.ws });
    server = await startEcho(theirs as unknown as EchoServerLike);
    const client = new WebSocket(`ws://127.0.0.1:${server.port}/`, { extensions: [perMessageDeflateNode(pairing.ours).client] });
    const extensions = await echoAll(client as unknown as EchoClientLike, workload);
    const [name, ...params] = extensions.split(/\s*;\s*/);
    expect(name).toBe('permessage-deflate');
    expect(params.filter((param) => param !== 'client_max_window_bits=15').sort()).toEqual([...pairing.agreed].sort());
    await waitFor(() => server!.bytesRead.length === 1);
    expect(server.bytesRead[0]!).toBeLessThan(totalSize(workload) * 0.75);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ws interop with the Compression Streams engine (wasmsocket over web streams on a Node socket)', () => {
  const workload = samples(1 << 20);

  it('wasmsocket web client → ws server', async () => {
    const theirs = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    server = await startEcho(theirs as unknown as EchoServerLike);
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    const client = StreamWebSocket.connect(Duplex.toWeb(socket) as WebStreamPair, `ws://127.0.0.1:${server.port}/`, { extensions: [perMessageDeflateWeb()!.client] });
    // Its `ws`-style face (on('message', (data, isBinary)), send with fin) is what the echo check drives.
    const extensions = await echoAll(client as unknown as EchoClientLike, workload);
    expect(extensions).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    await waitFor(() => server!.bytesRead.length === 1);
    expect(server.bytesRead[0]!).toBeLessThan(totalSize(workload) * 0.75);
  });

  it('ws client → wasmsocket web server', async () => {
    const listener = createServer((socket) => {
      const transport = StreamWebSocket.accept(Duplex.toWeb(socket) as WebStreamPair, { extensions: [perMessageDeflateWeb()!.server] });
      transport.binaryType = 'arraybuffer';
      transport.addEventListener('message', (event) => {
        const data = (event as MessageEvent).data as string | ArrayBuffer;
        transport.send(typeof data === 'string' ? data : new Uint8Array(data));
      });
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const port = (listener.address() as AddressInfo).port;
    try {
      const client = new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
      let response = '';
      client.on('upgrade', (res) => (response = String(res.headers['sec-websocket-extensions'])));
      await echoAll(client as unknown as EchoClientLike, workload);
      expect(response).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    } finally {
      listener.close();
    }
  });
});
