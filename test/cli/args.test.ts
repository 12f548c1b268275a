/**
 * The commands' argument parsing (node:util parseArgs, strict), in process: defaults,
 * repeatable options, and the usage errors every malformed value gets.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { DEFAULT_WAIT_SECONDS, parseConnectArgs } from '../../src/cli/connect.js';
import { DEFAULT_HOST, DEFAULT_PORT, parseServeArgs } from '../../src/cli/serve.js';

describe('serve arguments', () => {
  it('default to 127.0.0.1:8080, the README\'s "npm start" address', () => {
    expect(parseServeArgs([])).toEqual({ port: DEFAULT_PORT, host: DEFAULT_HOST, workers: 1 });
    expect([DEFAULT_HOST, DEFAULT_PORT]).toEqual(['127.0.0.1', 8080]);
  });

  it('take --port and --host, long or short', () => {
    expect(parseServeArgs(['--port', '0', '--host', '::1'])).toEqual({ port: 0, host: '::1', workers: 1 });
    expect(parseServeArgs(['-p', '65535', '-H', '0.0.0.0'])).toEqual({ port: 65535, host: '0.0.0.0', workers: 1 });
    expect(parseServeArgs(['--port=9000'])).toEqual({ port: 9000, host: DEFAULT_HOST, workers: 1 });
    expect(parseServeArgs(['--workers', '4'])).toEqual({ port: DEFAULT_PORT, host: DEFAULT_HOST, workers: 4 });
    expect(parseServeArgs(['-w', '256'])).toMatchObject({ workers: 256 });
    expect(parseServeArgs(['--help'])).toBe('help');
  });

  it('refuse bad ports, empty hosts, stray arguments and unknown options', () => {
    for (const args of [['--port', '65536'], ['--port', '80a'], ['--port', ''], ['--host', ''], ['extra'], ['--verbose'], ['--port'], ['--workers', '0'], ['--workers', '257'], ['--workers', '1.5'], ['-w', '']]) {
      expect(() => parseServeArgs(args), args.join(' ')).toThrow(UsageError);
    }
  });
});

describe('connect arguments', () => {
  it('take one URL; http(s) URLs mean ws(s), as in browsers', () => {
    expect(parseConnectArgs(['ws://127.0.0.1:8080/echo'])).toEqual({
      url: new URL('ws://127.0.0.1:8080/echo'),
      subprotocols: [],
      headers: {},
      origin: undefined,
      waitMs: DEFAULT_WAIT_SECONDS * 1000,
      insecure: false,
    });
    const options = parseConnectArgs(['https://example.test/feed']);
    expect(options !== 'help' && options.url.href).toBe('wss://example.test/feed');
  });

  it('take -k/--insecure to accept any TLS certificate', () => {
    expect(parseConnectArgs(['wss://h/', '-k'])).toMatchObject({ insecure: true });
    expect(parseConnectArgs(['wss://h/', '--insecure'])).toMatchObject({ insecure: true });
    expect(() => parseConnectArgs(['wss://h/', '--insecure=yes'])).toThrow(UsageError);
  });

  it('collect repeated --subprotocol and --header in order, joining header names that differ only in case', () => {
    const options = parseConnectArgs(['ws://h/', '-s', 'a', '--subprotocol', 'b', '-H', 'X-One: 1', '--header', 'x-one:2', '-H', 'Cookie: a=b; c=d', '-w', '0']);
    expect(options).toMatchObject({ subprotocols: ['a', 'b'], headers: { 'X-One': '1, 2', Cookie: 'a=b; c=d' }, waitMs: 0 });
  });

  it('refuse what cannot be a WebSocket URL, a header or a wait', () => {
    const cases = [
      [],
      ['ws://a/', 'ws://b/'],
      ['mailto:someone@example.test'],
      ['ws://h/#top'],
      ['ws://h/', '-H', ': no name'],
      ['ws://h/', '-H', 'Bad Name: x'],
      ['ws://h/', '-w', '-1'],
      ['ws://h/', '-w', ''],
      ['ws://h/', '--nope'],
    ];
    for (const args of cases) expect(() => parseConnectArgs(args), args.join(' ')).toThrow(UsageError);
  });
});
