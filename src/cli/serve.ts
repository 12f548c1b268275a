/**
 * `wasmsocket serve`: an echo and broadcast server with a small page to try it from a browser.
 *
 *   /           the page (src/cli/page.ts): connects to /broadcast, sends what is typed, shows
 *               every message, which worker and node it came through, and the number of
 *               connected clients
 *   /echo       echoes every message, text as text and binary as binary
 *   /broadcast  every client subscribes to the topic `broadcast`; every text message is
 *               published to it as a JSON event (`BroadcastEvent`), every binary message as it is
 *
 * With `--workers N` the primary forks N node:cluster workers that share the listening socket
 * and carry the broadcast topic between them on a `ClusterBus`. With `--redis URL` every
 * server (every worker, with `--workers`) is a node of a `RedisBus` instead, so the topic
 * reaches the clients of every `serve` behind the same Redis, on this machine or another.
 *
 * Backpressure: the echo stops reading from a client while its echoes wait to be written
 * (`send` returned false) and reads again on 'drain', so a client that sends faster than it
 * reads cannot grow the server's memory. A broadcast cannot wait for its slowest listener
 * without stalling everyone else, so a listener whose backlog passes `BROADCAST_BACKLOG_LIMIT`
 * is closed with 1008 (`maxBufferedAmount`).
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { type Bus, ClusterBus, WebSocket, WebSocketServer } from '../node.js';
import { CommandError, type CommandIo, ExitStatus, parseCommandLine, UsageError, writeLine } from './args.js';
import { SERVE_PAGE } from './page.js';

/** `wasmsocket serve --help`. */
/**
 * Socket errors after an upgrade are reported through the WebSocket; this listener only keeps
 * them from being uncaught. Module-level, so it holds no reference to a request.
 */
const ignoreSocketError = (): void => {};

export const SERVE_HELP = `Usage: wasmsocket serve [--port <port>] [--host <host>] [--workers <n>] [--redis <url>]

Run an echo and broadcast WebSocket server, with a page at / to try it from a browser.

  /           a page that connects to /broadcast, sends what you type and shows every
              message, the worker and node it came through, and how many clients are connected
  /echo       echoes every message back: text as text, binary as binary
  /broadcast  publishes every text message to every connected client (topic "broadcast")
              as a JSON event, each saying which worker and node sent it (the node is the
              host name; with --redis, <host name>:<process id of the serve>):
                {"type":"welcome","id":1,"clients":2,"worker":1,"node":"h"}  to a client that joined
                {"type":"clients","clients":2,"worker":1,"node":"h"}  when a worker's count changes
                {"type":"message","from":1,"text":"…","worker":1,"node":"h"}  to everyone
              and every binary message unchanged

Options:
  -p, --port <port>    port to listen on, 0 for any free port (default 8080)
  -H, --host <host>    address to listen on (default 127.0.0.1)
  -w, --workers <n>    run n node:cluster workers sharing the port (1–${256}, default 1);
                       a message published in any worker reaches the clients of all
  --redis <url>        carry the broadcast through Redis (redis://host:port, rediss:// for
                       TLS), so it reaches the clients of every serve using the same Redis
                       and prefix; needs the redis package (npm install redis); each
                       server (each worker) is then a node of its own on Redis
  --redis-prefix <p>   the start of the Redis channel names (default "wasmsocket:")
  -h, --help           show this help

It prints the URL it listens on. SIGINT (Ctrl+C) or SIGTERM closes every connection with
1001 (going away) and exits.
`;

/** The port `serve` listens on unless told otherwise. */
export const DEFAULT_PORT = 8080;

/** The address `serve` listens on unless told otherwise: loopback, so nothing is exposed by default. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * The most bytes a broadcast listener may have waiting to be written before it is closed:
 * 16 MiB is a few seconds of a fast relay, far beyond any listener that is merely busy.
 */
export const BROADCAST_BACKLOG_LIMIT = 16 * 1024 * 1024;

/** How long clients get to complete the closing handshake at shutdown before they are cut off. */
export const SHUTDOWN_GRACE_MS = 3000;

/** The most workers `--workers` starts. */
export const MAX_WORKERS = 256;

/** The topic every /broadcast client subscribes to. */
export const BROADCAST_TOPIC = 'broadcast';

/** Where an event comes from: the cluster worker (0 without workers) and the node (its host name). */
interface Origin {
  readonly worker: number;
  readonly node: string;
}

