/**
 * A strict, size-limited, incremental HTTP/1.1 message-head parser (RFC 7230 §3) and the
 * matching serializers — just enough HTTP for the WebSocket opening handshake (RFC 6455 §4).
 *
 * Theory of operation: bytes are pushed as the transport delivers them, split anywhere. The
 * parser looks for line ends with `indexOf(LF)` (native, linear) and checks each complete
 * line with one pass over its char codes, in the chunk itself; only a line that spans chunks is
 * copied, into a buffer bounded by the line limit. No regular expression is involved. `push` returns `NEED_MORE` (a value, as h11's NEED_DATA)
 * until the empty line that ends the head arrives, then the head and the bytes that followed
 * it in the same chunk (on a WebSocket connection those are the first frames).
 *
 * Rules (each a 400 with a reason, unless noted):
 * - lines end in CRLF; a bare LF or a CR not followed by LF is rejected (RFC 7230 §3.5 allows a
 *   lenient reading; we do not, since lenient line splitting is what request smuggling feeds on);
 * - empty lines before the start line are skipped (RFC 7230 §3.5, "SHOULD ignore at least one"),
 *   within the head size limit;
 * - header names are tokens directly followed by `:` (whitespace before the colon: RFC 7230
 *   §3.2.4 "MUST reject ... with a response status code of 400");
 * - obs-fold (a line starting with SP or HTAB) is rejected (RFC 7230 §3.2.4, 400);
 * - values may hold VCHAR, obs-text, SP and HTAB; NUL and every other control character are
 *   rejected (RFC 7230 §3.2.6 field-vchar); leading and trailing OWS is stripped;
 * - limits (`HeadLimits`): a head larger than `maxHeadSize` bytes, more than `maxHeaderCount`
 *   fields, or a header line longer than `maxHeaderLineLength` is a 431 (RFC 6585 §5); a request
 *   line that long is a 414 (RFC 7230 §3.1.1 "MUST respond with a 414"). All carry the code
 *   `WSX_ERR_HEAD_TOO_LARGE`.
 *
 * Errors are `HandshakeError`s. For a request head, `status` is what the server answers with.
 * For a response head, `status` is the status code the server sent, or 0 if the response had
 * no valid status line. After an error the parser keeps throwing the same error.
 */

import { DefaultLimits } from '../shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, InvalidStateError } from '../shared/errors.js';
import {
  asciiLowerCase,
  FIELD_CHAR,
  hasClass,
  isFieldValue,
  isToken,
  latin1Decode,
  skipBytes,
  skipBytesBackward,
  TCHAR,
  VCHAR,
  WSP,
} from './chars.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

// ---------------------------------------------------------------------------------------------
// Header fields
// ---------------------------------------------------------------------------------------------

/** One header field as it appeared on the wire: `[name, value]`, name in its original case. */
export type HeaderField = readonly [name: string, value: string];

/**
 * The header fields of an HTTP head, in order, duplicates kept. Lookups are ASCII
 * case-insensitive (RFC 7230 §3.2). `get` combines repeated fields into one comma-separated
 * list, which RFC 7230 §3.2.2 makes equivalent for list-valued fields such as
 * Sec-WebSocket-Protocol and Sec-WebSocket-Extensions; `count` tells singleton fields
 * (Host, Sec-WebSocket-Key) that were sent twice apart.
 *
 * The constructor does not validate: heads from the parser are valid by construction, and
 * serialization validates what callers build.
 */
export class HttpHeaders implements Iterable<HeaderField> {
  readonly #fields: HeaderField[] = [];
  readonly #byName = new Map<string, string[]>();

  constructor(fields: Iterable<HeaderField> = []) {
    for (const [name, value] of fields) {
      const field: HeaderField = [name, value];
      this.#fields.push(field);
      const key = asciiLowerCase(name);
      const values = this.#byName.get(key);
      if (values === undefined) this.#byName.set(key, [value]);
      else values.push(value);
    }
  }

