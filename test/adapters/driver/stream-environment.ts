/**
 * The driver contract's environment over the stream binding: `StreamWebSocket.connect` and
 * `accept` over `createWebStreamPair()`, and raw peers that hold the other end of a pair.
 * permessage-deflate is the Compression Streams engine (`perMessageDeflateWeb`).
 */
import { perMessageDeflateWeb } from '../../../src/adapters/web/deflate-streams.js';
import { createWebStreamPair, type WebStreamPair } from '../../../src/adapters/web/stream-binding.js';
import { StreamWebSocket, type WebStreamClientOptions, type WebStreamServerOptions } from '../../../src/api/stream-websocket.js';
import type { PerMessageDeflateNegotiators } from '../../../src/protocol/extensions/permessage-deflate.js';
import { withTimeout } from '../../interop/events.js';
import type { AcceptedPeer, DriverEnvironment, Face, FaceOptions, RawPeer } from './environment.js';
import { InboxPeer } from './wire.js';

const ignore = (): void => {};

/** A raw peer holding one end of a stream pair. Like a TCP peer without half-open, it closes its writable when the readable ends. */
class StreamPeer extends InboxPeer implements RawPeer {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #paused = false;
  #reading = false;
  #unsent = 0;

  constructor(streams: WebStreamPair) {
    super();
    this.#reader = streams.readable.getReader();
    this.#writer = streams.writable.getWriter();
    this.#writer.closed.catch(ignore);
    void this.#readLoop();
  }

  get unsent(): number {
    return this.#unsent;
  }

  write(chunk: Uint8Array): Promise<void> {
    const length = chunk.length;
    this.#unsent += length;
    return this.#writer.write(chunk).then(
      () => {
        this.#unsent -= length;
      },
      ignore,
    );
  }

  deliver(chunk: Uint8Array): Promise<void> {
    // A chunk is read whole and alone: the write settles once our end's read took it.
    return this.write(chunk);
  }

  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    this.#paused = false;
    void this.#readLoop();
  }
  end(): void {
    this.#writer.close().catch(ignore);
  }
  destroy(): void {
    const error = new Error('the peer vanished');
    this.#writer.abort(error).catch(ignore);
    this.#reader.cancel(error).catch(ignore);
    this.closedNow();
  }

  async #readLoop(): Promise<void> {
    if (this.#reading || this.isClosed) return;
    this.#reading = true;
    try {
      while (!this.#paused) {
        const { done, value } = await this.#reader.read();
        if (done) {
          this.end();
          this.closedNow();
          return;
        }
        this.inbox.push(value);
      }
    } catch {
      this.closedNow();
    } finally {
      this.#reading = false;
    }
  }
}

let deflate: PerMessageDeflateNegotiators | null | undefined;

/** The Compression Streams negotiators (threshold 0: every message compressed). */
function webDeflate(): PerMessageDeflateNegotiators {
  deflate ??= perMessageDeflateWeb({ threshold: 0 });
  if (deflate === null) throw new Error("this runtime has no CompressionStream('deflate-raw')");
  return deflate;
}

function clientOptions(options: FaceOptions): WebStreamClientOptions {
  const { deflate: withDeflate = false, ...rest } = options;
  return { ...rest, extensions: withDeflate ? [webDeflate().client] : [] };
}

function serverOptions(options: FaceOptions): WebStreamServerOptions {
  const { deflate: withDeflate = false, ...rest } = options;
  return { ...rest, extensions: withDeflate ? [webDeflate().server] : [] };
}

function whenOpen(ws: Face, what: string): Promise<Face> {
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('close', (code: number) => reject(new Error(`closed (${code}) before it opened`)));
    }),
    what,
    5000,
  );
}

const URL = 'ws://127.0.0.1/';

export function streamEnvironment(): DriverEnvironment {
  let opened: Face[] = [];
  let peers: RawPeer[] = [];

  function accept(streams: WebStreamPair, options: FaceOptions): StreamWebSocket {
    const ws = StreamWebSocket.accept(streams, serverOptions(options));
    opened.push(ws);
    return ws;
  }

  function connect(streams: WebStreamPair, options: FaceOptions): StreamWebSocket {
    const ws = StreamWebSocket.connect(streams, URL, clientOptions(options));
    opened.push(ws);
    return ws;
  }

  return {
    name: 'WHATWG stream pairs',

    async pair(client = {}, server = {}) {
      const [clientEnd, serverEnd] = createWebStreamPair();
      const serverSide = accept(serverEnd, server);
      const clientSide = connect(clientEnd, client);
      await Promise.all([whenOpen(clientSide, 'the client to open'), whenOpen(serverSide, 'the server to open')]);
      return { client: clientSide, server: serverSide };
    },

    async acceptRaw(options = {}, setup): Promise<AcceptedPeer> {
      const [ours, theirs] = createWebStreamPair();
      const ws = accept(ours, options);
      // It reports nothing before a microtask has passed.
      setup?.(ws);
      const peer = new StreamPeer(theirs);
      peers.push(peer);
      const opened = whenOpen(ws, 'the server to open');
      // Tests of a handshake that never completes do not wait for it.
      opened.catch(() => {});
      return { peer, opened, early: ws };
    },

    async connectRaw(options = {}) {
      const [ours, theirs] = createWebStreamPair();
      const ws = connect(ours, options);
      const peer = new StreamPeer(theirs);
      peers.push(peer);
      await withTimeout(peer.head, 'the opening request', 5000);
      return { ws, peer };
    },

    faces: [
      { name: 'StreamWebSocket.connect', create: (options) => connect(createWebStreamPair()[0], options) },
      { name: 'StreamWebSocket.accept', create: (options) => accept(createWebStreamPair()[0], options) },
    ],

    async cleanup() {
      for (const ws of opened.splice(0)) ws.terminate();
      for (const peer of peers.splice(0)) peer.destroy();
      opened = [];
      peers = [];
    },

    async dispose() {},
  };
}