/** The JSON events of /broadcast. */
export type BroadcastEvent =
  | ({ readonly type: 'welcome'; readonly id: number; readonly clients: number } & Origin)
  | ({ readonly type: 'clients'; readonly clients: number } & Origin)
  | ({ readonly type: 'message'; readonly from: number; readonly text: string } & Origin);

/** What to listen on. */
export interface ListenOptions {
  readonly port: number;
  readonly host: string;
}

/** What to listen on, how many workers serve it, and the Redis that joins it to other servers. */
export interface ServeOptions extends ListenOptions {
  readonly workers: number;
  readonly redis?: { readonly url: string; readonly prefix: string };
}

/** The channel prefix `--redis` uses unless told otherwise (RedisBus's own default). */
export const DEFAULT_REDIS_PREFIX = 'wasmsocket:';

/** A running `serve` server. */
export interface RunningServer {
  /** The page's URL, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** The port actually listened on (the chosen one when asked for port 0). */
  readonly port: number;
  /** Close every client with 1001, wait for them (at most `SHUTDOWN_GRACE_MS`), stop listening. */
  close(): Promise<void>;
  /** Cut every connection at once and stop listening. */
  terminate(): void;
}

/** The URL form of `host` (IPv6 addresses in brackets, RFC 3986 §3.2.2). */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A listening error, in words. */
function describeListenError(error: NodeJS.ErrnoException, options: ListenOptions): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${options.port} is already in use on ${options.host}`;
    case 'EACCES':
      return `not allowed to listen on port ${options.port} on ${options.host} (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `${options.host} is not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${options.host}`;
    default:
      return `cannot listen on ${options.host}:${options.port}: ${error.message}`;
  }
}

/** Answer a plain HTTP request: the page at /, 426 at the WebSocket paths, 404 elsewhere. */
function answerHttp(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const known = path === '/' || path === '/echo' || path === '/broadcast';
  if (known && request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
  } else if (path === '/') {
    const body = Buffer.from(SERVE_PAGE, 'utf8');
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  } else if (known) {
    // RFC 7231 §6.5.15: 426 names the protocol to switch to.
    response.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain; charset=utf-8' }).end(`${path} is a WebSocket endpoint\n`);
  } else {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  }
}

/** Refuse an upgrade with `status` before any WebSocket handshake. */
function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Echo every message of `ws`, pausing reads while the echoes wait to be written. */
function serveEcho(ws: WebSocket): void {
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const below = ws.send(data, { binary: isBinary }) as unknown;
    if (below === false) ws.pause();
  });
  ws.on('drain', () => ws.resume());
}

/** /broadcast on the topic `broadcast`: its members' ids, and the events they publish. */
class BroadcastRoom {
  readonly #wss: WebSocketServer;
  readonly #origin: Origin;
  #lastId = 0;

  constructor(wss: WebSocketServer, origin: Origin) {
    this.#wss = wss;
    this.#origin = origin;
  }

