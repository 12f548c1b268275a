/**
 * An independent peer: Debian's Python `h2` and `wsproto` (python3-h2, python3-wsproto), whose
 * HTTP/2 framing, HPACK and WebSocket framing we did not write, as a client against our server
 * and as a server for our client, over h2c and TLS.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createH2cServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { EventQueue, type PeerEvent, withTimeout } from '../interop/events.js';
import { closed, type H2Fixture, nextMessage, opened, selfSignedCertificate, startH2Server, STEP_MS } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const SCRIPTS = fileURLToPath(new URL('./python/', import.meta.url));

/** Files holding the test certificate, for Python's ssl module. */
let certDir = '';
function certFiles(): { cert: string; key: string } {
  if (certDir === '') {
    certDir = mkdtempSync(join(tmpdir(), 'wasmsocket-h2-py-'));
    const { cert, key } = selfSignedCertificate();
    writeFileSync(join(certDir, 'cert.pem'), cert);
    writeFileSync(join(certDir, 'key.pem'), key);
  }
  return { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem') };
}

/** Run the Python client to its end; its JSON lines. Fails (never skips) without h2 and wsproto. */
function runClient(port: number, secure: boolean, scenario: string): Promise<PeerEvent[]> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPTS + 'h2_client.py', '127.0.0.1', String(port), secure ? certFiles().cert : '-', scenario], { cwd: SCRIPTS, timeout: 30_000 }, (error, stdout, stderr) => {
      const events = stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as PeerEvent);
      if (error !== null) reject(new Error(`h2_client.py ${scenario} failed: ${stderr.slice(-2000) || error.message}; output: ${stdout.slice(-2000)}`));
      else resolve(events);
    });
  });
}

/** The Python server, running until `stop`. */
class PythonServer {
  readonly events = new EventQueue<PeerEvent>();
  readonly #process: ChildProcessWithoutNullStreams;
  #stderr = '';

