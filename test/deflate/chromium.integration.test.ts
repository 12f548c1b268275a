/**
 * permessage-deflate with Chromium (the browser harness of test/browser): Chromium's native
 * `WebSocket` — its own zlib, inflating with exactly the window agreed — against the wasmsocket
 * Node server with several configurations; and the Compression Streams engine running in the
 * page, where DecompressionStream is strict about bytes after a BFINAL block.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle } from '../../scripts/browser/bundle.js';
import { ContentType, modulePage } from '../../scripts/browser/page-server.js';
import { perMessageDeflateNode, type PerMessageDeflateNodeOptions } from '../../src/adapters/node/deflate.js';
import { WebSocketServer } from '../../src/node.js';
import { useBrowserSuite } from '../browser/harness/browser-suite.js';
import { startEcho, type EchoServer, type EchoServerLike } from './echo.js';
import { deflateBomb, deflateMessage } from './helpers.js';

/** Server configurations, each on its own path. */
const CONFIGURATIONS: Record<string, { options: PerMessageDeflateNodeOptions; agreed: string }> = {
  '/defaults': { options: {}, agreed: 'permessage-deflate' },
  '/no-context-takeover': {
    options: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9, threshold: 0 },
    agreed: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9',
  },
  '/8-bit': { options: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, agreed: 'permessage-deflate; server_max_window_bits=8; client_max_window_bits=8' },
};

const servers = new Map<string, { wss: WebSocketServer; echo: EchoServer }>();

const browser = useBrowserSuite(
  async () => ({
    '/deflate-page.js': { body: await bundle('test/deflate/fixtures/streams-page.ts', { format: 'esm' }), type: ContentType.js },
    '/deflate.html': modulePage('permessage-deflate', `import '/deflate-page.js';`),
  }),
  async (suite) => {
    for (const [path, { options }] of Object.entries(CONFIGURATIONS)) {
      const wss = new WebSocketServer({ noServer: true, extensions: [perMessageDeflateNode(options).server] });
      servers.set(path, { wss, echo: await startEcho(wss as unknown as EchoServerLike, suite.server.port) });
    }
    suite.server.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const entry = servers.get(request.url ?? '');
      if (entry === undefined) {
        socket.destroy();
        return;
      }
      entry.wss.handleUpgrade(request, socket, head, (websocket) => entry.wss.emit('connection', websocket, request));
    });
    await suite.page.goto(`${suite.server.origin}/deflate.html`);
    await suite.page.waitForFunction(() => 'deflatePage' in globalThis);
  },
);

afterAll(async () => {
  for (const { wss } of servers.values()) await new Promise<void>((resolve) => wss.close(() => resolve()));
});

/** What the page's native WebSocket reports after echoing its workload through `path`. */
interface NativeResult {
  readonly extensions: string;
  readonly errors: string[];
  readonly checked: number;
}

