import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseExtensionList,
  parseSubprotocolList,
  parseTokenList,
  parseUpgradeList,
  serializeExtensionList,
  type ExtensionOffer,
} from '../../src/handshake/headers.js';
import { ErrorCode, HandshakeError, InvalidArgumentError } from '../../src/shared/errors.js';
import { thrown } from './helpers.js';

function headerError(fn: () => unknown): HandshakeError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(HandshakeError);
  expect((error as HandshakeError).status).toBe(400);
  expect((error as HandshakeError).code).toBe(ErrorCode.HANDSHAKE);
  return error as HandshakeError;
}

const tokenArbitrary = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);

describe('token lists (RFC 7230 §7)', () => {
  it.each([
    ['Upgrade', ['Upgrade']],
    ['keep-alive, Upgrade', ['keep-alive', 'Upgrade']],
    ['keep-alive,Upgrade', ['keep-alive', 'Upgrade']],
    [' \t, ,a,,b , ,\t', ['a', 'b']],
  ])('RFC 7230 §7 parses %j, skipping empty elements', (value, tokens) => {
    expect(parseTokenList(value, 'Connection')).toEqual(tokens);
  });

  it.each([
    ['', 'invalid Connection header: empty list'],
    [' , ,, ', 'invalid Connection header: empty list'],
    ['a b', 'invalid Connection header: unexpected "b"'],
    ['a;b', 'invalid Connection header: unexpected ";"'],
    ['a, b@', 'invalid Connection header: unexpected "@"'],
    ['a, @b', 'invalid Connection header: expected a token, found "@"'],
    ['a, "b"', 'invalid Connection header: expected a token, found """'],
    ['caf\u00e9', 'invalid Connection header: unexpected character 0xe9'],
  ])('RFC 7230 §7 rejects %j', (value, message) => {
    expect(headerError(() => parseTokenList(value, 'Connection')).message).toBe(message);
  });

  it('RFC 7230 §6.7 parses Upgrade protocols with versions', () => {
    expect(parseUpgradeList('h2c, websocket/13 ,WebSocket')).toEqual(['h2c', 'websocket/13', 'WebSocket']);
    expect(headerError(() => parseUpgradeList('websocket/')).message).toBe(
      'invalid Upgrade header: expected a protocol version, found end of value',
    );
    expect(headerError(() => parseUpgradeList('/13')).message).toBe('invalid Upgrade header: expected a protocol name, found "/"');
    expect(headerError(() => parseUpgradeList('a/1/2')).message).toBe('invalid Upgrade header: unexpected "/"');
  });

  it('§4.1 subprotocols: distinct tokens, compared case-sensitively', () => {
    expect(parseSubprotocolList('chat, superchat')).toEqual(['chat', 'superchat']);
    expect(parseSubprotocolList('chat, Chat')).toEqual(['chat', 'Chat']);
    expect(headerError(() => parseSubprotocolList('chat, superchat, chat')).message).toBe(
      'invalid Sec-WebSocket-Protocol header: subprotocol "chat" offered twice',
    );
    expect(headerError(() => parseSubprotocolList('chat, super chat')).message).toBe(
      'invalid Sec-WebSocket-Protocol header: unexpected "c"',
    );
    expect(headerError(() => parseSubprotocolList('')).message).toBe('invalid Sec-WebSocket-Protocol header: empty list');
  });
});