  /** Number of field lines. */
  get size(): number {
    return this.#fields.length;
  }

  /** Whether at least one field named `name` is present. */
  has(name: string): boolean {
    return this.#byName.has(asciiLowerCase(name));
  }

  /** How many field lines are named `name`. */
  count(name: string): number {
    return this.#byName.get(asciiLowerCase(name))?.length ?? 0;
  }

  /** The value of `name`, repeated fields joined with `", "` (RFC 7230 §3.2.2); undefined if absent. */
  get(name: string): string | undefined {
    const values = this.#byName.get(asciiLowerCase(name));
    if (values === undefined) return undefined;
    return values.length === 1 ? values[0] : values.join(', ');
  }

  /** Every value of `name`, one per field line, in order. */
  getAll(name: string): readonly string[] {
    return this.#byName.get(asciiLowerCase(name)) ?? [];
  }

  /** The fields in wire order. */
  [Symbol.iterator](): Iterator<HeaderField> {
    return this.#fields[Symbol.iterator]();
  }
}

// ---------------------------------------------------------------------------------------------
// Heads
// ---------------------------------------------------------------------------------------------

/** `HTTP/major.minor` (RFC 7230 §2.6). */
export interface HttpVersion {
  readonly major: number;
  readonly minor: number;
}

/** A parsed request head (RFC 7230 §3.1.1). */
export interface HttpRequestHead {
  readonly method: string;
  /** The request-target exactly as sent (for a WebSocket handshake, origin-form: path and query). */
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: HttpHeaders;
}

/** A parsed response head (RFC 7230 §3.1.2). */
export interface HttpResponseHead {
  readonly version: HttpVersion;
  readonly status: number;
  readonly reason: string;
  readonly headers: HttpHeaders;
}

/** Limits on a head, all in bytes except the count. Defaults: `DEFAULT_HEAD_LIMITS`. */
export interface HeadLimits {
  /** Whole head, start line to the final CRLF inclusive. */
  readonly maxHeadSize: number;
  /** Header field lines. */
  readonly maxHeaderCount: number;
  /** Any one line (start line or header field), without its CRLF. */
  readonly maxHeaderLineLength: number;
}

/** `DefaultLimits.maxHeadSize`, `maxHeaderCount` and `maxHeaderLineLength` (rationale there). */
export const DEFAULT_HEAD_LIMITS: HeadLimits = {
  maxHeadSize: DefaultLimits.maxHeadSize,
  maxHeaderCount: DefaultLimits.maxHeaderCount,
  maxHeaderLineLength: DefaultLimits.maxHeaderLineLength,
};

/** `push` needs more bytes before the head is complete. */
export interface HeadIncomplete {
  readonly done: false;
}

/** The head is complete. */
export interface HeadComplete<H> {
  readonly done: true;
  readonly head: H;
  /** The bytes after the head in the last chunk pushed (a view into it, not a copy). */
  readonly rest: Uint8Array;
}

/** What `push` returns. */
export type HeadParseResult<H> = HeadIncomplete | HeadComplete<H>;

/** The single "need more bytes" value. */
export const NEED_MORE: HeadIncomplete = Object.freeze({ done: false });

function checkLimits(limits: HeadLimits): HeadLimits {
  for (const key of ['maxHeadSize', 'maxHeaderCount', 'maxHeaderLineLength'] as const) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}

