/**
 * RFC 6455 §3, §4.1, §9.1 and §11.3, client side: the request a client sends and how it
 * checks the server's response. One test per requirement of docs/compliance.md.
 */
import { describe, expect, it } from 'vitest';
import {
  buildClientRequest,
  ResponseHeadParser,
  computeAcceptKey,
  decodeBase64,
  validateClientRequest,
  validateServerResponse,
  type ClientExtensionNegotiator,
  type ClientRequestOptions,
} from '../../src/handshake/index.js';
import { DefaultLimits } from '../../src/shared/constants.js';
import { ErrorCode, InvalidArgumentError } from '../../src/shared/errors.js';
import { webCryptoRandom } from '../../src/shared/ports.js';
import { countingRandom, handshakeError, headBytes, parseRequest, parseResponse } from './handshake-helpers.js';

/** A client negotiator for a made-up extension `x-test` that accepts any response. */
const offeringNegotiator: ClientExtensionNegotiator<string> = {
  name: 'x-test',
  rsvBits: 0b010,
  offer: () => [[]],
  accept: () => 'x-test',
};

function clientRequest(options: Partial<ClientRequestOptions<string>> = {}) {
  return buildClientRequest<string>({ host: 'server.example.com', path: '/chat', random: countingRandom(), ...options });
}

/** A 101 response to `key` with the given fields replaced (`undefined` removes a field) or added. */
function response(key: string, changes: Readonly<Record<string, string | readonly string[] | undefined>> = {}, statusLine = 'HTTP/1.1 101 Switching Protocols') {
  const base: Array<readonly [string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', computeAcceptKey(key)],
  ];
  const changed = new Set(Object.keys(changes).map((name) => name.toLowerCase()));
  const fields = base.filter(([name]) => !changed.has(name.toLowerCase()));
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    for (const item of typeof value === 'string' ? [value] : value) fields.push([name, item]);
  }
  return parseResponse(headBytes(statusLine, fields));
}

describe('§3 WebSocket URIs (client)', () => {
  it('§3 a resource name with a fragment identifier or an unescaped "#" is refused', () => {
    for (const path of ['/chat#frag', '/chat?q=#', '/#']) {
      expect(() => clientRequest({ path }), path).toThrow(InvalidArgumentError);
    }
    expect(clientRequest({ path: '/chat?q=%23' }).target).toBe('/chat?q=%23');
  });

  it('§3 a host or port that is not valid is refused before anything is sent', () => {
    for (const host of ['', 'a b', 'exa\u00e9mple.com', 'host/path', '[::1']) {
      expect(() => clientRequest({ host }), JSON.stringify(host)).toThrow(InvalidArgumentError);
    }
    for (const port of [0, 65536, 1.5, -1]) expect(() => clientRequest({ port }), String(port)).toThrow(InvalidArgumentError);
  });
});