describe('Sec-WebSocket-Extensions grammar (RFC 6455 §9.1)', () => {
  it.each<[string, ExtensionOffer[]]>([
    ['foo', [{ name: 'foo', params: [] }]],
    // §9.1's examples
    ['foo, bar; baz=2', [{ name: 'foo', params: [] }, { name: 'bar', params: [['baz', '2']] }]],
    ['deflate-stream', [{ name: 'deflate-stream', params: [] }]],
    ['mux; max-channels=4; flow-control, deflate-stream', [
      { name: 'mux', params: [['max-channels', '4'], ['flow-control', true]] },
      { name: 'deflate-stream', params: [] },
    ]],
    ['private-extension', [{ name: 'private-extension', params: [] }]],
    // RFC 7692 §5 and §7.1 examples
    ['permessage-deflate; client_max_window_bits', [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }]],
    ['permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits', [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true], ['server_max_window_bits', '10']] },
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
    ]],
    // quoted-string values that unescape to tokens
    ['foo; bar="baz"', [{ name: 'foo', params: [['bar', 'baz']] }]],
    ['foo; bar="\\b\\a\\z"', [{ name: 'foo', params: [['bar', 'baz']] }]],
    ['permessage-deflate; client_max_window_bits="10"', [{ name: 'permessage-deflate', params: [['client_max_window_bits', '10']] }]],
    // OWS around ';', '=' and ','; empty list elements
    ['  foo ;\tbar = 1 ; baz ,, , qux\t', [
      { name: 'foo', params: [['bar', '1'], ['baz', true]] },
      { name: 'qux', params: [] },
    ]],
    // repeated parameters are kept for the negotiator to judge (RFC 7692 §7)
    ['x; a; a=1', [{ name: 'x', params: [['a', true], ['a', '1']] }]],
  ])('§9.1 parses %j', (value, expected) => {
    expect(parseExtensionList(value)).toEqual(expected);
  });

  it.each([
    ['', 'empty list'],
    [', ,', 'empty list'],
    ['; a', 'expected an extension name, found ";"'],
    ['x;', 'expected a parameter name, found end of value'],
    ['x; ', 'expected a parameter name, found end of value'],
    ['x;;a', 'expected a parameter name, found ";"'],
    ['x; a=', 'expected a value for parameter a, found end of value'],
    ['x; a=,', 'expected a value for parameter a, found ","'],
    ['x; a==1', 'expected a value for parameter a, found "="'],
    ['x a', 'unexpected "a"'],
    ['x; a b', 'unexpected "b"'],
    ['x; a=1 2', 'unexpected "2"'],
    ['x; a="b c"', 'the quoted value of parameter a is not a token (RFC 6455 §9.1)'],
    ['x; a=""', 'the quoted value of parameter a is not a token (RFC 6455 §9.1)'],
    ['x; a="\\""', 'the quoted value of parameter a is not a token (RFC 6455 §9.1)'],
    ['x; a="b,c"', 'the quoted value of parameter a is not a token (RFC 6455 §9.1)'],
    ['x; a="unterminated', 'unterminated quoted string'],
    ['x; a="b\\', 'unterminated quoted string'],
    ['x; a="b\\\u0001"', 'invalid escape in a quoted string'],
    ['x; a="b\u0000"', 'invalid character 0x00 in a quoted string'],
    ['x; a="b"c', 'unexpected "c"'],
    ['x; "a"', 'expected a parameter name, found """'],
    ['x; a=b"c"', 'unexpected """'],
    ['x=1', 'unexpected "="'],
    ['x; a=\u00e9', 'expected a value for parameter a, found character 0xe9'],
    ['x\u0100', 'unexpected character 0x100'],
  ])('§9.1 rejects %j', (value, reason) => {
    expect(headerError(() => parseExtensionList(value)).message).toBe(`invalid Sec-WebSocket-Extensions header: ${reason}`);
  });

  it('serializes offers and responses', () => {
    expect(
      serializeExtensionList([
        { name: 'permessage-deflate', params: [['client_max_window_bits', true], ['server_max_window_bits', '10']] },
        { name: 'permessage-deflate', params: [] },
      ]),
    ).toBe('permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate');
    expect(serializeExtensionList([])).toBe('');
  });

  it.each<[ExtensionOffer, string]>([
    [{ name: 'a b', params: [] }, 'invalid extension name "a b": must be a token'],
    [{ name: '', params: [] }, 'invalid extension name "": must be a token'],
    [{ name: 'x', params: [['a=b', true]] }, 'invalid parameter name "a=b" for extension x: must be a token'],
    [{ name: 'x', params: [['a', '1 2']] }, 'invalid value "1 2" for parameter a of extension x: must be a token'],
    [{ name: 'x', params: [['a', '']] }, 'invalid value "" for parameter a of extension x: must be a token'],
    [{ name: 'x', params: [['a', 'b\r\nc']] }, 'invalid value "b\\r\\nc" for parameter a of extension x: must be a token'],
  ])('refuses to serialize %j (InvalidArgumentError)', (offer, message) => {
    const error = thrown(() => serializeExtensionList([offer]));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe(message);
  });

  it('parse(serialize(x)) is x for any list of extensions with token names and values', () => {
    const param = fc.tuple(tokenArbitrary, fc.oneof(tokenArbitrary, fc.constant(true as const)));
    const offer = fc.record({ name: tokenArbitrary, params: fc.array(param, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(offer, { minLength: 1, maxLength: 5 }), (offers) => {
        expect(parseExtensionList(serializeExtensionList(offers))).toEqual(offers);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a 400 HandshakeError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab ;=,"\\\t\u0000\u00e9'.split('')), maxLength: 60 }), (value) => {
        try {
          for (const { name, params } of parseExtensionList(value)) {
            expect(name.length).toBeGreaterThan(0);
            for (const [, paramValue] of params) if (paramValue !== true) expect(paramValue).toMatch(/^[ab]+$/);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(HandshakeError);
          expect((error as HandshakeError).status).toBe(400);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pathological 100 KB values parse or fail in one linear pass', () => {
  const SIZE = 100_000;

  it('a run of commas is an empty list', () => {
    expect(headerError(() => parseExtensionList(','.repeat(SIZE))).message).toBe('invalid Sec-WebSocket-Extensions header: empty list');
    expect(headerError(() => parseTokenList(', '.repeat(SIZE / 2), 'Connection')).message).toBe('invalid Connection header: empty list');
  });

  it('two extensions separated by 50,000 empty elements', () => {
    expect(parseExtensionList(`a${', '.repeat(SIZE / 2)}b`)).toEqual([
      { name: 'a', params: [] },
      { name: 'b', params: [] },
    ]);
  });

  it('100 KB of spaces before a parameter', () => {
    expect(parseExtensionList(`x${' '.repeat(SIZE)};${' '.repeat(SIZE)}p${' '.repeat(SIZE)}=${' '.repeat(SIZE)}1`)).toEqual([
      { name: 'x', params: [['p', '1']] },
    ]);
  });

  it('33,333 parameters', () => {
    const [offer] = parseExtensionList(`x${'; p'.repeat(SIZE / 3)}`);
    expect(offer!.params).toHaveLength(Math.floor(SIZE / 3));
  });

  it('a quoted string of 50,000 escaped quotes (not a token)', () => {
    expect(headerError(() => parseExtensionList(`x; p="${'\\"'.repeat(SIZE / 2)}"`)).message).toBe(
      'invalid Sec-WebSocket-Extensions header: the quoted value of parameter p is not a token (RFC 6455 §9.1)',
    );
  });

  it('a quoted string of 50,000 escaped letters (a token)', () => {
    expect(parseExtensionList(`x; p="${'\\a'.repeat(SIZE / 2)}"`)).toEqual([{ name: 'x', params: [['p', 'a'.repeat(SIZE / 2)]] }]);
  });

  it('an unterminated 100 KB quoted string', () => {
    expect(headerError(() => parseExtensionList(`x; p="${'a'.repeat(SIZE)}`)).message).toBe(
      'invalid Sec-WebSocket-Extensions header: unterminated quoted string',
    );
  });

  it('100 KB of quotes', () => {
    expect(headerError(() => parseExtensionList('"'.repeat(SIZE))).message).toBe(
      'invalid Sec-WebSocket-Extensions header: expected an extension name, found """',
    );
    expect(headerError(() => parseExtensionList(`x; p=${'"a"'.repeat(SIZE / 3)}`)).message).toBe(
      'invalid Sec-WebSocket-Extensions header: unexpected """',
    );
  });

  it('a 100 KB token list of one-letter elements', () => {
    expect(parseTokenList('a ,'.repeat(SIZE / 3), 'Connection')).toHaveLength(Math.floor(SIZE / 3));
    expect(parseUpgradeList('a/1,'.repeat(SIZE / 4))).toHaveLength(SIZE / 4);
  });

  it('a 100 KB extension name', () => {
    expect(parseExtensionList('e'.repeat(SIZE))).toEqual([{ name: 'e'.repeat(SIZE), params: [] }]);
  });
});
