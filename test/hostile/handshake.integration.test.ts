/**
 * Hostile opening handshakes against the Node server over loopback: oversized heads, header
 * floods, a slowloris, pathological Sec-WebSocket-Protocol and Sec-WebSocket-Extensions values,
 * invalid keys and versions, and CR/LF smuggled through the headers the application supplies.
 * Each attack gets its precise answer, and a control client connected throughout still echoes
 * after it.
 */
import { describe, expect, it } from 'vitest';
import { perMessageDeflateNode } from '../../src/adapters/node/deflate.js';
import { InvalidArgumentError, WebSocket } from '../../src/node.js';
import { rawConnect, Resources, upgradeRequest } from '../adapters/node/helpers.js';
import { answerTo, type EchoServer, headerOf, sleep, startEchoServer, statusOf, underAttack } from './helpers.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A request line and the headers of a valid handshake, then `lines`, as raw text. */
function requestWith(lines: readonly string[], base: readonly string[] = baseHeaders()): string {
  return `GET / HTTP/1.1\r\n${[...base, ...lines].map((line) => `${line}\r\n`).join('')}\r\n`;
}

function baseHeaders(key = KEY, version = '13'): string[] {
  return ['Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, `Sec-WebSocket-Version: ${version}`];
}

describe('hostile opening handshakes', () => {
  const resources = new Resources();
  let server!: EchoServer;
  // The server agrees to the client's first offer (handleProtocols), so the subprotocol cases show what was parsed.
  underAttack(resources, { handshakeTimeout: 1000, extensions: [perMessageDeflateNode().server], handleProtocols: (offered) => [...offered][0] ?? false }, (started) => (server = started));

  describe('size', () => {
    it('a head of 64 KiB is answered 431 and closed', async () => {
      const answer = await answerTo(resources, server.port, requestWith([`X-Padding: ${'a'.repeat(64 * 1024)}`]));
      expect(statusOf(answer)).toBe(431);
      expect(server.sockets).toHaveLength(1); // only the control client
    });

    it('10,000 header fields are answered 431 and closed', async () => {
      const lines = Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v`);
      const answer = await answerTo(resources, server.port, requestWith(lines));
      expect(statusOf(answer)).toBe(431);
      expect(server.sockets).toHaveLength(1);
    });

    it('10,000 empty Sec-WebSocket-Protocol fields are answered 431', async () => {
      const lines = Array.from({ length: 10_000 }, () => 'Sec-WebSocket-Protocol: ,');
      expect(statusOf(await answerTo(resources, server.port, requestWith(lines)))).toBe(431);
    });
  });

  describe('time', () => {
    it('slowloris: a head sent one byte per 100 ms is dropped at the handshake deadline', async () => {
      const socket = await rawConnect(resources, server.port);
      const request = Buffer.from(upgradeRequest());
      const started = Date.now();
      let sent = 0;
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
      const drip = setInterval(() => {
        if (sent < request.length && !socket.destroyed) socket.write(request.subarray(sent, ++sent));
      }, 100);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const elapsed = await closed;
      clearInterval(drip);
      // handshakeTimeout is 1000 ms from the TCP connection: the head (~150 bytes) is far from done.
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(4000);
      expect(sent).toBeLessThan(request.length);
      expect(received).toBe('');
      expect(server.sockets).toHaveLength(1);
    });

    it('a head that stops one CRLF short of its end is dropped at the deadline', async () => {
      const socket = await rawConnect(resources, server.port);
      socket.write(upgradeRequest().slice(0, -2)); // everything but the final CRLF
      const started = Date.now();
      await new Promise((resolve) => socket.once('close', resolve));
      expect(Date.now() - started).toBeLessThan(4000);
      expect(server.sockets).toHaveLength(1);
    });
  });

  describe('pathological Sec-WebSocket-Protocol', () => {
    const cases: Array<[name: string, value: string, status: number, protocol?: string]> = [
      ['8,000 commas → 400', ','.repeat(8000), 400],
      ['8,000 spaces then a token → 101', `${' '.repeat(8000)}chat`, 101, 'chat'],
      ['4,000 comma-space pairs around one token → 101', `${', '.repeat(2000)}chat${', '.repeat(2000)}`, 101, 'chat'],
      ['8,000 double quotes → 400', '"'.repeat(8000), 400],
      ['a token repeated 2,000 times → 400', Array.from({ length: 2000 }, () => 'chat').join(','), 400],
      ['2,000 distinct tokens → 101 with the first', Array.from({ length: 2000 }, (_, i) => `p${i}`).join(', '), 101, 'p0'],
      ['backslashes and separators → 400', '\\'.repeat(4000) + '(),/:;<=>?@[]{}', 400],
    ];
    it.each(cases)('%s', async (_name, value, status, protocol) => {
      const answer = await answerTo(resources, server.port, requestWith([`Sec-WebSocket-Protocol: ${value}`]), 2000);
      expect(statusOf(answer)).toBe(status);
      expect(headerOf(answer, 'Sec-WebSocket-Protocol')).toBe(protocol);
    });
  });

  describe('pathological Sec-WebSocket-Extensions', () => {
    const cases: Array<[name: string, value: string, status: number, extensions?: string]> = [
      ['8,000 commas → 400', ','.repeat(8000), 400],
      ['8,000 semicolons after a name → 400', `permessage-deflate${';'.repeat(8000)}`, 400],
      ['an unterminated quoted string of 4,000 escaped backslashes → 400', `permessage-deflate; a="${'\\\\'.repeat(4000)}`, 400],
      ['8,000 double quotes as a parameter value → 400', `permessage-deflate; a=${'"'.repeat(8000)}`, 400],
      ['a quoted value that is not a token → 400', 'permessage-deflate; a="b c"', 400],
      ['700 offers of permessage-deflate → 101 with one', Array.from({ length: 700 }, () => 'permessage-deflate').join(', '), 101, 'permessage-deflate'],
      ['an offer with 1,000 unknown parameters, then a plain one → 101 with the plain one', `permessage-deflate${'; x'.repeat(1000)}, permessage-deflate`, 101, 'permessage-deflate'],
      ['4,000 spaces around separators → 101', `permessage-deflate${' '.repeat(2000)};${' '.repeat(2000)}client_max_window_bits`, 101, 'permessage-deflate'],
    ];
    it.each(cases)('%s', async (_name, value, status, extensions) => {
      const answer = await answerTo(resources, server.port, requestWith([`Sec-WebSocket-Extensions: ${value}`]), 2000);
      expect(statusOf(answer)).toBe(status);
      expect(headerOf(answer, 'Sec-WebSocket-Extensions')?.split(';')[0]).toBe(extensions);
    });
  });

  describe('out-of-range permessage-deflate parameters are declined (RFC 7692 §5)', () => {
    it.each([
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=08',
      'permessage-deflate; server_max_window_bits=99999999999999999999',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; client_max_window_bits=0',
      'permessage-deflate; client_max_window_bits=-1',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    ])('%s → 101 without the extension', async (offer) => {
      const answer = await answerTo(resources, server.port, requestWith([`Sec-WebSocket-Extensions: ${offer}`]), 2000);
      expect(statusOf(answer)).toBe(101);
      expect(headerOf(answer, 'Sec-WebSocket-Extensions')).toBeUndefined();
    });
  });

  describe('keys and versions', () => {
    it.each([
      ['missing', null],
      ['15 bytes', Buffer.alloc(15, 1).toString('base64')],
      ['17 bytes', Buffer.alloc(17, 1).toString('base64')],
      ['not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
      ['base64 without padding', 'dGhlIHNhbXBsZSBub25jZQ'],
      ['empty', ''],
    ])('Sec-WebSocket-Key %s → 400', async (_name, key) => {
      const base = baseHeaders().filter((line) => !line.startsWith('Sec-WebSocket-Key'));
      const lines = key === null ? [] : [`Sec-WebSocket-Key: ${key}`];
      const answer = await answerTo(resources, server.port, requestWith(lines, base));
      expect(statusOf(answer)).toBe(400);
      expect(answer).toMatch(/Sec-WebSocket-Key/);
    });

    it('two Sec-WebSocket-Key fields → 400', async () => {
      expect(statusOf(await answerTo(resources, server.port, requestWith([`Sec-WebSocket-Key: ${KEY}`])))).toBe(400);
    });

    it.each([['8'], ['12'], ['14'], ['13, 8'], ['013'], ['']])('Sec-WebSocket-Version %j → 426 with Sec-WebSocket-Version: 13', async (version) => {
      const answer = await answerTo(resources, server.port, requestWith([], baseHeaders(KEY, version)));
      expect(statusOf(answer)).toBe(426);
      expect(headerOf(answer, 'Sec-WebSocket-Version')).toBe('13');
    });

    it('a missing Sec-WebSocket-Version → 400 (malformed, as ws answers) with Sec-WebSocket-Version: 13', async () => {
      const base = baseHeaders().filter((line) => !line.startsWith('Sec-WebSocket-Version'));
      const answer = await answerTo(resources, server.port, requestWith([], base));
      expect(statusOf(answer)).toBe(400);
      expect(headerOf(answer, 'Sec-WebSocket-Version')).toBe('13');
    });

    it('an error response never echoes request bytes that would break its own head', async () => {
      // The invalid key is quoted in the 400's body; the head must still be the server's own.
      const answer = await answerTo(resources, server.port, requestWith([], baseHeaders('x\u00ffSet-Cookie: injected=1')));
      expect(statusOf(answer)).toBe(400);
      const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
      expect(head).not.toMatch(/Set-Cookie/i);
    });
  });

  describe('CR/LF injection through headers the application supplies', () => {
    it.each([
      ['a value with CRLF', { 'X-Note': 'a\r\nX-Injected: 1' }],
      ['a value with a bare LF', { 'X-Note': 'a\nX-Injected: 1' }],
      ['a value with a bare CR', { 'X-Note': 'a\rX-Injected: 1' }],
      ['a name with CRLF', { 'X-Note\r\nX-Injected': '1' }],
      ['a value with NUL', { 'X-Note': 'a\u0000b' }],
    ])('client headers option: %s is refused before anything is sent', async (_name, headers) => {
      const connectionsBefore = server.sockets.length;
      expect(() => new WebSocket(server.url, { headers })).toThrow(InvalidArgumentError);
      await sleep(100);
      expect(server.sockets).toHaveLength(connectionsBefore);
    });

    it('client origin option with CRLF is refused', () => {
      expect(() => new WebSocket(server.url, { origin: 'https://a.example\r\nX-Injected: 1' })).toThrow(InvalidArgumentError);
    });

    it("server 'headers' hook: a line with CRLF is left out of the 101 and reported as an error", async () => {
      server.wss.on('headers', (headers) => headers.push('X-Note: a\r\nSet-Cookie: injected=1'));
      const answer = await answerTo(resources, server.port, upgradeRequest());
      expect(statusOf(answer)).toBe(101);
      expect(answer).not.toMatch(/Set-Cookie/i);
      expect(server.serverErrors).toHaveLength(1);
      expect(server.serverErrors[0]).toBeInstanceOf(InvalidArgumentError);
      server.serverErrors.length = 0;
    });

    it('server verifyClient refusal headers with CRLF fall back to a plain 401 and report the error', async () => {
      const guarded = await startEchoServer(resources, {
        verifyClient: (_info, callback) => callback(false, 403, 'no', { 'X-Note': 'a\r\nSet-Cookie: injected=1' }),
      });
      const answer = await answerTo(resources, guarded.port, upgradeRequest());
      expect(statusOf(answer)).toBe(401);
      expect(answer).not.toMatch(/Set-Cookie/i);
      expect(guarded.serverErrors).toHaveLength(1);
      expect(guarded.serverErrors[0]).toBeInstanceOf(InvalidArgumentError);
    });
  });
});
