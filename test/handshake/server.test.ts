import { describe, expect, it, vi } from 'vitest';
import { HttpHeaders, ResponseHeadParser, type HeaderField, type HttpRequestHead } from '../../src/handshake/http.js';
import {
  buildErrorResponse,
  buildServerResponse,
  serverResponseHeaders,
  validateClientRequest,
  type ServerHandshakeOptions,
} from '../../src/handshake/server.js';
import { ErrorCode, HandshakeError, InvalidArgumentError } from '../../src/shared/errors.js';
import { latin1Text, testServerNegotiator, thrown } from './helpers.js';

/** The RFC 6455 §1.2 client handshake as fields; `overrides` replace (null removes, arrays repeat). */
function rfcRequest(overrides: Record<string, string | string[] | null> = {}, head: Partial<HttpRequestHead> = {}): HttpRequestHead {
  const fields: Record<string, string | string[] | null> = {
    Host: 'server.example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    Origin: 'http://example.com',
    'Sec-WebSocket-Protocol': 'chat, superchat',
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  const list: HeaderField[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) list.push([name, one]);
  }
  return { method: 'GET', target: '/chat', version: { major: 1, minor: 1 }, headers: new HttpHeaders(list), ...head };
}

function rejection(request: HttpRequestHead, options?: ServerHandshakeOptions): HandshakeError {
  const error = thrown(() => validateClientRequest(request, options));
  expect(error).toBeInstanceOf(HandshakeError);
  expect((error as HandshakeError).code).toBe(ErrorCode.HANDSHAKE);
  return error as HandshakeError;
}