function hex(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

/** Parses `HTTP/DIGIT.DIGIT` at `line[start..start+8)`; null if it is not one. */
function parseVersion(line: Uint8Array, start: number, end: number): HttpVersion | null {
  if (end - start !== 8) return null;
  // "HTTP/" is case-sensitive (RFC 7230 §2.6).
  if (line[start] !== 0x48 || line[start + 1] !== 0x54 || line[start + 2] !== 0x54 || line[start + 3] !== 0x50) return null;
  if (line[start + 4] !== 0x2f || line[start + 6] !== 0x2e) return null;
  const major = line[start + 5]! - 0x30;
  const minor = line[start + 7]! - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return null;
  return { major, minor };
}

/**
 * What differs between request and response heads: how the start line is read, and how an
 * error is reported.
 */
interface HeadKind<H> {
  /** Parse the start line `line[start..end)`; returns an error message if it is malformed. */
  startLine(line: Uint8Array, start: number, end: number): string | null;
  /** Build the head once the final CRLF arrived. */
  finish(headers: HttpHeaders): H;
  /** The error for a malformed head. */
  malformed(message: string): HandshakeError;
  /** The error for an oversized head; `startLine` says it was the start line that was too long. */
  tooLarge(message: string, startLine: boolean): HandshakeError;
}

/**
 * The incremental parser behind `RequestHeadParser` and `ResponseHeadParser`: one per
 * connection, used once.
 */
class HeadParser<H> {
  readonly #kind: HeadKind<H>;
  readonly #limits: HeadLimits;
  /**
   * A line that spans chunks, including its CR once that arrived; allocated on first use and
   * grown up to the line limit. Lines that arrive whole are parsed in the chunk itself.
   */
  #line: Uint8Array | null = null;
  #lineLength = 0;
  #headSize = 0;
  #sawStartLine = false;
  #fields: HeaderField[] = [];
  #error: HandshakeError | null = null;
  #done = false;

  constructor(kind: HeadKind<H>, limits: HeadLimits) {
    this.#kind = kind;
    this.#limits = checkLimits(limits);
  }

  /**
   * Feed the next bytes. Returns `NEED_MORE`, or the complete head and the bytes after it.
   *
   * @throws HandshakeError if the head is malformed (400) or too large (431/414); once thrown,
   *   every later call throws the same error.
   * @throws InvalidStateError if the head was already complete.
   */
  push(chunk: Uint8Array): HeadParseResult<H> {
    if (this.#error !== null) throw this.#error;
    if (this.#done) throw new InvalidStateError('the HTTP head is already complete');
    try {
      const result = this.#push(chunk);
      if (result.done) this.#release();
      return result;
    } catch (error) {
      if (error instanceof HandshakeError) this.#error = error;
      this.#release();
      throw error;
    }
  }

  /** The parser is single-use: once it is done or failed, drop what it buffered. */
  #release(): void {
    this.#line = null;
    this.#fields = [];
  }

  #push(chunk: Uint8Array): HeadParseResult<H> {
    const { maxHeadSize, maxHeaderLineLength } = this.#limits;
    let i = 0;
    while (i < chunk.length) {
      const lf = chunk.indexOf(LF, i);
      const end = lf === -1 ? chunk.length : lf;
      const consumed = end - i + (lf === -1 ? 0 : 1);
      const headRoom = maxHeadSize - this.#headSize;
      // +1: a line's CR stays with it until the LF arrives.
      const lineRoom = maxHeaderLineLength + 1 - this.#lineLength;
      // When both limits are passed in this piece, the one the stream reaches first decides,
      // so the answer does not depend on how the bytes were split into chunks. (A line past
      // its limit with no less head room than line room has passed the head limit too.)
      if (end - i > lineRoom && lineRoom < headRoom) this.#lineTooLong();
      if (consumed > headRoom) throw this.#kind.tooLarge(`HTTP head larger than ${maxHeadSize} bytes`, false);
      this.#headSize += consumed;
      if (lf === -1) {
        this.#append(chunk, i, end);
        break;
      }
      let last: boolean;
      if (this.#lineLength === 0) {
        last = this.#completeLine(chunk, i, end);
      } else {
        this.#append(chunk, i, end);
        const length = this.#lineLength;
        this.#lineLength = 0;
        last = this.#completeLine(this.#line!, 0, length);
      }
      i = lf + 1;
      if (last) {
        this.#done = true;
        return { done: true, head: this.#kind.finish(new HttpHeaders(this.#fields)), rest: chunk.subarray(i) };
      }
    }
    return NEED_MORE;
  }

  #append(chunk: Uint8Array, start: number, end: number): void {
    const needed = this.#lineLength + (end - start);
    if (this.#line === null || needed > this.#line.length) {
      const capacity = Math.min(Math.max(needed, 256, (this.#line?.length ?? 0) * 2), this.#limits.maxHeaderLineLength + 1);
      const grown = new Uint8Array(capacity);
      if (this.#line !== null) grown.set(this.#line.subarray(0, this.#lineLength));
      this.#line = grown;
    }
    this.#line.set(chunk.subarray(start, end), this.#lineLength);
    this.#lineLength = needed;
  }

  #lineTooLong(): never {
    const limit = this.#limits.maxHeaderLineLength;
    if (this.#sawStartLine) throw this.#kind.tooLarge(`header line longer than ${limit} bytes`, false);
    throw this.#kind.tooLarge(`start line longer than ${limit} bytes`, true);
  }

  /**
   * `line[start..end)` is a line that was followed by LF (and is at most the line limit plus
   * its CR). Check it. Returns true when it was the head's last line.
   */
  #completeLine(line: Uint8Array, start: number, end: number): boolean {
    // RFC 7230 §3: every line of the head ends in CRLF.
    if (end === start || line[end - 1] !== CR) throw this.#kind.malformed('line ends in a bare LF instead of CRLF');
    const contentEnd = end - 1;
    if (line.indexOf(CR, start) < contentEnd) throw this.#kind.malformed('CR not followed by LF');

    if (!this.#sawStartLine) {
      if (contentEnd === start) return false; // RFC 7230 §3.5: ignore empty lines before the start line
      const problem = this.#kind.startLine(line, start, contentEnd);
      if (problem !== null) throw this.#kind.malformed(problem);
      this.#sawStartLine = true;
      return false;
    }
    if (contentEnd === start) return true;
    if (this.#fields.length >= this.#limits.maxHeaderCount) {
      throw this.#kind.tooLarge(`more than ${this.#limits.maxHeaderCount} header fields`, false);
    }
    this.#fields.push(this.#parseField(line, start, contentEnd));
    return false;
  }

  #parseField(line: Uint8Array, start: number, end: number): HeaderField {
    const first = line[start]!;
    if (first === SP || first === HTAB) {
      // RFC 7230 §3.2.4: obs-fold is rejected; §3: whitespace between the start line and the
      // first header field MUST be rejected or ignored.
      throw this.#kind.malformed(
        this.#fields.length === 0
          ? 'whitespace between the start line and the first header field'
          : 'obsolete line folding (obs-fold) in a header field',
      );
    }
    const colon = skipBytes(line, start, end, TCHAR);
    if (colon === end) throw this.#kind.malformed('header field without a colon');
    const stop = line[colon]!;
    if (stop !== COLON) {
      if (stop === SP || stop === HTAB) throw this.#kind.malformed('whitespace between a header name and its colon');
      throw this.#kind.malformed(`invalid character ${hex(stop)} in a header name`);
    }
    if (colon === start) throw this.#kind.malformed('empty header name');

    const valueStart = skipBytes(line, colon + 1, end, WSP);
    const valueEnd = skipBytesBackward(line, valueStart, end, WSP);
    const invalid = skipBytes(line, valueStart, valueEnd, FIELD_CHAR);
    // One decode per line; name and value are slices of it.
    const text = latin1Decode(line, start, valueEnd);
    const name = text.slice(0, colon - start);
    if (invalid < valueEnd) throw this.#kind.malformed(`invalid character ${hex(line[invalid]!)} in the value of header ${name}`);
    return [name, text.slice(valueStart - start)];
  }
}

/**
 * Reads a request head (the server side of the handshake). Errors carry the status the server
 * should answer with: 400 malformed, 431 too large, 414 request line too long.
 *
 * @example
 * const parser = new RequestHeadParser();
 * const result = parser.push(bytes);
 * if (result.done) handle(result.head, result.rest);
 */
export class RequestHeadParser {
  readonly #parser: HeadParser<HttpRequestHead>;

  constructor(limits: HeadLimits = DEFAULT_HEAD_LIMITS) {
    let method = '';
    let target = '';
    let version: HttpVersion = { major: 1, minor: 1 };
    this.#parser = new HeadParser<HttpRequestHead>(
      {
        startLine(line, start, end) {
          // request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1)
          const methodEnd = skipBytes(line, start, end, TCHAR);
          if (methodEnd === start || line[methodEnd] !== SP) return 'malformed request line: invalid method';
          const targetStart = methodEnd + 1;
          const targetEnd = skipBytes(line, targetStart, end, VCHAR);
          if (targetEnd === targetStart || line[targetEnd] !== SP) return 'malformed request line: invalid request target';
          const parsed = parseVersion(line, targetEnd + 1, end);
          if (parsed === null) return 'malformed request line: invalid HTTP version';
          method = latin1Decode(line, start, methodEnd);
          target = latin1Decode(line, targetStart, targetEnd);
          version = parsed;
          return null;
        },
        finish: (headers) => ({ method, target, version, headers }),
        malformed: (message) => new HandshakeError(message, 400),
        tooLarge: (message, startLine) =>
          new HandshakeError(message, startLine ? 414 : 431, [], ErrorCode.HEAD_TOO_LARGE),
      },
      limits,
    );
  }

  /**
   * Feed the next bytes, split anywhere. Returns `NEED_MORE`, or the complete head and the
   * bytes that followed it in this chunk.
   *
   * @throws HandshakeError 400 (malformed), 431 (head, field count or header line over the
   *   limit) or 414 (request line over the line limit); every later call throws it again.
   * @throws InvalidStateError if the head was already complete.
   */
  push(chunk: Uint8Array): HeadParseResult<HttpRequestHead> {
    return this.#parser.push(chunk);
  }
}

/**
 * Reads a response head (the client side of the handshake). Errors carry the status the
 * server sent, or 0 when the status line itself was not valid.
 */
export class ResponseHeadParser {
  readonly #parser: HeadParser<HttpResponseHead>;

  constructor(limits: HeadLimits = DEFAULT_HEAD_LIMITS) {
    let status = 0;
    let reason = '';
    let version: HttpVersion = { major: 1, minor: 1 };
    this.#parser = new HeadParser<HttpResponseHead>(
      {
        startLine(line, start, end) {
          // status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 §3.1.2). The
          // SP before an empty reason phrase is optional here, as in h11: servers omit it.
          const parsed = parseVersion(line, start, Math.min(start + 8, end));
          if (parsed === null || end - start < 12 || line[start + 8] !== SP) return 'malformed status line: invalid HTTP version';
          let code = 0;
          for (let i = start + 9; i < start + 12; i++) {
            const digit = line[i]! - 0x30;
            if (digit < 0 || digit > 9) return 'malformed status line: invalid status code';
            code = code * 10 + digit;
          }
          if (code < 100) return 'malformed status line: invalid status code';
          const reasonStart = start + 13;
          if (end > start + 12) {
            if (line[start + 12] !== SP) return 'malformed status line: invalid status code';
            const invalid = skipBytes(line, reasonStart, end, FIELD_CHAR);
            if (invalid < end) return `invalid character ${hex(line[invalid]!)} in the reason phrase`;
          }
          version = parsed;
          status = code;
          reason = reasonStart < end ? latin1Decode(line, reasonStart, end) : '';
          return null;
        },
        finish: (headers) => ({ version, status, reason, headers }),
        malformed: (message) => new HandshakeError(`invalid HTTP response: ${message}`, status),
        tooLarge: (message) => new HandshakeError(`invalid HTTP response: ${message}`, status, [], ErrorCode.HEAD_TOO_LARGE),
      },
      limits,
    );
  }

  /**
   * Feed the next bytes, split anywhere. Returns `NEED_MORE`, or the complete head and the
   * bytes that followed it in this chunk.
   *
   * @throws HandshakeError if the response is malformed or over a limit (`status`: the status
   *   the server sent, or 0); every later call throws it again.
   * @throws InvalidStateError if the head was already complete.
   */
  push(chunk: Uint8Array): HeadParseResult<HttpResponseHead> {
    return this.#parser.push(chunk);
  }
}

