/**
 * Browser peers of the wasmsocket Node server, in Chromium: the page client
 * (`wasmsocket/web`'s `WebSocket`, over the browser's own) with the Node client's API, and
 * Chromium's native `WebSocket` itself, which offers permessage-deflate — the server must
 * decline it correctly, and Chromium must still connect.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleWebModule } from '../../scripts/browser/bundle.js';
import { ContentType, modulePage } from '../../scripts/browser/page-server.js';
import { WebSocket as NodeWebSocket, WebSocketServer } from '../../src/node.js';
import { useBrowserSuite } from './harness/browser-suite.js';

type Web = typeof import('../../src/web.js');

/** What the server saw of one connection. */
interface ServerRecord {
  readonly request: IncomingMessage;
  readonly responseHeaders: string[];
  readonly socket: NodeWebSocket;
  readonly received: { size: number; checksum: number; binary: boolean }[];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly pongs: string[];
}

/** Sum of bytes × position, mod 2^32: cheap, and any misplaced or changed byte shows. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum + bytes[i]! * ((i % 65521) + 1)) >>> 0;
  return sum;
}

let server: WebSocketServer | undefined;
let url: string;
const records: ServerRecord[] = [];
let nextResponseHeaders: string[] = [];

const browser = useBrowserSuite(
  async () => ({
    '/wasmsocket.js': { body: await bundleWebModule(), type: ContentType.js },
    '/client.html': modulePage('browser client', `import * as wasmsocket from '/wasmsocket.js';\nglobalThis.wasmsocket = wasmsocket;`),
  }),
  async (suite) => {
    startServer(suite.server.server);
    url = `ws://127.0.0.1:${suite.server.port}`;
    await suite.page.goto(`${suite.server.origin}/client.html`);
    await suite.page.waitForFunction(() => 'wasmsocket' in globalThis);
  },
);

/** The wasmsocket Node server on the page server's port: echo on /echo, refusals on /refused. */
function startServer(httpServer: HttpServer): void {
  server = new WebSocketServer({
    server: httpServer,
    handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false),
    verifyClient: (info) => !(info.req.url ?? '').startsWith('/refused'),
  });
  server.on('headers', (headers: string[]) => {
    nextResponseHeaders = [...headers];
  });
  server.on('connection', (socket: NodeWebSocket, request: IncomingMessage) => {
    const received: ServerRecord['received'] = [];
    const pongs: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
    records.push({ request, responseHeaders: nextResponseHeaders, socket, received, closed, pongs });
    socket.on('pong', (data: Buffer) => pongs.push(data.toString()));
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      received.push({ size: data.length, checksum: checksum(data), binary: isBinary });
      if (request.url === '/echo') socket.send(data, { binary: isBinary });
    });
  });
}

afterAll(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
});

/** The server's record of the connection made most recently. */
function lastRecord(): ServerRecord {
  return records[records.length - 1]!;
}

