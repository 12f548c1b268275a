/**
 * The character classes and comparisons the handshake grammar is built on (RFC 7230 §3.2.6,
 * RFC 6455's "ASCII case-insensitive match", RFC 3986 §3.2.2 hosts).
 */
import { describe, expect, it } from 'vitest';
import {
  asciiLowerCase,
  equalsIgnoreAsciiCase,
  isFieldValue,
  isToken,
  isValidHostHeader,
  latin1Decode,
  quoteForMessage,
} from '../../src/handshake/chars.js';

describe('equalsIgnoreAsciiCase', () => {
  it('folds A–Z to a–z on either side', () => {
    expect(equalsIgnoreAsciiCase('WebSocket', 'websocket')).toBe(true);
    expect(equalsIgnoreAsciiCase('websocket', 'WEBSOCKET')).toBe(true);
    expect(equalsIgnoreAsciiCase('', '')).toBe(true);
  });

  it('folds nothing else: the neighbours of the letter ranges, and non-ASCII letters, stay distinct', () => {
    // '@' (0x40) and '[' (0x5B) sit just outside A–Z; '`' and '{' are what they would fold to.
    expect(equalsIgnoreAsciiCase('@', '`')).toBe(false);
    expect(equalsIgnoreAsciiCase('[', '{')).toBe(false);
    expect(equalsIgnoreAsciiCase('É', 'é')).toBe(false);
    expect(equalsIgnoreAsciiCase('websockex', 'websocket')).toBe(false);
    expect(equalsIgnoreAsciiCase('websocket', 'websockets')).toBe(false);
  });
});

describe('asciiLowerCase', () => {
  it('lower-cases ASCII letters and returns text without them unchanged', () => {
    expect(asciiLowerCase('Sec-WebSocket-Key')).toBe('sec-websocket-key');
    const lower = 'sec-websocket-key';
    expect(asciiLowerCase(lower)).toBe(lower);
  });
});

describe('tokens and field values (RFC 7230 §3.2.6)', () => {
  it('a token is one or more tchar', () => {
    expect(isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
    for (const text of ['', 'a b', 'a,b', 'a"b', 'a(b', 'é', 'a\u0100']) expect(isToken(text), JSON.stringify(text)).toBe(false);
  });

  it('a field value holds VCHAR, obs-text, SP and HTAB, and no other control character', () => {
    expect(isFieldValue('text/plain; charset="utf-8"\t\u00ff')).toBe(true);
    for (const text of ['a\r\nb', 'a\u0000', 'a\u007f', 'a\u0100']) expect(isFieldValue(text), JSON.stringify(text)).toBe(false);
  });
});

describe('isValidHostHeader (RFC 7230 §5.4, RFC 3986 §3.2.2)', () => {
  it.each(['example.com', 'example.com:80', '192.0.2.1', '[::1]', '[::1]:8080', '[fe80::1%25eth0]', '[v1.x]'])('accepts %j', (value) => {
    expect(isValidHostHeader(value)).toBe(true);
  });

  it.each(['', ':80', '[]', '[::1', '[::1/64]', '[::1]:x', '[::1]80', 'a b', 'a:b', 'a/b', 'a@b'])('refuses %j', (value) => {
    expect(isValidHostHeader(value)).toBe(false);
  });
});

describe('latin1Decode', () => {
  it('maps each byte to the code point of the same value, at any length around its 8-byte steps', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const [start, end] of [[0, 0], [0, 7], [0, 8], [3, 20], [0, 256]] as const) {
      const expected = Array.from(bytes.subarray(start, end), (b) => String.fromCharCode(b)).join('');
      expect(latin1Decode(bytes, start, end), `${start}..${end}`).toBe(expected);
    }
  });
});

describe('quoteForMessage', () => {
  it('JSON-quotes, so control characters are escaped', () => {
    expect(quoteForMessage('a\r\nb\u0000')).toBe('"a\\r\\nb\\u0000"');
  });

  it('cuts text longer than 64 characters and marks the cut', () => {
    expect(quoteForMessage('x'.repeat(64))).toBe(`"${'x'.repeat(64)}"`);
    expect(quoteForMessage('x'.repeat(65))).toBe(`"${'x'.repeat(64)}…"`);
  });
});
