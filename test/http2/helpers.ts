/**
 * What the HTTP/2 tests share: a self-signed certificate made with openssl at test time, our
 * `WebSocketServer` attached to a `node:http2` server (h2c, or TLS with ALPN and HTTP/1.1
 * fallback) on 127.0.0.1, client sessions, and bounded waits.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type ClientHttp2Session, connect as http2Connect, createSecureServer, createServer as createH2cServer, type Http2SecureServer, type Http2Server, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerOptions, WebSocket, WebSocketServer, type WebSocketOptions } from '../../src/node.js';
import { withTimeout } from '../interop/events.js';

export const STEP_MS = 10_000;

/** A key and a self-signed certificate for localhost and 127.0.0.1, made now (never checked in). */
export interface Certificate {
  readonly key: string;
  readonly cert: string;
}

let certificate: Certificate | null = null;

export function selfSignedCertificate(): Certificate {
  if (certificate !== null) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'wasmsocket-h2-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyPath, '-out', certPath,
    ], { stdio: 'ignore' });
    certificate = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Transport = 'h2c' | 'tls';

/** Our server on an HTTP/2 server of its own, listening on 127.0.0.1. */
export interface H2Fixture {
  readonly transport: Transport;
  readonly server: Http2Server | Http2SecureServer;
  readonly wss: WebSocketServer;
  readonly port: number;
  /** `ws://127.0.0.1:port` or `wss://localhost:port`. */
  readonly url: string;
  /** The `http2.connect` origin. */
  readonly origin: string;
  /** Client options that trust the certificate (TLS), to spread into `WebSocketOptions`. */
  readonly trust: WebSocketOptions;
  close(): Promise<void>;
}

/** Start an HTTP/2 server (h2c, or TLS with `allowHTTP1`) with our `WebSocketServer` attached. */
export async function startH2Server(transport: Transport, options: Omit<ServerOptions, 'server' | 'port' | 'noServer'> = {}, serverSettings: { enableConnectProtocol?: boolean } = {}): Promise<H2Fixture> {
  const tls = transport === 'tls' ? selfSignedCertificate() : null;
  const server = tls === null ? createH2cServer({ settings: serverSettings }) : createSecureServer({ ...tls, allowHTTP1: true, settings: serverSettings });
  const wss = new WebSocketServer({ ...options, server });
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const url = tls === null ? `ws://127.0.0.1:${port}` : `wss://localhost:${port}`;
  return {
    transport,
    server,
    wss,
    port,
    url,
    origin: url.replace(/^ws/, 'http'),
    trust: tls === null ? {} : { ca: tls.cert },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // Sessions left open by a test must not hold the server open.
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client session to the fixture (trusting its certificate). */
export async function connectSession(fixture: H2Fixture): Promise<ClientHttp2Session> {
  const session = http2Connect(fixture.origin, fixture.transport === 'tls' ? { ca: selfSignedCertificate().cert } : {});
  session.on('error', () => {});
  await withTimeout(once(session, 'connect'), 'the HTTP/2 session to connect', STEP_MS);
  return session;
}

/** Resolve with `ws` once it is open, or fail with what closed it. */
export function opened(ws: WebSocket): Promise<WebSocket> {
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', (error) => reject(error));
      ws.once('close', (code) => reject(new Error(`closed (${code}) before it opened`)));
    }),
    'the WebSocket to open',
    STEP_MS,
  );
}

/** The next server-side socket of `wss`. */
export function nextConnection(wss: WebSocketServer): Promise<WebSocket> {
  return withTimeout(new Promise((resolve) => wss.once('connection', (ws: WebSocket) => resolve(ws))), 'the server-side socket', STEP_MS);
}

/** Resolve with `[code, reason]` once `ws` closes. */
export function closed(ws: WebSocket): Promise<[number, string]> {
  return withTimeout(
    new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))),
    'the close',
    STEP_MS,
  );
}

/** The next message `ws` receives. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return withTimeout(
    new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))),
    'a message',
    STEP_MS,
  );
}
