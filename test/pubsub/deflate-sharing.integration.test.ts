/**
 * Publishing under permessage-deflate over real loopback sockets: subscribers that agreed to
 * no server context takeover (RFC 7692 §7.1.1.1) share one compression per window size
 * (§7.1.2.1), made once per publish however many they are; subscribers with context
 * takeover or without the extension get the plain frame; compressing (on zlib's thread pool)
 * never reorders a topic's messages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createZlibEngine } from '../../src/adapters/node/deflate-zlib.js';
import type { WebSocket, WebSocketServer } from '../../src/node.js';
import type { DeflateEngine, DeflateStreamParameters } from '../../src/protocol/extensions/deflate-engine.js';
import { createPerMessageDeflate } from '../../src/protocol/extensions/permessage-deflate.js';
import { MAX_COMPRESSION_BACKLOG } from '../../src/pubsub/topics.js';
import { nextEvent, openClient, Resources, startServer } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

/** A zlib engine that records the window of every compressor made. */
function countingEngine(): { engine: DeflateEngine; deflaterWindows: number[] } {
  const zlib = createZlibEngine();
  const deflaterWindows: number[] = [];
  const engine: DeflateEngine = {
    capabilities: zlib.capabilities,
    createDeflater: (parameters: DeflateStreamParameters) => {
      deflaterWindows.push(parameters.windowBits);
      return zlib.createDeflater(parameters);
    },
    createInflater: (parameters: DeflateStreamParameters) => zlib.createInflater(parameters),
  };
  return { engine, deflaterWindows };
}

async function subscriber(wss: WebSocketServer, url: string, options: ConstructorParameters<typeof WebSocket>[2]): Promise<{ client: WebSocket; socket: WebSocket }> {
  const accepted = nextEvent<[WebSocket]>(wss, 'connection');
  const client = await openClient(resources, url, undefined, options);
  const [socket] = await accepted;
  socket.subscribe('t');
  return { client, socket };
}

function receive(ws: WebSocket, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages arrived`)), 10_000);
    ws.on('message', (data: Buffer) => {
      messages.push(data.toString('utf8'));
      if (messages.length === count) {
        clearTimeout(timer);
        resolve(messages);
      }
    });
  });
}

const large = (i: number): string => `message ${i} `.repeat(300);

/** A zlib engine whose compressors wait for `open()` before they compress anything. */
function gatedEngine(): { engine: DeflateEngine; open: () => void } {
  const zlib = createZlibEngine();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const engine: DeflateEngine = {
    capabilities: zlib.capabilities,
    createDeflater: (parameters: DeflateStreamParameters) => {
      const deflater = zlib.createDeflater(parameters);
      return {
        messageEnd: deflater.messageEnd,
        deflate: (data, end) => gate.then(() => deflater.deflate(data, end)),
        dispose: () => deflater.dispose(),
      };
    },
    createInflater: (parameters: DeflateStreamParameters) => zlib.createInflater(parameters),
  };
  return { engine, open };
}

describe('publish with permessage-deflate', () => {
  it('compresses once per window for the subscribers without context takeover; the others get the plain frame', async () => {
    const { engine, deflaterWindows } = countingEngine();
    const deflate = createPerMessageDeflate(engine, { serverNoContextTakeover: true });
    const { wss, url } = await startServer(resources, { extensions: [deflate.server] });
    const wide = [await subscriber(wss, url, {}), await subscriber(wss, url, {}), await subscriber(wss, url, {})];
    const narrow = [await subscriber(wss, url, { perMessageDeflate: { serverMaxWindowBits: 10 } }), await subscriber(wss, url, { perMessageDeflate: { serverMaxWindowBits: 10 } })];
    const plain = await subscriber(wss, url, { perMessageDeflate: false });
    for (const { socket } of wide) expect(socket.extensions).toBe('permessage-deflate; server_no_context_takeover');
    expect(plain.socket.extensions).toBe('');
    const everyone = [...wide, ...narrow, plain];
    const arrived = everyone.map(({ client }) => receive(client, 1));
    expect(wss.publish('t', large(1))).toBe(6);
    for (const messages of await Promise.all(arrived)) expect(messages).toEqual([large(1)]);
    // One compressor per window, for the publish itself; no connection compressed anything of its own.
    expect(deflaterWindows.sort()).toEqual([10, 15]);
  });

  it('sends plain frames to subscribers whose server keeps its context, and with compress: false', async () => {
    const { engine, deflaterWindows } = countingEngine();
    const deflate = createPerMessageDeflate(engine, {});
    const { wss, url } = await startServer(resources, { extensions: [deflate.server] });
    const keeps = await subscriber(wss, url, {});
    expect(keeps.socket.extensions).toBe('permessage-deflate');
    const arrived = receive(keeps.client, 1);
    expect(wss.publish('t', large(2))).toBe(1);
    expect(await arrived).toEqual([large(2)]);
    expect(deflaterWindows).toEqual([]);

    const { engine: other, deflaterWindows: otherWindows } = countingEngine();
    const second = await startServer(resources, { extensions: [createPerMessageDeflate(other, { serverNoContextTakeover: true }).server] });
    const sharing = await subscriber(second.wss, second.url, {});
    const plainly = receive(sharing.client, 1);
    expect(second.wss.publish('t', large(3), { compress: false })).toBe(1);
    expect(await plainly).toEqual([large(3)]);
    expect(otherWindows).toEqual([]);
  });

  it('drops and counts what a topic publishes while 64 MiB wait for compression, and delivers the rest in order', async () => {
    const { engine, open } = gatedEngine();
    const { wss, url } = await startServer(resources, { extensions: [createPerMessageDeflate(engine, { serverNoContextTakeover: true }).server] });
    const { client } = await subscriber(wss, url, {});
    const arrived = receive(client, 2);
    expect(wss.publish('t', large(1))).toBe(1);
    // large(1) waits for its compressor; 64 MiB more would pass the bound.
    expect(wss.publish('t', Buffer.alloc(MAX_COMPRESSION_BACKLOG, 0x61), { binary: false })).toBe(0);
    expect(wss.droppedMessages('t')).toBe(1);
    expect(wss.publish('t', large(2))).toBe(1);
    open();
    expect(await arrived).toEqual([large(1), large(2)]);
    expect(wss.droppedMessages('t')).toBe(1);
  });

  it('keeps publish order on a topic while compressions are pending, small plain messages included', async () => {
    const deflate = createPerMessageDeflate(createZlibEngine(), { serverNoContextTakeover: true });
    const { wss, url } = await startServer(resources, { extensions: [deflate.server] });
    const compressed = await subscriber(wss, url, {});
    const plain = await subscriber(wss, url, { perMessageDeflate: false });
    const expected = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `small ${i}` : large(i)));
    const atCompressed = receive(compressed.client, expected.length);
    const atPlain = receive(plain.client, expected.length);
    for (const message of expected) expect(wss.publish('t', message)).toBe(2);
    expect(await atCompressed).toEqual(expected);
    expect(await atPlain).toEqual(expected);
  });
});
