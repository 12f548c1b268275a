/**
 * Two workers in Chromium run the client and the server protocol against each other over
 * StreamWebSocket, on a stream pair built from two TransformStreams and transferred from the
 * page: 1,000 messages of random sizes and kinds, each checked on arrival and echoed, all
 * delivered intact and in order, with backpressure, and a clean close.
 */
import { expect, it } from 'vitest';
import { bundle } from '../../scripts/browser/bundle.js';
import { ContentType } from '../../scripts/browser/page-server.js';
import type { PeerReport } from './fixtures/stream-peer-worker.js';
import { useBrowserSuite } from './harness/browser-suite.js';

const browser = useBrowserSuite(async () => ({
  '/stream-peer-worker.js': { body: await bundle('test/browser/fixtures/stream-peer-worker.ts', { format: 'esm' }), type: ContentType.js },
}));

it('1,000 messages of random sizes between a client and a server worker arrive intact and in order', async () => {
  const count = 1000;
  const seed = 0x5eed;
  const reports = await browser().page.evaluate(
    ({ count, seed }) => {
      // Each direction buffers 64 KiB before its writer has to wait.
      const pipe = () => new TransformStream<Uint8Array, Uint8Array>(undefined, new ByteLengthQueuingStrategy({ highWaterMark: 65536 }));
      const toServer = pipe();
      const toClient = pipe();
      const run = (role: string, readable: ReadableStream, writable: WritableStream) =>
        new Promise<unknown>((resolve, reject) => {
          const worker = new Worker('/stream-peer-worker.js', { type: 'module' });
          worker.onmessage = (event) => {
            resolve(event.data);
            worker.terminate();
          };
          worker.onerror = (event) => reject(new Error(`${role} worker: ${event.message}`));
          worker.postMessage({ role, streams: { readable, writable }, seed, count }, [readable, writable]);
        });
      return Promise.all([run('server', toServer.readable, toClient.writable), run('client', toClient.readable, toServer.writable)]);
    },
    { count, seed },
  );
  const [server, client] = reports as [PeerReport, PeerReport];
  for (const report of [server, client]) {
    expect(report.errors).toEqual([]);
    expect(report.wrong).toEqual([]);
    expect(report.received).toBe(count);
    expect(report.protocol).toBe('sequence.v1');
    // The codec handle switched to wasm in both workers.
    expect(report.codec).toBe('wasm');
  }
  expect(server.bytes).toBe(client.bytes);
  // The client's sends outran the streams and it waited for 'drain'.
  expect(client.waits).toBeGreaterThan(0);
  expect(server.close).toEqual({ code: 1000, reason: 'sequence complete', wasClean: true });
  // The server's answering close echoes the code and the reason.
  expect(client.close).toEqual({ code: 1000, reason: 'sequence complete', wasClean: true });
});

it('saw no uncaught error in any page or worker', () => {
  expect(browser().session.errors).toEqual([]);
});
