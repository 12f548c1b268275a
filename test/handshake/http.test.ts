import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEAD_LIMITS,
  HttpHeaders,
  NEED_MORE,
  RequestHeadParser,
  ResponseHeadParser,
  serializeRequestHead,
  serializeResponseHead,
  type HeadLimits,
  type HeadParseResult,
} from '../../src/handshake/http.js';
import { DefaultLimits } from '../../src/shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, InvalidStateError } from '../../src/shared/errors.js';
import { concatBytes } from '../../src/shared/bytes.js';
import { chunkings, randomChunks } from '../helpers/chunkings.js';
import { latin1Bytes, latin1Text, thrown } from './helpers.js';

/** The client handshake of RFC 6455 §1.2 / §4.1. */
const RFC_REQUEST =
  'GET /chat HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

/** The server handshake of RFC 6455 §1.2. */
const RFC_RESPONSE =
  'HTTP/1.1 101 Switching Protocols\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
  'Sec-WebSocket-Protocol: chat\r\n' +
  '\r\n';

/** An unmasked "Hello" text frame (RFC 6455 §5.7): what may follow a head in the same read. */
const FRAME = new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

/** Push `chunks` in order; return the completed result and the bytes after the head. */
function feed<H>(parser: { push(chunk: Uint8Array): HeadParseResult<H> }, chunks: readonly Uint8Array[]): { head: H; rest: Uint8Array } {
  const rest: Uint8Array[] = [];
  let head: H | undefined;
  for (const chunk of chunks) {
    if (head !== undefined) {
      rest.push(chunk);
      continue;
    }
    const result = parser.push(chunk);
    if (result.done) {
      head = result.head;
      rest.push(result.rest);
    } else {
      expect(result).toBe(NEED_MORE);
    }
  }
  if (head === undefined) expect.fail('the head never completed');
  return { head, rest: concat(...rest) };
}

function parseRequest(text: string, limits?: HeadLimits) {
  return feed(new RequestHeadParser(limits), [latin1Bytes(text)]).head;
}

function requestError(text: string, limits?: HeadLimits): HandshakeError {
  const error = thrown(() => parseRequest(text, limits));
  expect(error).toBeInstanceOf(HandshakeError);
  return error as HandshakeError;
}

function responseError(text: string): HandshakeError {
  const error = thrown(() => feed(new ResponseHeadParser(), [latin1Bytes(text)]));
  expect(error).toBeInstanceOf(HandshakeError);
  return error as HandshakeError;
}

