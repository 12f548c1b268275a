import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClientRequest, validateServerResponse } from '../../src/handshake/client.js';
import { RequestHeadParser, ResponseHeadParser, type HeadParseResult } from '../../src/handshake/http.js';
import { buildErrorResponse, buildServerResponse, validateClientRequest } from '../../src/handshake/server.js';
import { concatBytes } from '../../src/shared/bytes.js';
import { ErrorCode, HandshakeError } from '../../src/shared/errors.js';
import { webCryptoRandom } from '../../src/shared/ports.js';
import { randomChunks } from '../helpers/chunkings.js';
import { testClientNegotiator, testServerNegotiator, thrown } from './helpers.js';

const FRAME = new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);

const withFrame = (head: Uint8Array): Uint8Array => concatBytes([head, FRAME]);

/** Feed chunks until the head completes; return it with the bytes that followed it. */
function receive<H>(parser: { push(chunk: Uint8Array): HeadParseResult<H> }, chunks: Uint8Array[]): { head: H; rest: number[] } {
  for (let i = 0; i < chunks.length; i++) {
    const result = parser.push(chunks[i]!);
    if (result.done) return { head: result.head, rest: [...result.rest, ...chunks.slice(i + 1).flatMap((chunk) => [...chunk])] };
  }
  expect.fail('the head never completed');
}

const token = fc.stringMatching(/^[a-z][a-z0-9._-]{0,9}$/);

describe('client request → server validation → server response → client validation', () => {
  it('agrees on subprotocol and extensions, through random chunkings, for random configurations', () => {
    let seed = 13;
    fc.assert(
      fc.property(
        fc.uniqueArray(token, { maxLength: 4 }),
        fc.nat(4),
        fc.boolean(),
        fc.boolean(),
        (protocols, pick, offerA, offerB) => {
          const clientExtensions = [
            testClientNegotiator('x-a', 0b100, offerA ? [[['p', '1']], []] : []),
            testClientNegotiator('x-b', 0b010, offerB ? [[['q', true]]] : []),
          ];
          const request = buildClientRequest({ host: 'example.com', port: 8443, secure: true, path: '/ws?room=1', protocols, extensions: clientExtensions, random: webCryptoRandom });

          const server = receive(new RequestHeadParser(), randomChunks(withFrame(request.bytes), seed++, 24));
          expect(server.rest).toEqual([...FRAME]);
          expect(server.head.headers.get('Host')).toBe('example.com:8443');
          expect(server.head.target).toBe('/ws?room=1');
          const wanted = protocols[pick % Math.max(1, protocols.length)];
          const handshake = validateClientRequest(server.head, {
            handleProtocols: (offered) => (wanted !== undefined && offered.has(wanted) ? wanted : false),
            extensions: [testServerNegotiator('x-b', 0b010), testServerNegotiator('x-a', 0b100)],
          });

          const client = receive(new ResponseHeadParser(), randomChunks(withFrame(buildServerResponse(handshake)), seed++, 24));
          expect(client.rest).toEqual([...FRAME]);
          const result = validateServerResponse(request, client.head);
          expect(result.protocol).toBe(wanted ?? null);
          expect(result.protocol).toBe(handshake.protocol);
          const expectedNames = [...(offerB ? ['x-b'] : []), ...(offerA ? ['x-a'] : [])];
          expect(result.extensions.map(({ name }) => name)).toEqual(expectedNames);
          expect(handshake.extensions.map(({ name }) => name)).toEqual(expectedNames);
          expect(result.rsvBits).toBe(handshake.rsvBits);
          if (offerA) expect(result.extensions.find(({ name }) => name === 'x-a')!.params).toEqual([['p', '1']]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('§4.4 a version mismatch reaches the client as a 426 carrying Sec-WebSocket-Version', () => {
    const request = buildClientRequest({ host: 'example.com', random: webCryptoRandom });
    const text = new TextDecoder().decode(request.bytes).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8');
    const server = receive(new RequestHeadParser(), [new TextEncoder().encode(text)]);
    const rejection = thrown(() => validateClientRequest(server.head)) as HandshakeError;
    const client = receive(new ResponseHeadParser(), [buildErrorResponse(rejection)]);
    const error = thrown(() => validateServerResponse(request, client.head));
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error).toMatchObject({ status: 426, code: ErrorCode.HANDSHAKE });
    expect((error as HandshakeError).headers).toContainEqual(['Sec-WebSocket-Version', '13']);
  });

  it('a 431 for an oversized request reaches the client with its status', () => {
    const request = buildClientRequest({ host: 'example.com', random: webCryptoRandom, headers: { Cookie: 'c'.repeat(20_000) } });
    const parser = new RequestHeadParser();
    const rejection = thrown(() => parser.push(request.bytes)) as HandshakeError;
    expect(rejection).toMatchObject({ status: 431, code: ErrorCode.HEAD_TOO_LARGE });
    const client = receive(new ResponseHeadParser(), [buildErrorResponse(rejection)]);
    expect(thrown(() => validateServerResponse(request, client.head))).toMatchObject({ status: 431 });
  });
});
