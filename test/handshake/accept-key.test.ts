import { describe, expect, it, vi } from 'vitest';
import { computeAcceptKey, generateKey } from '../../src/handshake/accept-key.js';
import { decodeBase64 } from '../../src/handshake/base64.js';
import { sha1 } from '../../src/handshake/sha1.js';
import { ErrorCode, InvalidArgumentError } from '../../src/shared/errors.js';
import { webCryptoRandom } from '../../src/shared/ports.js';
import { thrown } from './helpers.js';

describe('Sec-WebSocket-Accept', () => {
  it('§1.3 example: dGhlIHNhbXBsZSBub25jZQ== → s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', () => {
    expect(computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('seed 003 example: x3JJHMbDL1EzLkh9GBhXDw== → HSmrc0sMlYUkAGmm5OPpG2HaGWk=', () => {
    expect(computeAcceptKey('x3JJHMbDL1EzLkh9GBhXDw==')).toBe('HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
  });

  it('§4.2.2 hashes the key as sent (its ASCII text) followed by the GUID', () => {
    const spy = vi.fn(sha1);
    computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ==', spy);
    expect(new TextDecoder().decode(spy.mock.calls[0]![0])).toBe('dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });

  it('uses an injected Sha1 port', () => {
    const fixed = new Uint8Array(20).fill(0xff);
    expect(computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ==', () => fixed)).toBe('//////////////////////////8=');
  });

  it('rejects a non-ASCII key with InvalidArgumentError', () => {
    const error = thrown(() => computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ=\u00e9'));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT, message: 'Sec-WebSocket-Key must be ASCII' });
  });
});

describe('Sec-WebSocket-Key', () => {
  it('§4.1 is 16 bytes from the RandomSource, base64-encoded', () => {
    const random = vi.fn((target: Uint8Array) => {
      for (let i = 0; i < target.length; i++) target[i] = i + 1;
    });
    const key = generateKey(random);
    expect(random).toHaveBeenCalledOnce();
    expect(random.mock.calls[0]![0]).toHaveLength(16);
    expect(key).toBe('AQIDBAUGBwgJCgsMDQ4PEA==');
    expect(decodeBase64(key)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));
  });

  it('§4.1 is fresh for each connection when the source is random', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 100; i++) keys.add(generateKey(webCryptoRandom));
    expect(keys.size).toBe(100);
  });
});
