/**
 * Chromium (Debian's, through playwright-core) and our server over TLS: a page loaded over
 * HTTP/2 opens its WebSocket on that same HTTP/2 connection, as an extended CONNECT stream
 * (RFC 8441) — no flag needed in this Chromium — and, from the same kind of page, over a
 * separate HTTP/1.1 connection when the server does not enable the extended CONNECT. A browser
 * that is missing or does not start fails these tests, never skips them.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../scripts/browser/chromium.js';
import { type WebSocket, WebSocketServer } from '../../src/node.js';
import { withTimeout } from '../interop/events.js';
import { selfSignedCertificate, STEP_MS } from './helpers.js';

const PAGE = '<!doctype html><title>wasmsocket over HTTP/2</title>';

/** A TLS server (ALPN h2 and HTTP/1.1) that serves the page on every GET, and the sessions its GETs came on. */
async function pageServer(): Promise<{ server: Http2SecureServer; port: number; pageSessions: Set<Http2Session> }> {
  const server = createSecureServer({ ...selfSignedCertificate(), allowHTTP1: true });
  const pageSessions = new Set<Http2Session>();
  server.on('stream', (stream, headers) => {
    if (headers[':method'] !== 'GET') return;
    if (stream.session !== undefined) pageSessions.add(stream.session);
    stream.respond({ ':status': 200, 'content-type': 'text/html; charset=utf-8' });
    stream.end(PAGE);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, pageSessions };
}

/** The server's side of `exchangeInPage`: echo, and close with 4000 when asked. */
function echoUntilAskedToClose(ws: WebSocket): void {
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.toString() === 'close me') ws.close(4000, 'as asked');
    else ws.send(data, { binary: isBinary });
  });
}

/** What the page's WebSocket saw: its echo of a text and a binary message, then its close. */
function exchangeInPage(page: Page, url: string): Promise<{ text: string; binary: number[]; close: [number, string, boolean] }> {
  return page.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        const ws = new globalThis.WebSocket(url);
        ws.binaryType = 'arraybuffer';
        const received: unknown[] = [];
        ws.onopen = () => {
          ws.send('hello from the page');
          ws.send(new Uint8Array([1, 2, 3, 250]));
        };
        ws.onmessage = (event) => {
          received.push(event.data);
          if (received.length === 2) ws.send('close me');
        };
        ws.onerror = () => reject(new Error('the page WebSocket failed'));
        ws.onclose = (event) =>
          resolve({ text: received[0] as string, binary: [...new Uint8Array(received[1] as ArrayBuffer)], close: [event.code, event.reason, event.wasClean] });
      }),
    url,
  );
}

describe('Chromium', () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'wasmsocket-chromium-h2-'));
    // The test certificate is self-signed: the browser is told to accept it.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      ignoreHTTPSErrors: true,
      args: [...CHROMIUM_FLAGS, '--ignore-certificate-errors'],
    });
  });
  afterAll(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  });

  it(`opens a page's WebSocket as an extended CONNECT on the page's own HTTP/2 connection`, async () => {
    const { server, port, pageSessions } = await pageServer();
    const wss = new WebSocketServer({ server });
    const connected = withTimeout(
      new Promise<{ ws: WebSocket; session: Http2Session | undefined }>((resolve) =>
        wss.once('connection', (ws: WebSocket, request: IncomingMessage) => resolve({ ws, session: (request as unknown as { stream: { session?: Http2Session } }).stream.session })),
      ),
      'the WebSocket from the page',
      STEP_MS,
    );
    wss.on('connection', echoUntilAskedToClose);
    const page = await context.newPage();
    try {
      await page.goto(`https://localhost:${port}/`);
      const outcome = exchangeInPage(page, `wss://localhost:${port}/chat`);
      const { ws, session } = await connected;
      expect(ws.httpVersion).toBe('2');
      // The stream is on the session that carried the page: no new connection for the WebSocket.
      expect(session).toBeDefined();
      expect(pageSessions.has(session!)).toBe(true);
      expect(await withTimeout(outcome, 'the page to finish', STEP_MS)).toEqual({ text: 'hello from the page', binary: [1, 2, 3, 250], close: [4000, 'as asked', true] });
    } finally {
      await page.close();
      wss.close();
      server.close();
    }
  });

  it('opens it over HTTP/1.1 from the same page when the server does not enable the extended CONNECT', async () => {
    const { server, port } = await pageServer();
    // Only HTTP/1.1 upgrades are taken: the server never sends SETTINGS_ENABLE_CONNECT_PROTOCOL.
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request: IncomingMessage, socket, head) => wss.handleUpgrade(request, socket as never, head, (ws) => wss.emit('connection', ws, request)));
    const versions: string[] = [];
    wss.on('connection', (ws: WebSocket) => {
      versions.push(ws.httpVersion);
      echoUntilAskedToClose(ws);
    });
    const page = await context.newPage();
    try {
      await page.goto(`https://localhost:${port}/`);
      expect(await withTimeout(exchangeInPage(page, `wss://localhost:${port}/chat`), 'the page to finish', STEP_MS)).toEqual({
        text: 'hello from the page',
        binary: [1, 2, 3, 250],
        close: [4000, 'as asked', true],
      });
      expect(versions).toEqual(['1.1']);
    } finally {
      await page.close();
      wss.close();
      server.close();
    }
  });
});
