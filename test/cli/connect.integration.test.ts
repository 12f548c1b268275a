/**
 * `wasmsocket connect` as a process, with piped stdin, against a `ws` server in this process
 * that records what the command sent: messages, commands, the closing handshake, the options
 * that shape the opening request, clear errors with the documented exit statuses, and stdout
 * holding nothing but the messages received (status lines go to stderr). wss: with a
 * self-signed certificate is refused unless --insecure says otherwise.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket as WsSocket, WebSocketServer as WsServer } from 'ws';
import { EventQueue, withTimeout } from '../interop/events.js';
import { CliProcess, runCli } from './cli-process.js';

interface ServerEvent {
  readonly event: 'connection' | 'message' | 'ping' | 'pong' | 'close';
  readonly socket: WsSocket;
  readonly request?: IncomingMessage;
  readonly data?: string;
  readonly isBinary?: boolean;
  readonly code?: number;
  readonly reason?: string;
}

interface RecordingServer {
  readonly port: number;
  readonly events: EventQueue<ServerEvent>;
  next(event: ServerEvent['event']): Promise<ServerEvent>;
}

const servers: WsServer[] = [];
const httpsServers: HttpsServer[] = [];
const processes: CliProcess[] = [];

afterEach(async () => {
  await Promise.all(processes.splice(0).map((cli) => cli.stop()));
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    server.close();
  }
  await Promise.all(httpsServers.splice(0).map((https) => new Promise((resolve) => https.close(resolve))));
});

/** A `ws` server that echoes and records; `options` go to its constructor. */
async function startServer(options: ConstructorParameters<typeof WsServer>[0] = {}): Promise<RecordingServer> {
  const server = new WsServer(options.server === undefined ? { host: '127.0.0.1', port: 0, ...options } : options);
  servers.push(server);
  const events = new EventQueue<ServerEvent>();
  server.on('connection', (socket, request) => {
    events.push({ event: 'connection', socket, request });
    socket.on('message', (data: Buffer, isBinary) => {
      events.push({ event: 'message', socket, data: data.toString(), isBinary });
      socket.send(data, { binary: isBinary });
    });
    socket.on('ping', (data) => events.push({ event: 'ping', socket, data: data.toString() }));
    socket.on('pong', (data) => events.push({ event: 'pong', socket, data: data.toString() }));
    socket.on('close', (code, reason) => events.push({ event: 'close', socket, code, reason: reason.toString() }));
  });
  if (options.server === undefined) await withTimeout(new Promise((resolve) => server.once('listening', resolve)), 'the test server to listen');
  return {
    port: ((options.server ?? server).address() as AddressInfo).port,
    events,
    next: (event) => events.next(`the server's "${event}" event`, (recorded) => recorded.event === event),
  };
}

/** The recording server over https on 127.0.0.1, with the committed self-signed certificate (CN localhost, IP 127.0.0.1). */
async function startTlsServer(): Promise<RecordingServer> {
  const fixtures = new URL('../fixtures/', import.meta.url);
  const https = createHttpsServer({ cert: readFileSync(new URL('tls-cert.pem', fixtures)), key: readFileSync(new URL('tls-key.pem', fixtures)) });
  httpsServers.push(https);
  await withTimeout(new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve)), 'the https server to listen');
  return startServer({ server: https });
}

function connectCli(args: readonly string[]): CliProcess {
  const cli = new CliProcess(['connect', ...args]);
  processes.push(cli);
  return cli;
}

