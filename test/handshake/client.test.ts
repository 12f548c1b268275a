import { describe, expect, it, vi } from 'vitest';
import { computeAcceptKey } from '../../src/handshake/accept-key.js';
import { buildClientRequest, validateServerResponse, type ClientRequestOptions } from '../../src/handshake/client.js';
import { HttpHeaders, type HeaderField, type HttpResponseHead } from '../../src/handshake/http.js';
import { ErrorCode, HandshakeError, InvalidArgumentError } from '../../src/shared/errors.js';
import { latin1Text, testClientNegotiator, thrown } from './helpers.js';

/** Fills the key with "the sample nonce", the 16 bytes behind RFC 6455's example key. */
const sampleNonce = (target: Uint8Array): void => {
  target.set(new TextEncoder().encode('the sample nonce'));
};

const RSV1 = 0b100;
const RSV2 = 0b010;

function request(overrides: Partial<ClientRequestOptions<unknown>> = {}) {
  return buildClientRequest({ host: 'server.example.com', path: '/chat', random: sampleNonce, ...overrides });
}

function argumentError(options: Partial<ClientRequestOptions<unknown>>): string {
  const error = thrown(() => request(options));
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).code).toBe(ErrorCode.INVALID_ARGUMENT);
  return error.message;
}

/** A 101 response that is right for `key`, with fields replaced or added by `overrides`. */
function response(key: string, overrides: Record<string, string | string[] | null> = {}, status = 101): HttpResponseHead {
  const fields: Record<string, string | string[] | null> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Accept': computeAcceptKey(key),
    ...overrides,
  };
  const list: HeaderField[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) list.push([name, one]);
  }
  return { version: { major: 1, minor: 1 }, status, reason: status === 101 ? 'Switching Protocols' : 'Nope', headers: new HttpHeaders(list) };
}

function responseError(fn: () => unknown): HandshakeError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(HandshakeError);
  return error as HandshakeError;
}

