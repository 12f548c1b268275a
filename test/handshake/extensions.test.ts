import { describe, expect, it } from 'vitest';
import {
  acceptServerExtensions,
  collectClientOffers,
  negotiateServerExtensions,
  NO_EXTENSIONS,
  type ServerExtensionNegotiator,
} from '../../src/handshake/extensions.js';
import { parseExtensionList } from '../../src/handshake/headers.js';
import { ErrorCode, HandshakeError, InvalidArgumentError } from '../../src/shared/errors.js';
import { testClientNegotiator, testServerNegotiator, thrown } from './helpers.js';

const RSV1 = 0b100;
const RSV2 = 0b010;
const RSV3 = 0b001;

describe('server extension negotiation', () => {
  it("§9.1 gives each negotiator its extension's offers in the client's order", () => {
    const deflate = testServerNegotiator('permessage-deflate', RSV1, (params) => params.length === 0);
    const other = testServerNegotiator('x-other', RSV2);
    const offers = parseExtensionList('permessage-deflate; a=1, x-other; b, permessage-deflate; c, permessage-deflate');
    const { negotiation, response } = negotiateServerExtensions(offers, [deflate, other]);
    expect(deflate.calls).toEqual([[[['a', '1']], [['c', true]], []]]);
    expect(other.calls).toEqual([[[['b', true]]]]);
    expect(negotiation.rsvBits).toBe(RSV1 | RSV2);
    expect(negotiation.extensions).toEqual([
      { name: 'permessage-deflate', rsvBits: RSV1, params: [], extension: { name: 'permessage-deflate', params: [] } },
      { name: 'x-other', rsvBits: RSV2, params: [['b', true]], extension: { name: 'x-other', params: [['b', true]] } },
    ]);
    expect(response).toEqual([
      { name: 'permessage-deflate', params: [] },
      { name: 'x-other', params: [['b', true]] },
    ]);
  });

  it('lists accepted extensions in the order the server configured them', () => {
    const a = testServerNegotiator('a', RSV1);
    const b = testServerNegotiator('b', RSV2);
    const { response } = negotiateServerExtensions(parseExtensionList('a, b'), [b, a]);
    expect(response.map(({ name }) => name)).toEqual(['b', 'a']);
  });

  it('does not consult a negotiator whose extension was not offered', () => {
    const offered = testServerNegotiator('offered', RSV1);
    const unoffered = testServerNegotiator('unoffered', RSV2);
    negotiateServerExtensions(parseExtensionList('offered'), [unoffered, offered]);
    expect(unoffered.calls).toEqual([]);
    expect(offered.calls).toHaveLength(1);
  });

  it('§9 never accepts two extensions that claim the same RSV bit: the later one is not consulted', () => {
    const first = testServerNegotiator('first', RSV1 | RSV3);
    const second = testServerNegotiator('second', RSV3);
    const third = testServerNegotiator('third', RSV2);
    const { negotiation, response } = negotiateServerExtensions(parseExtensionList('first, second, third'), [first, second, third]);
    expect(second.calls).toEqual([]);
    expect(response.map(({ name }) => name)).toEqual(['first', 'third']);
    expect(negotiation.rsvBits).toBe(RSV1 | RSV2 | RSV3);
  });

  it('§9 a declined extension does not claim its RSV bit', () => {
    const declines = testServerNegotiator('declines', RSV1, () => false);
    const accepts = testServerNegotiator('accepts', RSV1);
    const { negotiation } = negotiateServerExtensions(parseExtensionList('declines, accepts'), [declines, accepts]);
    expect(declines.calls).toHaveLength(1);
    expect(negotiation.extensions.map(({ name }) => name)).toEqual(['accepts']);
  });

  it('extensions that use no RSV bit can coexist', () => {
    const a = testServerNegotiator('a', 0);
    const b = testServerNegotiator('b', 0);
    const { negotiation } = negotiateServerExtensions(parseExtensionList('a, b'), [a, b]);
    expect(negotiation.extensions).toHaveLength(2);
    expect(negotiation.rsvBits).toBe(0);
  });

  it('returns NO_EXTENSIONS and no response when nothing is accepted', () => {
    expect(negotiateServerExtensions(parseExtensionList('x'), [])).toEqual({ negotiation: NO_EXTENSIONS, response: [] });
    expect(negotiateServerExtensions(parseExtensionList('x'), [testServerNegotiator('x', RSV1, () => false)]).negotiation).toBe(
      NO_EXTENSIONS,
    );
  });

  it('lets a negotiator fail the handshake with a HandshakeError', () => {
    const strict: ServerExtensionNegotiator<never> = {
      name: 'strict',
      rsvBits: RSV1,
      accept() {
        throw new HandshakeError('strict: malformed offer', 400);
      },
    };
    expect(thrown(() => negotiateServerExtensions(parseExtensionList('strict'), [strict])).message).toBe('strict: malformed offer');
  });

  it.each([
    [[testServerNegotiator('a b', RSV1)], 'invalid extension name "a b": must be a token'],
    [[testServerNegotiator('x', RSV1), testServerNegotiator('x', RSV2)], 'extension x is configured twice'],
    [[testServerNegotiator('x', 8)], 'invalid RSV bits 8 for extension x: must be an integer 0–7'],
    [[testServerNegotiator('x', -1)], 'invalid RSV bits -1 for extension x: must be an integer 0–7'],
    [[testServerNegotiator('x', 1.5)], 'invalid RSV bits 1.5 for extension x: must be an integer 0–7'],
  ])('refuses misconfigured negotiators with InvalidArgumentError (%#)', (negotiators, message) => {
    const error = thrown(() => negotiateServerExtensions([], negotiators));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe(message);
  });
});

