/**
 * The handshake's parsers under pathological input, without the Node HTTP parser in front of
 * them (what `wasmsocket/protocol` users and the web adapter get): header floods and oversized
 * heads hit the limits with their precise status, and list parsing stays linear on the inputs
 * that made other libraries' regular expressions backtrack.
 *
 * Linearity is shown by outcome first — each input is parsed to its exact result — and by the
 * work done on n and 4n characters, counted as characters read (not timed, so it cannot flake).
 */
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import { parseExtensionList, parseSubprotocolList, parseTokenList } from '../../src/handshake/headers.js';
import { RequestHeadParser } from '../../src/handshake/http.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { ErrorCode, HandshakeError } from '../../src/shared/errors.js';

const REQUEST_START = 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an exception');
}

/** A string that counts the characters read from it, as a parser sees it: the work done. */
function countingString(text: string): { readonly value: string; reads(): number } {
  let reads = 0;
  const target = {
    length: text.length,
    charCodeAt(index: number): number {
      reads++;
      return text.charCodeAt(index);
    },
    slice(start?: number, end?: number): string {
      const piece = text.slice(start, end);
      reads += piece.length;
      return piece;
    },
  };
  const value = new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        reads++;
        return text[Number(key)];
      }
      return Reflect.get(object, key, receiver) as unknown;
    },
  }) as unknown as string;
  return { value, reads: () => reads };
}

/**
 * Assert that parsing reads about 4 times as many characters from a 4n-character input as from
 * an n-character one (a backtracking parser reads quadratically many), counting reads rather
 * than timing them, so the result does not depend on the machine.
 */
function expectLinear(n: number, make: (size: number) => string, parse: (input: string) => void): void {
  const work = (size: number): { reads: number; length: number } => {
    const text = make(size);
    const input = countingString(text);
    try {
      parse(input.value);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
    }
    return { reads: input.reads(), length: text.length };
  };
  const small = work(n);
  const large = work(4 * n);
  expect(small.reads).toBeGreaterThan(0);
  expect(large.reads / small.reads).toBeLessThan(4.5 * (large.length / small.length / 4));
  // And never more than a few reads per character.
  expect(large.reads).toBeLessThan(4 * large.length);
}

describe('the request head parser under floods', () => {
  it('10,000 header fields → 431 WSX_ERR_HEAD_TOO_LARGE at the field-count limit, even with room for the bytes', () => {
    const parser = new RequestHeadParser({ maxHeadSize: 1 << 20, maxHeaderCount: 100, maxHeaderLineLength: 8192 });
    const head = REQUEST_START + Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v\r\n`).join('') + '\r\n';
    const error = thrown(() => parser.push(utf8Encode(head))) as HandshakeError;
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.status).toBe(431);
    expect(error.code).toBe(ErrorCode.HEAD_TOO_LARGE);
  });

  it('a 64 KiB head → 431 at the head-size limit, with bytes arriving one at a time', () => {
    const parser = new RequestHeadParser();
    const head = utf8Encode(`${REQUEST_START}X-Padding: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    let error: unknown = null;
    for (let i = 0; i < head.length && error === null; i++) {
      try {
        parser.push(head.subarray(i, i + 1));
      } catch (caught) {
        error = caught;
      }
    }
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as HandshakeError).status).toBe(431);
  });

  it('a 1 MiB request line → 414', () => {
    const error = thrown(() => new RequestHeadParser().push(utf8Encode(`GET /${'a'.repeat(1 << 20)} HTTP/1.1\r\n`))) as HandshakeError;
    expect(error.status).toBe(414);
    expect(error.code).toBe(ErrorCode.HEAD_TOO_LARGE);
  });

  it('a Sans-I/O server connection answers a header flood with a 431 response and closes', () => {
    const connection = new ServerConnection({ codec: portableCodec });
    connection.receiveData(utf8Encode(REQUEST_START + 'X-H: v\r\n'.repeat(10_000)));
    const events = connection.eventsReceived();
    expect(events.map((event) => event.type)).toEqual(['error']);
    const response = new TextDecoder().decode(connection.dataToSend()[0]);
    expect(response.startsWith('HTTP/1.1 431 ')).toBe(true);
    expect(connection.shouldCloseTransport()).toBe(true);
  });

  it('a head parsed in pieces of any size gives the same head', () => {
    const head = utf8Encode(`${REQUEST_START}Sec-WebSocket-Protocol: ${'a, '.repeat(100)}b\r\n\r\n`);
    const whole = new RequestHeadParser().push(head);
    for (const piece of [1, 2, 3, 7, 64]) {
      const parser = new RequestHeadParser();
      let result = parser.push(head.subarray(0, piece));
      for (let at = piece; !result.done; at += piece) result = parser.push(head.subarray(at, at + piece));
      expect(result.done && [...result.head.headers]).toEqual(whole.done && [...whole.head.headers]);
    }
  });
});

