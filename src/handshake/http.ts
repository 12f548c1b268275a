/**
 * A strict, size-limited, incremental HTTP/1.1 message-head parser (RFC 7230 §3) and the
 * matching serializers — just enough HTTP for the WebSocket opening handshake (RFC 6455 §4).
 *
 * Theory of operation: bytes are pushed as the transport delivers them, split anywhere. The
 * parser looks for line ends with `indexOf(LF)` (native, linear), copies each line into a
 * bounded buffer and checks it with one pass over its char codes when it completes; no
 * regular expression is involved. `push` returns `NEED_MORE` (a value, as h11's NEED_DATA)
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
import { asciiLowerCase, CHAR_CLASS, FIELD_CHAR, hasClass, isFieldValue, isToken, TCHAR, VCHAR, WSP } from './chars.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
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

/** Decode bytes as ISO-8859-1, the byte-per-character reading HTTP heads have (RFC 7230 §3.2.4). */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 4096, end)) as unknown as number[]);
  }
  return out;
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
  /** Parse the start line; returns an error message if it is malformed. */
  startLine(line: Uint8Array, length: number): string | null;
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
  /** The line being received, including its CR once that arrived; grows up to the line limit. */
  #line = new Uint8Array(256);
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
    this.#line = new Uint8Array(0);
    this.#fields = [];
  }

  #push(chunk: Uint8Array): HeadParseResult<H> {
    const { maxHeadSize, maxHeaderLineLength } = this.#limits;
    let i = 0;
    while (i < chunk.length) {
      const lf = chunk.indexOf(LF, i);
      const end = lf === -1 ? chunk.length : lf;
      const consumed = end - i + (lf === -1 ? 0 : 1);
      if (this.#headSize + consumed > maxHeadSize) {
        throw this.#kind.tooLarge(`HTTP head larger than ${maxHeadSize} bytes`, false);
      }
      // +1: the line's CR is buffered with it until the LF arrives.
      if (this.#lineLength + (end - i) > maxHeaderLineLength + 1) this.#lineTooLong();
      this.#append(chunk, i, end);
      this.#headSize += consumed;
      if (lf === -1) break;
      i = lf + 1;
      if (this.#completeLine()) {
        this.#done = true;
        return { done: true, head: this.#kind.finish(new HttpHeaders(this.#fields)), rest: chunk.subarray(i) };
      }
    }
    return NEED_MORE;
  }

  #append(chunk: Uint8Array, start: number, end: number): void {
    const needed = this.#lineLength + (end - start);
    if (needed > this.#line.length) {
      const grown = new Uint8Array(Math.min(Math.max(needed, this.#line.length * 2), this.#limits.maxHeaderLineLength + 1));
      grown.set(this.#line.subarray(0, this.#lineLength));
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

  /** A line ending in LF is buffered; check it. Returns true when it was the head's last line. */
  #completeLine(): boolean {
    const line = this.#line;
    const total = this.#lineLength;
    this.#lineLength = 0;
    // RFC 7230 §3: every line of the head ends in CRLF.
    if (total === 0 || line[total - 1] !== CR) throw this.#kind.malformed('line ends in a bare LF instead of CRLF');
    const length = total - 1;
    const bareCr = line.subarray(0, length).indexOf(CR);
    if (bareCr !== -1) throw this.#kind.malformed('CR not followed by LF');
    if (length > this.#limits.maxHeaderLineLength) this.#lineTooLong();

    if (!this.#sawStartLine) {
      if (length === 0) return false; // RFC 7230 §3.5: ignore empty lines before the start line
      const problem = this.#kind.startLine(line, length);
      if (problem !== null) throw this.#kind.malformed(problem);
      this.#sawStartLine = true;
      return false;
    }
    if (length === 0) return true;
    if (this.#fields.length >= this.#limits.maxHeaderCount) {
      throw this.#kind.tooLarge(`more than ${this.#limits.maxHeaderCount} header fields`, false);
    }
    this.#fields.push(this.#parseField(line, length));
    return false;
  }

  #parseField(line: Uint8Array, length: number): HeaderField {
    const first = line[0]!;
    if (first === SP || first === 0x09) {
      // RFC 7230 §3.2.4: obs-fold is rejected; §3: whitespace between the start line and the
      // first header field MUST be rejected or ignored.
      throw this.#kind.malformed(
        this.#fields.length === 0
          ? 'whitespace between the start line and the first header field'
          : 'obsolete line folding (obs-fold) in a header field',
      );
    }
    let colon = 0;
    while (colon < length && (CHAR_CLASS[line[colon]!]! & TCHAR) !== 0) colon++;
    if (colon === length) throw this.#kind.malformed('header field without a colon');
    const stop = line[colon]!;
    if (stop !== COLON) {
      if (stop === SP || stop === 0x09) throw this.#kind.malformed('whitespace between a header name and its colon');
      throw this.#kind.malformed(`invalid character ${hex(stop)} in a header name`);
    }
    if (colon === 0) throw this.#kind.malformed('empty header name');
    const name = latin1(line, 0, colon);

    let start = colon + 1;
    let end = length;
    while (start < end && (CHAR_CLASS[line[start]!]! & WSP) !== 0) start++;
    while (end > start && (CHAR_CLASS[line[end - 1]!]! & WSP) !== 0) end--;
    for (let i = start; i < end; i++) {
      const code = line[i]!;
      if ((CHAR_CLASS[code]! & FIELD_CHAR) === 0) {
        throw this.#kind.malformed(`invalid character ${hex(code)} in the value of header ${name}`);
      }
    }
    return [name, latin1(line, start, end)];
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
        startLine(line, length) {
          // request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1)
          let i = 0;
          while (i < length && (CHAR_CLASS[line[i]!]! & TCHAR) !== 0) i++;
          if (i === 0 || i === length || line[i] !== SP) return 'malformed request line: invalid method';
          method = latin1(line, 0, i);
          const targetStart = ++i;
          while (i < length && (CHAR_CLASS[line[i]!]! & VCHAR) !== 0) i++;
          if (i === targetStart || i === length || line[i] !== SP) return 'malformed request line: invalid request target';
          target = latin1(line, targetStart, i);
          const parsed = parseVersion(line, i + 1, length);
          if (parsed === null) return 'malformed request line: invalid HTTP version';
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

  /** See `HeadParser.push`. @throws HandshakeError (400, 414, 431), InvalidStateError */
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
        startLine(line, length) {
          // status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 §3.1.2). The
          // SP before an empty reason phrase is optional here, as in h11: servers omit it.
          const parsed = parseVersion(line, 0, Math.min(8, length));
          if (parsed === null || length < 12 || line[8] !== SP) return 'malformed status line: invalid HTTP version';
          let code = 0;
          for (let i = 9; i < 12; i++) {
            const digit = line[i]! - 0x30;
            if (digit < 0 || digit > 9) return 'malformed status line: invalid status code';
            code = code * 10 + digit;
          }
          if (code < 100) return 'malformed status line: invalid status code';
          if (length > 12) {
            if (line[12] !== SP) return 'malformed status line: invalid status code';
            for (let i = 13; i < length; i++) {
              if ((CHAR_CLASS[line[i]!]! & FIELD_CHAR) === 0) return `invalid character ${hex(line[i]!)} in the reason phrase`;
            }
          }
          version = parsed;
          status = code;
          reason = length > 13 ? latin1(line, 13, length) : '';
          return null;
        },
        finish: (headers) => ({ version, status, reason, headers }),
        malformed: (message) => new HandshakeError(`invalid HTTP response: ${message}`, status),
        tooLarge: (message) => new HandshakeError(`invalid HTTP response: ${message}`, status, [], ErrorCode.HEAD_TOO_LARGE),
      },
      limits,
    );
  }

  /** See `HeadParser.push`. @throws HandshakeError, InvalidStateError */
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
