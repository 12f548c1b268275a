/**
 * Fuzz target `handshake`: the HTTP head parsers and the opening-handshake validation of both
 * sides (RFC 6455 §4), over arbitrary bytes.
 *
 * Flags (input byte 0): bit 0 a response read by a client (else a request read by a server);
 * bit 1 small head limits (512-byte head, 8 fields, 128-byte lines); bit 2 the server picks a
 * subprotocol (the first offered); bit 3 permessage-deflate is offered or supported; bit 4 the
 * server allows only the origin `https://ok.example`.
 *
 * Oracles:
 * - exception: parsing and validation throw only `HandshakeError`s, with an HTTP status to
 *   answer (400–599) on the server side;
 * - split: the same outcome (head, agreed terms or error) whether the head came in one chunk
 *   or in many;
 * - contract: a server's 101 response and every error response it builds parse back as HTTP
 *   with the status intended, the right Sec-WebSocket-Accept, and nothing of the request
 *   leaking into their heads (no header injection); a client agrees only to what it offered.
 */
import { perMessageDeflateNode } from '../../src/adapters/node/deflate.js';
import { computeAcceptKey } from '../../src/handshake/accept-key.js';
import { buildClientRequest, type ClientRequest, validateServerResponse } from '../../src/handshake/client.js';
import { RequestHeadParser, ResponseHeadParser, type HeadLimits, type HttpRequestHead, type HttpResponseHead } from '../../src/handshake/http.js';
import { buildErrorResponse, buildServerResponse, validateClientRequest } from '../../src/handshake/server.js';
import type { Extension } from '../../src/protocol/extension.js';
import { HandshakeError } from '../../src/shared/errors.js';
import { chunkBounds, chunksOf, type FuzzTarget, makeInput, OracleViolation, parseInput } from './types.js';

const SMALL_LIMITS: HeadLimits = { maxHeadSize: 512, maxHeaderCount: 8, maxHeaderLineLength: 128 };
const deflate = perMessageDeflateNode();
const FIXED_RANDOM = (target: Uint8Array): void => {
  for (let i = 0; i < target.length; i++) target[i] = (i * 37 + 11) & 0xff;
};
const OFFERED_PROTOCOLS = ['chat', 'superchat'];

function clientRequest(withDeflate: boolean): ClientRequest<Extension> {
  return buildClientRequest<Extension>({ host: 'example.com', path: '/chat', random: FIXED_RANDOM, protocols: OFFERED_PROTOCOLS, extensions: withDeflate ? [deflate.client] : [] });
}
const REQUESTS = [clientRequest(false), clientRequest(true)] as const;

