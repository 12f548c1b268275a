/**
 * A client core and a server core wired back to back in memory (h11's test pattern): what one
 * sends the other receives, split as the test chooses, and ending a transport delivers EOF to
 * the peer — so handshakes, messages and closing handshakes run end to end with no socket.
 */
import type { Codec } from '../../src/codec/types.js';
import { ClientConnection, type ClientConnectionOptions } from '../../src/protocol/client-connection.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { ConnectionEvent } from '../../src/protocol/events.js';
import { ServerConnection, type ServerConnectionOptions } from '../../src/protocol/server-connection.js';
import type { RandomSource } from '../../src/shared/ports.js';
import { seededGenerator } from './chunkings.js';

/** A deterministic RandomSource for tests (never for real connections). */
export function seededRandom(seed = 1): RandomSource {
  const next = seededGenerator(seed);
  return (target) => {
    for (let i = 0; i < target.length; i++) target[i] = Math.floor(next() * 256);
  };
}

/** One end of the pair and everything it reported. */
export interface Endpoint<C extends Connection> {
  readonly connection: C;
  /** Every event, in order, since the pair was made. */
  readonly events: ConnectionEvent[];
  /** Whether it has closed its transport (asked by `shouldCloseTransport()`). */
  transportClosed: boolean;
  /** Every chunk it wrote. */
  readonly written: Uint8Array[];
}

export interface PairOptions {
  readonly codec: Codec;
  readonly server?: Partial<ServerConnectionOptions>;
  readonly client?: Partial<ClientConnectionOptions>;
  /** How bytes are cut in transit (default: each written chunk as it is). */
  readonly split?: (bytes: Uint8Array) => Uint8Array[];
}

/** A client and a server connected in memory. Call `pump()` after every action. */
export class ConnectionPair {
  readonly client: Endpoint<ClientConnection>;
  readonly server: Endpoint<ServerConnection>;
  readonly #split: (bytes: Uint8Array) => Uint8Array[];
  /** Set by the connections' `onWake`: asynchronous work finished. */
  woken = 0;

  constructor(options: PairOptions) {
    const onWake = (): void => {
      this.woken++;
    };
    this.#split = options.split ?? ((bytes) => [bytes]);
    this.server = {
      connection: new ServerConnection({ codec: options.codec, onWake, ...options.server }),
      events: [],
      transportClosed: false,
      written: [],
    };
    this.client = {
      connection: new ClientConnection({ codec: options.codec, random: seededRandom(7), host: 'example.com', path: '/chat', onWake, ...options.client }),
      events: [],
      transportClosed: false,
      written: [],
    };
  }

  /** Move bytes and EOFs both ways until nothing moves. Returns whether anything moved. */
  pump(): boolean {
    let movedAny = false;
    for (;;) {
      const moved = this.#transfer(this.client, this.server) || this.#transfer(this.server, this.client);
      this.#collect(this.client);
      this.#collect(this.server);
      if (!moved) return movedAny;
      movedAny = true;
    }
  }

  /** Pump, letting asynchronous work (promises, timers of 0 ms) finish, until all is quiet. */
  async settle(rounds = 2000): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < rounds && quiet < 3; i++) {
      const before = this.woken;
      const moved = this.pump();
      await new Promise((resolve) => setTimeout(resolve, 0));
      quiet = moved || this.woken !== before ? 0 : quiet + 1;
    }
    this.pump();
  }

  /** Events of a type reported by one end. */
  eventsOf<T extends ConnectionEvent['type']>(end: 'client' | 'server', type: T): Extract<ConnectionEvent, { type: T }>[] {
    return this[end].events.filter((event): event is Extract<ConnectionEvent, { type: T }> => event.type === type);
  }

  #transfer(from: Endpoint<Connection>, to: Endpoint<Connection>): boolean {
    let moved = false;
    const chunks = from.connection.dataToSend();
    if (chunks.length > 0 && !from.transportClosed) {
      moved = true;
      for (const chunk of chunks) {
        from.written.push(chunk.slice());
        // Copy: the sender may keep (server payloads) what it wrote, the receiver owns what it reads.
        for (const piece of this.#split(chunk.slice())) to.connection.receiveData(piece);
      }
    }
    if (!from.transportClosed && from.connection.shouldCloseTransport()) {
      from.transportClosed = true;
      to.connection.receiveEof();
      moved = true;
    }
    return moved;
  }

  #collect(end: Endpoint<Connection>): void {
    end.events.push(...end.connection.eventsReceived());
  }
}

/** A pair whose handshake has completed (both ends OPEN). */
export function openPair(options: PairOptions): ConnectionPair {
  const pair = new ConnectionPair(options);
  pair.pump();
  if (pair.eventsOf('client', 'open').length !== 1 || pair.eventsOf('server', 'open').length !== 1) {
    throw new Error(`the handshake did not complete: ${JSON.stringify([pair.client.events, pair.server.events], replacer)}`);
  }
  return pair;
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? `<${value.length} bytes>` : value instanceof Error ? `${value.name}: ${value.message}` : value;
}
