/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1): the parameter grammar, the server's
 * choice among offers, the client's checks of the response, and both through real opening
 * handshakes of the protocol core.
 */
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import { parseExtensionList, type ExtensionParams } from '../../src/handshake/headers.js';
import { createZlibEngine } from '../../src/adapters/node/deflate-zlib.js';
import { perMessageDeflateNode } from '../../src/adapters/node/deflate.js';
import {
  acceptDeflateResponse,
  chooseDeflateOffer,
  type DeflateCapabilities,
  type DeflateParameters,
  type DeflateServerPolicy,
  parseDeflateParameters,
  serializeDeflateParameters,
} from '../../src/protocol/extensions/deflate-params.js';
import { createPerMessageDeflate, PerMessageDeflate } from '../../src/protocol/extensions/permessage-deflate.js';
import type { DeflateEngine } from '../../src/protocol/extensions/deflate-engine.js';
import type { Extension } from '../../src/protocol/extension.js';
import type { ServerExtensionNegotiator } from '../../src/handshake/extensions.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { ErrorCode, HandshakeError, InvalidArgumentError } from '../../src/shared/errors.js';
import { ConnectionPair, seededRandom } from '../helpers/connection-pair.js';

/** The element's parameters, parsed with the handshake's own header grammar. */
function params(header: string): ExtensionParams {
  const [element] = parseExtensionList(`permessage-deflate${header === '' ? '' : `; ${header}`}`);
  return element!.params;
}

const ZLIB: DeflateCapabilities = { minCompressWindowBits: 8, compressContextTakeover: true, decompressContextTakeover: true };
const STREAMS: DeflateCapabilities = { minCompressWindowBits: 15, compressContextTakeover: false, decompressContextTakeover: false };
const OPEN_POLICY: DeflateServerPolicy = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: undefined, clientMaxWindowBits: undefined };

const NONE: DeflateParameters = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: undefined, clientMaxWindowBits: undefined };

describe('RFC 7692 §7.1 parameter grammar', () => {
  it('§7.1 the four parameters are read', () => {
    const parsed = parseDeflateParameters(params('server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9'), true);
    expect(parsed.params).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 });
  });

  it('accepts a quoted window value (RFC 6455 §9.1: quoted-string unescaped must be a token)', () => {
    expect(parseDeflateParameters(params('server_max_window_bits="12"'), true).params?.serverMaxWindowBits).toBe(12);
  });

  it('§7.1.2.2 the value-less client_max_window_bits is allowed in an offer only', () => {
    expect(parseDeflateParameters(params('client_max_window_bits'), true).params?.clientMaxWindowBits).toBe(true);
    expect(parseDeflateParameters(params('client_max_window_bits'), false).problem).toMatch(/client_max_window_bits needs a value/);
  });

  it.each([
    ['server_max_window_bits=7', /server_max_window_bits needs a value from 8 to 15/],
    ['server_max_window_bits=16', /server_max_window_bits needs a value/],
    ['server_max_window_bits=08', /server_max_window_bits needs a value/],
    ['server_max_window_bits=+9', /server_max_window_bits needs a value/],
    ['server_max_window_bits=1e1', /server_max_window_bits needs a value/],
    ['server_max_window_bits', /server_max_window_bits needs a value/],
    ['client_max_window_bits=0', /client_max_window_bits needs a value/],
    ['client_max_window_bits=150', /client_max_window_bits needs a value/],
    ['server_no_context_takeover=1', /server_no_context_takeover takes no value/],
    ['client_no_context_takeover=true', /client_no_context_takeover takes no value/],
    ['server_no_context_takeover; server_no_context_takeover', /server_no_context_takeover appears more than once/],
    ['server_max_window_bits=10; server_max_window_bits=10', /server_max_window_bits appears more than once/],
    ['client_max_window_bits; client_max_window_bits=10', /client_max_window_bits appears more than once/],
    ['mystery', /unknown parameter mystery/],
  ])('refuses %s', (header, problem) => {
    const parsed = parseDeflateParameters(params(header), true);
    expect(parsed.params).toBeNull();
    expect(parsed.problem).toMatch(problem);
  });

  it('§7.1.2 every window from 8 to 15 is accepted, and parameters round-trip through serialization', () => {
    for (let bits = 8; bits <= 15; bits++) {
      const original: DeflateParameters = { serverNoContextTakeover: bits % 2 === 0, clientNoContextTakeover: bits % 3 === 0, serverMaxWindowBits: bits, clientMaxWindowBits: 23 - bits };
      const again = parseDeflateParameters(serializeDeflateParameters(original), false);
      expect(again.params).toEqual(original);
    }
    const valueless: DeflateParameters = { ...NONE, clientMaxWindowBits: true };
    expect(parseDeflateParameters(serializeDeflateParameters(valueless), true).params).toEqual(valueless);
    expect(serializeDeflateParameters(NONE)).toEqual([]);
  });
});