describe('client extension negotiation', () => {
  it('§4.1 collects every offer of every negotiator, in order', () => {
    const offers = collectClientOffers([
      testClientNegotiator('permessage-deflate', RSV1, [[['client_max_window_bits', true]], []]),
      testClientNegotiator('none', RSV2, []),
      testClientNegotiator('x', RSV3, [[['a', '1']]]),
    ]);
    expect(offers).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'permessage-deflate', params: [] },
      { name: 'x', params: [['a', '1']] },
    ]);
  });

  it('refuses misconfigured negotiators with InvalidArgumentError', () => {
    const error = thrown(() => collectClientOffers([testClientNegotiator('x', RSV1), testClientNegotiator('x', RSV2)]));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe('extension x is configured twice');
  });

  it('accepts the extensions the server listed, in its order, with their negotiators', () => {
    const negotiation = acceptServerExtensions(parseExtensionList('b; q, a; p=1'), [
      testClientNegotiator('a', RSV1, [[['p', '1']]]),
      testClientNegotiator('b', RSV2, [[['q', true]]]),
    ]);
    expect(negotiation).toEqual({
      extensions: [
        { name: 'b', rsvBits: RSV2, params: [['q', true]], extension: { name: 'b', params: [['q', true]] } },
        { name: 'a', rsvBits: RSV1, params: [['p', '1']], extension: { name: 'a', params: [['p', '1']] } },
      ],
      rsvBits: RSV1 | RSV2,
    });
  });

  it('returns NO_EXTENSIONS for an empty response', () => {
    expect(acceptServerExtensions([], [testClientNegotiator('a', RSV1)])).toBe(NO_EXTENSIONS);
  });

  it.each([
    ['b', [testClientNegotiator('a', RSV1)], 'server accepted extension "b", which was not offered'],
    ['a, a', [testClientNegotiator('a', RSV1)], 'server accepted extension "a" twice'],
    [
      'a, b',
      [testClientNegotiator('a', RSV1 | RSV2), testClientNegotiator('b', RSV2)],
      'server accepted extension b, whose RSV bits are already in use by another extension',
    ],
    ['a; unknown', [testClientNegotiator('a', RSV1)], 'a: unexpected parameter unknown'],
  ])('§4.1 fails the connection when the server answers %j', (header, negotiators, message) => {
    const error = thrown(() => acceptServerExtensions(parseExtensionList(header), negotiators));
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error).toMatchObject({ code: ErrorCode.HANDSHAKE, message });
  });
});