describe('§4.1 the client\'s opening handshake', () => {
  it('§4.1 the request is a valid HTTP/1.1 GET of the resource name that a server accepts', () => {
    const built = clientRequest({ path: '/chat?room=1' });
    const head = parseRequest(built.bytes);
    expect(head.method).toBe('GET');
    expect(head.version).toEqual({ major: 1, minor: 1 });
    expect(head.target).toBe('/chat?room=1');
    expect(validateClientRequest(head).key).toBe(built.key);
  });

  it('§4.1 the request carries Host, Upgrade: websocket, Connection: Upgrade and Sec-WebSocket-Version: 13, once each', () => {
    const { headers } = parseRequest(clientRequest().bytes);
    expect(headers.getAll('Host')).toEqual(['server.example.com']);
    expect(headers.getAll('Upgrade')).toEqual(['websocket']);
    expect(headers.getAll('Connection')).toEqual(['Upgrade']);
    expect(headers.getAll('Sec-WebSocket-Version')).toEqual(['13']);
    expect(headers.count('Sec-WebSocket-Key')).toBe(1);
  });

  it('§4.1 the Host header carries the port only when it is not the default', () => {
    const host = (options: Partial<ClientRequestOptions<string>>) => parseRequest(clientRequest(options).bytes).headers.get('Host');
    expect(host({ port: 80 })).toBe('server.example.com');
    expect(host({ port: 443, secure: true })).toBe('server.example.com');
    expect(host({ port: 8080 })).toBe('server.example.com:8080');
    expect(host({ port: 80, secure: true })).toBe('server.example.com:80');
    expect(host({ host: '::1', port: 9000 })).toBe('[::1]:9000');
  });

  it('§4.1 Sec-WebSocket-Key is 16 random bytes from the random source, base64-encoded, fresh for each connection', () => {
    const built = clientRequest({ random: countingRandom(7) });
    expect([...decodeBase64(built.key)!]).toEqual(Array.from({ length: 16 }, (_, i) => 7 + i));
    const keys = new Set(Array.from({ length: 200 }, () => buildClientRequest({ host: 'a.example', random: webCryptoRandom }).key));
    expect(keys.size).toBe(200);
    for (const key of keys) expect(decodeBase64(key)).toHaveLength(16);
  });

  it('§4.1 offered subprotocols are distinct non-empty tokens', () => {
    for (const protocols of [[''], ['chat', 'chat'], ['a b'], ['chat,superchat'], ['caf\u00e9']]) {
      expect(() => clientRequest({ protocols }), JSON.stringify(protocols)).toThrow(InvalidArgumentError);
    }
    expect(parseRequest(clientRequest({ protocols: ['chat', 'superchat'] }).bytes).headers.getAll('Sec-WebSocket-Protocol')).toEqual([
      'chat, superchat',
    ]);
  });

  it('§4.1 a response status other than 101 fails the connection, keeping the status and headers', () => {
    const built = clientRequest();
    for (const statusLine of ['HTTP/1.1 200 OK', 'HTTP/1.1 302 Found', 'HTTP/1.1 401 Unauthorized', 'HTTP/1.1 426 Upgrade Required']) {
      const error = handshakeError(() => validateServerResponse(built, response(built.key, { Location: '/elsewhere' }, statusLine)));
      expect(error.status).toBe(Number(statusLine.split(' ')[1]));
      expect(error.headers).toContainEqual(['Location', '/elsewhere']);
    }
  });

  it('§4.1 a response whose Upgrade is missing or not "websocket" fails the connection', () => {
    const built = clientRequest();
    for (const upgrade of [undefined, 'h2c', 'websocket2']) {
      expect(handshakeError(() => validateServerResponse(built, response(built.key, { Upgrade: upgrade }))).status).toBe(101);
    }
    expect(validateServerResponse(built, response(built.key, { Upgrade: 'WebSocket' })).protocol).toBeNull();
  });

  it('§4.1 a response whose Connection lacks the "Upgrade" token fails the connection', () => {
    const built = clientRequest();
    for (const connection of [undefined, 'keep-alive', 'upgraded']) {
      expect(handshakeError(() => validateServerResponse(built, response(built.key, { Connection: connection }))).status).toBe(101);
    }
    expect(validateServerResponse(built, response(built.key, { Connection: 'keep-alive, UPGRADE' })).protocol).toBeNull();
  });

  it('§4.1 a response whose Sec-WebSocket-Accept is missing or wrong fails the connection', () => {
    const built = clientRequest();
    const other = computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ==');
    for (const accept of [undefined, other, '', computeAcceptKey(built.key).toLowerCase()]) {
      const error = handshakeError(() => validateServerResponse(built, response(built.key, { 'Sec-WebSocket-Accept': accept })));
      expect(error.message).toMatch(/Sec-WebSocket-Accept/);
    }
  });

  it('§4.1 a response naming an extension the client did not offer fails the connection', () => {
    const plain = clientRequest();
    expect(handshakeError(() => validateServerResponse(plain, response(plain.key, { 'Sec-WebSocket-Extensions': 'x-test' }))).message).toContain(
      'x-test',
    );
    const offering = clientRequest({ extensions: [offeringNegotiator] });
    expect(() => validateServerResponse(offering, response(offering.key, { 'Sec-WebSocket-Extensions': 'x-other' }))).toThrow();
    const accepted = validateServerResponse(offering, response(offering.key, { 'Sec-WebSocket-Extensions': 'x-test' }));
    expect(accepted.extensions.map((extension) => extension.name)).toEqual(['x-test']);
    expect(accepted.rsvBits).toBe(0b010);
  });

  it('§4.1 a response naming a subprotocol the client did not offer fails the connection', () => {
    const plain = clientRequest();
    expect(() => validateServerResponse(plain, response(plain.key, { 'Sec-WebSocket-Protocol': 'chat' }))).toThrow();
    const offering = clientRequest({ protocols: ['chat', 'superchat'] });
    for (const protocol of ['other', 'chat, superchat', '']) {
      expect(() => validateServerResponse(offering, response(offering.key, { 'Sec-WebSocket-Protocol': protocol })), protocol).toThrow();
    }
    expect(validateServerResponse(offering, response(offering.key, { 'Sec-WebSocket-Protocol': 'superchat' })).protocol).toBe('superchat');
  });
});