describe('RFC 7692 §5, §7, §7.1 server: choosing an offer', () => {
  it('accepts a plain offer with context takeover and full windows', () => {
    const choice = chooseDeflateOffer([params('')], OPEN_POLICY, ZLIB);
    expect(choice?.response).toEqual(NONE);
    expect(choice?.agreement).toEqual({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });
  });

  it('§7 a server declines an offer with an unknown parameter, an invalid value or a repeated one, and takes the next', () => {
    const offers = [params('server_max_window_bits=20'), params('mystery'), params('server_no_context_takeover; server_no_context_takeover'), params('client_no_context_takeover')];
    const choice = chooseDeflateOffer(offers, OPEN_POLICY, ZLIB);
    expect(choice?.response).toEqual({ ...NONE, clientNoContextTakeover: true });
  });

  it('§7 a server declines every bad offer without failing the handshake', () => {
    expect(chooseDeflateOffer([params('server_max_window_bits=7'), params('client_max_window_bits=16')], OPEN_POLICY, ZLIB)).toBeNull();
  });

  it('§5 a server takes offers in the client\'s order of preference', () => {
    const choice = chooseDeflateOffer([params('server_max_window_bits=10'), params('')], OPEN_POLICY, ZLIB);
    expect(choice?.response.serverMaxWindowBits).toBe(10);
    expect(choice?.agreement.serverMaxWindowBits).toBe(10);
  });

  it('§7.1.1.1 a server accepts server_no_context_takeover by including it', () => {
    expect(chooseDeflateOffer([params('server_no_context_takeover')], OPEN_POLICY, ZLIB)?.response.serverNoContextTakeover).toBe(true);
  });

  it('§7.1.2.1 a server answers server_max_window_bits with the same or a smaller value', () => {
    expect(chooseDeflateOffer([params('server_max_window_bits=12')], { ...OPEN_POLICY, serverMaxWindowBits: 10 }, ZLIB)?.response.serverMaxWindowBits).toBe(10);
    expect(chooseDeflateOffer([params('server_max_window_bits=9')], { ...OPEN_POLICY, serverMaxWindowBits: 10 }, ZLIB)?.response.serverMaxWindowBits).toBe(9);
    expect(chooseDeflateOffer([params('server_max_window_bits=8')], OPEN_POLICY, ZLIB)?.agreement.serverMaxWindowBits).toBe(8);
  });

  it('§7.1.2.2 a server never includes client_max_window_bits when the offer lacks it, and declines if it needs one', () => {
    expect(chooseDeflateOffer([params('')], OPEN_POLICY, ZLIB)?.response.clientMaxWindowBits).toBeUndefined();
    expect(chooseDeflateOffer([params('')], { ...OPEN_POLICY, clientMaxWindowBits: 10 }, ZLIB)).toBeNull();
    const choice = chooseDeflateOffer([params(''), params('client_max_window_bits')], { ...OPEN_POLICY, clientMaxWindowBits: 10 }, ZLIB);
    expect(choice?.response.clientMaxWindowBits).toBe(10);
    expect(choice?.agreement.clientMaxWindowBits).toBe(10);
  });

  it('keeps a client window the client named itself, and the smaller of the two', () => {
    expect(chooseDeflateOffer([params('client_max_window_bits=11')], OPEN_POLICY, ZLIB)?.agreement.clientMaxWindowBits).toBe(11);
    expect(chooseDeflateOffer([params('client_max_window_bits=11')], { ...OPEN_POLICY, clientMaxWindowBits: 9 }, ZLIB)?.response.clientMaxWindowBits).toBe(9);
  });

  it('adds no-context-takeover both ways when its engine cannot keep context', () => {
    const choice = chooseDeflateOffer([params('client_max_window_bits')], OPEN_POLICY, STREAMS);
    expect(choice?.response).toEqual({ ...NONE, serverNoContextTakeover: true, clientNoContextTakeover: true });
  });

  it('applies its policy to a plain offer', () => {
    const policy: DeflateServerPolicy = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: undefined };
    expect(chooseDeflateOffer([params('')], policy, ZLIB)?.response).toEqual({ ...NONE, serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11 });
  });
});

