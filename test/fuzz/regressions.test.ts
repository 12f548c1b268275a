/**
 * Named regressions: inputs on which an oracle of the fuzz targets (fuzz/targets) once failed,
 * each kept with the property it broke. The raw inputs also sit in fuzz/regressions/ and are
 * replayed through every oracle by corpus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { RequestHeadParser, type HeadLimits } from '../../src/handshake/http.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { HandshakeError } from '../../src/shared/errors.js';

/** The status a request head parser answers `bytes` with, fed in pieces of `piece` bytes. */
function statusFor(bytes: Uint8Array, piece: number, limits?: HeadLimits): number | 'done' | 'need more' {
  const parser = new RequestHeadParser(limits);
  try {
    for (let at = 0; at < bytes.length; at += piece) {
      if (parser.push(bytes.subarray(at, at + piece)).done) return 'done';
    }
    return 'need more';
  } catch (error) {
    if (error instanceof HandshakeError) return error.status;
    throw error;
  }
}

describe('head limits do not depend on how the bytes were split', () => {
  const limits: HeadLimits = { maxHeadSize: 64, maxHeaderCount: 10, maxHeaderLineLength: 16 };

  it('a start line over the line limit is a 414 whether or not the same chunk also passes the head limit', () => {
    const bytes = utf8Encode(`GET /${'a'.repeat(200)} HTTP/1.1\r\n\r\n`);
    for (const piece of [1, 2, 5, 17, 64, 1000]) expect(statusFor(bytes, piece, limits)).toBe(414);
  });

  it('a header line over the line limit is a 431 for the line, in every split', () => {
    const bytes = utf8Encode(`GET / HTTP/1.1\r\nA: ${'b'.repeat(200)}\r\n\r\n`);
    for (const piece of [1, 3, 1000]) expect(statusFor(bytes, piece, limits)).toBe(431);
  });

  it('a head that passes the head limit before any line passes the line limit is a 431 in every split', () => {
    const bytes = utf8Encode(`GET / HTTP/1.1\r\n${'A: b\r\n'.repeat(9)}${'C'.repeat(15)}`);
    const statuses = new Set([1, 2, 7, 1000].map((piece) => statusFor(bytes, piece, limits)));
    expect([...statuses]).toEqual([431]);
  });

  it('the default limits: a 1 MiB request line in one chunk is a 414, as it is byte by byte', () => {
    const bytes = utf8Encode(`GET /${'a'.repeat(1 << 20)} HTTP/1.1\r\n`);
    expect(statusFor(bytes, bytes.length)).toBe(414);
    expect(statusFor(bytes.subarray(0, 20_000), 1)).toBe(414);
  });
});
