/**
 * Named regressions: inputs on which an oracle of the fuzz targets (fuzz/targets) once failed,
 * each kept with the property it broke. The raw inputs also sit in fuzz/regressions/ and are
 * replayed through every oracle by corpus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/portable/index.js';
import { RequestHeadParser, type HeadLimits } from '../../src/handshake/http.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { concatBytes, utf8Encode } from '../../src/shared/bytes.js';
import { Opcode } from '../../src/shared/constants.js';
import { ErrorCode, HandshakeError } from '../../src/shared/errors.js';
import { codecsUnderTest } from '../helpers/codecs.js';
import { frame } from '../helpers/frames.js';

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

describe('a frame over a message limit whose payload is also invalid UTF-8 fails for the limit, however it was split', () => {
  /** The error codes a server connection reports for `bytes` fed in pieces of `piece` bytes. */
  async function errorsFor(makeCodec: () => unknown, bytes: Uint8Array, piece: number): Promise<string[]> {
    const codec = (await makeCodec()) as typeof portableCodec;
    const connection = new ServerConnection({ codec, established: {}, limits: { maxMessageSize: 300, maxFrameSize: 200, maxFragments: 5 } });
    for (let at = 0; at < bytes.length; at += piece) connection.receiveData(bytes.slice(at, at + piece));
    return connection.eventsReceived().flatMap((event) => (event.type === 'error' ? [event.error.code] : []));
  }
  const invalid = (length: number): Uint8Array => new Uint8Array(length).fill(0x61).fill(0xff, length - 1);

  it.each(codecsUnderTest)('the continuation that passes the message size (%s codec) → 1009, not 1007', async (_name, makeCodec) => {
    const bytes = concatBytes([
      frame(Opcode.TEXT, new Uint8Array(150).fill(0x61), { fin: false, mask: true }),
      frame(Opcode.CONTINUATION, invalid(151), { mask: true }),
    ]);
    for (const piece of [bytes.length, 1, 7, 160]) expect(await errorsFor(makeCodec, bytes, piece)).toEqual([ErrorCode.MESSAGE_TOO_BIG]);
  });

  it.each(codecsUnderTest)('the sixth fragment of a five-fragment limit (%s codec) → 1009, not 1007', async (_name, makeCodec) => {
    const fragments = [frame(Opcode.TEXT, utf8Encode('a'), { fin: false, mask: true })];
    for (let i = 0; i < 4; i++) fragments.push(frame(Opcode.CONTINUATION, utf8Encode('b'), { fin: false, mask: true }));
    fragments.push(frame(Opcode.CONTINUATION, invalid(3), { mask: true }));
    const bytes = concatBytes(fragments);
    for (const piece of [bytes.length, 1, 5, 33]) expect(await errorsFor(makeCodec, bytes, piece)).toEqual([ErrorCode.TOO_MANY_FRAGMENTS]);
  });

  it.each(codecsUnderTest)('within the limits, invalid UTF-8 is still 1007 in every split (%s codec)', async (_name, makeCodec) => {
    const bytes = concatBytes([frame(Opcode.TEXT, utf8Encode('ok'), { fin: false, mask: true }), frame(Opcode.CONTINUATION, invalid(10), { mask: true })]);
    for (const piece of [bytes.length, 1, 3]) expect(await errorsFor(makeCodec, bytes, piece)).toEqual([ErrorCode.INVALID_UTF8]);
  });
});