describe('RFC 7692 §7, §7.1 client: checking the response', () => {
  const offer = (header: string): DeflateParameters => parseDeflateParameters(params(header), true).params!;

  it('accepts a response to its offer and reads the agreement', () => {
    const agreement = acceptDeflateResponse(params('server_no_context_takeover; client_max_window_bits=10'), [offer('server_no_context_takeover; client_max_window_bits')]);
    expect(agreement).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10 });
  });

  it('keeps within a client window it offered even when the response does not repeat it', () => {
    expect(acceptDeflateResponse(params(''), [offer('client_max_window_bits=12')]).clientMaxWindowBits).toBe(12);
  });

  it('§7.1.1.2 a client that offered client_no_context_takeover keeps to it when the response leaves it out', () => {
    expect(acceptDeflateResponse(params(''), [offer('client_no_context_takeover')]).clientNoContextTakeover).toBe(true);
    expect(acceptDeflateResponse(params(''), [offer('')]).clientNoContextTakeover).toBe(false);
  });

  it('accepts a server window and no-context-takeover the server chose on its own', () => {
    const agreement = acceptDeflateResponse(params('server_max_window_bits=9; client_no_context_takeover'), [offer('')]);
    expect(agreement.serverMaxWindowBits).toBe(9);
    expect(agreement.clientNoContextTakeover).toBe(true);
  });

  it('accepts a response that answers any of several offers', () => {
    const agreement = acceptDeflateResponse(params(''), [offer('server_max_window_bits=10'), offer('')]);
    expect(agreement.serverMaxWindowBits).toBe(15);
  });

  const BAD_RESPONSES: Array<[response: string, offered: string, problem: RegExp]> = [
    ['client_max_window_bits', '', /client_max_window_bits needs a value/],
    ['client_max_window_bits=10', '', /client_max_window_bits, which the offer did not include/],
    ['client_max_window_bits=12', 'client_max_window_bits=10', /client_max_window_bits=12 exceeds the offered 10/],
    ['', 'server_no_context_takeover', /lacks server_no_context_takeover/],
    ['', 'server_max_window_bits=10', /lacks server_max_window_bits/],
    ['server_max_window_bits=11', 'server_max_window_bits=10', /server_max_window_bits=11 exceeds the offered 10/],
    ['server_max_window_bits=5', '', /server_max_window_bits needs a value/],
    ['server_no_context_takeover=x', '', /server_no_context_takeover takes no value/],
    ['server_no_context_takeover; server_no_context_takeover', '', /appears more than once/],
    ['x_param=1', '', /unknown parameter x_param/],
  ];

  it('§7 a client fails the connection on a response with an unknown parameter, an invalid value, a repeated one, or one that does not answer its offer', () => {
    for (const [response, offered, problem] of BAD_RESPONSES) {
      let error: unknown;
      try {
        acceptDeflateResponse(params(response), [offer(offered)]);
      } catch (caught) {
        error = caught;
      }
      expect(error, `response ${response} to offer ${offered}`).toBeInstanceOf(HandshakeError);
      expect((error as HandshakeError).code).toBe(ErrorCode.HANDSHAKE);
      expect((error as HandshakeError).status).toBe(101);
      expect((error as HandshakeError).message).toMatch(problem);
    }
  });
});