  join(ws: WebSocket): void {
    const id = ++this.#lastId;
    ws.subscribe(BROADCAST_TOPIC);
    const clients = this.#wss.subscribers(BROADCAST_TOPIC);
    ws.send(JSON.stringify({ type: 'welcome', id, clients, ...this.#origin } satisfies BroadcastEvent));
    this.#publishEvent({ type: 'clients', clients, ...this.#origin }, ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#wss.publish(BROADCAST_TOPIC, data, { binary: true });
      else this.#publishEvent({ type: 'message', from: id, text: data.toString('utf8'), ...this.#origin });
    });
    // The socket left the topic as it closed.
    ws.on('close', () => this.#publishEvent({ type: 'clients', clients: this.#wss.subscribers(BROADCAST_TOPIC), ...this.#origin }));
  }

  #publishEvent(event: BroadcastEvent, except?: WebSocket): void {
    this.#wss.publish(BROADCAST_TOPIC, JSON.stringify(event), { except });
  }
}

/**
 * Start the server; rejects with a `CommandError` saying why it cannot listen. `node` is the
 * name its broadcast events carry (the host name unless told otherwise).
 */
export async function startServer(options: ListenOptions, bus?: Bus, node = hostname()): Promise<RunningServer> {
  const http: Server = createServer(answerHttp);
  // A broadcast cannot wait for its slowest listener: one that falls 16 MiB behind is closed (1008).
  const wss = new WebSocketServer({ noServer: true, bus, maxBufferedAmount: BROADCAST_BACKLOG_LIMIT });
  const room = new BroadcastRoom(wss, { worker: cluster.worker?.id ?? 0, node });
  const connections = new Set<WebSocket>();
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    connections.add(ws);
    ws.on('close', () => connections.delete(ws));
    ws.on('error', () => {
      // A peer's protocol error closes its connection (with the right code); nothing else to do.
    });
    if (new URL(request.url ?? '/', 'http://localhost').pathname === '/echo') serveEcho(ws);
    else room.join(ws);
  });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', ignoreSocketError);
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/echo' && path !== '/broadcast') {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  http.on('clientError', (_error, socket: Duplex) => {
    if (socket.writable) refuseUpgrade(socket, 400, 'Bad Request');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) => reject(new CommandError(describeListenError(error, options))));
    http.listen(options.port, options.host, () => resolve());
  });
  const { port, address } = http.address() as AddressInfo;
  const terminate = (): void => {
    for (const ws of connections) ws.terminate();
    http.closeAllConnections();
    http.close();
  };
  return {
    url: `http://${urlHost(options.host === '' ? address : options.host)}:${port}/`,
    port,
    terminate,
    close: async () => {
      http.close();
      http.closeIdleConnections();
      const closed = [...connections].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) resolve();
            else ws.once('close', () => resolve());
            ws.close(1001, 'server shutting down');
          }),
      );
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)));
      await Promise.race([Promise.all(closed), grace]);
      clearTimeout(timer);
      terminate();
      await bus?.close();
    },
  };
}

