/**
 * RFC 6455 §4.2, §4.4, §9.1 and §11.3, server side: what a server does with a client's opening
 * handshake. One test per requirement of docs/compliance.md.
 */
import { describe, expect, it } from 'vitest';
import {
  buildErrorResponse,
  buildServerResponse,
  RequestHeadParser,
  validateClientRequest,
  type ServerExtensionNegotiator,
} from '../../src/handshake/index.js';
import { ErrorCode, InvalidArgumentError } from '../../src/shared/errors.js';
import { DefaultLimits } from '../../src/shared/constants.js';
import {
  handshakeError,
  headBytes,
  parseResponse,
  request,
  requestFields,
  RFC_ACCEPT,
} from './handshake-helpers.js';

/** A server negotiator for a made-up extension `x-test` that accepts the client's first offer. */
const acceptingNegotiator: ServerExtensionNegotiator<string> = {
  name: 'x-test',
  rsvBits: 0b010,
  accept: (offers) => (offers.length === 0 ? null : { response: [], extension: 'x-test' }),
};

describe('§4.2.1 reading the client\'s opening handshake', () => {
  it('§4.2.1 a request method other than GET → 405 with Allow: GET', () => {
    const error = handshakeError(() => validateClientRequest(request(requestFields(), 'POST /chat HTTP/1.1')));
    expect(error.status).toBe(405);
    expect(error.headers).toContainEqual(['Allow', 'GET']);
  });

  it('§4.2.1 a request below HTTP/1.1 → 400', () => {
    expect(handshakeError(() => validateClientRequest(request(requestFields(), 'GET /chat HTTP/1.0'))).status).toBe(400);
  });

  it('§4.2.1 a request without a Host header, or with two → 400', () => {
    expect(handshakeError(() => validateClientRequest(request(requestFields({ Host: undefined })))).status).toBe(400);
    const twoHosts = requestFields({ Host: ['a.example', 'b.example'] });
    expect(handshakeError(() => validateClientRequest(request(twoHosts))).status).toBe(400);
  });

  it('§4.2.1 an Upgrade header without "websocket" → 400; the value matches case-insensitively', () => {
    expect(handshakeError(() => validateClientRequest(request(requestFields({ Upgrade: undefined })))).status).toBe(400);
    const error = handshakeError(() => validateClientRequest(request(requestFields({ Upgrade: 'h2c' }))));
    expect(error.status).toBe(400);
    expect(error.message).toContain('websocket');
    expect(validateClientRequest(request(requestFields({ Upgrade: 'WebSocket' }))).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
  });

  it('§4.2.1 a Connection header without the "Upgrade" token → 400; the token matches case-insensitively', () => {
    expect(handshakeError(() => validateClientRequest(request(requestFields({ Connection: undefined })))).status).toBe(400);
    expect(handshakeError(() => validateClientRequest(request(requestFields({ Connection: 'keep-alive' })))).status).toBe(400);
    expect(validateClientRequest(request(requestFields({ Connection: 'keep-alive, upgrade' }))).key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
  });

  it('§4.2.1 a Sec-WebSocket-Key that is missing or not the base64 of 16 bytes → 400', () => {
    for (const key of [undefined, '', 'not base64!', 'AQIDBAUGBwgJCgsMDQ4P', 'AQIDBAUGBwgJCgsMDQ4PEBE=']) {
      const error = handshakeError(() => validateClientRequest(request(requestFields({ 'Sec-WebSocket-Key': key }))));
      expect(error.status, `key ${String(key)}`).toBe(400);
    }
  });

  it('§4.2.1 a request head that breaks the HTTP grammar → 400', () => {
    const malformed = [
      'GET /chat HTTP/1.1\r\nHost server.example.com\r\n\r\n',
      'GET /chat HTTP/1.1\r\nHost : server.example.com\r\n\r\n',
      'GET  /chat HTTP/1.1\r\nHost: server.example.com\r\n\r\n',
      'GET /chat HTTP/1.1\r\nHost: server.example.com\r\nX: a\u0000b\r\n\r\n',
    ];
    for (const text of malformed) {
      const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
      expect(handshakeError(() => new RequestHeadParser().push(bytes)).status, JSON.stringify(text)).toBe(400);
    }
  });
});

describe('§4.2.2 sending the server\'s opening handshake', () => {
  it('§4.2.2 a version other than 13 → 426 with Sec-WebSocket-Version: 13', () => {
    // (No version at all is a malformed request: 400, in the handshake's own tests.)
    for (const version of ['8', '12', '14', '13, 8']) {
      const error = handshakeError(() => validateClientRequest(request(requestFields({ 'Sec-WebSocket-Version': version }))));
      expect(error.status, `version ${String(version)}`).toBe(426);
      expect(error.headers).toEqual([['Sec-WebSocket-Version', '13']]);
      const response = parseResponse(buildErrorResponse(error));
      expect(response.status).toBe(426);
      expect(response.headers.getAll('Sec-WebSocket-Version')).toEqual(['13']);
    }
  });

  it('§4.2.2 an origin the server refuses → 403', () => {
    const verifyOrigin = (origin: string | undefined): boolean => origin === 'https://good.example';
    const refused = handshakeError(() =>
      validateClientRequest(request(requestFields({ Origin: 'https://evil.example' })), { verifyOrigin }),
    );
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('https://evil.example');
    expect(validateClientRequest(request(requestFields({ Origin: 'https://good.example' })), { verifyOrigin }).key).toBeTypeOf('string');
  });

  it('§4.2.2 the subprotocol is one the client offered; with none agreed, no Sec-WebSocket-Protocol is sent', () => {
    const offered = request(requestFields({ 'Sec-WebSocket-Protocol': 'chat, superchat' }));
    const chosen = validateClientRequest(offered, { handleProtocols: (protocols) => (protocols.has('superchat') ? 'superchat' : false) });
    expect(chosen.protocol).toBe('superchat');
    expect(parseResponse(buildServerResponse(chosen)).headers.getAll('Sec-WebSocket-Protocol')).toEqual(['superchat']);

    const declined = validateClientRequest(offered, { handleProtocols: () => false });
    expect(declined.protocol).toBeNull();
    expect(parseResponse(buildServerResponse(declined)).headers.has('Sec-WebSocket-Protocol')).toBe(false);
    const noCallback = validateClientRequest(offered);
    expect(parseResponse(buildServerResponse(noCallback)).headers.has('Sec-WebSocket-Protocol')).toBe(false);
  });

  it('§4.2.2 selecting a subprotocol the client did not offer is refused as the server\'s own error', () => {
    const offered = request(requestFields({ 'Sec-WebSocket-Protocol': 'chat' }));
    expect(() => validateClientRequest(offered, { handleProtocols: () => 'superchat' })).toThrow(InvalidArgumentError);
  });

  it('§4.2.2 extensions the client did not offer are never listed in the response', () => {
    const unoffered = validateClientRequest(request(requestFields({ 'Sec-WebSocket-Extensions': 'x-other' })), {
      extensions: [acceptingNegotiator],
    });
    expect(unoffered.extensions).toEqual([]);
    expect(unoffered.rsvBits).toBe(0);
    expect(parseResponse(buildServerResponse(unoffered)).headers.has('Sec-WebSocket-Extensions')).toBe(false);

    const none = validateClientRequest(request(requestFields()), { extensions: [acceptingNegotiator] });
    expect(parseResponse(buildServerResponse(none)).headers.has('Sec-WebSocket-Extensions')).toBe(false);

    const offered = validateClientRequest(request(requestFields({ 'Sec-WebSocket-Extensions': 'x-other, x-test' })), {
      extensions: [acceptingNegotiator],
    });
    expect(parseResponse(buildServerResponse(offered)).headers.getAll('Sec-WebSocket-Extensions')).toEqual(['x-test']);
  });

  it('§4.2.2 the 101 response carries Upgrade: websocket, Connection: Upgrade and the accept value of the key', () => {
    const response = parseResponse(buildServerResponse(validateClientRequest(request(requestFields()))));
    expect(response.status).toBe(101);
    expect(response.version).toEqual({ major: 1, minor: 1 });
    expect(response.headers.getAll('Upgrade')).toEqual(['websocket']);
    expect(response.headers.getAll('Connection')).toEqual(['Upgrade']);
    expect(response.headers.getAll('Sec-WebSocket-Accept')).toEqual([RFC_ACCEPT]);
  });
});

describe('§9.1 negotiating extensions (server)', () => {
  it('§9.1 a Sec-WebSocket-Extensions request header that breaks the grammar → 400', () => {
    for (const value of ['', ',', 'x-test;', 'x-test; a=', 'x-test; a="b c"', 'x test', 'x-test; a="\\"q\\""']) {
      const error = handshakeError(() =>
        validateClientRequest(request(requestFields({ 'Sec-WebSocket-Extensions': value })), { extensions: [acceptingNegotiator] }),
      );
      expect(error.status, JSON.stringify(value)).toBe(400);
    }
  });

  it('§9.1 a quoted parameter value that unescapes to a token is accepted', () => {
    const handshake = validateClientRequest(
      request(requestFields({ 'Sec-WebSocket-Extensions': 'x-test; a="b\\c"' })),
      { extensions: [acceptingNegotiator] },
    );
    expect(handshake.extensions.map((extension) => extension.name)).toEqual(['x-test']);
  });
});

describe('§11.3 header fields that appear once', () => {
  it('§11.3.1 a request with two Sec-WebSocket-Key headers → 400', () => {
    const fields = requestFields({ 'Sec-WebSocket-Key': ['dGhlIHNhbXBsZSBub25jZQ==', 'AQIDBAUGBwgJCgsMDQ4PEA=='] });
    expect(handshakeError(() => validateClientRequest(request(fields))).status).toBe(400);
  });

  it('§11.3.5 a request with two Sec-WebSocket-Version headers is refused', () => {
    const fields = requestFields({ 'Sec-WebSocket-Version': ['13', '13'] });
    const error = handshakeError(() => validateClientRequest(request(fields)));
    expect([400, 426]).toContain(error.status);
  });

  it('§11.3.3 the 101 response carries exactly one Sec-WebSocket-Accept, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions', () => {
    const handshake = validateClientRequest(
      request(
        requestFields({
          'Sec-WebSocket-Protocol': ['chat', 'superchat'],
          'Sec-WebSocket-Extensions': ['x-test', 'x-test; a=1'],
        }),
      ),
      { handleProtocols: () => 'chat', extensions: [acceptingNegotiator] },
    );
    const response = parseResponse(buildServerResponse(handshake));
    expect(response.headers.count('Sec-WebSocket-Accept')).toBe(1);
    expect(response.headers.count('Sec-WebSocket-Protocol')).toBe(1);
    expect(response.headers.count('Sec-WebSocket-Extensions')).toBe(1);
    expect(() => buildServerResponse(handshake, { headers: [['Sec-WebSocket-Accept', RFC_ACCEPT]] })).toThrow(InvalidArgumentError);
  });
});

describe('§10 security considerations (server handshake)', () => {
  it('§10.4 a request head over the size limit → 431, without reading it all', () => {
    const parser = new RequestHeadParser();
    const filler = requestFields({ 'X-Filler': 'a'.repeat(4000) });
    const big = headBytes('GET /chat HTTP/1.1', [...filler, ...Array.from({ length: 5 }, (_, i) => [`X-More-${i}`, 'b'.repeat(4000)] as const)]);
    expect(big.length).toBeGreaterThan(DefaultLimits.maxHeadSize);
    const error = handshakeError(() => parser.push(big));
    expect(error.status).toBe(431);
    expect(error.code).toBe(ErrorCode.HEAD_TOO_LARGE);
  });

  it('§10.7 an invalid handshake is answered with its HTTP status, says what was wrong and closes', () => {
    const error = handshakeError(() => validateClientRequest(request(requestFields({ Upgrade: 'h2c' }))));
    const bytes = buildErrorResponse(error);
    const response = parseResponse(bytes);
    expect(response.status).toBe(400);
    expect(response.headers.get('Connection')).toBe('close');
    const body = new TextDecoder().decode(bytes).split('\r\n\r\n')[1];
    expect(body).toBe(error.message);
    expect(Number(response.headers.get('Content-Length'))).toBe(new TextEncoder().encode(body).length);
  });
});