describe('negotiators', () => {
  const engine = createZlibEngine();

  it('offer what the options say, main offer first, then the fallbacks', () => {
    const { client } = createPerMessageDeflate(engine, {
      serverNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
      fallbackOffers: [{ clientMaxWindowBits: false }, {}],
    });
    expect(client.offer()).toEqual([
      [['server_no_context_takeover', true], ['server_max_window_bits', '10'], ['client_max_window_bits', '12']],
      [],
      [['client_max_window_bits', true]],
    ]);
    expect(client.rsvBits).toBe(0b100);
    expect(client.name).toBe('permessage-deflate');
  });

  it('refuse invalid options', () => {
    expect(() => createPerMessageDeflate(engine, { serverMaxWindowBits: 7 })).toThrow(InvalidArgumentError);
    expect(() => createPerMessageDeflate(engine, { clientMaxWindowBits: 16 })).toThrow(/clientMaxWindowBits must be an integer from 8 to 15/);
    expect(() => createPerMessageDeflate(engine, { threshold: -1 })).toThrow(/threshold must be a non-negative integer/);
    expect(() => createPerMessageDeflate(engine, { fallbackOffers: [{ serverMaxWindowBits: 3 }] })).toThrow(/serverMaxWindowBits/);
    expect(() => perMessageDeflateNode({ memLevel: 10 })).toThrow(/memLevel must be an integer from 1 to 9/);
    expect(() => perMessageDeflateNode({ concurrencyLimit: 0 })).toThrow(/concurrency must be a positive integer/);
  });

  it('refuse windows an engine cannot keep to, and offer only what it can do', () => {
    const streams: DeflateEngine = { ...engine, capabilities: STREAMS };
    expect(() => createPerMessageDeflate(streams, { serverMaxWindowBits: 12 })).toThrow(/keeps to windows of 15–15 bits only/);
    expect(() => createPerMessageDeflate(streams, { clientMaxWindowBits: 12 })).toThrow(/keeps to windows of 15–15 bits only/);
    expect(createPerMessageDeflate(streams).client.offer()).toEqual([[['server_no_context_takeover', true], ['client_no_context_takeover', true]]]);
  });

  it('the server makes a PerMessageDeflate per accepted negotiation, and declines with null', () => {
    const { server } = createPerMessageDeflate(engine);
    const accepted = server.accept([params('client_max_window_bits')]);
    expect(accepted?.extension).toBeInstanceOf(PerMessageDeflate);
    expect(accepted?.response).toEqual([]);
    expect(server.accept([params('server_max_window_bits=99')])).toBeNull();
  });
});