describe('validateClientRequest (RFC 6455 §4.2.1)', () => {
  it('§4.2.1 accepts the RFC example request', () => {
    const request = rfcRequest();
    const handshake = validateClientRequest(request);
    expect(handshake.request).toBe(request);
    expect(handshake.key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(handshake.protocol).toBeNull();
    expect(handshake.extensions).toEqual([]);
    expect(handshake.rsvBits).toBe(0);
    expect(handshake.extensionsHeader).toBeNull();
  });

  it('§4.2.1 item 1: a method other than GET → 405 with Allow: GET', () => {
    const error = rejection(rfcRequest({}, { method: 'POST' }));
    expect(error).toMatchObject({ status: 405, message: 'the method must be GET, not "POST"' });
    expect(error.headers).toEqual([['Allow', 'GET']]);
    expect(rejection(rfcRequest({}, { method: 'get' })).status).toBe(405);
  });

  it('§4.2.1 item 1: HTTP/1.0 → 400', () => {
    expect(rejection(rfcRequest({}, { version: { major: 1, minor: 0 } }))).toMatchObject({
      status: 400,
      message: 'HTTP/1.0 cannot upgrade: HTTP/1.1 or higher is required',
    });
    expect(rejection(rfcRequest({}, { version: { major: 0, minor: 9 } })).status).toBe(400);
  });

  it('§4.2.1 item 1: HTTP/1.2 and HTTP/2.0 heads are "HTTP/1.1 or higher"', () => {
    expect(validateClientRequest(rfcRequest({}, { version: { major: 1, minor: 2 } })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(validateClientRequest(rfcRequest({}, { version: { major: 2, minor: 0 } })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
  });

  it('§4.2.1 item 2: missing Host → 400', () => {
    expect(rejection(rfcRequest({ Host: null }))).toMatchObject({ status: 400, message: 'missing Host header' });
  });

  it('§4.2.1 item 2: two Host fields → 400 (RFC 7230 §5.4)', () => {
    expect(rejection(rfcRequest({ Host: ['a', 'b'] }))).toMatchObject({ status: 400, message: 'more than one Host header' });
  });

  it('§4.2.1 item 2: empty Host → 400', () => {
    expect(rejection(rfcRequest({ Host: '' }))).toMatchObject({ status: 400, message: 'empty Host header' });
  });

  it.each(['a b', 'example.com:80x', 'example.com:8:8', ':80', '[::1', '[]', '[::1]x', '[::1/64]', '[::g@1]', 'user@example.com', 'example.com/'])(
    '§4.2.1 item 2: invalid Host %j → 400 (RFC 7230 §5.4)',
    (host) => {
      expect(rejection(rfcRequest({ Host: host }))).toMatchObject({ status: 400, message: `invalid Host header ${JSON.stringify(host)}` });
    },
  );

  it('quotes at most 64 characters of a hostile value in the reason, control characters escaped', () => {
    const key = `${'A'.repeat(70)}\u0007`;
    const { message } = rejection(rfcRequest({ 'Sec-WebSocket-Key': key }));
    expect(message).toBe(`invalid Sec-WebSocket-Key "${'A'.repeat(64)}…": must be the base64 encoding of 16 bytes`);
    expect(rejection(rfcRequest({ 'Sec-WebSocket-Version': '1\u0007' })).message).toBe(
      'unsupported Sec-WebSocket-Version "1\\u0007": this server speaks version 13',
    );
  });

  it.each(['example.com', 'example.com:8080', 'example.com:', '192.0.2.1:80', '[::1]', '[2001:db8::1]:443', '[::1]:', '[fe80::1%25eth0]', 'xn--bcher-kva.example'])(
    '§4.2.1 item 2: Host %j is accepted (RFC 3986 §3.2.3: the port may be empty)',
    (host) => {
      expect(validateClientRequest(rfcRequest({ Host: host })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    },
  );

  it.each<[string | string[] | null, string]>([
    [null, 'missing Upgrade header'],
    ['h2c', 'the Upgrade header "h2c" does not contain "websocket"'],
    ['websocket2', 'the Upgrade header "websocket2" does not contain "websocket"'],
    ['websocket/13', 'the Upgrade header "websocket/13" does not contain "websocket"'],
    ['web socket', 'invalid Upgrade header: unexpected "s"'],
    ['', 'invalid Upgrade header: empty list'],
  ])('§4.2.1 item 3: Upgrade %j → 400', (upgrade, message) => {
    expect(rejection(rfcRequest({ Upgrade: upgrade }))).toMatchObject({ status: 400, message });
  });

  it.each(['WebSocket', 'WEBSOCKET', 'h2c, websocket', 'websocket, h2c/2'])('§4.2.1 item 3: Upgrade %j is accepted (ASCII case-insensitive, token list)', (upgrade) => {
    expect(validateClientRequest(rfcRequest({ Upgrade: upgrade })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
  });

  it.each<[string | string[] | null, string]>([
    [null, 'missing Connection header'],
    ['keep-alive', 'the Connection header "keep-alive" does not contain "Upgrade"'],
    ['close', 'the Connection header "close" does not contain "Upgrade"'],
    ['Upgrade;', 'invalid Connection header: unexpected ";"'],
  ])('§4.2.1 item 4: Connection %j → 400', (connection, message) => {
    expect(rejection(rfcRequest({ Connection: connection }))).toMatchObject({ status: 400, message });
  });

  it.each<[string | string[]]>([['upgrade'], ['keep-alive, Upgrade'], ['UPGRADE,keep-alive'], [['keep-alive', 'Upgrade']]])(
    '§4.2.1 item 4: Connection %j is accepted (ASCII case-insensitive token list)',
    (connection) => {
      expect(validateClientRequest(rfcRequest({ Connection: connection })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    },
  );

  it.each<[string | string[] | null, string]>([
    [null, 'missing Sec-WebSocket-Key header'],
    [['dGhlIHNhbXBsZSBub25jZQ==', 'dGhlIHNhbXBsZSBub25jZQ=='], 'more than one Sec-WebSocket-Key header'],
    ['', 'invalid Sec-WebSocket-Key "": must be the base64 encoding of 16 bytes'],
    ['dGhlIHNhbXBsZSBub25jZQ', 'invalid Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZQ": must be the base64 encoding of 16 bytes'],
    ['dGhlIHNhbXBsZSBub25j', 'invalid Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25j": must be the base64 encoding of 16 bytes'],
    ['dGhlIHNhbXBsZSBub25jZSE=', 'invalid Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZSE=": must be the base64 encoding of 16 bytes'],
    ['dGhlIHNhbXBsZSBub25jZR==', 'invalid Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZR==": must be the base64 encoding of 16 bytes'],
    ['dGhlIHNhbXBsZSBub25jZQ-_', 'invalid Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZQ-_": must be the base64 encoding of 16 bytes'],
    ['the sample nonce', 'invalid Sec-WebSocket-Key "the sample nonce": must be the base64 encoding of 16 bytes'],
  ])('§4.2.1 item 5: Sec-WebSocket-Key %j → 400', (key, message) => {
    expect(rejection(rfcRequest({ 'Sec-WebSocket-Key': key }))).toMatchObject({ status: 400, message });
  });

  it('§4.2.1 item 6: no Sec-WebSocket-Version at all → 400 (malformed, as ws answers) with Sec-WebSocket-Version: 13', () => {
    const error = rejection(rfcRequest({ 'Sec-WebSocket-Version': null }));
    expect(error).toMatchObject({ status: 400, message: 'missing Sec-WebSocket-Version header: this server speaks version 13' });
    expect(error.headers).toEqual([['Sec-WebSocket-Version', '13']]);
  });

  it.each<[string | string[], string]>([
    ['8', 'unsupported Sec-WebSocket-Version "8": this server speaks version 13'],
    ['14', 'unsupported Sec-WebSocket-Version "14": this server speaks version 13'],
    ['13, 8', 'unsupported Sec-WebSocket-Version "13, 8": this server speaks version 13'],
    [['13', '8'], 'unsupported Sec-WebSocket-Version "13, 8": this server speaks version 13'],
    ['013', 'unsupported Sec-WebSocket-Version "013": this server speaks version 13'],
  ])('§4.4 Sec-WebSocket-Version %j → 426 with Sec-WebSocket-Version: 13', (version, message) => {
    const error = rejection(rfcRequest({ 'Sec-WebSocket-Version': version }));
    expect(error).toMatchObject({ status: 426, message });
    expect(error.headers).toEqual([['Sec-WebSocket-Version', '13']]);
  });

  it('refuses a request with a body (Transfer-Encoding) → 400', () => {
    expect(rejection(rfcRequest({ 'Transfer-Encoding': 'chunked' }))).toMatchObject({
      status: 400,
      message: 'an upgrade request cannot have a body (Transfer-Encoding)',
    });
  });

  it('refuses a request with a body (Content-Length) → 400, but allows Content-Length: 0', () => {
    expect(rejection(rfcRequest({ 'Content-Length': '5' }))).toMatchObject({
      status: 400,
      message: 'an upgrade request cannot have a body (Content-Length)',
    });
    expect(rejection(rfcRequest({ 'Content-Length': ['0', '0'] })).status).toBe(400);
    expect(validateClientRequest(rfcRequest({ 'Content-Length': '0' })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
  });

  describe('§4.2.2 step 4: Origin', () => {
    it('passes the Origin and the request to verifyOrigin; false → 403', () => {
      const verifyOrigin = vi.fn(() => false);
      const request = rfcRequest();
      const error = rejection(request, { verifyOrigin });
      expect(verifyOrigin).toHaveBeenCalledWith('http://example.com', request);
      expect(error).toMatchObject({ status: 403, message: 'origin "http://example.com" is not allowed', headers: [] });
    });

    it('passes undefined when the client sent no Origin', () => {
      const verifyOrigin = vi.fn((origin: string | undefined) => origin === undefined);
      expect(validateClientRequest(rfcRequest({ Origin: null }), { verifyOrigin }).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
      expect(rejection(rfcRequest({ Origin: null }), { verifyOrigin: () => false })).toMatchObject({
        status: 403,
        message: 'a request without Origin is not allowed',
      });
    });

    it('accepts any origin without a hook, and an approved one with it', () => {
      expect(validateClientRequest(rfcRequest({ Origin: 'http://evil.example' })).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
      expect(validateClientRequest(rfcRequest(), { verifyOrigin: (origin) => origin === 'http://example.com' }).key).toBe(
        'dGhlIHNhbXBsZSBub25jZQ==',
      );
    });

    it('two Origin fields → 400', () => {
      expect(rejection(rfcRequest({ Origin: ['http://a', 'http://b'] }))).toMatchObject({ status: 400, message: 'more than one Origin header' });
    });
  });

  describe('§4.2.2 /subprotocol/ (seed 002)', () => {
    it('the callback picks one of the offers, which is echoed in the response', () => {
      const handleProtocols = vi.fn((offered: ReadonlySet<string>, _request: HttpRequestHead) => (offered.has('superchat') ? 'superchat' : false));
      const handshake = validateClientRequest(rfcRequest(), { handleProtocols });
      expect(handshake.protocol).toBe('superchat');
      const [offered, request] = handleProtocols.mock.calls[0]!;
      expect([...offered]).toEqual(['chat', 'superchat']);
      expect(request).toBe(handshake.request);
      expect(serverResponseHeaders(handshake)).toContainEqual(['Sec-WebSocket-Protocol', 'superchat']);
    });

    it('a callback returning false selects none: no Sec-WebSocket-Protocol header at all', () => {
      const handshake = validateClientRequest(rfcRequest(), { handleProtocols: () => false });
      expect(handshake.protocol).toBeNull();
      expect(serverResponseHeaders(handshake).map(([name]) => name)).not.toContain('Sec-WebSocket-Protocol');
    });

    it('without a callback the server selects none', () => {
      expect(validateClientRequest(rfcRequest()).protocol).toBeNull();
    });

    it('the callback is not called when the client offered nothing', () => {
      const handleProtocols = vi.fn(() => 'chat' as const);
      expect(validateClientRequest(rfcRequest({ 'Sec-WebSocket-Protocol': null }), { handleProtocols }).protocol).toBeNull();
      expect(handleProtocols).not.toHaveBeenCalled();
    });

    it('combines repeated Sec-WebSocket-Protocol fields (RFC 7230 §3.2.2)', () => {
      const handleProtocols = vi.fn((offered: ReadonlySet<string>) => [...offered].at(-1)!);
      expect(validateClientRequest(rfcRequest({ 'Sec-WebSocket-Protocol': ['chat', 'superchat, v3'] }), { handleProtocols }).protocol).toBe('v3');
    });

    it.each([['mqtt'], ['CHAT'], [''], [' chat'], [42 as unknown as string], [true as unknown as string]])(
      'a callback returning %j, which was not offered, is a local error (InvalidArgumentError)',
      (chosen) => {
        const error = thrown(() => validateClientRequest(rfcRequest(), { handleProtocols: () => chosen }));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.message).toBe(
          `handleProtocols returned ${JSON.stringify(chosen)}, which the client did not offer: return one of the offered subprotocols or false`,
        );
      },
    );

    it.each([
      ['chat, chat', 'invalid Sec-WebSocket-Protocol header: subprotocol "chat" offered twice'],
      ['chat; v=1', 'invalid Sec-WebSocket-Protocol header: unexpected ";"'],
      ['', 'invalid Sec-WebSocket-Protocol header: empty list'],
    ])('a malformed offer %j → 400, with or without a callback', (value, message) => {
      expect(rejection(rfcRequest({ 'Sec-WebSocket-Protocol': value }))).toMatchObject({ status: 400, message });
      expect(rejection(rfcRequest({ 'Sec-WebSocket-Protocol': value }), { handleProtocols: () => false })).toMatchObject({
        status: 400,
        message,
      });
    });
  });

  describe('§9.1 extensions', () => {
    it('negotiates and puts the response in Sec-WebSocket-Extensions', () => {
      const deflate = testServerNegotiator('permessage-deflate', 0b100);
      const handshake = validateClientRequest(
        rfcRequest({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits, x-unknown' }),
        { extensions: [deflate] },
      );
      expect(handshake.extensions).toEqual([
        {
          name: 'permessage-deflate',
          rsvBits: 0b100,
          params: [['client_max_window_bits', true]],
          extension: { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
        },
      ]);
      expect(handshake.rsvBits).toBe(0b100);
      expect(handshake.extensionsHeader).toBe('permessage-deflate; client_max_window_bits');
      expect(serverResponseHeaders(handshake)).toContainEqual(['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits']);
    });

    it('sends no header when every offer is declined or unknown', () => {
      const handshake = validateClientRequest(rfcRequest({ 'Sec-WebSocket-Extensions': 'x-unknown' }), {
        extensions: [testServerNegotiator('permessage-deflate', 0b100)],
      });
      expect(handshake.extensionsHeader).toBeNull();
      expect(serverResponseHeaders(handshake).map(([name]) => name)).not.toContain('Sec-WebSocket-Extensions');
    });

    it('with no extension configured, a valid offer is declined: no extension, no RSV bit, no header', () => {
      const handshake = validateClientRequest(rfcRequest({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }));
      expect(handshake.extensions).toEqual([]);
      expect(handshake.rsvBits).toBe(0);
      expect(handshake.extensionsHeader).toBeNull();
      expect(serverResponseHeaders(handshake).map(([name]) => name)).not.toContain('Sec-WebSocket-Extensions');
    });

    it('a malformed offer → 400, even with no extension configured', () => {
      expect(rejection(rfcRequest({ 'Sec-WebSocket-Extensions': 'permessage-deflate; x="a b"' }))).toMatchObject({
        status: 400,
        message: 'invalid Sec-WebSocket-Extensions header: the quoted value of parameter x is not a token (RFC 6455 §9.1)',
      });
    });

    it('a negotiator whose response is not a token is a local error', () => {
      const broken = { name: 'x', rsvBits: 0b100, accept: () => ({ response: [['p', 'a b'] as const], extension: null }) };
      const error = thrown(() => validateClientRequest(rfcRequest({ 'Sec-WebSocket-Extensions': 'x' }), { extensions: [broken] }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe('invalid value "a b" for parameter p of extension x: must be a token');
    });
  });
});

describe('buildServerResponse (RFC 6455 §4.2.2 step 5)', () => {
  it('§1.3 builds the RFC example response', () => {
    const handshake = validateClientRequest(rfcRequest(), { handleProtocols: () => 'chat' });
    expect(latin1Text(buildServerResponse(handshake))).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
  });

  it('uses an injected Sha1 port and appends extra headers', () => {
    const sha1 = vi.fn(() => new Uint8Array(20));
    const bytes = buildServerResponse(validateClientRequest(rfcRequest()), { sha1, headers: { 'Set-Cookie': 'a=1' } });
    expect(sha1).toHaveBeenCalledOnce();
    expect(latin1Text(bytes)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n' +
        'Set-Cookie: a=1\r\n' +
        '\r\n',
    );
  });

  it.each(['Upgrade', 'connection', 'Sec-WebSocket-Accept', 'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions', 'Sec-WebSocket-Version', 'Content-Length', 'Transfer-Encoding'])(
    'refuses an extra %s header',
    (name) => {
      const error = thrown(() => buildServerResponse(validateClientRequest(rfcRequest()), { headers: [[name, 'x']] }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe(`header ${name} is set by the handshake itself and cannot be given as an extra header`);
    },
  );

  it('refuses an extra header with CR/LF in its value', () => {
    const error = thrown(() => buildServerResponse(validateClientRequest(rfcRequest()), { headers: [['Set-Cookie', 'a\r\n\r\nbody']] }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('buildErrorResponse', () => {
  it('400: status line, Connection: close, text/plain, Content-Length and the reason as body', () => {
    expect(latin1Text(buildErrorResponse(rejection(rfcRequest({ Host: null }))))).toBe(
      'HTTP/1.1 400 Bad Request\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 19\r\n' +
        '\r\n' +
        'missing Host header',
    );
  });

  it('§4.4 426 carries Sec-WebSocket-Version: 13', () => {
    const text = latin1Text(buildErrorResponse(rejection(rfcRequest({ 'Sec-WebSocket-Version': '8' }))));
    expect(text.startsWith('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n')).toBe(true);
  });

  it('405 carries Allow: GET; 403 and 431 have their reason phrases', () => {
    expect(latin1Text(buildErrorResponse(rejection(rfcRequest({}, { method: 'PUT' })))).startsWith('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n')).toBe(true);
    expect(latin1Text(buildErrorResponse(new HandshakeError('no', 403))).startsWith('HTTP/1.1 403 Forbidden\r\n')).toBe(true);
    expect(latin1Text(buildErrorResponse(new HandshakeError('big', 431))).startsWith('HTTP/1.1 431 Request Header Fields Too Large\r\n')).toBe(true);
    expect(latin1Text(buildErrorResponse(new HandshakeError('long', 414))).startsWith('HTTP/1.1 414 URI Too Long\r\n')).toBe(true);
    expect(latin1Text(buildErrorResponse({ status: 418, message: 'teapot' })).startsWith('HTTP/1.1 418 Client Error\r\n')).toBe(true);
    expect(latin1Text(buildErrorResponse({ status: 599, message: 'x' })).startsWith('HTTP/1.1 599 Server Error\r\n')).toBe(true);
  });

  it('counts Content-Length in UTF-8 bytes and parses back as a valid response', () => {
    const bytes = buildErrorResponse({ status: 403, message: 'origin "caf\u00e9" is not allowed', headers: [['X-Reason', 'origin']] });
    const result = new ResponseHeadParser().push(bytes);
    if (!result.done) expect.fail('expected a complete head');
    expect(result.head.status).toBe(403);
    expect(result.head.headers.get('x-reason')).toBe('origin');
    expect(Number(result.head.headers.get('content-length'))).toBe(result.rest.length);
    expect(new TextDecoder().decode(result.rest)).toBe('origin "caf\u00e9" is not allowed');
  });

  it.each([[101], [200], [399], [600], [400.5]])('refuses status %s', (status) => {
    const error = thrown(() => buildErrorResponse({ status, message: 'x' }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe(`an error response needs a status 400–599, got ${status}`);
  });

  it.each(['Connection', 'content-type', 'Content-Length', 'Transfer-Encoding'])('refuses an error header %s it sets itself', (name) => {
    expect(thrown(() => buildErrorResponse({ status: 400, message: 'x', headers: [[name, 'x']] }))).toBeInstanceOf(InvalidArgumentError);
  });
});