const smallHeaders = (extra: string): string => `GET / HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;

describe('RequestHeadParser', () => {
  it('§1.2 parses the RFC example request', () => {
    const head = parseRequest(RFC_REQUEST);
    expect(head.method).toBe('GET');
    expect(head.target).toBe('/chat');
    expect(head.version).toEqual({ major: 1, minor: 1 });
    expect(head.headers.size).toBe(7);
    expect(head.headers.get('host')).toBe('server.example.com');
    expect(head.headers.get('SEC-WEBSOCKET-KEY')).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(head.headers.get('Sec-WebSocket-Protocol')).toBe('chat, superchat');
    expect([...head.headers].map(([name]) => name)).toEqual([
      'Host',
      'Upgrade',
      'Connection',
      'Sec-WebSocket-Key',
      'Origin',
      'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Version',
    ]);
  });

  it('returns NEED_MORE until the empty line, then the head and an empty rest', () => {
    const parser = new RequestHeadParser();
    const bytes = latin1Bytes(RFC_REQUEST);
    expect(parser.push(bytes.subarray(0, bytes.length - 1))).toBe(NEED_MORE);
    const result = parser.push(bytes.subarray(bytes.length - 1));
    expect(result.done).toBe(true);
    if (result.done) expect(result.rest).toHaveLength(0);
  });

  it('hands back the bytes after the head as a view into the chunk (the first frames)', () => {
    const chunk = concat(latin1Bytes(RFC_REQUEST), FRAME);
    const result = new RequestHeadParser().push(chunk);
    if (!result.done) expect.fail('expected a complete head');
    expect(result.rest).toEqual(FRAME);
    expect(result.rest.buffer).toBe(chunk.buffer);
    expect(result.rest.byteOffset).toBe(RFC_REQUEST.length);
  });

  it('gives the same head and rest whole, byte by byte, split at every byte and in seeded random chunks', () => {
    const bytes = concat(latin1Bytes(RFC_REQUEST), FRAME);
    const whole = feed(new RequestHeadParser(), [bytes]);
    for (const { name, chunks } of chunkings(bytes, { randomCount: 200, seed: 6455 })) {
      const split = feed(new RequestHeadParser(), chunks);
      expect(split.head, name).toEqual(whole.head);
      expect([...split.head.headers], name).toEqual([...whole.head.headers]);
      expect(split.rest, name).toEqual(FRAME);
    }
  });

  it('a header line longer than its first buffer, spread over many reads, is read whole', () => {
    const value = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(0x61 + (i % 26))).join('');
    const bytes = latin1Bytes(`GET / HTTP/1.1\r\nX-Long: ${value}\r\nHost: a\r\n\r\n`);
    for (const maxChunk of [7, 100, 600]) {
      const { head } = feed(new RequestHeadParser(), randomChunks(bytes, maxChunk, maxChunk));
      expect(head.headers.get('X-Long'), `chunks of up to ${maxChunk} bytes`).toBe(value);
      expect(head.headers.get('Host')).toBe('a');
    }
  });

  it('accepts empty chunks', () => {
    const parser = new RequestHeadParser();
    expect(parser.push(new Uint8Array(0))).toBe(NEED_MORE);
    expect(parser.push(latin1Bytes(RFC_REQUEST)).done).toBe(true);
  });

  it('RFC 7230 §3.5: skips empty lines before the request line', () => {
    expect(parseRequest(`\r\n\r\n${RFC_REQUEST}`).target).toBe('/chat');
  });

  it('RFC 7230 §3.2: keeps duplicates; get() joins them with ", " (§3.2.2); count() and getAll() see each line', () => {
    const head = parseRequest(smallHeaders('Sec-WebSocket-Protocol: chat\r\nX: 1\r\nsec-websocket-protocol: superchat, v2\r\n'));
    expect(head.headers.get('Sec-WebSocket-Protocol')).toBe('chat, superchat, v2');
    expect(head.headers.getAll('SEC-WEBSOCKET-PROTOCOL')).toEqual(['chat', 'superchat, v2']);
    expect(head.headers.count('sec-websocket-protocol')).toBe(2);
    expect(head.headers.count('Host')).toBe(1);
    expect(head.headers.count('Missing')).toBe(0);
    expect(head.headers.get('Missing')).toBeUndefined();
    expect(head.headers.getAll('Missing')).toEqual([]);
    expect(head.headers.has('x')).toBe(true);
  });

  it('RFC 7230 §3.2.4: strips OWS around values, keeps inner whitespace, allows empty values', () => {
    const head = parseRequest(smallHeaders('A: \t  two  words \t\r\nB:\r\nC:    \r\nD:x\r\n'));
    expect(head.headers.get('A')).toBe('two  words');
    expect(head.headers.get('B')).toBe('');
    expect(head.headers.get('C')).toBe('');
    expect(head.headers.get('D')).toBe('x');
  });

  it('RFC 7230 §3.2.6: reads obs-text (0x80–0xFF) in values as ISO-8859-1', () => {
    expect(parseRequest(smallHeaders('X: caf\u00e9 \u00ff\r\n')).headers.get('x')).toBe('caf\u00e9 \u00ff');
  });

  it('accepts every tchar in header names and methods, any VCHAR in the target', () => {
    const head = parseRequest("M-!#$%&'*+.^_`|~9 /a?b=%20&c[]@:;,\"<>{}\\ HTTP/1.1\r\n!#$%&'*+-.^_`|~Az09: v\r\n\r\n");
    expect(head.method).toBe("M-!#$%&'*+.^_`|~9");
    expect(head.target).toBe('/a?b=%20&c[]@:;,"<>{}\\');
    expect(head.headers.get("!#$%&'*+-.^_`|~az09")).toBe('v');
  });

  it('reports versions other than 1.1 for the server to judge', () => {
    expect(parseRequest('GET / HTTP/1.0\r\n\r\n').version).toEqual({ major: 1, minor: 0 });
    expect(parseRequest('GET / HTTP/2.0\r\n\r\n').version).toEqual({ major: 2, minor: 0 });
  });

  describe('malformed heads → 400 with a reason', () => {
    it.each([
      ['GET / HTTP/1.1\nHost: a\r\n\r\n', 'line ends in a bare LF instead of CRLF'],
      ['GET / HTTP/1.1\r\nHost: a\n\r\n', 'line ends in a bare LF instead of CRLF'],
      ['GET / HTTP/1.1\r\nHost: a\r\n\n', 'line ends in a bare LF instead of CRLF'],
      ['GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n', 'CR not followed by LF'],
      ['GET / HTTP/1.1\r\nHost: a\r\r\n\r\n', 'CR not followed by LF'],
      ['GET / HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n', 'obsolete line folding (obs-fold) in a header field'],
      ['GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n', 'obsolete line folding (obs-fold) in a header field'],
      ['GET / HTTP/1.1\r\n Host: a\r\n\r\n', 'whitespace between the start line and the first header field'],
      ['GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'whitespace between a header name and its colon'],
      ['GET / HTTP/1.1\r\nHost\t: a\r\n\r\n', 'whitespace between a header name and its colon'],
      ['GET / HTTP/1.1\r\nHo(st: a\r\n\r\n', 'invalid character 0x28 in a header name'],
      ['GET / HTTP/1.1\r\nHo\u0000st: a\r\n\r\n', 'invalid character 0x00 in a header name'],
      ['GET / HTTP/1.1\r\nH\u00e9st: a\r\n\r\n', 'invalid character 0xe9 in a header name'],
      ['GET / HTTP/1.1\r\n: a\r\n\r\n', 'empty header name'],
      ['GET / HTTP/1.1\r\nHost\r\n\r\n', 'header field without a colon'],
      ['GET / HTTP/1.1\r\nHost: a\u0000b\r\n\r\n', 'invalid character 0x00 in the value of header Host'],
      ['GET / HTTP/1.1\r\nHost: a\u0001\r\n\r\n', 'invalid character 0x01 in the value of header Host'],
      ['GET / HTTP/1.1\r\nHost: a\u007f\r\n\r\n', 'invalid character 0x7f in the value of header Host'],
      ['GET / HTTP/1.1\r\nHost: a\u001b[31m\r\n\r\n', 'invalid character 0x1b in the value of header Host'],
      ['get / http/1.1\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET /\r\n\r\n', 'malformed request line: invalid request target'],
      ['GET\r\n\r\n', 'malformed request line: invalid method'],
      [' GET / HTTP/1.1\r\n\r\n', 'malformed request line: invalid method'],
      ['G(T / HTTP/1.1\r\n\r\n', 'malformed request line: invalid method'],
      ['GET  / HTTP/1.1\r\n\r\n', 'malformed request line: invalid request target'],
      ['GET /a\u00e9 HTTP/1.1\r\n\r\n', 'malformed request line: invalid request target'],
      ['GET /a\tb HTTP/1.1\r\n\r\n', 'malformed request line: invalid request target'],
      ['GET / HTTP/1.1 \r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET /  HTTP/1.1\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET / HTTP/11.1\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET / HTTP/1.x\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET / HTTP-1.1\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET / HTTP/1,1\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET / HTTPS/1.1\r\n\r\n', 'malformed request line: invalid HTTP version'],
      ['GET / HTTP/1.1\u0000\r\n\r\n', 'malformed request line: invalid HTTP version'],
    ])('%j → %s', (text, reason) => {
      const error = requestError(text);
      expect(error.status).toBe(400);
      expect(error.code).toBe(ErrorCode.HANDSHAKE);
      expect(error.message).toBe(reason);
      expect(error.headers).toEqual([]);
    });

    it('reports the same error wherever the input is split', () => {
      const text = 'GET / HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n';
      for (const { chunks } of chunkings(latin1Bytes(text))) {
        const error = thrown(() => feed(new RequestHeadParser(), chunks));
        expect(error.message).toBe('obsolete line folding (obs-fold) in a header field');
      }
    });

    it('keeps throwing the same error after one', () => {
      const parser = new RequestHeadParser();
      const first = thrown(() => parser.push(latin1Bytes('GET / HTTP/1.1\r\nHost : a\r\n')));
      expect(thrown(() => parser.push(latin1Bytes('\r\n')))).toBe(first);
    });
  });

  describe('limits (RFC 6585 §5: 431; RFC 7230 §3.1.1: 414)', () => {
    const limits = (overrides: Partial<HeadLimits>): HeadLimits => ({ ...DEFAULT_HEAD_LIMITS, ...overrides });

    it('defaults to DefaultLimits', () => {
      expect(DEFAULT_HEAD_LIMITS).toEqual({
        maxHeadSize: DefaultLimits.maxHeadSize,
        maxHeaderCount: DefaultLimits.maxHeaderCount,
        maxHeaderLineLength: DefaultLimits.maxHeaderLineLength,
      });
    });

    it('accepts a head of exactly maxHeadSize bytes and refuses one byte more with 431', () => {
      const base = 'GET / HTTP/1.1\r\nX: \r\n\r\n';
      const padding = 'a'.repeat(500 - base.length);
      const exact = `GET / HTTP/1.1\r\nX: ${padding}\r\n\r\n`;
      expect(exact).toHaveLength(500);
      expect(parseRequest(exact, limits({ maxHeadSize: 500 })).headers.get('X')).toBe(padding);
      const error = requestError(`GET / HTTP/1.1\r\nX: a${padding}\r\n\r\n`, limits({ maxHeadSize: 500 }));
      expect(error).toMatchObject({ status: 431, code: ErrorCode.HEAD_TOO_LARGE, message: 'HTTP head larger than 500 bytes' });
    });

    it('counts the bytes of the head only, not the frames after it', () => {
      const head = latin1Bytes('GET / HTTP/1.1\r\n\r\n');
      const result = new RequestHeadParser(limits({ maxHeadSize: head.length })).push(concat(head, new Uint8Array(1000)));
      if (!result.done) expect.fail('expected a complete head');
      expect(result.rest).toHaveLength(1000);
    });

    it('accepts maxHeaderCount fields and refuses one more with 431', () => {
      const fields = (n: number): string => Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join('');
      expect(parseRequest(`GET / HTTP/1.1\r\n${fields(5)}\r\n`, limits({ maxHeaderCount: 5 })).headers.size).toBe(5);
      expect(requestError(`GET / HTTP/1.1\r\n${fields(6)}\r\n`, limits({ maxHeaderCount: 5 }))).toMatchObject({
        status: 431,
        code: ErrorCode.HEAD_TOO_LARGE,
        message: 'more than 5 header fields',
      });
    });

    it('accepts a header line of maxHeaderLineLength bytes and refuses one more with 431', () => {
      const value = 'v'.repeat(100 - 'X: '.length);
      expect(parseRequest(`GET / HTTP/1.1\r\nX: ${value}\r\n\r\n`, limits({ maxHeaderLineLength: 100 })).headers.get('X')).toBe(value);
      expect(requestError(`GET / HTTP/1.1\r\nX: ${value}v\r\n\r\n`, limits({ maxHeaderLineLength: 100 }))).toMatchObject({
        status: 431,
        code: ErrorCode.HEAD_TOO_LARGE,
        message: 'header line longer than 100 bytes',
      });
    });

    it('refuses a request line longer than maxHeaderLineLength with 414', () => {
      const target = `/${'p'.repeat(100 - 'GET / HTTP/1.1'.length)}`;
      expect(parseRequest(`GET ${target} HTTP/1.1\r\n\r\n`, limits({ maxHeaderLineLength: 100 })).target).toBe(target);
      expect(requestError(`GET ${target}p HTTP/1.1\r\n\r\n`, limits({ maxHeaderLineLength: 100 }))).toMatchObject({
        status: 414,
        code: ErrorCode.HEAD_TOO_LARGE,
        message: 'start line longer than 100 bytes',
      });
    });

    it('when a line passes both limits, the one reached first decides, however the bytes are split', () => {
      const line = `X: ${'a'.repeat(100)}\r\n`;
      const text = `GET / HTTP/1.1\r\n${line}\r\n`;
      // A 40-byte line limit is passed at the line's 42nd byte (the 41st may be its CR), the
      // head's 58th; a head limit of N bytes at the head's byte N + 1. At the same byte, the head's wins.
      const cases = [
        [limits({ maxHeadSize: 60, maxHeaderLineLength: 40 }), 'header line longer than 40 bytes'],
        [limits({ maxHeadSize: 58, maxHeaderLineLength: 40 }), 'header line longer than 40 bytes'],
        [limits({ maxHeadSize: 57, maxHeaderLineLength: 40 }), 'HTTP head larger than 57 bytes'],
        [limits({ maxHeadSize: 30, maxHeaderLineLength: 40 }), 'HTTP head larger than 30 bytes'],
        [limits({ maxHeadSize: 100, maxHeaderLineLength: 10 }), 'start line longer than 10 bytes'],
      ] as const;
      for (const [headLimits, message] of cases) {
        for (const { name, chunks } of chunkings(latin1Bytes(text), { randomCount: 4 })) {
          const error = thrown(() => feed(new RequestHeadParser(headLimits), chunks)) as HandshakeError;
          expect(error.message, `${message}, ${name}`).toBe(message);
          expect(error.code).toBe(ErrorCode.HEAD_TOO_LARGE);
        }
      }
    });

    it('stops an endless line as soon as it passes the line limit, without buffering more', () => {
      const parser = new RequestHeadParser(limits({ maxHeaderLineLength: 64 }));
      expect(parser.push(latin1Bytes('GET / HTTP/1.1\r\nX: '))).toBe(NEED_MORE);
      const chunk = new Uint8Array(64).fill(0x61);
      expect(parser.push(chunk.subarray(0, 61))).toBe(NEED_MORE); // "X: " + 61 = 64 bytes
      expect(parser.push(latin1Bytes('\r'))).toBe(NEED_MORE); // the CR may still be followed by LF
      expect(thrown(() => parser.push(latin1Bytes('a'))).message).toBe('header line longer than 64 bytes');
    });

    it('stops an endless stream of headers at the head size limit', () => {
      const parser = new RequestHeadParser();
      parser.push(latin1Bytes('GET / HTTP/1.1\r\n'));
      const line = latin1Bytes('X: y\r\n');
      let pushed = 16;
      const error = thrown(() => {
        for (;;) {
          parser.push(line);
          pushed += line.length;
        }
      }) as HandshakeError;
      expect(error.status).toBe(431);
      expect(pushed).toBeLessThanOrEqual(DefaultLimits.maxHeadSize);
    });

    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a limit of %s with InvalidArgumentError', (value) => {
      for (const key of ['maxHeadSize', 'maxHeaderCount', 'maxHeaderLineLength'] as const) {
        const error = thrown(() => new RequestHeadParser(limits({ [key]: value })));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.message).toContain(key);
      }
    });
  });

  it('refuses to parse past a complete head (InvalidStateError)', () => {
    const parser = new RequestHeadParser();
    parser.push(latin1Bytes(RFC_REQUEST));
    expect(thrown(() => parser.push(FRAME))).toBeInstanceOf(InvalidStateError);
  });

  it('never throws anything but HandshakeError on random bytes, and never completes without an empty line', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const parser = new RequestHeadParser(DEFAULT_HEAD_LIMITS);
        try {
          const result = parser.push(bytes);
          if (result.done) expect(latin1Text(bytes)).toContain('\r\n\r\n');
        } catch (error) {
          expect(error).toBeInstanceOf(HandshakeError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('ResponseHeadParser', () => {
  it('§1.2 parses the RFC example response', () => {
    const { head, rest } = feed(new ResponseHeadParser(), [concat(latin1Bytes(RFC_RESPONSE), FRAME)]);
    expect(head.status).toBe(101);
    expect(head.reason).toBe('Switching Protocols');
    expect(head.version).toEqual({ major: 1, minor: 1 });
    expect(head.headers.get('sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(rest).toEqual(FRAME);
  });

  it('gives the same head and rest for every chunking', () => {
    const bytes = concat(latin1Bytes(RFC_RESPONSE), FRAME);
    for (const { chunks } of chunkings(bytes)) {
      const { head, rest } = feed(new ResponseHeadParser(), chunks);
      expect(head.status).toBe(101);
      expect(head.headers.size).toBe(4);
      expect(rest).toEqual(FRAME);
    }
  });

  it.each([
    ['HTTP/1.1 101 Switching Protocols', 101, 'Switching Protocols'],
    ['HTTP/1.1 101 ', 101, ''],
    ['HTTP/1.1 101', 101, ''],
    ['HTTP/1.0 404 Not \u00e9 Found\t', 404, 'Not \u00e9 Found\t'],
    ['HTTP/1.1 999 x', 999, 'x'],
  ])('RFC 7230 §3.1.2 status line %j', (line, status, reason) => {
    const { head } = feed(new ResponseHeadParser(), [latin1Bytes(`${line}\r\n\r\n`)]);
    expect(head.status).toBe(status);
    expect(head.reason).toBe(reason);
  });

  it.each([
    ['HTTP/1.1 10 OK', 'invalid HTTP response: malformed status line: invalid status code'],
    ['HTTP/1.1 1010 OK', 'invalid HTTP response: malformed status line: invalid status code'],
    ['HTTP/1.1 099 OK', 'invalid HTTP response: malformed status line: invalid status code'],
    ['HTTP/1.1 1x1 OK', 'invalid HTTP response: malformed status line: invalid status code'],
    ['HTTP/1.1 101Switching', 'invalid HTTP response: malformed status line: invalid status code'],
    ['HTTP/1.1  101 OK', 'invalid HTTP response: malformed status line: invalid status code'],
    ['http/1.1 101 OK', 'invalid HTTP response: malformed status line: invalid HTTP version'],
    ['HTTP/1.1', 'invalid HTTP response: malformed status line: invalid HTTP version'],
    ['ICY 200 OK', 'invalid HTTP response: malformed status line: invalid HTTP version'],
    ['HTTP/1-1 101 OK', 'invalid HTTP response: malformed status line: invalid HTTP version'],
    ['HTTP/1.1 101 OK\u0000', 'invalid HTTP response: invalid character 0x00 in the reason phrase'],
  ])('a status line %j → HandshakeError with status 0', (line, message) => {
    expect(responseError(`${line}\r\n\r\n`)).toMatchObject({ status: 0, code: ErrorCode.HANDSHAKE, message });
  });

  it('an error after the status line carries the status the server sent', () => {
    expect(responseError('HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n')).toMatchObject({
      status: 101,
      code: ErrorCode.HANDSHAKE,
      message: 'invalid HTTP response: whitespace between a header name and its colon',
    });
    expect(responseError('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\r\n\r\n').message).toBe(
      'invalid HTTP response: line ends in a bare LF instead of CRLF',
    );
  });

  it('an oversized response is WSX_ERR_HEAD_TOO_LARGE with the status the server sent', () => {
    const parser = new ResponseHeadParser({ ...DEFAULT_HEAD_LIMITS, maxHeadSize: 64 });
    const error = thrown(() => parser.push(latin1Bytes(`HTTP/1.1 101 Switching Protocols\r\nX: ${'y'.repeat(64)}\r\n`)));
    expect(error).toMatchObject({ status: 101, code: ErrorCode.HEAD_TOO_LARGE, message: 'invalid HTTP response: HTTP head larger than 64 bytes' });
  });
});

describe('serialization', () => {
  it('serializes a request head and parses it back', () => {
    const bytes = serializeRequestHead('GET', '/chat?x=1', [
      ['Host', 'example.com'],
      ['X-Empty', ''],
    ]);
    expect(latin1Text(bytes)).toBe('GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\n\r\n');
    const head = parseRequest(latin1Text(bytes));
    expect(head.target).toBe('/chat?x=1');
    expect([...head.headers]).toEqual([
      ['Host', 'example.com'],
      ['X-Empty', ''],
    ]);
  });

  it('serializes a response head, ISO-8859-1 encoded', () => {
    const bytes = serializeResponseHead(101, 'Switching Protocols', [['X', 'caf\u00e9']]);
    expect(latin1Text(bytes)).toBe('HTTP/1.1 101 Switching Protocols\r\nX: caf\u00e9\r\n\r\n');
    expect(bytes[bytes.length - 5]).toBe(0xe9);
  });

  it.each([
    [() => serializeRequestHead('G T', '/', []), 'invalid HTTP method "G T"'],
    [() => serializeRequestHead('', '/', []), 'invalid HTTP method ""'],
    [() => serializeRequestHead('GET', '', []), 'the request target is empty'],
    [() => serializeRequestHead('GET', '/a b', []), 'invalid character in request target "/a b"'],
    [() => serializeRequestHead('GET', '/\r\nX: y', []), 'invalid character in request target "/\\r\\nX: y"'],
    [() => serializeRequestHead('GET', '/', [['X', 'a\r\nInjected: yes']]), 'invalid value for header X'],
    [() => serializeRequestHead('GET', '/', [['X', 'a\nb']]), 'invalid value for header X'],
    [() => serializeRequestHead('GET', '/', [['X', 'a\u0000']]), 'invalid value for header X'],
    [() => serializeRequestHead('GET', '/', [['X', '\u20ac']]), 'invalid value for header X'],
    [() => serializeRequestHead('GET', '/', [['X Y', 'v']]), 'invalid header name "X Y"'],
    [() => serializeRequestHead('GET', '/', [['X:', 'v']]), 'invalid header name "X:"'],
    [() => serializeRequestHead('GET', '/', [['', 'v']]), 'invalid header name ""'],
    [() => serializeResponseHead(99, 'x', []), 'invalid HTTP status 99'],
    [() => serializeResponseHead(1000, 'x', []), 'invalid HTTP status 1000'],
    [() => serializeResponseHead(101.5, 'x', []), 'invalid HTTP status 101.5'],
    [() => serializeResponseHead(101, 'a\r\nb', []), 'invalid reason phrase "a\\r\\nb"'],
  ])('refuses invalid input with InvalidArgumentError (%#)', (fn, message) => {
    const error = thrown(fn);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message.startsWith(message)).toBe(true);
  });
});

describe('HttpHeaders', () => {
  it('looks names up ignoring ASCII case and iterates in insertion order with the original case', () => {
    const headers = new HttpHeaders([
      ['Set-Cookie', 'a=1'],
      ['X', 'x'],
      ['set-cookie', 'b=2'],
    ]);
    expect(headers.size).toBe(3);
    expect(headers.get('SET-COOKIE')).toBe('a=1, b=2');
    expect(headers.getAll('Set-Cookie')).toEqual(['a=1', 'b=2']);
    expect([...headers]).toEqual([
      ['Set-Cookie', 'a=1'],
      ['X', 'x'],
      ['set-cookie', 'b=2'],
    ]);
  });

  it('treats names like __proto__ as ordinary names', () => {
    const headers = new HttpHeaders([['__proto__', 'v']]);
    expect(headers.get('__PROTO__')).toBe('v');
    expect(headers.has('constructor')).toBe(false);
  });
});
