/**
 * What the driver contract runs on: an environment gives it our faces over one binding — a
 * client and a server of ours connected to each other, or either of them facing a raw peer
 * that writes exact bytes and reads exact frames — and builds each face of the binding from
 * options. The Node environment uses real loopback sockets; the stream environment uses
 * `createWebStreamPair()`.
 */
import type { TransportOptions } from '../../../src/adapters/types.js';
import type { SendCallback, SendData, SendOptions } from '../../../src/api/face.js';
import type { ReadFrame } from '../../helpers/frames.js';
import type { EventQueue } from '../../interop/events.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

/**
 * One of our ends as the contract drives it: what every face has — the `ws` methods and
 * emitter events, and the WHATWG close event (for `wasClean`).
 */
export interface Face {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): boolean;
  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void;
  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, callback?: SendCallback): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  addEventListener(type: string, listener: (event: Event) => void): void;
}

/** Options of one of our ends, in the terms every face shares. */
export interface FaceOptions extends Partial<TransportOptions> {
  readonly maxPayload?: number;
  readonly streamMessages?: boolean;
  readonly autoPong?: boolean;
  readonly handshakeTimeout?: number;
  /** Negotiate permessage-deflate (with a threshold of 0: every message is compressed). */
  readonly deflate?: boolean;
}

/** The other end of one connection, played by hand. */
export interface RawPeer {
  /** The HTTP head received first: the request (a raw server) or the response (a raw client). */
  readonly head: Promise<string>;
  /** Every complete frame received after the head. */
  readonly frames: EventQueue<ReadFrame>;
  /** Bytes received after the head so far. */
  readonly received: number;
  /** Write `chunk`; resolves once the transport took it (never rejects). */
  write(chunk: Uint8Array): Promise<void>;
  /** Write `chunk` and wait until our end can have read it as a read of its own. */
  deliver(chunk: Uint8Array): Promise<void>;
  /** Bytes written and not yet taken by the transport: they back up when our end stops reading. */
  readonly unsent: number;
  /** Stop reading (our end's writes back up), and read again. */
  pause(): void;
  resume(): void;
  /** Close the writing side (TCP FIN, or closing the writable). */
  end(): void;
  /** Vanish: drop the connection without a closing handshake. */
  destroy(): void;
  /** Resolves once our end has closed the connection (or it was destroyed). */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
}

/** A connection our server accepted from a raw peer, which has not said anything yet. */
export interface AcceptedPeer {
  readonly peer: RawPeer;
  /** Our server's face once the connection is open. */
  readonly opened: Promise<Face>;
  /** Our face while the handshake is in progress, where the binding has one then (a stream pair); else null. */
  readonly early: Face | null;
}

/** A face constructor of the binding, given the shared options. */
export interface FaceConstructor {
  readonly name: string;
  /** Build it (it may start connecting); returns what must be closed afterwards. */
  create(options: FaceOptions): { terminate(): void } | { close(): void };
}

export interface DriverEnvironment {
  readonly name: string;
  /** A client and a server of ours, connected and open. */
  pair(client?: FaceOptions, server?: FaceOptions): Promise<{ client: Face; server: Face }>;
  /**
   * A raw client connected to our server; it has sent nothing. `setup`, if given, gets our
   * server's face as soon as it exists, before it reports anything (for listeners that must
   * see what came with the opening request).
   */
  acceptRaw(options?: FaceOptions, setup?: (ws: Face) => void): Promise<AcceptedPeer>;
  /** Our client connecting to a raw server, which has read the opening request (`peer.head`). */
  connectRaw(options?: FaceOptions): Promise<{ ws: Face; peer: RawPeer }>;
  /** Every face this binding has, for checking how they take options. */
  readonly faces: readonly FaceConstructor[];
  /** Close what the last test opened. */
  cleanup(): Promise<void>;
  /** Close everything (servers kept across tests). */
  dispose(): Promise<void>;
}
