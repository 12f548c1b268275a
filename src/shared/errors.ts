/**
 * Errors are data: every instance carries a stable, greppable `code` string and, where a
 * WebSocket close follows from it, the `closeCode` to send (RFC 6455 §7.4.1).
 *
 * Local misuse (`InvalidStateError`, `InvalidArgumentError`) is kept apart from violations by
 * the remote peer (`ProtocolError`, `HandshakeError`), as h11 keeps LocalProtocolError and
 * RemoteProtocolError apart.
 */

/** Stable error codes. Never renamed once published; new ones are only added. */
export const ErrorCode = {
  // Frame level (RFC 6455 §5)
  RSV_NOT_ALLOWED: 'WSX_ERR_RSV_NOT_ALLOWED',
  RESERVED_OPCODE: 'WSX_ERR_RESERVED_OPCODE',
  CONTROL_FRAGMENTED: 'WSX_ERR_CONTROL_FRAGMENTED',
  CONTROL_TOO_LONG: 'WSX_ERR_CONTROL_TOO_LONG',
  EXPECTED_MASK: 'WSX_ERR_EXPECTED_MASK',
  UNEXPECTED_MASK: 'WSX_ERR_UNEXPECTED_MASK',
  LENGTH_MSB_SET: 'WSX_ERR_LENGTH_MSB_SET',
  PAYLOAD_TOO_BIG: 'WSX_ERR_PAYLOAD_TOO_BIG',
  INVALID_UTF8: 'WSX_ERR_INVALID_UTF8',
  UNEXPECTED_CONTINUATION: 'WSX_ERR_UNEXPECTED_CONTINUATION',
  EXPECTED_CONTINUATION: 'WSX_ERR_EXPECTED_CONTINUATION',
  // Message and connection level
  MESSAGE_TOO_BIG: 'WSX_ERR_MESSAGE_TOO_BIG',
  TOO_MANY_FRAGMENTS: 'WSX_ERR_TOO_MANY_FRAGMENTS',
  INVALID_CLOSE_PAYLOAD: 'WSX_ERR_INVALID_CLOSE_PAYLOAD',
  INVALID_CLOSE_CODE: 'WSX_ERR_INVALID_CLOSE_CODE',
  EXTENSION_ERROR: 'WSX_ERR_EXTENSION',
  INTERNAL_ERROR: 'WSX_ERR_INTERNAL',
  // Opening handshake (RFC 6455 §4)
  HANDSHAKE: 'WSX_ERR_HANDSHAKE',
  HEAD_TOO_LARGE: 'WSX_ERR_HEAD_TOO_LARGE',
  // Transport (adapters)
  /** A deadline passed: the opening handshake, a heartbeat pong, or the closing handshake. */
  TIMEOUT: 'WSX_ERR_TIMEOUT',
  /** Outgoing data queued for a peer that does not read passed `maxBufferedAmount`. */
  BUFFER_OVERFLOW: 'WSX_ERR_BUFFER_OVERFLOW',
  /** The platform's own WebSocket (a browser's) failed the connection and, by design, said no more. */
  CONNECTION_FAILED: 'WSX_ERR_CONNECTION_FAILED',
  // Local misuse
  INVALID_STATE: 'WSX_ERR_INVALID_STATE',
  INVALID_ARGUMENT: 'WSX_ERR_INVALID_ARGUMENT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error wasmsocket raises or reports. */
export class WebSocketError extends Error {
  /** Stable identifier, e.g. `WSX_ERR_INVALID_UTF8`. */
  readonly code: ErrorCode;
  /** The close code this error leads to on the wire, if any. */
  readonly closeCode: number | undefined;

  constructor(message: string, code: ErrorCode, closeCode?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** The remote peer violated RFC 6455 or RFC 7692; the connection fails with `closeCode`. */
export class ProtocolError extends WebSocketError {
  declare readonly closeCode: number;
  constructor(message: string, code: ErrorCode, closeCode: number) {
    super(message, code, closeCode);
  }
}

/**
 * The opening handshake failed. On the server side `status` is the HTTP status to answer
 * with (400, 403, 426, 431) and `headers` any headers that answer must carry (e.g.
 * `Sec-WebSocket-Version: 13` with a 426, RFC 6455 §4.4).
 */
export class HandshakeError extends WebSocketError {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  constructor(
    message: string,
    status: number,
    headers: ReadonlyArray<readonly [string, string]> = [],
    code: ErrorCode = ErrorCode.HANDSHAKE,
  ) {
    super(message, code);
    this.status = status;
    this.headers = headers;
  }
}

/** The local caller did something the current state does not allow (e.g. send after close). */
export class InvalidStateError extends WebSocketError {
  constructor(message: string) {
    super(message, ErrorCode.INVALID_STATE);
  }
}

/** The local caller passed an argument that can never be valid (e.g. close code 1005). */
export class InvalidArgumentError extends WebSocketError {
  constructor(message: string) {
    super(message, ErrorCode.INVALID_ARGUMENT);
  }
}
