/**
 * The RFC 8441 handshake in the core, without I/O: every rule of the server's check with the
 * status it answers, the client's request fields, and the client's check of the response.
 */
import { describe, expect, it } from 'vitest';
import {
  buildExtendedConnect,
  extendedConnectErrorResponse,
  extendedConnectResponseFields,
  type ExtendedConnectRequest,
  isExtendedConnect,
  validateExtendedConnect,
  validateExtendedConnectResponse,
} from '../../src/handshake/extended-connect.js';
import { HttpHeaders, type HeaderField } from '../../src/handshake/http.js';
import { HandshakeError, InvalidArgumentError } from '../../src/shared/errors.js';

function request(overrides: Partial<Omit<ExtendedConnectRequest, 'headers'>> = {}, fields: HeaderField[] = [['sec-websocket-version', '13']]): ExtendedConnectRequest {
  return { method: 'CONNECT', protocol: 'websocket', scheme: 'https', authority: 'server.example.com', path: '/chat', headers: new HttpHeaders(fields), ...overrides };
}

function refusal(run: () => unknown): HandshakeError {
  try {
    run();
  } catch (error) {
    if (error instanceof HandshakeError) return error;
    throw error;
  }
  throw new Error('expected a HandshakeError');
}

describe('validateExtendedConnect (RFC 8441 §4, §5)', () => {
  it('§5.1 accepts the example request, and negotiates as HTTP/1.1 does', () => {
    const handshake = validateExtendedConnect(
      request({}, [
        ['sec-websocket-protocol', 'chat, superchat'],
        ['sec-websocket-version', '13'],
        ['origin', 'http://www.example.com'],
      ]),
      { handleProtocols: (offered) => (offered.has('superchat') ? 'superchat' : false), verifyOrigin: (origin) => origin === 'http://www.example.com' },
    );
    expect(handshake.protocol).toBe('superchat');
    expect(handshake.request.method).toBe('CONNECT');
    expect(handshake.request.target).toBe('/chat');
    expect(handshake.request.version).toEqual({ major: 2, minor: 0 });
    // The callbacks see :authority as the Host.
    expect(handshake.request.headers.get('Host')).toBe('server.example.com');
    expect(extendedConnectResponseFields(handshake)).toEqual([['sec-websocket-protocol', 'superchat']]);
  });

  it('§5 ignores a Sec-WebSocket-Key (superseded by :protocol)', () => {
    expect(validateExtendedConnect(request({}, [['sec-websocket-version', '13'], ['sec-websocket-key', 'not even base64']])).protocol).toBeNull();
  });

  it.each([
    ['another method', request({ method: 'GET' }), 405],
    ['no :protocol (a tunnel)', request({ protocol: undefined }), 400],
    ['a :protocol other than websocket', request({ protocol: 'webtransport' }), 501],
    ['no :scheme', request({ scheme: undefined }), 400],
    ['a :scheme other than http or https', request({ scheme: 'ftp' }), 400],
    ['no :path', request({ path: undefined }), 400],
    ['a :path not in origin form', request({ path: '*' }), 400],
    ['no :authority', request({ authority: undefined }), 400],
    ['an invalid :authority', request({ authority: 'a b' }), 400],
    ['a Connection field', request({}, [['sec-websocket-version', '13'], ['connection', 'upgrade']]), 400],
    ['an Upgrade field', request({}, [['sec-websocket-version', '13'], ['upgrade', 'websocket']]), 400],
    ['a body', request({}, [['sec-websocket-version', '13'], ['content-length', '5']]), 400],
    ['no Sec-WebSocket-Version', request({}, []), 400],
    ['version 8', request({}, [['sec-websocket-version', '8']]), 426],
    ['a malformed Sec-WebSocket-Protocol', request({}, [['sec-websocket-version', '13'], ['sec-websocket-protocol', 'a, a']]), 400],
    ['a malformed Sec-WebSocket-Extensions', request({}, [['sec-websocket-version', '13'], ['sec-websocket-extensions', 'x; =']]), 400],
  ])('§4 §5 refuses %s', (_what, refused, status) => {
    expect(refusal(() => validateExtendedConnect(refused)).status).toBe(status);
  });

  it('§5 answers an unsupported version with 426 and the version it speaks (RFC 6455 §4.4)', () => {
    expect(refusal(() => validateExtendedConnect(request({}, [['sec-websocket-version', '8']]))).headers).toEqual([['Sec-WebSocket-Version', '13']]);
  });

  it('§5 refuses an origin the server does not accept with 403', () => {
    const refused = refusal(() => validateExtendedConnect(request({}, [['sec-websocket-version', '13'], ['origin', 'https://evil.example']]), { verifyOrigin: () => false }));
    expect(refused.status).toBe(403);
  });

  it('reports a subprotocol the client did not offer as the server’s own error', () => {
    expect(() => validateExtendedConnect(request({}, [['sec-websocket-version', '13'], ['sec-websocket-protocol', 'a']]), { handleProtocols: () => 'b' })).toThrow(InvalidArgumentError);
  });

  it('tells an extended CONNECT from a plain one', () => {
    expect(isExtendedConnect({ method: 'CONNECT', protocol: 'websocket' })).toBe(true);
    expect(isExtendedConnect({ method: 'CONNECT', protocol: undefined })).toBe(false);
    expect(isExtendedConnect({ method: 'GET', protocol: 'websocket' })).toBe(false);
  });
});

