/**
 * How a connection is configured (both sides; `ServerConnectionOptions` and
 * `ClientConnectionOptions` add the opening handshake's options), and the terms it starts with
 * when the opening handshake happened elsewhere.
 */
import type { Codec } from '../codec/types.js';
import type { NegotiatedExtension } from '../handshake/extensions.js';
import type { Extension } from './extension.js';
import type { ConnectionLimits } from './limits.js';

/** Which end of the connection this is. */
export type ConnectionSide = 'client' | 'server';

/** Terms of an opening handshake done elsewhere, to start a connection OPEN. */
export interface EstablishedTerms {
  /** The agreed subprotocol; default null. */
  readonly protocol?: string | null;
  /** The extensions in use, in the order of the server's response; default none. */
  readonly extensions?: readonly NegotiatedExtension<Extension>[];
}

/** Options common to both sides. */
export interface ConnectionOptions {
  /** The frame codec (portable or wasm); the core never picks one itself. */
  readonly codec: Codec;
  /** Limits on what is received; see `ConnectionLimits` for the defaults. */
  readonly limits?: Partial<ConnectionLimits>;
  /**
   * Answer each ping with a pong carrying its payload (RFC 6455 §5.5.2 "MUST send a Pong
   * frame in response"). Default true; turn off only to answer pings yourself.
   */
  readonly autoPong?: boolean;
  /**
   * Report data as `fragment` events as it arrives instead of assembled `message` events, so a
   * large message is never held whole. Default false. The limits still apply: raise
   * `maxMessageSize` to stream messages larger than it.
   */
  readonly streamMessages?: boolean;
  /**
   * Called when asynchronous work (an extension transform) has produced events or bytes, or
   * has changed `shouldPauseReading()`, outside any call into the connection: the adapter
   * should then collect events and bytes. Must not throw. Not needed without asynchronous
   * extensions.
   */
  readonly onWake?: () => void;
  /**
   * Memory for the messages the connection assembles (one that arrived in several reads or
   * fragments; a message that arrived whole is a view of the bytes received), and for the
   * slab its frames are written into (`FrameSlab`, one per function per thread: pass the same
   * function to every connection): `length` bytes, which the connection fills completely
   * before it hands them out, so they need not be zeroed. Default `new Uint8Array(length)`.
   * Node's adapters pass `Buffer.allocUnsafe`: no zeroing, messages that are Buffers like the
   * views of Node's reads, and frames that `net.Socket` writes without converting them.
   */
  readonly allocate?: (length: number) => Uint8Array;
  /** Start OPEN, with these terms, because the opening handshake happened elsewhere. */
  readonly established?: EstablishedTerms;
}
