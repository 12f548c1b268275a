/**
 * One side (or both) of a WebSocket conversation, run by Bun or Deno from a project that has
 * the packed wasmsocket installed (test/runtimes/*.test.ts copy it there). Loopback only, and
 * it gives up by itself after 15 s.
 *
 *   peer.mjs self          a server and a client in this process
 *   peer.mjs server        a server on a free port: prints {"port":N}, echoes, and prints
 *                          {"server":{…}} when its first client has closed, then exits
 *   peer.mjs client <url>  a client against an echo server
 *
 * The client's conversation: a text message, a binary one, a large compressible text (sent
 * compressed with permessage-deflate), then a close with a code and a reason. Printed as JSON:
 * what came back, the negotiated extensions, the close the client saw, the codec in use.
 */
import process from 'node:process';
import WebSocket, { WebSocketServer } from 'wasmsocket';
import { createCodecSync } from 'wasmsocket/codec';

const GIVE_UP_MS = 15_000;
const timer = setTimeout(() => {
  console.error('peer: timed out');
  process.exit(2);
}, GIVE_UP_MS);

const LARGE = 'compressible text '.repeat(4096);

function nextMessage(ws) {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('error', reject);
  });
}

async function converse(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const result = { extensions: ws.extensions };

  ws.send('héllo, wörld');
  const text = await nextMessage(ws);
  result.text = { data: text.data.toString(), isBinary: text.isBinary };

  ws.send(Uint8Array.from([0, 1, 2, 127, 128, 255]));
  const binary = await nextMessage(ws);
  result.binary = { data: [...new Uint8Array(binary.data.buffer, binary.data.byteOffset, binary.data.byteLength)], isBinary: binary.isBinary };

  ws.send(LARGE);
  const large = await nextMessage(ws);
  result.large = { same: large.data.toString() === LARGE, length: large.data.length };

  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.close(4001, 'bye from the client');
  result.close = await closed;
  return result;
}

function startServer() {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true }, () => resolve(wss));
    wss.once('error', reject);
  });
}

/** The server's side of its first connection: extensions and the close it saw. */
function firstConnection(wss) {
  return new Promise((resolve) => {
    wss.once('connection', (socket) => {
      const seen = { extensions: socket.extensions };
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
      socket.once('close', (code, reason) => resolve({ ...seen, close: { code, reason: reason.toString() } }));
    });
  });
}

const codec = createCodecSync().implementation;
const [mode, url] = process.argv.slice(2);
if (mode === 'self') {
  const wss = await startServer();
  const serverSide = firstConnection(wss);
  const client = await converse(`ws://127.0.0.1:${wss.address().port}/`);
  const server = await serverSide;
  await new Promise((resolve) => wss.close(resolve));
  console.log(JSON.stringify({ codec, client, server }));
} else if (mode === 'server') {
  const wss = await startServer();
  const serverSide = firstConnection(wss);
  console.log(JSON.stringify({ port: wss.address().port }));
  const server = await serverSide;
  await new Promise((resolve) => wss.close(resolve));
  console.log(JSON.stringify({ codec, server }));
} else if (mode === 'client') {
  console.log(JSON.stringify({ codec, client: await converse(url) }));
} else {
  console.error(`peer: unknown mode ${mode}`);
  process.exit(64);
}
clearTimeout(timer);
