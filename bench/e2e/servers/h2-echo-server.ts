/**
 * The echo server of the HTTP/2 cell of the end-to-end benchmark (`../h2.ts`), in a process of
 * its own on 127.0.0.1 and a free port, echoing at /echo:
 *
 *   tsx bench/e2e/servers/h2-echo-server.ts h2    wasmsocket on an h2c `node:http2` server (RFC 8441 streams)
 *   tsx bench/e2e/servers/h2-echo-server.ts h1    wasmsocket on an HTTP/1.1 server
 *
 * Same library, same codec, same echo: only the transport differs. It talks to the runner as
 * every server of the benchmark does (`control.ts`).
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createH2cServer } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import { defaultCodec } from '../../../src/adapters/node/codec.js';
import { type WebSocket, WebSocketServer } from '../../../src/node.js';
import { failToStart, serveRunner } from './control.js';

const ignoreError = (): void => {};

function echo(ws: WebSocket): void {
  ws.on('error', ignoreError);
  ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
}

async function main(): Promise<void> {
  const transport = process.argv[2];
  let server: Server;
  if (transport === 'h2') {
    const h2 = createH2cServer();
    // The benchmark opens 100 streams per session.
    new WebSocketServer({ server: h2, path: '/echo', maxStreamsPerSession: 100 }).on('connection', echo);
    server = h2;
  } else if (transport === 'h1') {
    const h1 = createHttpServer((_request, response) => response.writeHead(426).end());
    new WebSocketServer({ server: h1, path: '/echo' }).on('connection', echo);
    server = h1;
  } else {
    throw new Error(`usage: h2-echo-server.ts h2|h1, not ${String(transport)}`);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  serveRunner((server.address() as AddressInfo).port, defaultCodec().implementation);
}

main().catch(failToStart);
