/**
 * Errors are data: every instance carries a stable, greppable `code` string and, where a
 * WebSocket close follows from it, the `closeCode` to send (RFC 6455 §7.4.1).
 *
 * Local misuse (`InvalidStateError`, `InvalidArgumentError`) is kept apart from violations by
 * the remote peer (`ProtocolError`, `HandshakeError`), as h11 keeps LocalProtocolError and
 * RemoteProtocolError apart.
 */

/**
 * Stable error codes. Where `ws` has a code for the same failure, it is `ws`'s (`WS_ERR_*`,
 * from its `lib/receiver.js` and `lib/permessage-deflate.js`), so that code written for `ws`
 * that checks `error.code` keeps working; several of our finer distinctions share one of
 * `ws`'s codes then (the key names stay apart). Failures `ws` has no code for have our own
 * (`WSX_ERR_*`). Codes are never renamed once published; new ones are only added.
 */
export const ErrorCode = {
  // Frame level (RFC 6455 §5)
  /** An RSV bit no negotiated extension defines (ws: RSV1 → `WS_ERR_UNEXPECTED_RSV_1`). */
  RSV_NOT_ALLOWED: 'WS_ERR_UNEXPECTED_RSV_1',
  /** ws's code for RSV2 or RSV3 set: for a parser that tells the bits apart. */
  UNEXPECTED_RSV_2_3: 'WS_ERR_UNEXPECTED_RSV_2_3',
  RESERVED_OPCODE: 'WS_ERR_INVALID_OPCODE',
  /** A fragmented control frame (ws: "FIN must be set"). */
  CONTROL_FRAGMENTED: 'WS_ERR_EXPECTED_FIN',
  CONTROL_TOO_LONG: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  EXPECTED_MASK: 'WS_ERR_EXPECTED_MASK',
  UNEXPECTED_MASK: 'WS_ERR_UNEXPECTED_MASK',
  /** A 64-bit length with its top bit set (ws: any length above 2^53 − 1). */
  LENGTH_MSB_SET: 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
  /** A frame over the size limit (ws: "Max payload size exceeded"). */
  PAYLOAD_TOO_BIG: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  INVALID_UTF8: 'WS_ERR_INVALID_UTF8',
  /** A continuation frame with no message to continue (ws: "invalid opcode 0"). */
  UNEXPECTED_CONTINUATION: 'WS_ERR_INVALID_OPCODE',
  /** A new data frame inside a fragmented message (ws: "invalid opcode 1" or 2). */
  EXPECTED_CONTINUATION: 'WS_ERR_INVALID_OPCODE',
  // Message and connection level
  /** A message over the size limit, compressed or not (ws: "Max payload size exceeded"). */
  MESSAGE_TOO_BIG: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  /** A message of more fragments than allowed (ws: "Too many message fragments"). */
  TOO_MANY_FRAGMENTS: 'WS_ERR_TOO_MANY_BUFFERED_PARTS',
  /** A close frame with a 1-byte payload (ws: "invalid payload length 1"). */
  INVALID_CLOSE_PAYLOAD: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  INVALID_CLOSE_CODE: 'WS_ERR_INVALID_CLOSE_CODE',
  /** Compressed data that does not inflate (ws passes zlib's own error and code). */
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
  /** Stable identifier, e.g. `WS_ERR_INVALID_UTF8` (ws's) or `WSX_ERR_TIMEOUT` (ours). */
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

/** The legacy `code` of the DOMException names WebSocket methods throw (WebIDL §2.8.1). */
const DOM_EXCEPTION_CODES: Readonly<Record<string, number>> = { InvalidStateError: 11, SyntaxError: 12, InvalidAccessError: 15, NotSupportedError: 9 };

/** The error classes `ws` throws. */
export type WsErrorClass = typeof Error | typeof SyntaxError | typeof TypeError | typeof RangeError;

/**
 * An error for code written against both APIs, where the WHATWG WebSocket throws a
 * DOMException and `ws` an error of its own class: an instance of `ws`'s class (so
 * `instanceof SyntaxError`, `TypeError`, `RangeError` checks hold) that carries the
 * DOMException's `name` and legacy `code` (so `error.name === 'InvalidAccessError'` holds).
 * Only `instanceof DOMException` tells it apart.
 */
export function dualError(wsClass: WsErrorClass, message: string, domName: string): Error {
  const error = new wsClass(message);
  Object.defineProperty(error, 'name', { value: domName, writable: true, configurable: true });
  Object.defineProperty(error, 'code', { value: DOM_EXCEPTION_CODES[domName] ?? 0, writable: true, configurable: true });
  return error;
}