describe.each(Object.keys(CONFIGURATIONS))("Chromium's native WebSocket → wasmsocket server %s", (path) => {
  it('agrees on permessage-deflate and echoes text and binary, compressible and not, up to 4 MiB', async () => {
    const suite = browser();
    const result = await suite.page.evaluate(
      async ({ url }): Promise<NativeResult> => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        await new Promise<void>((resolve, reject) => {
          ws.onopen = () => resolve();
          ws.onerror = () => reject(new Error('the native WebSocket failed to open'));
        });
        const phrase = 'Chromium permessage-deflate — 日本語 ';
        const random = (size: number, seed: number): Uint8Array => {
          const out = new Uint8Array(size);
          let x = seed | 1;
          for (let i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            out[i] = x & 0xff;
          }
          return out;
        };
        const block = random(300, 99);
        const repeated = new Uint8Array(60_000);
        for (let i = 0; i < 200; i++) repeated.set(block, i * 300);
        const messages: Array<string | Uint8Array> = [];
        for (const size of [0, 1, 125, 1023, 1024, 65_535, 65_536, 1 << 20, 4 << 20]) {
          messages.push(phrase.repeat(Math.ceil(size / phrase.length)).slice(0, size));
          messages.push(random(size, size + 1));
          messages.push(new TextEncoder().encode('z'.repeat(size)));
        }
        messages.push(repeated);
        const received: Array<string | ArrayBuffer> = [];
        const done = new Promise<void>((resolve) => {
          ws.onmessage = (event) => {
            received.push(event.data as string | ArrayBuffer);
            if (received.length === messages.length) resolve();
          };
          ws.onclose = () => resolve();
        });
        for (const message of messages) ws.send(message);
        await done;
        const errors: string[] = [];
        messages.forEach((message, index) => {
          const echo = received[index];
          if (typeof message === 'string') {
            if (echo !== message) errors.push(`text ${index} differs`);
          } else {
            const bytes = echo instanceof ArrayBuffer ? new Uint8Array(echo) : null;
            if (bytes === null || bytes.length !== message.length || bytes.some((b, i) => b !== message[i])) errors.push(`binary ${index} differs`);
          }
        });
        const extensions = ws.extensions;
        ws.close(1000);
        return { extensions, errors, checked: received.length };
      },
      { url: `ws://127.0.0.1:${browser().server.port}${path}` },
    );
    expect(result.errors).toEqual([]);
    expect(result.checked).toBe(28);
    expect(result.extensions).toBe(CONFIGURATIONS[path]!.agreed);
    const echo = servers.get(path)!.echo;
    await waitFor(() => echo.bytesRead.length > 0);
    // About 8.7 MiB of compressible and 5.2 MiB of random bytes: compression shows on the wire.
    expect(echo.bytesRead[0]!).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('the Compression Streams engine in Chromium', () => {
  it('runs the whole protocol over streams with itself: no context takeover, BFINAL-ended messages decoded by a strict DecompressionStream', async () => {
    const specs = [0, 1, 1023, 1024, 70_000, 1 << 20].flatMap((size) => [
      { size, binary: true, compressible: true, pieces: 1 },
      { size, binary: false, compressible: false, pieces: 1 },
      { size, binary: true, compressible: false, pieces: 3 },
      { size, binary: false, compressible: true, pieces: 4 },
    ]);
    const result = await browser().page.evaluate(
      (list) => (globalThis as unknown as { deflatePage: { loopback(s: unknown): Promise<{ extensions: string; serverExtensions: string; errors: string[]; compressedBytes: number }> } }).deflatePage.loopback(list),
      specs,
    );
    expect(result.errors).toEqual([]);
    expect(result.extensions).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    expect(result.serverExtensions).toBe(result.extensions);
    const total = specs.reduce((sum, spec) => sum + spec.size, 0);
    expect(result.compressedBytes).toBeLessThan(total * 0.75);
  });

  it('§7.2.2 in Chromium, sync-flushed and BFINAL-ended payloads decode, a bomb stops at the limit, corrupt data is refused', async () => {
    const text = 'decoded in Chromium '.repeat(50);
    const finalStyle = [...zlib.deflateRawSync(Buffer.from(text)), 0x00];
    const finalNoTail = [...zlib.deflateRawSync(Buffer.from(text))];
    const payloads = [
      [...deflateMessage(text)],
      finalStyle,
      finalNoTail,
      [0x00],
      [...deflateBomb(64)],
      [0xff, 0xfe, 0xfd, 0xfc, 0xfb],
    ];
    type Decoded = { bytes: number; text: string } | { error: string; kept: number };
    const results = await browser().page.evaluate(
      ({ list, limit }) => (globalThis as unknown as { deflatePage: { decode(p: number[][], l: number): Promise<Decoded[]> } }).deflatePage.decode(list, limit),
      { list: payloads, limit: 1 << 20 },
    );
    expect(results[0]).toEqual({ bytes: text.length, text });
    expect(results[1]).toEqual({ bytes: text.length, text });
    expect(results[2]).toEqual({ bytes: text.length, text });
    expect(results[3]).toEqual({ bytes: 0, text: '' });
    expect(results[4]).toMatchObject({ error: 'refused' });
    expect((results[4] as { kept: number }).kept).toBeLessThanOrEqual(1 << 20);
    expect(results[5]).toMatchObject({ error: 'WSX_ERR_EXTENSION' });
  });

  it('§7.2.1 in Chromium, messages compressed whole and in pieces end as §7.2.3.4 shows and zlib decodes them', async () => {
    const texts = ['', 'x', 'Hello', 'compressed in Chromium '.repeat(500)];
    for (const pieces of [1, 3]) {
      const payloads = await browser().page.evaluate(
        ({ list, n }) => (globalThis as unknown as { deflatePage: { encode(t: string[], n: number): Promise<number[][]> } }).deflatePage.encode(list, n),
        { list: texts, n: pieces },
      );
      payloads.forEach((payload, index) => {
        const decoded = zlib.inflateRawSync(Buffer.concat([Buffer.from(payload), Buffer.of(0x00, 0x00, 0xff, 0xff)]));
        expect(decoded.toString()).toBe(texts[index]);
        expect(payload[payload.length - 1]).toBe(0x00);
      });
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
