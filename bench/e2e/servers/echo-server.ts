/**
 * One echo server of the end-to-end benchmark, in a process of its own, on 127.0.0.1 and a
 * free port, echoing at /echo (text as text, binary as binary):
 *
 *   tsx bench/e2e/servers/echo-server.ts wasmsocket
 *   tsx bench/e2e/servers/echo-server.ts ws [--require-bufferutil]
 *
 * Both libraries run the very same server code: wasmsocket's `WebSocketServer` has the `ws`
 * API, so only the import differs. (Closures matter here: a listener created in a scope
 * where another closure uses the upgrade request keeps that request, its headers and its
 * stream state alive for the whole connection, some 2–3 KiB each; nothing below does.)
 *
 * Which codec or native add-on runs is chosen by the environment the launcher sets
 * (`WASMSOCKET_NO_WASM`, `WS_NO_BUFFER_UTIL`, `WS_NO_UTF_8_VALIDATE`); `--require-bufferutil`
 * refuses to start unless the native bufferutil is what `ws` loads.
 *
 * It talks to the runner through `control.ts`: a ready line once listening, then memory
 * answers; it exits when stdin ends.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer as WsServer } from 'ws';
import { defaultCodec } from '../../../src/adapters/node/codec.js';
import { WebSocketServer as WasmsocketServer } from '../../../src/node.js';
import { loadBufferUtil } from '../../lib/natives.js';
import { failToStart, serveRunner } from './control.js';

/** The part of the `ws` server API both libraries share, as the echo uses it. */
interface EchoSocket {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  send(data: Buffer, options: { binary: boolean }): unknown;
}
interface EchoServer {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: EchoSocket) => void): void;
}

const ignoreError = (): void => {};

const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

function echo(ws: EchoSocket): void {
  ws.on('error', ignoreError);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

/** An HTTP server on 127.0.0.1 whose upgrades at /echo go to `wss`; resolves to its port. */
async function listen(wss: EchoServer): Promise<number> {
  const http = createServer((_request, response) => response.writeHead(426).end());
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', ignoreError);
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/echo') socket.end(NOT_FOUND);
    else wss.handleUpgrade(request, socket, head, echo);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  return (http.address() as AddressInfo).port;
}

/** What runs `ws`'s frames, after checking it is what the environment asked for. */
function wsEngine(requireBufferUtil: boolean): string {
  if (requireBufferUtil) {
    // Throws unless require('bufferutil') is the native binding (not its JS fallback); ws
    // requires the same module, so this is what it uses.
    loadBufferUtil();
    return 'bufferutil';
  }
  if (process.env.WS_NO_BUFFER_UTIL === undefined) throw new Error('pure-JS ws needs WS_NO_BUFFER_UTIL=1 (and WS_NO_UTF_8_VALIDATE=1)');
  return 'js';
}

async function main(): Promise<void> {
  const [implementation, ...flags] = process.argv.slice(2);
  let started: { port: number; engine: string };
  if (implementation === 'wasmsocket') {
    started = { port: await listen(new WasmsocketServer({ noServer: true }) as unknown as EchoServer), engine: defaultCodec().implementation };
  } else if (implementation === 'ws') {
    const engine = wsEngine(flags.includes('--require-bufferutil'));
    started = { port: await listen(new WsServer({ noServer: true }) as unknown as EchoServer), engine };
  } else {
    throw new Error(`usage: echo-server.ts wasmsocket|ws [--require-bufferutil], not ${String(implementation)}`);
  }
  serveRunner(started.port, started.engine);
}

main().catch(failToStart);