describe('wasmsocket connect', () => {
  it('sends piped lines as text messages, prints the replies, closes when stdin ends and exits 0', async () => {
    const server = await startServer();
    const exit = await runCli(['connect', `ws://127.0.0.1:${server.port}/chat`], 'first line\nsecond, with ✓ in it\n\n//starts with a slash\n');
    expect(exit.code).toBe(0);
    // stdout: the messages and nothing else, ready for a pipe; stderr: the connection's story.
    expect(exit.stdout.split('\n')).toEqual(['< first line', '< second, with ✓ in it', '< ', '< /starts with a slash', '']);
    expect(exit.stderr.split('\n')).toEqual([`connected to ws://127.0.0.1:${server.port}/chat`, 'closed: 1000', '']);
    const received = server.events.all().filter((event) => event.event === 'message');
    expect(received.map(({ data, isBinary }) => ({ data, isBinary }))).toEqual([
      { data: 'first line', isBinary: false },
      { data: 'second, with ✓ in it', isBinary: false },
      { data: '', isBinary: false },
      { data: '/starts with a slash', isBinary: false },
    ]);
    expect(await server.next('close')).toMatchObject({ code: 1000, reason: '' });
  });

  it('/ping sends a ping with its data and prints the pong; /pong sends a pong', async () => {
    const server = await startServer();
    const cli = connectCli([`ws://127.0.0.1:${server.port}/`]);
    await cli.errorLine(/^connected to /);
    cli.write('/ping are you there?\n');
    expect(await cli.errorLine(/^< pong/)).toBe('< pong: are you there?');
    expect(await server.next('ping')).toMatchObject({ data: 'are you there?' });
    cli.write('/pong unsolicited\n');
    expect(await server.next('pong')).toMatchObject({ data: 'unsolicited' });
  });

  it('prints binary messages from the server on stdout, and its pings on stderr', async () => {
    const server = await startServer();
    const cli = connectCli([`ws://127.0.0.1:${server.port}/`]);
    await cli.errorLine(/^connected to /);
    const { socket } = await server.next('connection');
    socket.ping('heartbeat');
    expect(await cli.errorLine(/^< ping/)).toBe('< ping: heartbeat');
    socket.send(Buffer.from('hello'), { binary: true });
    expect(await cli.line(/^< binary/)).toBe('< binary, 5 bytes: 68 65 6c 6c 6f');
    socket.send(Buffer.alloc(100, 0xab), { binary: true });
    expect(await cli.line(/^< binary/)).toBe(`< binary, 100 bytes: ${Array(64).fill('ab').join(' ')} …`);
    cli.endInput();
    const exit = await cli.exited();
    expect(exit.stdout.split('\n')).toEqual(['< binary, 5 bytes: 68 65 6c 6c 6f', `< binary, 100 bytes: ${Array(64).fill('ab').join(' ')} …`, '']);
  });

  it('/close sends the code and reason; the command exits 0 once the server answers', async () => {
    const server = await startServer();
    const cli = connectCli([`ws://127.0.0.1:${server.port}/`]);
    await cli.errorLine(/^connected to /);
    cli.write('/close 4000 done for today\n');
    expect(await server.next('close')).toMatchObject({ code: 4000, reason: 'done for today' });
    const exit = await cli.exited();
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/^closed: 4000 done for today$/m);
    expect(exit.stdout).toBe('');
  });

  it('reports a bad command on stderr and carries on', async () => {
    const server = await startServer();
    const cli = connectCli([`ws://127.0.0.1:${server.port}/`]);
    await cli.errorLine(/^connected to /);
    cli.write('/frobnicate\n/close soon\n/help\nstill here\n');
    expect(await cli.line(/^< still here$/)).toBe('< still here');
    cli.endInput();
    const exit = await cli.exited();
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain('error: unknown command /frobnicate');
    expect(exit.stderr).toContain('error: /close takes a numeric code, not "soon"');
    expect(exit.stderr).toMatch(/^commands: \/ping \[data\]/m);
    expect(exit.stdout).toBe('< still here\n');
  });

  it('prints the close code and reason when the server closes, and exits 0 with stdin still open', async () => {
    const server = await startServer();
    const cli = connectCli([`ws://127.0.0.1:${server.port}/`]);
    await cli.errorLine(/^connected to /);
    (await server.next('connection')).socket.close(4001, 'server is done');
    expect(await cli.errorLine(/^closed:/)).toBe('closed: 4001 server is done');
    expect((await cli.exited()).code).toBe(0);
  });

  it('exits 1 when the connection is lost without a closing handshake', async () => {
    const server = await startServer();
    const cli = connectCli([`ws://127.0.0.1:${server.port}/`]);
    await cli.errorLine(/^connected to /);
    (await server.next('connection')).socket.terminate();
    expect(await cli.errorLine(/^closed:/)).toBe('closed: 1006 (connection lost without a closing handshake)');
    expect((await cli.exited()).code).toBe(1);
  });

  it('offers --subprotocol values in order and sends --header and --origin', async () => {
    const server = await startServer({ handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false) });
    const cli = connectCli([
      `ws://127.0.0.1:${server.port}/`,
      '--subprotocol',
      'chat.v1',
      '-s',
      'chat.v2',
      '--header',
      'X-Api-Key: s3cret: with a colon',
      '-H',
      'X-Trace:abc',
      '--origin',
      'https://example.test',
    ]);
    expect(await cli.errorLine(/^connected to /)).toBe(`connected to ws://127.0.0.1:${server.port}/ (subprotocol: chat.v2)`);
    const { request } = await server.next('connection');
    expect(request!.headers['sec-websocket-protocol']).toBe('chat.v1, chat.v2');
    expect(request!.headers['x-api-key']).toBe('s3cret: with a colon');
    expect(request!.headers['x-trace']).toBe('abc');
    expect(request!.headers.origin).toBe('https://example.test');
  });

  it('exits 1 with the status when the server rejects the handshake', async () => {
    const server = await startServer({ verifyClient: (_info, done) => done(false, 403, 'Forbidden') });
    const exit = await runCli(['connect', `ws://127.0.0.1:${server.port}/`]);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^wasmsocket connect: the server rejected the handshake with HTTP 403/);
    expect(exit.stdout).toBe('');
  });

  it('exits 1 when nothing listens on the port', async () => {
    const server = await startServer();
    const port = server.port;
    servers.splice(0).forEach((closing) => closing.close());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const exit = await runCli(['connect', `ws://127.0.0.1:${port}/`]);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toBe(`wasmsocket connect: cannot connect to 127.0.0.1:${port}: connection refused\n`);
  });

  it('refuses a self-signed wss: certificate, naming --insecure, and exits 1', async () => {
    const server = await startTlsServer();
    const exit = await runCli(['connect', `wss://127.0.0.1:${server.port}/`], 'never sent\n');
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^wasmsocket connect: cannot connect to 127\.0\.0\.1:\d+: self[- ]signed certificate \(-k\/--insecure accepts any certificate\)$/m);
    expect(exit.stdout).toBe('');
    expect(server.events.all().filter((event) => event.event === 'connection')).toEqual([]);
  });

  it.each(['--insecure', '-k'])('%s talks to a wss: server with a self-signed certificate', async (flag) => {
    const server = await startTlsServer();
    const exit = await runCli(['connect', `wss://127.0.0.1:${server.port}/secure`, flag], 'over tls\n');
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe('< over tls\n');
    expect(exit.stderr.split('\n')).toEqual([`connected to wss://127.0.0.1:${server.port}/secure`, 'closed: 1000', '']);
    const { request } = await server.next('connection');
    expect((request!.socket as TLSSocket).encrypted).toBe(true);
    expect(await server.next('message')).toMatchObject({ data: 'over tls', isBinary: false });
  });

  it('exits 2 with the usage for a bad URL, a bad header or no URL', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['not a url'], /invalid URL "not a url"/],
      [['ftp://127.0.0.1/'], /the scheme must be ws: or wss:, not ftp:/],
      [['ws://127.0.0.1/#fragment'], /has no fragment/],
      [['ws://127.0.0.1/', '--header', 'no colon'], /--header must look like "Name: value"/],
      [['ws://127.0.0.1/', '--wait', 'soon'], /--wait must be a number of seconds/],
      [[], /missing the URL/],
      [['ws://a/', 'ws://b/'], /expected one URL/],
      [['ws://127.0.0.1/', '--bogus'], /Unknown option '--bogus'/],
    ];
    const exits = await Promise.all(cases.map(([args]) => runCli(['connect', ...args])));
    cases.forEach(([args, message], index) => {
      const exit = exits[index]!;
      expect(exit.code, args.join(' ')).toBe(2);
      expect(exit.stderr).toMatch(message);
      expect(exit.stderr).toContain('Usage: wasmsocket connect <url> [options]');
    });
  });

  it('--help shows the usage and the line commands', async () => {
    const exit = await runCli(['connect', '--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('Usage: wasmsocket connect <url> [options]');
    expect(exit.stdout).toContain('/ping [data]');
    expect(exit.stdout).toContain('/close [code [reason]]');
    expect(exit.stdout).toMatch(/-k, --insecure +accept any TLS certificate/);
  });
});