  constructor(secure: boolean) {
    const files = secure ? certFiles() : null;
    this.#process = spawn(PYTHON, [SCRIPTS + 'h2_server.py', ...(files === null ? [] : [files.cert, files.key])], { cwd: SCRIPTS, stdio: 'pipe' });
    this.#process.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr = (this.#stderr + chunk).slice(-4000)));
    createInterface({ input: this.#process.stdout }).on('line', (line) => this.events.push(JSON.parse(line) as PeerEvent));
    this.#process.on('exit', (code) => this.events.end(new Error(`h2_server.py exited with ${code}: ${this.#stderr}`)));
  }

  next(name: string): Promise<PeerEvent> {
    return this.events.next(`the Python server's "${name}" event`, (event) => event.event === name, STEP_MS);
  }

  async stop(): Promise<void> {
    this.#process.kill();
    await once(this.#process, 'exit');
  }
}

describe.each(['h2c', 'tls'] as const)('Python h2 + wsproto (%s)', (transport) => {
  const secure = transport === 'tls';

  describe('as a client of our server', () => {
    let fixture: H2Fixture;
    beforeAll(async () => {
      fixture = await startH2Server(transport, { protocols: ['chat'], allowedOrigins: ['http://www.example.com'] });
      fixture.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    });
    afterAll(() => fixture.close());

    it('§3 §5 three WebSockets on one connection, after SETTINGS_ENABLE_CONNECT_PROTOCOL: 200 without Sec-WebSocket-Accept, echoes, pongs, and the closing handshake ending each stream', async () => {
      const events = await runClient(fixture.port, secure, 'echo');
      expect(events.find((event) => event.event === 'settings')).toMatchObject({ enable_connect_protocol: 1, max_concurrent_streams: 100 });
      const responses = events.filter((event) => event.event === 'response');
      expect(responses).toHaveLength(3);
      for (const response of responses) {
        expect(response.status).toBe(200);
        const headers = response.headers as Record<string, string[]>;
        expect(headers['sec-websocket-protocol']).toEqual(['chat']);
        expect(headers['sec-websocket-accept']).toBeUndefined();
      }
      const streams = events.filter((event) => event.event === 'stream');
      expect(streams).toHaveLength(3);
      for (const stream of streams) {
        expect(stream.messages).toEqual([{ text: `hello ${String(stream.stream)}` }, { binary: 70_000, intact: true }, { text: 'fragmented' }]);
        expect(stream.pongs).toEqual(['are you there']);
        expect(stream.closed).toEqual([1000, 'done']);
        expect(stream.ended).toBe(true);
      }
    });

    it('§4 §5 malformed extended CONNECTs get the RFC answer, one stream each, and the session survives them', async () => {
      const events = await runClient(fixture.port, secure, 'malformed');
      const cases = Object.fromEntries(events.filter((event) => event.event === 'case').map((event) => [event.name, event]));
      // Ours (RFC 8441 §4, §5 and the RFC 6455 rules they keep): HTTP statuses on the stream.
      expect(cases['no :protocol']).toMatchObject({ status: 400 });
      expect(cases[':protocol chat']).toMatchObject({ status: 501 });
      expect(cases['version 8']).toMatchObject({ status: 426, headers: { 'sec-websocket-version': ['13'] } });
      expect(cases['no version']).toMatchObject({ status: 400 });
      expect(cases['origin refused']).toMatchObject({ status: 403 });
      expect(cases['bad extensions']).toMatchObject({ status: 400 });
      // Malformed HTTP/2 requests (RFC 7540 §8.1.2.6, RFC 8441 §4: :scheme, :path and
      // :authority are required with :protocol; no connection-specific fields): a stream error
      // PROTOCOL_ERROR, from Node's HTTP/2 layer before the request reaches us.
      const PROTOCOL_ERROR = 1;
      expect(cases['no :path']).toMatchObject({ reset: PROTOCOL_ERROR });
      expect(cases['no :authority']).toMatchObject({ reset: PROTOCOL_ERROR });
      expect(cases['no :scheme']).toMatchObject({ reset: PROTOCOL_ERROR });
      expect(cases['connection header']).toMatchObject({ reset: PROTOCOL_ERROR });
      expect(cases['valid after']).toMatchObject({ status: 200 });
    });

  });

  describe('as a server for our client', () => {
    let python: PythonServer;
    let url = '';
    beforeAll(async () => {
      python = new PythonServer(secure);
      const listening = await python.next('listening');
      url = `${secure ? 'wss://localhost' : 'ws://127.0.0.1'}:${String(listening.port)}`;
    });
    afterAll(async () => {
      await python.stop();
      if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
      certDir = '';
    });
    const trust = (): object => (secure ? { ca: selfSignedCertificate().cert } : {});

    it('§5 sends a conforming extended CONNECT, exchanges messages, and ends the stream with END_STREAM after the closing handshake', async () => {
      const ws = new WebSocket(`${url}/echo`, ['chat'], { ...trust(), http2: true, perMessageDeflate: false, origin: 'http://www.example.com' });
      const request = python.next('request');
      await opened(ws);
      expect(ws.httpVersion).toBe('2');
      expect(ws.protocol).toBe('chat');
      const { headers } = (await request) as unknown as { headers: Record<string, string[]> };
      expect(headers[':method']).toEqual(['CONNECT']);
      expect(headers[':protocol']).toEqual(['websocket']);
      expect(headers[':scheme']).toEqual([secure ? 'https' : 'http']);
      expect(headers[':path']).toEqual(['/echo']);
      expect(headers[':authority']?.[0]).toMatch(/^(localhost|127\.0\.0\.1):\d+$/);
      expect(headers['sec-websocket-version']).toEqual(['13']);
      expect(headers['sec-websocket-protocol']).toEqual(['chat']);
      expect(headers.origin).toEqual(['http://www.example.com']);
      // RFC 8441 §5: no Sec-WebSocket-Key; no Connection or Upgrade (RFC 7540 §8.1.2.2).
      expect(headers['sec-websocket-key']).toBeUndefined();
      expect(headers.connection).toBeUndefined();
      expect(headers.upgrade).toBeUndefined();
      for (const message of ['hello', Buffer.alloc(200_000, 7)]) {
        ws.send(message);
        const back = await nextMessage(ws);
        expect(typeof message === 'string' ? back.data.toString() : back.data.equals(message)).toBe(typeof message === 'string' ? message : true);
      }
      const pong = withTimeout(once(ws, 'pong'), 'the pong', STEP_MS);
      ws.ping('ping');
      expect(((await pong) as [Buffer])[0].toString()).toBe('ping');
      const done = closed(ws);
      ws.close(1000, 'bye');
      expect(await done).toEqual([1000, 'bye']);
      expect(await python.next('close')).toMatchObject({ code: 1000, reason: 'bye' });
      expect(await python.next('ended')).toMatchObject({ event: 'ended' });
    });

    it('a close from the server, and a stream the server resets, on one session shared by both', async () => {
      const { connect } = await import('node:http2');
      const session = connect(url.replace(/^ws/, 'http'), trust());
      session.on('error', () => {});
      try {
        const closing = new WebSocket(`${url}/close`, { ...trust(), http2: session });
        const reset = new WebSocket(`${url}/reset`, { ...trust(), http2: session });
        await Promise.all([opened(closing), opened(reset)]);
        const closedByServer = closed(closing);
        closing.send('close me');
        expect(await closedByServer).toEqual([4000, 'python']);
        const resetClosed = closed(reset);
        reset.send('reset me');
        expect((await resetClosed)[0]).toBe(1006);
        // The session outlived both: a third WebSocket opens on it.
        const third = new WebSocket(`${url}/echo`, { ...trust(), http2: session });
        await opened(third);
        third.send('third');
        expect((await nextMessage(third)).data.toString()).toBe('third');
        third.close();
        await closed(third);
        expect(session.closed).toBe(false);
      } finally {
        session.destroy();
      }
    });
  });
});

describe('Python h2 against an HTTP/2 server that did not send SETTINGS_ENABLE_CONNECT_PROTOCOL', () => {
  it('§3 the extended CONNECT is a stream error (RFC 7540 §8.1.2.6), and the session serves the next request', async () => {
    // The setting is what lets :protocol through (RFC 8441 §3); this server never sent it.
    const server = createH2cServer();
    const connects: string[] = [];
    server.on('stream', (stream, headers) => {
      if (headers[':method'] === 'CONNECT') connects.push(String(headers[':path']));
      stream.respond({ ':status': 200 }, { endStream: true });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const events = await runClient((server.address() as AddressInfo).port, false, 'nosetting');
      const cases = Object.fromEntries(events.filter((event) => event.event === 'case').map((event) => [event.name, event]));
      expect(cases['extended CONNECT']).toMatchObject({ reset: 1 });
      expect(cases['GET after']).toMatchObject({ status: 200 });
      expect(connects).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
