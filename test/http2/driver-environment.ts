/**
 * The driver contract's environment over HTTP/2 streams (`Http2StreamBinding`): a
 * `WebSocketServer` on an h2c server and `WebSocket` clients with `http2`, on 127.0.0.1, and raw
 * peers on streams of `node:http2` sessions.
 *
 * The contract speaks the HTTP/1.1 handshake: its raw client writes an upgrade request and
 * reads a 101, its raw server reads a request and writes a 101. Here the raw peers carry that
 * exchange as RFC 8441 carries it and show it back in HTTP/1.1 terms: the request head they are
 * given becomes an extended CONNECT on a new stream (its fields, without Host, Upgrade,
 * Connection and the key, `:authority` for Host), and the answer's `:status` and fields become
 * the head they read (200 shown as `101 Switching Protocols`); a raw server shows the CONNECT
 * it received as the upgrade request it stands for, and answers the 101 it is given as 200.
 * The bytes after the heads are the stream's DATA, unchanged.
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as http2Connect,
  constants,
  createServer as createH2cServer,
  type Http2Server,
  type Http2Stream,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RequestHeadParser, ResponseHeadParser } from '../../src/handshake/http.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { WebSocket, WebSocketServer, type ServerOptions, type WebSocketOptions } from '../../src/node.js';
import type { AcceptedPeer, DriverEnvironment, Face, FaceOptions, RawPeer } from '../adapters/driver/environment.js';
import { whenOpen } from '../adapters/driver/node-environment.js';
import { closeOpened, InboxPeer } from '../adapters/driver/wire.js';
import { EventQueue, withTimeout } from '../interop/events.js';

/** Fields of an HTTP/1.1 upgrade that HTTP/2 has no place for (RFC 8441 §5, RFC 7540 §8.1.2.2). */
const HTTP1_ONLY = new Set(['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-accept']);

/** The key a raw server shows in the request it stands for (the CONNECT carries none). */
const SHOWN_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A raw peer on one HTTP/2 stream. */
abstract class StreamPeer extends InboxPeer implements RawPeer {
  protected stream: Http2Stream | null = null;

  /** Read `stream` from now on: its DATA goes to the inbox after the head. */
  protected bind(stream: Http2Stream): void {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => this.inbox.push(chunk));
    // As a TCP socket without allowHalfOpen does: the peer's END_STREAM ends ours.
    stream.once('end', () => stream.end());
    stream.on('error', () => {});
    stream.once('close', () => this.closedNow());
  }

  get unsent(): number {
    return this.stream?.writableLength ?? 0;
  }

  /** Write `chunk` on the stream (after the head, which subclasses translate). */
  protected writeData(chunk: Uint8Array): Promise<void> {
    const stream = this.stream;
    return new Promise((resolve) => {
      if (stream === null || stream.destroyed || stream.writableEnded) resolve();
      else stream.write(chunk, () => resolve());
    });
  }

  abstract write(chunk: Uint8Array): Promise<void>;

  async deliver(chunk: Uint8Array): Promise<void> {
    await this.write(chunk);
    await nextTurn();
    await nextTurn();
  }

  pause(): void {
    this.stream?.pause();
  }
  resume(): void {
    this.stream?.resume();
  }
  end(): void {
    this.stream?.end();
  }
  /** Vanish: RST_STREAM CANCEL, the stream's way of dropping the connection (RFC 8441 §5). */
  destroy(): void {
    const stream = this.stream;
    if (stream !== null && !stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    else if (stream === null) this.closedNow();
  }
}

/** A raw client: the upgrade request it writes goes out as an extended CONNECT on a new stream of `session`. */
class RawClient extends StreamPeer {
  readonly #session: ClientHttp2Session;
  readonly #id: string;
  readonly #parser = new RequestHeadParser();

  constructor(session: ClientHttp2Session, id: string) {
    super();
    this.#session = session;
    this.#id = id;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.stream !== null) return this.writeData(chunk);
    const result = this.#parser.push(chunk);
    if (!result.done) return Promise.resolve();
    const { head, rest } = result;
    // A request without Upgrade stands for a CONNECT without :protocol: a tunnel, not a WebSocket.
    const headers: Record<string, string | string[]> = head.headers.has('Upgrade')
      ? { ':method': 'CONNECT', ':protocol': 'websocket', ':path': head.target, 'x-peer': this.#id }
      : { ':method': 'CONNECT', ':authority': head.headers.get('Host') ?? '127.0.0.1', 'x-peer': this.#id };
    for (const [name, value] of head.headers) {
      const lower = name.toLowerCase();
      if (!HTTP1_ONLY.has(lower)) headers[lower] = value;
    }
    const stream: ClientHttp2Stream = this.#session.request(headers, { endStream: false });
    this.bind(stream);
    stream.once('response', (response) => {
      const status = Number(response[':status']);
      const lines = [status === 200 ? 'HTTP/1.1 101 Switching Protocols' : `HTTP/1.1 ${status} Refused`];
      for (const [name, value] of Object.entries(response)) if (!name.startsWith(':')) lines.push(`${name}: ${String(value)}`);
      this.inbox.push(utf8Encode(`${lines.join('\r\n')}\r\n\r\n`));
    });
    return rest.length > 0 ? this.writeData(rest) : Promise.resolve();
  }
}

/** A raw server's side of one extended CONNECT: the 101 it is given is answered as 200. */
class RawServer extends StreamPeer {
  readonly #parser = new ResponseHeadParser();
  #answered = false;

  constructor(stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>) {
    super();
    this.bind(stream);
    const lines = [`GET ${String(headers[':path'])} HTTP/1.1`, `Host: ${String(headers[':authority'])}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${SHOWN_KEY}`];
    for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':') && value !== undefined) lines.push(`${name}: ${String(value)}`);
    this.inbox.push(utf8Encode(`${lines.join('\r\n')}\r\n\r\n`));
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#answered) return this.writeData(chunk);
    const result = this.#parser.push(chunk);
    if (!result.done) return Promise.resolve();
    this.#answered = true;
    const { head, rest } = result;
    const response: Record<string, string | number> = { ':status': head.status === 101 ? 200 : head.status };
    for (const [name, value] of head.headers) {
      const lower = name.toLowerCase();
      if (!HTTP1_ONLY.has(lower)) response[lower] = value;
    }
    const stream = this.stream as ServerHttp2Stream;
    if (!stream.destroyed && !stream.closed) stream.respond(response);
    return rest.length > 0 ? this.writeData(rest) : Promise.resolve();
  }
}