describe('list parsing is linear on pathological values', () => {
  // Far above any head the default limits let through (16 KiB).
  const n = 1 << 16;

  it('Sec-WebSocket-Protocol: a run of commas is an empty list (400), in linear time', () => {
    expect((thrown(() => parseSubprotocolList(','.repeat(n))) as HandshakeError).status).toBe(400);
    expectLinear(n, (size) => ','.repeat(size), parseSubprotocolList);
  });

  it('Sec-WebSocket-Protocol: commas and spaces around one token parse to that token, in linear time', () => {
    expect(parseSubprotocolList(`${', '.repeat(n / 2)}chat${' ,'.repeat(n / 2)}`)).toEqual(['chat']);
    expectLinear(n, (size) => `${', '.repeat(size / 2)}chat`, parseSubprotocolList);
  });

  it('Sec-WebSocket-Protocol: many distinct tokens parse, and a repeat among them is found (400), in linear time', () => {
    const tokens = (count: number): string => Array.from({ length: count }, (_, i) => `p${i}`).join(',');
    expect(parseSubprotocolList(tokens(1000))).toHaveLength(1000);
    expect(thrown(() => parseSubprotocolList(`${tokens(1000)},p999`))).toBeInstanceOf(HandshakeError);
    expectLinear(n / 16, tokens, parseSubprotocolList);
  });

  it('a token list of double quotes → 400 at the first one', () => {
    expect((thrown(() => parseTokenList('"'.repeat(n), 'Connection')) as HandshakeError).message).toMatch(/expected a token, found """/);
  });

  it('Sec-WebSocket-Extensions: an unterminated quoted string of escapes → 400, in linear time', () => {
    const value = (size: number): string => `x; a="${'\\"'.repeat(size / 2)}`;
    expect((thrown(() => parseExtensionList(value(n))) as HandshakeError).message).toMatch(/unterminated quoted string/);
    expectLinear(n, value, parseExtensionList);
  });

  it('Sec-WebSocket-Extensions: a run of semicolons → 400; runs of spaces and commas between offers parse, in linear time', () => {
    expect(thrown(() => parseExtensionList(`x${';'.repeat(n)}`))).toBeInstanceOf(HandshakeError);
    const offers = (size: number): string => Array.from({ length: size / 16 }, () => 'x ;  a = b  ,  ').join('');
    expect(parseExtensionList(offers(1600))).toHaveLength(100);
    expectLinear(n, offers, parseExtensionList);
  });

  it('Sec-WebSocket-Extensions: one offer with many parameters parses, in linear time', () => {
    const params = (size: number): string => `x${'; p=v'.repeat(size / 6)}`;
    expect(parseExtensionList(params(6000))[0]!.params).toHaveLength(1000);
    expectLinear(n, params, parseExtensionList);
  });

  it('the request head parser: a 256 KiB header line of spaces and commas parses to its subprotocol', () => {
    const head = utf8Encode(`${REQUEST_START}Sec-WebSocket-Protocol: ${' ,'.repeat(n / 2)}chat\r\n\r\n`);
    const limits = { maxHeadSize: 1 << 20, maxHeaderCount: 100, maxHeaderLineLength: 1 << 20 };
    const result = new RequestHeadParser(limits).push(head);
    expect(result.done && parseSubprotocolList(result.head.headers.get('Sec-WebSocket-Protocol')!)).toEqual(['chat']);
  });
});