describe('the page client (wasmsocket/web WebSocket) and the wasmsocket Node server', () => {
  it('connects with a subprotocol and exchanges text and binary up to 16 MiB, on both faces', async () => {
    const result = await browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const sum = (bytes: Uint8Array): number => {
        let total = 0;
        for (let i = 0; i < bytes.length; i++) total = (total + bytes[i]! * ((i % 65521) + 1)) >>> 0;
        return total;
      };
      const ws = new WebSocket(`${url}/echo`, ['chat.v1', 'chat.v2']);
      const echoes: { kind: string; size: number; checksum: number; isBinary: boolean }[] = [];
      const whatwg: string[] = [];
      ws.on('message', (data: unknown, isBinary: boolean) => {
        if (typeof data === 'string') echoes.push({ kind: 'string', size: data.length, checksum: 0, isBinary });
        else echoes.push({ kind: (data as object).constructor.name, size: (data as Uint8Array).length, checksum: sum(data as Uint8Array), isBinary });
      });
      ws.onmessage = (event) => whatwg.push(typeof event.data === 'string' ? `text:${event.data.slice(0, 12)}` : `binary:${(event.data as Uint8Array).length}`);
      await new Promise<void>((resolve, reject) => {
        ws.on('open', resolve);
        ws.on('error', reject);
      });
      const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
      const sent = sizes.map((size) => {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
        return bytes;
      });
      ws.send('héllo ✓ wörld');
      for (const bytes of sent) ws.send(bytes);
      ws.send('last');
      await new Promise<void>((resolve) => {
        const check = () => (echoes.length === sizes.length + 2 ? resolve() : setTimeout(check, 10));
        check();
      });
      return { protocol: ws.protocol, echoes, whatwg, sentChecksums: sent.map(sum), readyState: ws.readyState };
    }, url);
    expect(result.protocol).toBe('chat.v2');
    expect(result.readyState).toBe(1);
    // Text arrives as a string, binary as a Uint8Array (binaryType 'nodebuffer'), in order.
    expect(result.echoes[0]).toEqual({ kind: 'string', size: 'héllo ✓ wörld'.length, checksum: 0, isBinary: false });
    expect(result.echoes.at(-1)).toEqual({ kind: 'string', size: 4, checksum: 0, isBinary: false });
    const binary = result.echoes.slice(1, -1);
    expect(binary.map((echo) => echo.size)).toEqual([0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20]);
    expect(binary.every((echo) => echo.kind === 'Uint8Array' && echo.isBinary)).toBe(true);
    expect(binary.map((echo) => echo.checksum)).toEqual(result.sentChecksums);
    expect(result.whatwg[0]).toBe('text:héllo ✓ wörl');
    expect(result.whatwg.length).toBe(10);
    // The server received exactly what was sent.
    const record = lastRecord();
    expect(record.request.headers['sec-websocket-protocol']).toBe('chat.v1, chat.v2');
    expect(record.received.map((message) => message.size)).toEqual([Buffer.byteLength('héllo ✓ wörld'), 0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20, 4]);
    expect(record.received.slice(1, -1).map((message) => message.checksum)).toEqual(result.sentChecksums);
  });

  it("RFC 6455 §5.5.2: the browser answers the server's ping with a pong carrying its data", async () => {
    await browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const ws = new WebSocket(`${url}/ping`);
      (globalThis as unknown as { pingSocket: unknown }).pingSocket = ws;
      await new Promise((resolve) => ws.on('open', resolve));
    }, url);
    const record = lastRecord();
    record.socket.ping('probe ✓');
    await expect.poll(() => record.pongs, { timeout: 5000 }).toEqual(['probe ✓']);
    // The browser's API sends no pings of its own, and says so.
    const refused = await browser().page.evaluate(() => {
      const ws = (globalThis as unknown as { pingSocket: { ping(): void; close(): void } }).pingSocket;
      try {
        ws.ping();
        return 'no error';
      } catch (error) {
        return (error as DOMException).name;
      } finally {
        ws.close();
      }
    });
    expect(refused).toBe('NotSupportedError');
  });

  it('§7 closes with a code and a reason from either side, cleanly', async () => {
    const fromPage = await browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const ws = new WebSocket(`${url}/close`);
      await new Promise((resolve) => ws.on('open', resolve));
      let listener = '';
      ws.on('close', (code: number, reason: string) => (listener = `${code} ${reason}`));
      const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
        ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      });
      ws.close(4001, 'done ✓');
      const during = ws.readyState;
      return { during, ...(await closed), listener, after: ws.readyState };
    }, url);
    // The close event reports the close frame received: the server echoes the code (§5.5.1) and the reason, as ws does.
    expect(fromPage).toEqual({ during: 2, code: 4001, reason: 'done ✓', wasClean: true, listener: '4001 done ✓', after: 3 });
    expect(await lastRecord().closed).toEqual({ code: 4001, reason: 'done ✓' });

    const count = records.length;
    const waiting = browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const ws = new WebSocket(`${url}/close`);
      return new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
        ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      });
    }, url);
    await expect.poll(() => records.length).toBe(count + 1);
    lastRecord().socket.close(1001, 'server going away');
    expect(await waiting).toEqual({ code: 1001, reason: 'server going away', wasClean: true });
  });

  it('send callbacks run once the browser has sent the data; false from highWaterMark on, then drain', async () => {
    const result = await browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const ws = new WebSocket(`${url}/sink`, { highWaterMark: 1 << 20 });
      await new Promise((resolve) => ws.on('open', resolve));
      const order: string[] = [];
      const returned: boolean[] = [];
      const drained = new Promise<void>((resolve) => ws.once('drain', () => resolve()));
      for (let i = 0; i < 4; i++) returned.push(ws.send(new Uint8Array(512 << 10), (error?: Error) => order.push(error ? `error ${i}` : `sent ${i}`)));
      const buffered = ws.bufferedAmount;
      await drained;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = ws.bufferedAmount;
      ws.close();
      return { returned, order, buffered, after };
    }, url);
    expect(result.returned).toEqual([true, false, false, false]);
    expect(result.buffered).toBeGreaterThan(0);
    expect(result.order).toEqual(['sent 0', 'sent 1', 'sent 2', 'sent 3']);
    expect(result.after).toBe(0);
  });

  it('reads messages with for await, and reports a handshake the server refuses', async () => {
    const result = await browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const ws = new WebSocket(`${url}/echo`);
      await new Promise((resolve) => ws.on('open', resolve));
      for (let i = 0; i < 40; i++) ws.send(`message ${i}`);
      const read: unknown[] = [];
      for await (const message of ws) {
        read.push(message);
        if (read.length === 40) break;
      }
      const refused = new WebSocket(`${url}/refused`);
      const events: string[] = [];
      refused.on('error', (error: Error) => events.push(`error ${(error as Error & { code: string }).code}`));
      await new Promise<void>((resolve) =>
        refused.on('close', (code: number) => {
          events.push(`close ${code}`);
          resolve();
        }),
      );
      return { read, closedAfterBreak: ws.readyState, events };
    }, url);
    expect(result.read).toEqual(Array.from({ length: 40 }, (_, i) => `message ${i}`));
    // Leaving the loop closes the socket (1000), as the Node client's iterator does.
    expect(result.closedAfterBreak).toBeGreaterThanOrEqual(2);
    expect(result.events).toEqual(['error WSX_ERR_HANDSHAKE', 'close 1006']);
  });
});

