/**
 * Protocol constants with their RFC names, and the default limits with the reason for each.
 *
 * `as const` objects plus derived union types (not `const enum`) so that isolated-module
 * builds and plain JavaScript callers see real values.
 */

/** Frame opcodes, RFC 6455 §5.2 and §11.8. */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Whether `opcode` is a control opcode (most significant bit set, RFC 6455 §5.5). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** Whether `opcode` is one RFC 6455 defines (the others are reserved, §5.2). */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

/** Close status codes, RFC 6455 §7.4.1 and the IANA registry (§11.7). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Reserved: never sent, reported when a close frame had no status code (§7.1.5). */
  NO_STATUS_RECEIVED: 1005,
  /** Reserved: never sent, reported when the connection closed without a close frame (§7.1.5). */
  ABNORMAL_CLOSURE: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
  /** Reserved: never sent, reported when the TLS handshake failed (§7.4.1). */
  TLS_HANDSHAKE: 1015,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4.1, §7.4.2).
 * 1000–1003 and 1007–1014 are defined for use (1012–1014 registered with IANA);
 * 1004, 1005, 1006 and 1015 are reserved and MUST NOT be sent; 1016–2999 are reserved for
 * future revisions of the RFC; 3000–4999 belong to libraries, frameworks and applications.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

/** WebSocket readyState values, the WHATWG values (also ws's). */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** The GUID concatenated with Sec-WebSocket-Key before hashing (RFC 6455 §1.3, §4.2.2). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only protocol version RFC 6455 defines (§4.1, §4.4). */
export const WEBSOCKET_VERSION = 13;

/** The largest payload a control frame may carry (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** The largest close reason: 125 bytes of control payload minus the 2-byte code (§5.5.1). */
export const MAX_CLOSE_REASON = 123;

/**
 * Default limits. Each is a safe default for a server on the open internet and can be raised.
 */
export const DefaultLimits = {
  /**
   * Largest message (sum of all its fragments, after extension decoding): 100 MiB, the
   * value `ws` has used since 8.0, so migrating users keep their ceiling.
   */
  maxMessageSize: 100 * 1024 * 1024,
  /** Largest single frame payload: equal to the message limit unless set lower. */
  maxFrameSize: 100 * 1024 * 1024,
  /**
   * Most fragments in one message. A flood of 1-byte fragments costs per-fragment
   * bookkeeping far beyond its byte count; 100,000 allows any sane streaming use
   * (16 MiB in 168-byte fragments) and stops the flood.
   */
  maxFragments: 100_000,
  /**
   * Largest opening-handshake head (request or response line plus headers). Node's own
   * HTTP parser defaults to 16 KiB (`--max-http-header-size`); we match it.
   */
  maxHeadSize: 16 * 1024,
  /** Most header fields in a head: Node's `http` default (`maxHeadersCount` 2000) is far
   *  more than any real handshake needs; 100 matches nginx-class proxies' practical limits. */
  maxHeaderCount: 100,
  /** Longest single header line; 8 KiB is the per-line limit of Apache and nginx defaults. */
  maxHeaderLineLength: 8 * 1024,
} as const;