function describeThrown(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function describeHead(head: HttpRequestHead | HttpResponseHead): string {
  const start = 'method' in head ? `${head.method} ${head.target}` : `${head.status} ${head.reason}`;
  return `${start} HTTP/${head.version.major}.${head.version.minor} ${JSON.stringify([...head.headers])}`;
}

/** Parse `chunks` with a fresh parser; the head and the bytes after it, or the error. */
function parseHead<H>(makeParser: () => { push(chunk: Uint8Array): { done: false } | { done: true; head: H; rest: Uint8Array } }, chunks: readonly Uint8Array[]): { head: H; rest: number } | HandshakeError | null {
  const parser = makeParser();
  let restLength = 0;
  let head: H | null = null;
  for (let i = 0; i < chunks.length; i++) {
    let result;
    try {
      result = parser.push(chunks[i]!);
    } catch (error) {
      if (error instanceof HandshakeError) return error;
      throw new OracleViolation('exception', `the head parser threw ${describeThrown(error)}`);
    }
    if (result.done) {
      head = result.head;
      restLength = result.rest.length + chunks.slice(i + 1).reduce((sum, chunk) => sum + chunk.length, 0);
      break;
    }
  }
  return head === null ? null : { head, rest: restLength };
}

/** Check that `bytes` is an HTTP response head with `status`, whose own fields are exactly `fields`. */
function checkOwnResponse(bytes: Uint8Array, status: number, what: string): HttpResponseHead {
  let result;
  try {
    result = new ResponseHeadParser().push(bytes);
  } catch (error) {
    throw new OracleViolation('contract', `${what} does not parse as HTTP: ${describeThrown(error)}`);
  }
  if (!result.done) throw new OracleViolation('contract', `${what} is not a complete HTTP head`);
  if (result.head.status !== status) throw new OracleViolation('contract', `${what} has status ${result.head.status}, not ${status}`);
  return result.head;
}

/** The server side: parse the request, validate it, build the answer. */
function serverOutcome(chunks: readonly Uint8Array[], flags: number): string {
  const parsed = parseHead(() => new RequestHeadParser((flags & 2) !== 0 ? SMALL_LIMITS : undefined), chunks);
  if (parsed === null) return 'incomplete';
  const error = parsed instanceof HandshakeError ? parsed : null;
  if (error === null) {
    const request = (parsed as { head: HttpRequestHead }).head;
    let handshake;
    try {
      handshake = validateClientRequest<Extension>(request, {
        handleProtocols: (flags & 4) !== 0 ? (offered) => offered.values().next().value ?? false : undefined,
        extensions: (flags & 8) !== 0 ? [deflate.server] : [],
        verifyOrigin: (flags & 16) !== 0 ? (origin) => origin === 'https://ok.example' : undefined,
      });
    } catch (caught) {
      if (!(caught instanceof HandshakeError)) throw new OracleViolation('exception', `validateClientRequest threw ${describeThrown(caught)}`);
      return answerError(caught);
    }
    let response: Uint8Array;
    try {
      response = buildServerResponse(handshake);
    } catch (caught) {
      throw new OracleViolation('exception', `buildServerResponse threw for a valid request: ${describeThrown(caught)}`);
    }
    for (const { extension } of handshake.extensions) extension.dispose?.();
    const head = checkOwnResponse(response, 101, 'the 101 response');
    if (head.headers.get('Sec-WebSocket-Accept') !== computeAcceptKey(handshake.key)) throw new OracleViolation('contract', 'the 101 response has the wrong Sec-WebSocket-Accept');
    const fieldNames = [...head.headers].map(([name]) => name.toLowerCase()).sort().join(',');
    const expected = ['connection', 'sec-websocket-accept', 'upgrade', ...(handshake.protocol !== null ? ['sec-websocket-protocol'] : []), ...(handshake.extensionsHeader !== null ? ['sec-websocket-extensions'] : [])].sort().join(',');
    if (fieldNames !== expected) throw new OracleViolation('contract', `the 101 response has fields ${fieldNames}, expected ${expected}`);
    return `accepted ${describeHead(request)} rest ${(parsed as { rest: number }).rest} protocol ${handshake.protocol} extensions ${handshake.extensionsHeader}`;
  }
  return answerError(error);
}

/** The error response for `error`, checked: a status the server may answer with, parseable, no injected field. */
function answerError(error: HandshakeError): string {
  if (!Number.isInteger(error.status) || error.status < 400 || error.status > 599) {
    throw new OracleViolation('contract', `a request error with status ${error.status}: ${error.message}`);
  }
  let response: Uint8Array;
  try {
    response = buildErrorResponse(error);
  } catch (caught) {
    throw new OracleViolation('exception', `buildErrorResponse threw: ${describeThrown(caught)}`);
  }
  const head = checkOwnResponse(response, error.status, `the ${error.status} response`);
  const allowed = new Set(['connection', 'content-type', 'content-length', ...error.headers.map(([name]) => name.toLowerCase())]);
  for (const [name] of head.headers) {
    if (!allowed.has(name.toLowerCase())) throw new OracleViolation('contract', `the ${error.status} response carries a field it should not: ${name}`);
  }
  return `refused ${error.status} ${error.code} ${error.message}`;
}

/** The client side: parse the response and check it against the request sent. */
function clientOutcome(chunks: readonly Uint8Array[], flags: number): string {
  const request = REQUESTS[(flags >> 3) & 1]!;
  const parsed = parseHead(() => new ResponseHeadParser((flags & 2) !== 0 ? SMALL_LIMITS : undefined), chunks);
  if (parsed === null) return 'incomplete';
  if (parsed instanceof HandshakeError) return `failed ${parsed.status} ${parsed.code} ${parsed.message}`;
  let agreed;
  try {
    agreed = validateServerResponse(request, parsed.head);
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw new OracleViolation('exception', `validateServerResponse threw ${describeThrown(error)}`);
    return `failed ${error.status} ${error.code} ${error.message}`;
  }
  if (parsed.head.status !== 101) throw new OracleViolation('contract', `a ${parsed.head.status} response was accepted`);
  if (agreed.protocol !== null && !OFFERED_PROTOCOLS.includes(agreed.protocol)) throw new OracleViolation('contract', `the client agreed to ${agreed.protocol}, which it did not offer`);
  if (agreed.extensions.length > request.extensions.length) throw new OracleViolation('contract', 'the client agreed to an extension it did not offer');
  const extensions = agreed.extensions.map(({ name }) => name).join(',');
  for (const { extension } of agreed.extensions) extension.dispose?.();
  return `accepted ${describeHead(parsed.head)} rest ${parsed.rest} protocol ${agreed.protocol} extensions ${extensions}`;
}

function run(input: Uint8Array): void {
  const { flags, splitSeed, data } = parseInput(input);
  const outcome = (flags & 1) !== 0 ? clientOutcome : serverOutcome;
  const bounds = chunkBounds(data.length, splitSeed);
  const split = outcome(chunksOf(data, bounds), flags);
  if (bounds.length > 1) {
    const whole = outcome([data.slice()], flags);
    if (whole !== split) throw new OracleViolation('split', `in one chunk: ${whole.slice(0, 300)}; split: ${split.slice(0, 300)}`);
  }
}

function seeds(): Uint8Array[] {
  const request = (...lines: string[]): string =>
    `GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`;
  const key = REQUESTS[0].key;
  const response = (...lines: string[]): string =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`;
  return [
    makeInput(0, 0, request()),
    makeInput(0b11100, 0x11, request('Sec-WebSocket-Protocol: chat, superchat', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate', 'Origin: https://ok.example')),
    makeInput(0b01000, 2, request('Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; server_no_context_takeover; x="y"')),
    makeInput(0b00010, 3, request('Cookie: a=b', 'X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')),
    makeInput(0, 1, 'POST / HTTP/1.0\r\nHost: a\r\nSec-WebSocket-Version: 8\r\nContent-Length: 5\r\n\r\nhello'),
    makeInput(0b00001, 0, response('Sec-WebSocket-Protocol: chat')),
    makeInput(0b01001, 0x101, response('Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9; client_max_window_bits=10')),
    makeInput(0b00001, 2, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'),
  ];
}

export const handshakeTarget: FuzzTarget = {
  name: 'handshake',
  description: 'HTTP head parsers and opening-handshake validation, server and client: only HandshakeErrors, splits agree, responses we build parse back without injected fields',
  seeds,
  frameOffset: () => null,
  run,
};