describe('what the page client does where the browser API stops', () => {
  it('joins fin:false fragments into one message, holds events while paused, converts binaryType, checks text bytes', async () => {
    const result = await browser().page.evaluate(async (url) => {
      const { WebSocket } = (globalThis as unknown as { wasmsocket: Web }).wasmsocket;
      const ws = new WebSocket(`${url}/echo`);
      await new Promise((resolve) => ws.on('open', resolve));
      const seen: string[] = [];
      ws.on('message', (data: unknown, isBinary: boolean) => {
        if (typeof data === 'string') seen.push(`text ${data}`);
        else if (data instanceof ArrayBuffer) seen.push(`arraybuffer ${data.byteLength}`);
        else if (data instanceof Blob) seen.push(`blob ${data.size}`);
        else seen.push(`${(data as object).constructor.name} ${(data as Uint8Array).length} ${isBinary}`);
      });
      const next = (count: number) =>
        new Promise<void>((resolve) => {
          const check = () => (seen.length >= count ? resolve() : setTimeout(check, 5));
          check();
        });
      ws.send('frag', { fin: false });
      ws.send('ment', { fin: false });
      ws.send('ed', { fin: true });
      await next(1);
      ws.binaryType = 'arraybuffer';
      ws.send(new Uint8Array(3));
      await next(2);
      ws.binaryType = 'blob';
      ws.send(new Uint8Array(5));
      await next(3);
      ws.binaryType = 'nodebuffer';
      ws.send(new TextEncoder().encode('bytes as text'), { binary: false });
      await next(4);
      let invalidText = '';
      try {
        ws.send(new Uint8Array([0xc0, 0xaf]), { binary: false });
      } catch (error) {
        invalidText = (error as Error & { code: string }).code;
      }
      ws.pause();
      ws.send('held 1');
      ws.send('held 2');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const whilePaused = seen.length;
      ws.resume();
      const afterResume = seen.length;
      let badCode = '';
      try {
        ws.close(1001);
      } catch (error) {
        badCode = (error as DOMException).name;
      }
      let nodeOnly = '';
      try {
        new WebSocket(url, { headers: { authorization: 'x' } } as never);
      } catch (error) {
        nodeOnly = (error as Error & { code: string }).code;
      }
      const closed = new Promise<string>((resolve) => ws.on('close', (code: number) => resolve(`close ${code} readyState ${ws.readyState}`)));
      ws.terminate();
      return { seen, invalidText, whilePaused, afterResume, badCode, nodeOnly, closed: await closed };
    }, url);
    expect(result.seen).toEqual(['text fragmented', 'arraybuffer 3', 'blob 5', 'text bytes as text', 'text held 1', 'text held 2']);
    expect(result.invalidText).toBe('WSX_ERR_INVALID_ARGUMENT');
    expect([result.whilePaused, result.afterResume]).toEqual([4, 6]);
    // The browser allows only 1000 and 3000–4999 from a page.
    expect(result.badCode).toBe('InvalidAccessError');
    expect(result.nodeOnly).toBe('WSX_ERR_INVALID_ARGUMENT');
    expect(result.closed).toBe('close 1006 readyState 3');
  });
});