describe('§9.1 negotiating extensions (client)', () => {
  it('§9.1 a response Sec-WebSocket-Extensions that breaks the grammar fails the connection', () => {
    const offering = clientRequest({ extensions: [offeringNegotiator] });
    for (const value of [',', 'x-test;', 'x-test; a=', 'x-test; a="b c"']) {
      expect(
        () => validateServerResponse(offering, response(offering.key, { 'Sec-WebSocket-Extensions': value })),
        JSON.stringify(value),
      ).toThrow();
    }
  });

  it('§9.1 the client uses an offered extension only when the server accepts it', () => {
    const offering = clientRequest({ extensions: [offeringNegotiator] });
    expect(parseRequest(offering.bytes).headers.get('Sec-WebSocket-Extensions')).toBe('x-test');
    const declined = validateServerResponse(offering, response(offering.key));
    expect(declined.extensions).toEqual([]);
    expect(declined.rsvBits).toBe(0);
  });
});

describe('§11.3 header fields that appear once (client)', () => {
  it('§11.3.1 the request carries one Sec-WebSocket-Key and one Sec-WebSocket-Version, and extra headers cannot add more', () => {
    const { headers } = parseRequest(clientRequest().bytes);
    expect(headers.count('Sec-WebSocket-Key')).toBe(1);
    expect(headers.count('Sec-WebSocket-Version')).toBe(1);
    for (const name of ['Sec-WebSocket-Key', 'sec-websocket-version', 'Sec-WebSocket-Accept', 'Host', 'Upgrade']) {
      expect(() => clientRequest({ headers: [[name, 'x']] }), name).toThrow(InvalidArgumentError);
    }
  });

  it('§11.3.3 a response with two Sec-WebSocket-Accept headers fails the connection', () => {
    const built = clientRequest();
    const accept = computeAcceptKey(built.key);
    expect(() => validateServerResponse(built, response(built.key, { 'Sec-WebSocket-Accept': [accept, accept] }))).toThrow(/more than one/);
  });

  it('§11.3.4 a response with two Sec-WebSocket-Protocol headers fails the connection', () => {
    const built = clientRequest({ protocols: ['chat', 'superchat'] });
    expect(() => validateServerResponse(built, response(built.key, { 'Sec-WebSocket-Protocol': ['chat', 'chat'] }))).toThrow(/more than one/);
  });
});

describe('§10 security considerations (client handshake)', () => {
  it('§10.4 a response head over the size limit fails the connection', () => {
    const fields = Array.from({ length: 5 }, (_, i) => [`X-Filler-${i}`, 'a'.repeat(4000)] as const);
    const big = headBytes('HTTP/1.1 101 Switching Protocols', fields);
    expect(big.length).toBeGreaterThan(DefaultLimits.maxHeadSize);
    const error = handshakeError(() => new ResponseHeadParser().push(big));
    expect(error.code).toBe(ErrorCode.HEAD_TOO_LARGE);
  });
});
