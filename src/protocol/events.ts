/**
 * What a connection reports, in order, through `eventsReceived()`. Every event is a plain
 * object with a `type`; payloads are `Uint8Array` views the connection will not touch again
 * (treat them as read-only: a pong the connection sends back may share the ping's bytes).
 */
import type { NegotiatedExtension } from '../handshake/extensions.js';
import type { HttpRequestHead, HttpResponseHead } from '../handshake/http.js';
import type { ServerHandshake } from '../handshake/server.js';
import type { WebSocketError } from '../shared/errors.js';
import type { Extension } from './extension.js';

/**
 * Server only, with `autoAccept: false`: a valid opening request is waiting for the
 * application to call `accept()` or `reject()`.
 */
export interface UpgradeRequestEvent {
  readonly type: 'request';
  /** The validated request and the terms negotiated so far (subprotocol, extensions). */
  readonly handshake: ServerHandshake<Extension>;
}

/** The opening handshake completed: the connection is OPEN (RFC 6455 §4.1, §4.2.2). */
export interface OpenEvent {
  readonly type: 'open';
  /** The agreed subprotocol, or null. */
  readonly protocol: string | null;
  /** The extensions in use, in the order of the server's response. */
  readonly extensions: readonly NegotiatedExtension<Extension>[];
  /** The client's request (on a server) or the server's response (on a client); null when the handshake happened elsewhere. */
  readonly head: HttpRequestHead | HttpResponseHead | null;
}

/** A whole message (RFC 6455 §5.6), assembled from its fragments and decoded by extensions. */
export interface MessageReceivedEvent {
  readonly type: 'message';
  /** False for text (valid UTF-8, not yet decoded to a string), true for binary. */
  readonly binary: boolean;
  readonly data: Uint8Array;
}

/**
 * A piece of a message, with `streamMessages: true`: messages are not assembled but handed
 * out as their bytes arrive (and as extensions decode them). Piece boundaries follow the
 * network, not the sender's frames. A text message is valid UTF-8 as a whole; a piece may end
 * inside a character.
 */
export interface FragmentReceivedEvent {
  readonly type: 'fragment';
  readonly binary: boolean;
  readonly data: Uint8Array;
  /** The first piece of its message. */
  readonly first: boolean;
  /** The last piece of its message (possibly empty). */
  readonly last: boolean;
}

/** A ping frame arrived (RFC 6455 §5.5.2). Unless `autoPong` is off, a pong is already queued. */
export interface PingReceivedEvent {
  readonly type: 'ping';
  readonly data: Uint8Array;
}

/** A pong frame arrived (RFC 6455 §5.5.3). */
export interface PongReceivedEvent {
  readonly type: 'pong';
  readonly data: Uint8Array;
}

/**
 * The peer's close frame arrived (RFC 6455 §5.5.1): it started the closing handshake, or
 * answered ours. Input ends here; the connection is CLOSING until the transport closes.
 */
export interface CloseReceivedEvent {
  readonly type: 'close-received';
  /** The status code; 1005 when the frame had none. */
  readonly code: number;
  readonly reason: string;
}

/**
 * The connection is CLOSED (the transport ended: `receiveEof()`), as the WHATWG CloseEvent
 * reports it. Always the last event.
 */
export interface ConnectionClosedEvent {
  readonly type: 'close';
  /** The code of the close frame received; 1005 if it had none; 1006 if none was received (RFC 6455 §7.1.5). */
  readonly code: number;
  /** The reason of the close frame received, else empty. */
  readonly reason: string;
  /** Whether the closing handshake completed — a close frame sent and one received — before the transport ended (§7.1.4). */
  readonly wasClean: boolean;
}

/**
 * Something went wrong: the peer broke the protocol (`ProtocolError`, the connection is
 * failing with `error.closeCode`), the opening handshake failed (`HandshakeError`), or the
 * connection hit an internal error (code `WSX_ERR_INTERNAL`, 1011).
 */
export interface ConnectionErrorEvent {
  readonly type: 'error';
  readonly error: WebSocketError;
}

/** Every event a connection reports. */
export type ConnectionEvent =
  | UpgradeRequestEvent
  | OpenEvent
  | MessageReceivedEvent
  | FragmentReceivedEvent
  | PingReceivedEvent
  | PongReceivedEvent
  | CloseReceivedEvent
  | ConnectionClosedEvent
  | ConnectionErrorEvent;