/** Parse `serve`'s arguments. */
export function parseServeArgs(args: readonly string[]): ServeOptions | 'help' {
  const { values } = parseCommandLine(() =>
    parseArgs({
      args: [...args],
      options: {
        port: { type: 'string', short: 'p', default: String(DEFAULT_PORT) },
        host: { type: 'string', short: 'H', default: DEFAULT_HOST },
        workers: { type: 'string', short: 'w', default: '1' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }),
  );
  if (values.help === true) return 'help';
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new UsageError(`--port must be a number from 0 to 65535, not "${values.port}"`);
  }
  if (values.host === '') throw new UsageError('--host must not be empty');
  if (!/^\d{1,3}$/.test(values.workers) || Number(values.workers) < 1 || Number(values.workers) > MAX_WORKERS) {
    throw new UsageError(`--workers must be a number from 1 to ${MAX_WORKERS}, not "${values.workers}"`);
  }
  const prefix = values['redis-prefix'];
  if (prefix !== undefined && values.redis === undefined) throw new UsageError('--redis-prefix needs --redis');
  if (values.redis !== undefined && !/^rediss?:\/\/[^/]/.test(values.redis)) {
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, not "${values.redis}"`);
  }
  const redis = values.redis === undefined ? undefined : { url: values.redis, prefix: prefix ?? DEFAULT_REDIS_PREFIX };
  return { port: Number(values.port), host: values.host, workers: Number(values.workers), ...(redis && { redis }) };
}

/** A Redis URL to print: without its password. */
function printableRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  } catch {
    return url.replace(/:[^@/]*@/, ':***@');
  }
}

/** The name a server of `serve --redis` gives itself: the host name and the serve process's id (a worker's primary's). */
function redisNodeName(): string {
  return `${hostname()}:${cluster.isWorker ? process.ppid : process.pid}`;
}

/**
 * A RedisBus for `--redis`, loaded only then: the `redis` client is an optional peer
 * dependency, and a missing one is an error that says what to install. Connection errors go
 * to stderr, each once until a different one (the bus retries every couple of seconds).
 */
async function createRedisBus(redis: NonNullable<ServeOptions['redis']>, io: CommandIo): Promise<Bus> {
  let module: typeof import('../redis.js');
  try {
    module = await import('../redis.js');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /'redis'/.test((error as Error).message);
    throw new CommandError(missing ? '--redis needs the redis package: npm install redis' : `cannot load the Redis bus: ${(error as Error).message}`);
  }
  let lastError = '';
  try {
    return new module.RedisBus({
      url: redis.url,
      prefix: redis.prefix,
      onError: (error) => {
        if (error.message === lastError) return;
        lastError = error.message;
        writeLine(io.stderr, `wasmsocket serve: redis ${printableRedisUrl(redis.url)}: ${error.message}; retrying`);
      },
    });
  } catch (error) {
    throw new CommandError(`--redis ${printableRedisUrl(redis.url)}: ${(error as Error).message}`);
  }
}

/** Run `wasmsocket serve` until SIGINT or SIGTERM; resolves to the exit status. */
export async function serveCommand(args: readonly string[], io: CommandIo): Promise<ExitStatus> {
  const options = parseServeArgs(args);
  if (options === 'help') {
    io.stdout.write(SERVE_HELP);
    return ExitStatus.OK;
  }
  if (options.workers > 1 && cluster.isPrimary) return runPrimary(options, io);
  const worker = cluster.isWorker;
  let server: RunningServer;
  if (options.redis) {
    const bus = await createRedisBus(options.redis, io);
    server = await startServer(options, bus, redisNodeName()).catch(async (error: unknown) => {
      await bus.close();
      throw error;
    });
  } else {
    server = await startServer(options, worker ? new ClusterBus() : undefined);
  }
  // A worker is quiet: the primary speaks for the cluster.
  if (!worker) printUrls(io, server.url, options);
  return new Promise<ExitStatus>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: do not wait for slow clients.
        server.terminate();
        return;
      }
      stopping = true;
      if (!worker) writeLine(io.stdout, `${signal}: closing connections and shutting down`);
      void server.close().then(() => {
        process.off('SIGINT', stop).off('SIGTERM', stop);
        resolve(ExitStatus.OK);
      });
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}

function printUrls(io: CommandIo, url: string, options: ServeOptions): void {
  const wsUrl = url.replace(/^http/, 'ws');
  writeLine(io.stdout, `listening on ${url}`);
  writeLine(io.stdout, `  echo       ${wsUrl}echo`);
  writeLine(io.stdout, `  broadcast  ${wsUrl}broadcast`);
  const carrier = options.redis ? 'each a node on Redis' : 'topics carried by a ClusterBus';
  if (options.workers > 1) writeLine(io.stdout, `  workers    ${options.workers} (node:cluster, sharing the port; ${carrier})`);
  if (options.redis) writeLine(io.stdout, `  redis      ${printableRedisUrl(options.redis.url)} (prefix "${options.redis.prefix}", node ${hostname()}:${process.pid})`);
}

/**
 * The primary of `--workers N`: forks the workers (each runs this command as a worker, on the
 * listening socket the primary shares), forwards their publishes (`ClusterBus.setupPrimary`),
 * prints the URL once all of them listen, and on SIGINT or SIGTERM has them shut down.
 */
async function runPrimary(options: ServeOptions, io: CommandIo): Promise<ExitStatus> {
  const primary = ClusterBus.setupPrimary();
  const workers: Worker[] = [];
  let listening = 0;
  let stopping = false;
  let failed = false;
  return new Promise<ExitStatus>((resolve) => {
    const finish = (status: ExitStatus): void => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      cluster.off('listening', onListening).off('exit', onExit);
      primary.close();
      resolve(status);
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (!stopping) writeLine(io.stdout, `${signal}: closing connections and shutting down`);
      stopping = true;
      // A second signal reaches the workers too: they cut their connections at once.
      for (const worker of workers) if (!worker.isDead()) worker.process.kill(signal);
    };
    const onListening = (_worker: Worker, address: { address: string; port: number }): void => {
      if (++listening !== options.workers) return;
      printUrls(io, `http://${urlHost(options.host)}:${address.port}/`, options);
    };
    const onExit = (worker: Worker, code: number | null, signal: string | null): void => {
      if (code !== 0 || !stopping) failed = true;
      if (!stopping) {
        // A worker that failed (the port taken, a crash) takes the cluster down with it: a
        // broadcast that silently misses part of the clients would be worse.
        writeLine(io.stderr, `wasmsocket serve: worker ${worker.id} exited (${code ?? signal}); shutting down`);
        stopping = true;
        for (const other of workers) if (!other.isDead()) other.process.kill('SIGTERM');
      }
      if (workers.every((w) => w.isDead())) finish(failed ? ExitStatus.FAILURE : ExitStatus.OK);
    };
    cluster.on('listening', onListening).on('exit', onExit);
    process.on('SIGINT', stop).on('SIGTERM', stop);
    for (let i = 0; i < options.workers; i++) workers.push(cluster.fork());
  });
}