// ---------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------

/** Check a header field a caller wants to send. @throws InvalidArgumentError */
export function checkHeaderField(name: string, value: string): void {
  if (!isToken(name)) throw new InvalidArgumentError(`invalid header name ${JSON.stringify(name)}: must be an RFC 7230 token`);
  if (!isFieldValue(value)) {
    throw new InvalidArgumentError(
      `invalid value for header ${name}: CR, LF, NUL, other control characters and characters above U+00FF are not allowed`,
    );
  }
}

function encodeHead(startLine: string, headers: Iterable<HeaderField>): Uint8Array {
  let text = `${startLine}\r\n`;
  for (const [name, value] of headers) {
    checkHeaderField(name, value);
    text += `${name}: ${value}\r\n`;
  }
  text += '\r\n';
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i); // all ≤ 0xFF, checked above
  return bytes;
}

/**
 * Serialize an HTTP/1.1 request head (`method target HTTP/1.1`, the fields, the empty line).
 *
 * @throws InvalidArgumentError if the method is not a token, the target is empty or holds a
 *   character other than VCHAR, or a header name or value is invalid.
 */
export function serializeRequestHead(method: string, target: string, headers: Iterable<HeaderField>): Uint8Array {
  if (!isToken(method)) throw new InvalidArgumentError(`invalid HTTP method ${JSON.stringify(method)}`);
  if (target.length === 0) throw new InvalidArgumentError('the request target is empty');
  for (let i = 0; i < target.length; i++) {
    if (!hasClass(target.charCodeAt(i), VCHAR)) {
      throw new InvalidArgumentError(`invalid character in request target ${JSON.stringify(target)}`);
    }
  }
  return encodeHead(`${method} ${target} HTTP/1.1`, headers);
}