function serverOptions(options: FaceOptions): Omit<ServerOptions, 'server'> {
  const { deflate = false, ...rest } = options;
  return { ...rest, perMessageDeflate: deflate ? { threshold: 0 } : false };
}

function clientOptions(options: FaceOptions, session: ClientHttp2Session | true): WebSocketOptions {
  const { deflate = false, ...rest } = options;
  return { ...rest, perMessageDeflate: deflate ? { threshold: 0 } : false, http2: session };
}

async function listen(server: Http2Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export function http2Environment(): DriverEnvironment {
  interface Served {
    readonly server: Http2Server;
    readonly wss: WebSocketServer;
    readonly port: number;
    readonly session: ClientHttp2Session;
  }
  const servers = new Map<string, Promise<Served>>();
  let rawServer: Promise<{ server: Http2Server; port: number; accepted: EventQueue<RawServer> }> | null = null;
  const opened: Array<{ terminate(): void } | { close(): void }> = [];
  const peers: RawPeer[] = [];
  const detach: Array<() => void> = [];
  let nextPeer = 0;

  function serverFor(options: FaceOptions): Promise<Served> {
    const key = JSON.stringify(options);
    let served = servers.get(key);
    if (served === undefined) {
      const server = createH2cServer();
      const wss = new WebSocketServer({ ...serverOptions(options), server });
      served = listen(server).then(async (port) => {
        const session = http2Connect(`http://127.0.0.1:${port}`);
        session.on('error', () => {});
        session.setMaxListeners(0);
        await once(session, 'connect');
        return { server, wss, port, session };
      });
      servers.set(key, served);
    }
    return served;
  }

  function connectionFrom(wss: WebSocketServer, id: string, setup: ((ws: Face) => void) | undefined): Promise<Face> {
    return new Promise((resolve) => {
      const onConnection = (ws: WebSocket, request: IncomingMessage): void => {
        if (request.headers['x-peer'] !== id) return;
        wss.off('connection', onConnection);
        opened.push(ws);
        setup?.(ws);
        resolve(ws);
      };
      wss.on('connection', onConnection);
      detach.push(() => wss.off('connection', onConnection));
    });
  }

  async function startRawServer(): Promise<{ server: Http2Server; port: number; accepted: EventQueue<RawServer> }> {
    const accepted = new EventQueue<RawServer>();
    const server = createH2cServer({ settings: { enableConnectProtocol: true } });
    server.on('stream', (stream, headers) => {
      const peer = new RawServer(stream, headers);
      peers.push(peer);
      accepted.push(peer);
    });
    return { server, port: await listen(server), accepted };
  }

  return {
    name: 'HTTP/2 streams',

    async pair(client = {}, server = {}) {
      const { wss, port, session } = await serverFor(server);
      const serverSide = new Promise<Face>((resolve) => {
        wss.once('connection', (ws: WebSocket) => {
          opened.push(ws);
          resolve(ws);
        });
      });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, clientOptions(client, session));
      opened.push(ws);
      await whenOpen(ws);
      return { client: ws, server: await withTimeout(serverSide, 'the server-side socket', 5000) };
    },

    async acceptRaw(options = {}, setup): Promise<AcceptedPeer> {
      const { wss, session } = await serverFor(options);
      const id = String(nextPeer++);
      const peer = new RawClient(session, id);
      peers.push(peer);
      return { peer, opened: connectionFrom(wss, id, setup), early: null };
    },

    async connectRaw(options = {}) {
      rawServer ??= startRawServer();
      const { port, accepted } = await rawServer;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, clientOptions(options, true));
      opened.push(ws);
      const peer = await accepted.next('the client to connect', undefined, 5000);
      await withTimeout(peer.head, 'the opening request', 5000);
      return { ws, peer };
    },

    faces: [
      { name: 'WebSocket (client over HTTP/2)', create: (options) => new WebSocket('ws://127.0.0.1:9/', clientOptions(options, true)) },
      { name: 'WebSocketServer (on an HTTP/2 server)', create: (options) => new WebSocketServer({ ...serverOptions(options), noServer: true }) },
    ],

    async cleanup() {
      closeOpened(detach, opened, peers);
    },

    async dispose() {
      for (const served of servers.values()) {
        const { server, wss, session } = await served;
        session.destroy();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      servers.clear();
      if (rawServer !== null) {
        const { server } = await rawServer;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
