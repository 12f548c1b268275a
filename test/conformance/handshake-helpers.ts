/**
 * Building and reading opening-handshake heads for the conformance suite, through the
 * handshake's public API only.
 */
import { expect } from 'vitest';
import {
  RequestHeadParser,
  ResponseHeadParser,
  type HttpRequestHead,
  type HttpResponseHead,
} from '../../src/handshake/index.js';
import { HandshakeError } from '../../src/shared/errors.js';
import type { RandomSource } from '../../src/shared/ports.js';
import { thrown } from '../handshake/helpers.js';

const encoder = new TextEncoder();

/** The request of RFC 6455 §1.2, field by field (without Origin and subprotocols). */
export const RFC_REQUEST_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Sec-WebSocket-Version', '13'],
];

/** The Sec-WebSocket-Accept for the RFC's key (§1.3, §4.2.2). */
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** Serialize a head from a start line and fields, ending with the empty line. */
export function headBytes(startLine: string, fields: ReadonlyArray<readonly [string, string]>): Uint8Array {
  return encoder.encode(`${startLine}\r\n${fields.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`);
}

/** The RFC request with some fields replaced (`undefined` removes the field) or added. */
export function requestFields(
  changes: Readonly<Record<string, string | readonly string[] | undefined>> = {},
): Array<readonly [string, string]> {
  const fields: Array<readonly [string, string]> = [];
  const changed = new Set(Object.keys(changes).map((name) => name.toLowerCase()));
  for (const field of RFC_REQUEST_FIELDS) if (!changed.has(field[0].toLowerCase())) fields.push(field);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    for (const item of typeof value === 'string' ? [value] : value) fields.push([name, item]);
  }
  return fields;
}

/** Parse a complete request head (the test fails if it is incomplete). */
export function parseRequest(bytes: Uint8Array): HttpRequestHead {
  const result = new RequestHeadParser().push(bytes);
  if (!result.done) throw new Error('the request head is incomplete');
  return result.head;
}

/** Parse a complete response head. */
export function parseResponse(bytes: Uint8Array): HttpResponseHead {
  const result = new ResponseHeadParser().push(bytes);
  if (!result.done) throw new Error('the response head is incomplete');
  return result.head;
}

/** A request head from a request line and fields. */
export function request(fields: ReadonlyArray<readonly [string, string]>, requestLine = 'GET /chat HTTP/1.1'): HttpRequestHead {
  return parseRequest(headBytes(requestLine, fields));
}

/** Run `action` and return the HandshakeError it throws (the test fails if it throws none). */
export function handshakeError(action: () => unknown): HandshakeError {
  const error = thrown(action);
  expect(error).toBeInstanceOf(HandshakeError);
  return error as HandshakeError;
}

/** A random source that counts: byte i of the whole stream is `(seed + i) & 0xff`. */
export function countingRandom(seed = 0): RandomSource {
  let next = seed;
  return (target) => {
    for (let i = 0; i < target.length; i++) target[i] = next++ & 0xff;
  };
}