/**
 * Serialize an HTTP/1.1 response head (`HTTP/1.1 status reason`, the fields, the empty line).
 *
 * @throws InvalidArgumentError if `status` is not an integer 100–999, the reason phrase holds a
 *   control character, or a header name or value is invalid.
 */
export function serializeResponseHead(status: number, reason: string, headers: Iterable<HeaderField>): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new InvalidArgumentError(`invalid HTTP status ${String(status)}`);
  }
  if (!isFieldValue(reason)) throw new InvalidArgumentError(`invalid reason phrase ${JSON.stringify(reason)}`);
  return encodeHead(`HTTP/1.1 ${status} ${reason}`, headers);
}

/** Normalize a header collection given as pairs or as a record. */
export function headerFieldsOf(headers: Iterable<HeaderField> | Readonly<Record<string, string>> | undefined): HeaderField[] {
  if (headers === undefined) return [];
  if (Symbol.iterator in headers) return [...(headers as Iterable<HeaderField>)];
  return Object.entries(headers as Record<string, string>);
}

/** Check caller-supplied header fields and refuse the ones the handshake owns. @throws InvalidArgumentError */
export function checkExtraHeaders(fields: readonly HeaderField[], managed: ReadonlySet<string>): void {
  for (const [name, value] of fields) {
    if (typeof name !== 'string' || typeof value !== 'string') {
      throw new InvalidArgumentError('header names and values must be strings');
    }
    checkHeaderField(name, value);
    if (managed.has(asciiLowerCase(name))) {
      throw new InvalidArgumentError(`header ${name} is set by the handshake itself and cannot be given as an extra header`);
    }
  }
}
