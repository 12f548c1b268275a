/**
 * Heap per connection of the protocol core alone: N `ServerConnection`s taken past the
 * opening handshake (the request handed over as Node's 'upgrade' does, `receiveRequest`), each
 * having received one message, held while the heap is measured after a full GC — against the
 * heap before them, per connection. No socket, driver or face is counted: bench/load/idle.ts
 * measures a whole server.
 *
 *   node --expose-gc --import tsx bench/core-memory.ts [--connections N] [--codec wasm|portable]
 */
import { isUtf8 } from 'node:buffer';
import { parseArgs } from 'node:util';
import { createCodecSync } from '../src/codec/select.js';
import { HttpHeaders } from '../src/handshake/http.js';
import { ServerConnection } from '../src/protocol/server-connection.js';
import { ReadyState } from '../src/shared/constants.js';
import { maskedFrameChunk } from './fixtures.js';

const { values: args } = parseArgs({
  options: { connections: { type: 'string', default: '10000' }, codec: { type: 'string', default: 'wasm' } },
});
const count = Number(args.connections);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const codec = createCodecSync({ implementation: args.codec === 'portable' ? 'portable' : 'wasm', platformIsUtf8: isUtf8 });
const REQUEST: [string, string][] = [
  ['Host', 'localhost'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Sec-WebSocket-Version', '13'],
];
const message = maskedFrameChunk(1, 16, 16, 2);

function openConnection(): ServerConnection {
  const connection = new ServerConnection({ codec });
  connection.receiveRequest({ method: 'GET', target: '/', version: { major: 1, minor: 1 }, headers: new HttpHeaders(REQUEST) });
  connection.dataToSend();
  connection.receiveData(message.slice());
  let messages = 0;
  for (let event = connection.nextEvent(); event !== undefined; event = connection.nextEvent()) if (event.type === 'message') messages++;
  if (connection.state !== ReadyState.OPEN || messages !== 1) throw new Error('the connection did not open and receive its message');
  return connection;
}

openConnection();
gc();
gc();
const before = process.memoryUsage().heapUsed;
const held: ServerConnection[] = [];
for (let i = 0; i < count; i++) held.push(openConnection());
gc();
gc();
const after = process.memoryUsage().heapUsed;
process.stdout.write(`${count} ServerConnections (${codec.implementation} codec) past the handshake, one message received: ${((after - before) / count).toFixed(0)} B of heap each\n`);
if (held.length !== count) throw new Error('unreachable');