describe('negotiation through opening handshakes', () => {
  const request = (extensions: string): Uint8Array =>
    new TextEncoder().encode(
      'GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${extensions}\r\n\r\n`,
    );
  const responseText = (server: ServerConnection): string => new TextDecoder().decode(server.dataToSend()[0]);

  it('§7 a server with only bad offers answers 101 without the extension', () => {
    const server = new ServerConnection({ codec: portableCodec, extensions: [perMessageDeflateNode().server] });
    server.receiveData(request('permessage-deflate; server_max_window_bits=7, permessage-deflate; bogus, permessage-deflate; client_no_context_takeover=x'));
    const response = responseText(server);
    expect(response).toMatch(/^HTTP\/1\.1 101 /);
    expect(response).not.toMatch(/sec-websocket-extensions/i);
    expect(server.extensions).toEqual([]);
  });

  it('a server picks the first good offer and answers it', () => {
    const server = new ServerConnection({ codec: portableCodec, extensions: [perMessageDeflateNode().server] });
    server.receiveData(request('permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=10; client_max_window_bits'));
    expect(responseText(server)).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n/i);
    expect((server.extensions[0]!.extension as PerMessageDeflate).agreement.serverMaxWindowBits).toBe(10);
  });

  it('§7 a server does not accept permessage-deflate together with an extension that already claims RSV1', () => {
    const claimsRsv1: ServerExtensionNegotiator<Extension> = {
      name: 'x-first-rsv1',
      rsvBits: 0b100,
      accept: () => ({ response: [], extension: { encode: (data) => data, decode: (data, _fin, output) => void output.push(data) } }),
    };
    const server = new ServerConnection({ codec: portableCodec, extensions: [claimsRsv1, perMessageDeflateNode().server] });
    server.receiveData(request('x-first-rsv1, permessage-deflate'));
    const response = responseText(server);
    expect(response).toMatch(/\r\nSec-WebSocket-Extensions: x-first-rsv1\r\n/i);
    expect(server.extensions.map((extension) => extension.name)).toEqual(['x-first-rsv1']);
  });

  it('§7 a client fails the opening handshake on a bad response', () => {
    const client = new ClientConnection({ codec: portableCodec, random: seededRandom(1), host: 'example.com', path: '/', extensions: [perMessageDeflateNode({ serverMaxWindowBits: 10 }).client] });
    const req = new TextDecoder().decode(client.dataToSend()[0]);
    expect(req).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits\r\n/);
    // The accept value is checked before the extensions; compute it with the server side's code.
    const server = new ServerConnection({ codec: portableCodec });
    server.receiveData(new TextEncoder().encode(req));
    const accept = /Sec-WebSocket-Accept: (\S+)/i.exec(responseText(server))![1]!;
    client.receiveData(
      new TextEncoder().encode(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
          'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n\r\n',
      ),
    );
    const errors = client.eventsReceived().filter((event) => event.type === 'error');
    expect(errors).toHaveLength(1);
    const error = (errors[0] as { error: unknown }).error as HandshakeError;
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.message).toMatch(/server_max_window_bits=12 exceeds the offered 10/);
    expect(client.shouldCloseTransport()).toBe(true);
  });

  it('§5 the server takes the client\'s fallback offer when it declines the first, and the client accepts the answer', () => {
    const pair = new ConnectionPair({
      codec: portableCodec,
      client: { extensions: [perMessageDeflateNode({ clientMaxWindowBits: false, serverNoContextTakeover: true, fallbackOffers: [{ clientMaxWindowBits: true }] }).client] },
      server: { extensions: [perMessageDeflateNode({ clientMaxWindowBits: 10 }).server] },
    });
    pair.pump();
    const request = new TextDecoder().decode(pair.client.written[0]);
    expect(request).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover, permessage-deflate; client_max_window_bits\r\n/);
    const clientDeflate = pair.client.connection.extensions[0]!.extension as PerMessageDeflate;
    expect(pair.client.connection.extensions[0]!.params).toEqual([['client_max_window_bits', '10']]);
    expect(clientDeflate.agreement).toEqual({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10 });
  });

  it.each([
    [{}, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    [{ serverNoContextTakeover: true, clientMaxWindowBits: 9 }, {}, { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 9 }],
    [{}, { serverMaxWindowBits: 11, clientNoContextTakeover: true }, { serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 15 }],
    [{ clientMaxWindowBits: 8 }, { serverMaxWindowBits: 8 }, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
  ])('client %j and server %j agree on the same terms', (clientOptions, serverOptions, expected) => {
    const pair = new ConnectionPair({
      codec: portableCodec,
      client: { extensions: [perMessageDeflateNode(clientOptions).client] },
      server: { extensions: [perMessageDeflateNode(serverOptions).server] },
    });
    pair.pump();
    const clientDeflate = pair.client.connection.extensions[0]!.extension as PerMessageDeflate;
    const serverDeflate = pair.server.connection.extensions[0]!.extension as PerMessageDeflate;
    expect(clientDeflate.agreement).toEqual(expected);
    expect(serverDeflate.agreement).toEqual(expected);
    expect(clientDeflate.side).toBe('client');
    expect(serverDeflate.side).toBe('server');
  });
});