describe("Chromium's native WebSocket and the wasmsocket Node server", () => {
  it('RFC 7692 §5: Chromium offers permessage-deflate, the server declines it, and Chromium connects and talks', async () => {
    const result = await browser().page.evaluate(async (url) => {
      const ws = new WebSocket(`${url}/echo`, ['chat.v2']);
      ws.binaryType = 'arraybuffer';
      const messages: string[] = [];
      ws.onmessage = (event) =>
        messages.push(typeof event.data === 'string' ? `text ${event.data}` : `binary ${Array.from(new Uint8Array(event.data as ArrayBuffer)).join(',')}`);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('Chromium could not connect'));
      });
      ws.send('héllo from Chromium');
      ws.send(new Uint8Array([1, 2, 3, 250]));
      ws.send('x'.repeat(70000));
      await new Promise<void>((resolve) => {
        const check = () => (messages.length === 3 ? resolve() : setTimeout(check, 10));
        check();
      });
      const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
        ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      });
      ws.close(1000, 'bye');
      return { protocol: ws.protocol, extensions: ws.extensions, messages: messages.map((m) => m.slice(0, 40)), close: await closed };
    }, url);
    const record = lastRecord();
    expect(record.request.headers['sec-websocket-extensions']).toMatch(/permessage-deflate/);
    // Declined: no Sec-WebSocket-Extensions in the 101 response (RFC 6455 §9.1).
    expect(record.responseHeaders.length).toBeGreaterThan(0);
    expect(record.responseHeaders.some((line) => /^sec-websocket-extensions:/i.test(line))).toBe(false);
    expect(result.extensions).toBe('');
    expect(result.protocol).toBe('chat.v2');
    expect(result.messages).toEqual(['text héllo from Chromium', 'binary 1,2,3,250', `text ${'x'.repeat(35)}`]);
    // The server's echo of the close carries the code (§5.5.1) and the reason.
    expect(result.close).toEqual({ code: 1000, reason: 'bye', wasClean: true });
    expect(await record.closed).toEqual({ code: 1000, reason: 'bye' });
    expect(record.received.map((message) => [message.size, message.binary])).toEqual([
      [Buffer.byteLength('héllo from Chromium'), false],
      [4, true],
      [70000, false],
    ]);
  });
});

describe('the browser session', () => {
  it('saw no uncaught error in any page or worker', () => {
    // Chromium reports the refused handshake on the console itself: that one is expected.
    expect(browser().session.errors.filter((error) => !error.includes('/refused'))).toEqual([]);
  });
});