describe('buildClientRequest', () => {
  it('§4.1 builds the RFC example request', () => {
    const built = request({ origin: 'http://example.com', protocols: ['chat', 'superchat'] });
    expect(built.key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(latin1Text(built.bytes)).toBe(
      'GET /chat HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Version: 13\r\n' +
        'Origin: http://example.com\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        '\r\n',
    );
    expect(built.target).toBe('/chat');
    expect(built.headers.get('sec-websocket-version')).toBe('13');
    expect(built.protocols).toEqual(['chat', 'superchat']);
    expect(built.extensions).toEqual([]);
  });

  it('§4.1 requirement 7: asks the RandomSource for 16 bytes per request', () => {
    const random = vi.fn(sampleNonce);
    request({ random });
    request({ random });
    expect(random).toHaveBeenCalledTimes(2);
    expect(random.mock.calls[0]![0]).toHaveLength(16);
  });

  it('defaults the path to "/" and keeps a query', () => {
    expect(latin1Text(request({ path: undefined }).bytes).startsWith('GET / HTTP/1.1\r\n')).toBe(true);
    expect(latin1Text(request({ path: '/a/b?c=d&e=%20' }).bytes).startsWith('GET /a/b?c=d&e=%20 HTTP/1.1\r\n')).toBe(true);
  });

  it.each<[Partial<ClientRequestOptions<unknown>>, string]>([
    [{ host: 'example.com' }, 'example.com'],
    [{ host: 'example.com', port: 80 }, 'example.com'],
    [{ host: 'example.com', port: 443, secure: true }, 'example.com'],
    [{ host: 'example.com', port: 443 }, 'example.com:443'],
    [{ host: 'example.com', port: 80, secure: true }, 'example.com:80'],
    [{ host: 'example.com', port: 8080 }, 'example.com:8080'],
    [{ host: '192.0.2.1', port: 9000 }, '192.0.2.1:9000'],
    [{ host: '::1', port: 9000 }, '[::1]:9000'],
    [{ host: '[2001:db8::1]' }, '[2001:db8::1]'],
    [{ host: 'fe80::1%25eth0' }, '[fe80::1%25eth0]'],
  ])('§4.1 requirement 4: Host for %j is %j', (options, host) => {
    expect(request(options).headers.get('Host')).toBe(host);
  });

  it.each<[Partial<ClientRequestOptions<unknown>>, string]>([
    [{ host: '' }, 'invalid host ""'],
    [{ host: 'exa mple.com' }, 'invalid host "exa mple.com"'],
    [{ host: 'example.com/path' }, 'invalid host "example.com/path"'],
    [{ host: 'example.com\r\nX: y' }, 'invalid host "example.com\\r\\nX: y"'],
    [{ host: 'user@example.com' }, 'invalid host "user@example.com"'],
    [{ host: '[::1' }, 'invalid host "[::1"'],
    [{ host: '[]' }, 'invalid host "[]"'],
    [{ host: '[::1]:80' }, 'invalid host "[::1]:80"'],
    [{ host: 42 as unknown as string }, 'host must be a string'],
    [{ port: 0 }, 'invalid port 0: must be an integer 1–65535'],
    [{ port: 65536 }, 'invalid port 65536: must be an integer 1–65535'],
    [{ port: 80.5 }, 'invalid port 80.5: must be an integer 1–65535'],
    [{ path: 'chat' }, 'invalid path "chat": must start with "/"'],
    [{ path: '' }, 'invalid path "": must start with "/"'],
    [{ path: '/a b' }, 'invalid path "/a b": only visible ASCII without "#" is allowed (percent-encode the rest)'],
    [{ path: '/a#frag' }, 'invalid path "/a#frag": only visible ASCII without "#" is allowed (percent-encode the rest)'],
    [{ path: '/caf\u00e9' }, 'invalid path "/café": only visible ASCII without "#" is allowed (percent-encode the rest)'],
    [{ path: '/\r\nX: y' }, 'invalid path "/\\r\\nX: y": only visible ASCII without "#" is allowed (percent-encode the rest)'],
    [{ origin: 'http://a\r\nX: y' }, 'invalid value for header Origin'],
    [{ origin: 'http://a\u0000' }, 'invalid value for header Origin'],
  ])('refuses %j with InvalidArgumentError', (options, message) => {
    expect(argumentError(options).startsWith(message)).toBe(true);
  });

  describe('§4.1 requirement 10: subprotocols', () => {
    it('sends none when the list is empty', () => {
      expect(request({ protocols: [] }).headers.has('Sec-WebSocket-Protocol')).toBe(false);
    });

    it.each([
      [['chat', 'a b'], 'invalid subprotocol "a b": must be an RFC 7230 token'],
      [[''], 'invalid subprotocol "": must be an RFC 7230 token'],
      [['chat,superchat'], 'invalid subprotocol "chat,superchat": must be an RFC 7230 token'],
      [['ch\u00e4t'], 'invalid subprotocol "chät": must be an RFC 7230 token'],
      [['chat', 'superchat', 'chat'], 'subprotocol "chat" is listed twice'],
    ])('refuses %j', (protocols, message) => {
      expect(argumentError({ protocols })).toBe(message);
    });

    it('treats subprotocols that differ in case as distinct', () => {
      expect(request({ protocols: ['chat', 'Chat'] }).headers.get('Sec-WebSocket-Protocol')).toBe('chat, Chat');
    });
  });

  describe('§4.1 requirement 11: extension offers', () => {
    it('serializes every offer and remembers the negotiators that offered', () => {
      const deflate = testClientNegotiator('permessage-deflate', RSV1, [[['client_max_window_bits', true]], []]);
      const silent = testClientNegotiator('silent', RSV2, []);
      const built = request({ extensions: [deflate, silent] });
      expect(built.headers.get('Sec-WebSocket-Extensions')).toBe('permessage-deflate; client_max_window_bits, permessage-deflate');
      expect(built.extensions).toEqual([deflate]);
    });

    it('sends no header when nothing is offered', () => {
      expect(request({ extensions: [testClientNegotiator('silent', RSV1, [])] }).headers.has('Sec-WebSocket-Extensions')).toBe(false);
    });

    it('refuses an offer that is not a token', () => {
      expect(argumentError({ extensions: [testClientNegotiator('x', RSV1, [[['p', 'a b']]])] })).toBe(
        'invalid value "a b" for parameter p of extension x: must be a token',
      );
    });
  });

  describe('extra headers', () => {
    it('appends pairs or a record after the handshake fields, in order', () => {
      const pairs = request({ headers: [['Authorization', 'Bearer t'], ['Cookie', 'a=1'], ['Cookie', 'b=2']] });
      expect([...pairs.headers].slice(-3)).toEqual([['Authorization', 'Bearer t'], ['Cookie', 'a=1'], ['Cookie', 'b=2']]);
      const record = request({ headers: { 'User-Agent': 'wasmsocket', 'X-Empty': '' } });
      expect([...record.headers].slice(-2)).toEqual([['User-Agent', 'wasmsocket'], ['X-Empty', '']]);
    });

    it.each<[HeaderField, string]>([
      [['X', 'a\r\nInjected: 1'], 'invalid value for header X'],
      [['X', 'a\nb'], 'invalid value for header X'],
      [['X', 'a\rb'], 'invalid value for header X'],
      [['X', 'a\u0000b'], 'invalid value for header X'],
      [['X', '\u2603'], 'invalid value for header X'],
      [['X Y', 'v'], 'invalid header name "X Y": must be an RFC 7230 token'],
      [['X\r\nY', 'v'], 'invalid header name "X\\r\\nY": must be an RFC 7230 token'],
      [['', 'v'], 'invalid header name "": must be an RFC 7230 token'],
      [['X', 1 as unknown as string], 'header names and values must be strings'],
    ])('refuses %j with InvalidArgumentError', (field, message) => {
      expect(argumentError({ headers: [field] }).startsWith(message)).toBe(true);
    });

    it.each(['Host', 'origin', 'UPGRADE', 'Connection', 'Sec-WebSocket-Key', 'sec-websocket-version', 'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Extensions', 'Sec-WebSocket-Accept', 'Content-Length', 'Transfer-Encoding'])(
      'refuses %s, which the handshake sets itself',
      (name) => {
        expect(argumentError({ headers: { [name]: 'x' } })).toBe(
          `header ${name} is set by the handshake itself and cannot be given as an extra header`,
        );
      },
    );
  });
});

describe('validateServerResponse', () => {
  const built = request({ protocols: ['chat', 'superchat'] });
  const key = built.key;

  it('§1.3 accepts the RFC example response', () => {
    const result = validateServerResponse(
      built,
      response(key, { 'Sec-WebSocket-Accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'Sec-WebSocket-Protocol': 'chat' }),
    );
    expect(result.protocol).toBe('chat');
    expect(result.extensions).toEqual([]);
    expect(result.rsvBits).toBe(0);
    expect(result.response.status).toBe(101);
  });

  it('uses an injected Sha1 port for the accept check', () => {
    const sha1 = vi.fn(() => new Uint8Array(20));
    expect(() => validateServerResponse(built, response(key, { 'Sec-WebSocket-Accept': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }), sha1)).not.toThrow();
    expect(sha1).toHaveBeenCalledOnce();
  });

  it.each([200, 302, 400, 401, 403, 404, 426, 500])('§4.1: status %i is a HandshakeError carrying the status and headers', (status) => {
    const head = response(key, { Location: '/elsewhere' }, status);
    const error = responseError(() => validateServerResponse(built, head));
    expect(error).toMatchObject({ status, code: ErrorCode.HANDSHAKE, message: `the server answered ${status} "Nope" instead of 101 Switching Protocols` });
    expect(error.headers).toContainEqual(['Location', '/elsewhere']);
  });

  it('§4.1: a status line without a reason phrase is reported by its status alone', () => {
    const error = responseError(() => validateServerResponse(built, { ...response(key, {}, 403), reason: '' }));
    expect(error).toMatchObject({ status: 403, message: 'the server answered 403 instead of 101 Switching Protocols' });
  });

  it.each<[Record<string, string | string[] | null>, string]>([
    [{ Upgrade: null }, 'the response has no Upgrade header'],
    [{ Upgrade: 'h2c' }, 'the response\'s Upgrade header is "h2c", not "websocket"'],
    [{ Upgrade: 'websockex' }, 'the response\'s Upgrade header is "websockex", not "websocket"'],
    [{ Upgrade: 'websocket, h2c' }, 'the response\'s Upgrade header is "websocket, h2c", not "websocket"'],
    [{ Upgrade: ['websocket', 'websocket'] }, 'the response has more than one Upgrade header'],
    [{ Connection: null }, 'the response has no Connection header'],
    [{ Connection: 'keep-alive' }, 'the response\'s Connection header "keep-alive" does not contain "Upgrade"'],
    [{ Connection: 'Upgraded' }, 'the response\'s Connection header "Upgraded" does not contain "Upgrade"'],
    [{ Connection: 'up grade' }, 'invalid Connection header: unexpected "g"'],
    [{ 'Sec-WebSocket-Accept': null }, 'the response has no Sec-WebSocket-Accept header'],
    [{ 'Sec-WebSocket-Accept': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, "the response's Sec-WebSocket-Accept does not match the key sent"],
    [{ 'Sec-WebSocket-Accept': computeAcceptKey('x3JJHMbDL1EzLkh9GBhXDw==') }, "the response's Sec-WebSocket-Accept does not match the key sent"],
    [{ 'Sec-WebSocket-Accept': [computeAcceptKey(key), computeAcceptKey(key)] }, 'the response has more than one Sec-WebSocket-Accept header'],
    [{ 'Sec-WebSocket-Protocol': 'mqtt' }, 'the server selected subprotocol "mqtt", which was not offered'],
    [{ 'Sec-WebSocket-Protocol': 'Chat' }, 'the server selected subprotocol "Chat", which was not offered'],
    [{ 'Sec-WebSocket-Protocol': 'chat, superchat' }, 'the response\'s Sec-WebSocket-Protocol "chat, superchat" is not a single subprotocol'],
    [{ 'Sec-WebSocket-Protocol': '' }, 'the response\'s Sec-WebSocket-Protocol "" is not a single subprotocol'],
    [{ 'Sec-WebSocket-Protocol': ['chat', 'superchat'] }, 'the response has more than one Sec-WebSocket-Protocol header'],
    [{ 'Sec-WebSocket-Extensions': 'permessage-deflate' }, 'server accepted extension "permessage-deflate", which was not offered'],
    [{ 'Sec-WebSocket-Extensions': 'x; a="b c"' }, 'invalid Sec-WebSocket-Extensions header: the quoted value of parameter a is not a token (RFC 6455 §9.1)'],
  ])('§4.1 fails the connection for %j (status 101)', (overrides, message) => {
    const error = responseError(() => validateServerResponse(built, response(key, overrides)));
    expect(error).toMatchObject({ status: 101, code: ErrorCode.HANDSHAKE, message });
  });

  it.each([
    [{ Upgrade: 'WebSocket', Connection: 'upgrade' }],
    [{ Upgrade: 'WEBSOCKET', Connection: 'keep-alive, UPGRADE' }],
    [{ Connection: ['keep-alive', 'Upgrade'] }],
  ])('§4.1 compares Upgrade and Connection ignoring ASCII case, Connection as a token list (%j)', (overrides) => {
    expect(validateServerResponse(built, response(key, overrides)).protocol).toBeNull();
  });

  it('§4.1 a subprotocol is optional even when offered', () => {
    expect(validateServerResponse(built, response(key)).protocol).toBeNull();
  });

  it('requireProtocol fails a response that selects none of the offered subprotocols', () => {
    const strict = request({ protocols: ['chat', 'superchat'], requireProtocol: true });
    const error = responseError(() => validateServerResponse(strict, response(strict.key)));
    expect(error).toMatchObject({ status: 101, code: ErrorCode.HANDSHAKE, message: 'the server selected none of the subprotocols offered' });
    expect(validateServerResponse(strict, response(strict.key, { 'Sec-WebSocket-Protocol': 'superchat' })).protocol).toBe('superchat');
    // With nothing offered there is nothing to require.
    const none = request({ requireProtocol: true });
    expect(validateServerResponse(none, response(none.key)).protocol).toBeNull();
  });

  it('§4.1 requirement 6: a subprotocol when none was offered fails the connection', () => {
    const plain = request();
    const error = responseError(() => validateServerResponse(plain, response(plain.key, { 'Sec-WebSocket-Protocol': 'chat' })));
    expect(error.message).toBe('the server selected subprotocol "chat", which was not offered');
  });

  describe('§4.1 requirement 5: extensions', () => {
    const withExtensions = request({
      extensions: [testClientNegotiator('a', RSV1, [[['p', '1']]]), testClientNegotiator('b', RSV1), testClientNegotiator('c', RSV2)],
    });
    const check = (header: string) => validateServerResponse(withExtensions, response(withExtensions.key, { 'Sec-WebSocket-Extensions': header }));

    it('accepts offered extensions through their negotiators', () => {
      const result = check('c, a; p=1');
      expect(result.extensions.map(({ name }) => name)).toEqual(['c', 'a']);
      expect(result.extensions[1]!.extension).toEqual({ name: 'a', params: [['p', '1']] });
      expect(result.rsvBits).toBe(RSV1 | RSV2);
    });

    it('combines repeated Sec-WebSocket-Extensions lines (RFC 7230 §3.2.2)', () => {
      const head = response(withExtensions.key, { 'Sec-WebSocket-Extensions': ['a; p=1', 'c'] });
      expect(validateServerResponse(withExtensions, head).rsvBits).toBe(RSV1 | RSV2);
    });

    it.each([
      ['d', 'server accepted extension "d", which was not offered'],
      ['a, a', 'server accepted extension "a" twice'],
      ['a, b', 'server accepted extension b, whose RSV bits are already in use by another extension'],
      ['a; q', 'a: unexpected parameter q'],
      ['', 'invalid Sec-WebSocket-Extensions header: empty list'],
    ])('fails the connection for %j with status 101', (header, message) => {
      expect(responseError(() => check(header))).toMatchObject({ status: 101, code: ErrorCode.HANDSHAKE, message });
    });
  });
});