describe('the server’s responses', () => {
  it('§5 the server refuses extra response fields the handshake sets or HTTP/2 forbids', () => {
    const terms = { protocol: null, extensions: [], rsvBits: 0, extensionsHeader: null };
    expect(extendedConnectResponseFields(terms, [['X-Served-By', 'us']])).toEqual([['x-served-by', 'us']]);
    for (const name of ['sec-websocket-accept', 'Sec-WebSocket-Protocol', 'connection', 'upgrade', 'transfer-encoding']) {
      expect(() => extendedConnectResponseFields(terms, [[name, 'x']])).toThrow(InvalidArgumentError);
    }
  });

  it('builds an error response with the error’s fields, a plain-text body and its length', () => {
    const response = extendedConnectErrorResponse({ status: 426, message: 'version 13 only', headers: [['Sec-WebSocket-Version', '13']] });
    expect(response.status).toBe(426);
    expect(response.headers).toEqual([
      ['sec-websocket-version', '13'],
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', '15'],
    ]);
    expect(new TextDecoder().decode(response.body)).toBe('version 13 only');
    expect(() => extendedConnectErrorResponse({ status: 200, message: '' })).toThrow(InvalidArgumentError);
  });
});

describe('the client’s extended CONNECT', () => {
  it('§5 the client sends the pseudo-header fields first, lower-case names, version 13, and no key, Connection or Upgrade', () => {
    const built = buildExtendedConnect({ host: 'server.example.com', port: 8443, secure: true, path: '/chat?x=1', origin: 'https://app.example', protocols: ['chat', 'superchat'], headers: [['Authorization', 'Bearer t']] });
    expect(built.fields).toEqual([
      [':method', 'CONNECT'],
      [':protocol', 'websocket'],
      [':scheme', 'https'],
      [':path', '/chat?x=1'],
      [':authority', 'server.example.com:8443'],
      ['sec-websocket-version', '13'],
      ['origin', 'https://app.example'],
      ['sec-websocket-protocol', 'chat, superchat'],
      ['authorization', 'Bearer t'],
    ]);
    expect(buildExtendedConnect({ host: '::1', secure: false }).fields.slice(2, 5)).toEqual([
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', '[::1]'],
    ]);
  });

  it('§5 the client refuses extra fields it sets itself or HTTP/2 forbids', () => {
    for (const name of ['Sec-WebSocket-Key', 'Host', 'Connection', 'Upgrade', 'Keep-Alive']) {
      expect(() => buildExtendedConnect({ host: 'a.example', headers: [[name, 'x']] })).toThrow(InvalidArgumentError);
    }
  });

  it('§5 the client accepts 200 with an offered subprotocol, and fails anything else with the response’s status', () => {
    const built = buildExtendedConnect({ host: 'a.example', protocols: ['chat'], requireProtocol: true });
    expect(validateExtendedConnectResponse(built, 200, [['sec-websocket-protocol', 'chat']]).protocol).toBe('chat');
    const refused = refusal(() => validateExtendedConnectResponse(built, 403, [['content-type', 'text/plain']]));
    expect(refused.status).toBe(403);
    expect(refused.headers).toEqual([['content-type', 'text/plain']]);
    // RFC 8441 §5: success is 200, not any 2xx.
    expect(refusal(() => validateExtendedConnectResponse(built, 204, [['sec-websocket-protocol', 'chat']])).status).toBe(204);
    expect(refusal(() => validateExtendedConnectResponse(built, 200, [['sec-websocket-protocol', 'other']])).status).toBe(200);
    expect(refusal(() => validateExtendedConnectResponse(built, 200, [])).message).toMatch(/none of the subprotocols/);
    // An extension the client did not offer.
    expect(refusal(() => validateExtendedConnectResponse(built, 200, [['sec-websocket-protocol', 'chat'], ['sec-websocket-extensions', 'permessage-deflate']])).status).toBe(200);
  });
});
