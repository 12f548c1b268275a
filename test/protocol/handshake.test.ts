/**
 * CONNECTING: the server reads the opening request and answers 101 or an HTTP error; the
 * client sends its request and validates the response. Bytes after a head are the first
 * frames. Every head is also fed split at every byte.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import type { ClientExtensionNegotiator, ServerExtensionNegotiator } from '../../src/handshake/extensions.js';
import { HttpHeaders, RequestHeadParser, ResponseHeadParser, type HttpResponseHead } from '../../src/handshake/http.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import type { ConnectionEvent } from '../../src/protocol/events.js';
import type { Extension } from '../../src/protocol/extension.js';
import { ServerConnection, type ServerConnectionOptions } from '../../src/protocol/server-connection.js';
import { utf8Encode } from '../../src/shared/bytes.js';
import { Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, InvalidStateError } from '../../src/shared/errors.js';
import { chunkings } from '../helpers/chunkings.js';
import { seededRandom } from '../helpers/connection-pair.js';
import { bytesOf, frame, readFrames, text } from '../helpers/frames.js';
import { protocolCodecs } from './codecs.js';
import { ofType } from './drive.js';

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function request(extra: Record<string, string> = {}, omit: string[] = []): Uint8Array {
  const fields: Record<string, string> = {
    Host: 'server.example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': RFC_KEY,
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  let head = 'GET /chat?room=1 HTTP/1.1\r\n';
  for (const [name, value] of Object.entries(fields)) if (!omit.includes(name)) head += `${name}: ${value}\r\n`;
  return utf8Encode(`${head}\r\n`);
}

function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function response(key: string, extra: Record<string, string> = {}, status = '101 Switching Protocols'): Uint8Array {
  const fields: Record<string, string> = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Accept': acceptFor(key), ...extra };
  let head = `HTTP/1.1 ${status}\r\n`;
  for (const [name, value] of Object.entries(fields)) head += `${name}: ${value}\r\n`;
  return utf8Encode(`${head}\r\n`);
}

function readResponse(chunks: readonly Uint8Array[]): { head: HttpResponseHead; rest: Uint8Array } {
  const result = new ResponseHeadParser().push(bytesOf(chunks));
  if (!result.done) throw new Error('incomplete response');
  return { head: result.head, rest: result.rest };
}

function feed(connection: ServerConnection | ClientConnection, chunks: readonly Uint8Array[]): ConnectionEvent[] {
  const events: ConnectionEvent[] = [];
  for (const chunk of chunks) {
    connection.receiveData(chunk);
    events.push(...connection.eventsReceived());
  }
  return events;
}

/** A test extension's negotiators: accept any offer, claim RSV1, count disposals. */
function negotiators(disposed: { count: number }) {
  const extension = (): Extension => ({
    encode: (data) => data,
    decode: (data, _fin, output) => {
      output.push(data);
    },
    dispose: () => {
      disposed.count++;
    },
  });
  const server: ServerExtensionNegotiator<Extension> = { name: 'x-test', rsvBits: 0b100, accept: () => ({ response: [], extension: extension() }) };
  const client: ClientExtensionNegotiator<Extension> = { name: 'x-test', rsvBits: 0b100, offer: () => [[]], accept: () => extension() };
  return { server, client };
}

describe.each(protocolCodecs)('opening handshake, %s codec', (_codecName, make) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await make();
  });
  const server = (options: Partial<ServerConnectionOptions> = {}) => new ServerConnection({ codec, ...options });
  const client = () => new ClientConnection({ codec, random: seededRandom(5), host: 'example.com', path: '/chat', protocols: ['chat', 'superchat'] });

  describe('server', () => {
    it('§4.2.2 a valid request, split anywhere, is answered with 101 and the connection is OPEN', () => {
      const bytes = request();
      for (const { name, chunks } of chunkings(bytes, { randomCount: 4 })) {
        const connection = server();
        const events = feed(connection, chunks);
        expect(events.map((e) => e.type), name).toEqual(['open']);
        expect(connection.state).toBe(ReadyState.OPEN);
        const { head, rest } = readResponse(connection.dataToSend());
        expect(head.status).toBe(101);
        expect(head.headers.get('Sec-WebSocket-Accept')).toBe(RFC_ACCEPT);
        expect(head.headers.get('Upgrade')).toBe('websocket');
        expect(rest.length).toBe(0);
        const open = ofType(events, 'open')[0]!;
        expect(open.head).toMatchObject({ method: 'GET', target: '/chat?room=1' });
      }
    });

    it('§4.2.2 frames right after the request head are the first frames', () => {
      const bytes = bytesOf(request(), frame(Opcode.TEXT, 'first', { mask: true }), frame(Opcode.PING, 'p', { mask: true }));
      for (const { name, chunks } of chunkings(bytes, { randomCount: 4 })) {
        const connection = server();
        const events = feed(connection, chunks);
        expect(events.map((e) => e.type), name).toEqual(['open', 'message', 'ping']);
        expect(text(ofType(events, 'message')[0]!.data)).toBe('first');
        const chunksOut = connection.dataToSend();
        const { rest } = readResponse(chunksOut);
        expect(readFrames(rest).map((f) => f.opcode)).toEqual([Opcode.PONG]);
      }
    });

    it('§4.2.1 an invalid request is answered with 400 and the transport closed; nothing more is read', () => {
      const connection = server();
      const events = feed(connection, [request({}, ['Sec-WebSocket-Key']), frame(Opcode.TEXT, 'x', { mask: true })]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'error', error: { name: 'HandshakeError', status: 400, message: 'missing Sec-WebSocket-Key header' } });
      const { head } = readResponse(connection.dataToSend());
      expect(head.status).toBe(400);
      expect(head.headers.get('Connection')).toBe('close');
      expect(connection.shouldCloseTransport()).toBe(true);
      expect(connection.closeExpected()).toBe(true);
      expect(connection.state).toBe(ReadyState.CONNECTING);
      expect(() => connection.sendText('x')).toThrow('cannot send a text message: the connection is CONNECTING');
      connection.receiveEof();
      expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
      expect(connection.state).toBe(ReadyState.CLOSED);
    });

    it('§4.4 a version other than 13 → 426 with Sec-WebSocket-Version: 13', () => {
      const connection = server();
      feed(connection, [request({ 'Sec-WebSocket-Version': '8' })]);
      const { head } = readResponse(connection.dataToSend());
      expect(head.status).toBe(426);
      expect(head.headers.get('Sec-WebSocket-Version')).toBe('13');
    });

    it('§4.2.1 a request head over the size limit → 431, before the head is complete', () => {
      const connection = server({ headLimits: { maxHeadSize: 256, maxHeaderCount: 100, maxHeaderLineLength: 200 } });
      const events = feed(connection, [request({ 'X-Padding': 'p'.repeat(190) })]);
      expect(events[0]).toMatchObject({ type: 'error', error: { status: 431, code: ErrorCode.HEAD_TOO_LARGE } });
      expect(readResponse(connection.dataToSend()).head.status).toBe(431);
    });

    it('§4.2.2 the subprotocol chosen by handleProtocols is in the response and the open event', () => {
      const connection = server({ handleProtocols: (offered) => (offered.has('superchat') ? 'superchat' : false) });
      const events = feed(connection, [request({ 'Sec-WebSocket-Protocol': 'chat, superchat' })]);
      expect(ofType(events, 'open')[0]!.protocol).toBe('superchat');
      expect(connection.protocol).toBe('superchat');
      expect(readResponse(connection.dataToSend()).head.headers.get('Sec-WebSocket-Protocol')).toBe('superchat');
    });

    it('a fault of the server’s own configuration is a 500 that tells the client nothing more', () => {
      const connection = server({ handleProtocols: () => 'not-offered' });
      const events = feed(connection, [request({ 'Sec-WebSocket-Protocol': 'chat' })]);
      expect(events[0]).toMatchObject({ type: 'error', error: { name: 'InvalidArgumentError' } });
      const { head, rest } = readResponse(connection.dataToSend());
      expect(head.status).toBe(500);
      expect(text(rest)).toBe('internal server error');
      expect(connection.shouldCloseTransport()).toBe(true);
    });

    it('a response header the handshake sets itself, configured for every response, is a 500 reporting the misconfiguration', () => {
      const connection = server({ responseHeaders: { 'Sec-WebSocket-Accept': 'mine' } });
      const events = feed(connection, [request(), frame(Opcode.TEXT, 'never', { mask: true })]);
      expect(events).toMatchObject([{ type: 'error', error: { name: 'InvalidArgumentError' } }]);
      expect(readResponse(connection.dataToSend()).head.status).toBe(500);
      expect(connection.state).toBe(ReadyState.CONNECTING);
      expect(connection.shouldCloseTransport()).toBe(true);
    });

    it('with autoAccept off, a valid request waits for accept(); frames that arrive meanwhile are held', () => {
      const connection = server({ autoAccept: false, limits: { receiveHighWaterMark: 10 } });
      const events = feed(connection, [bytesOf(request(), frame(Opcode.TEXT, 'early', { mask: true }))]);
      expect(events.map((e) => e.type)).toEqual(['request']);
      expect(ofType(events, 'request')[0]!.handshake.key).toBe(RFC_KEY);
      expect(connection.dataToSend()).toEqual([]);
      expect(connection.shouldPauseReading()).toBe(true);
      connection.accept({ headers: { 'Set-Cookie': 'a=b' } });
      expect(connection.shouldPauseReading()).toBe(false);
      expect(connection.eventsReceived().map((e) => e.type)).toEqual(['open', 'message']);
      expect(readResponse(connection.dataToSend()).head.headers.get('Set-Cookie')).toBe('a=b');
      expect(() => connection.accept()).toThrow(new InvalidStateError('cannot accept: no opening request is waiting (the connection is OPEN)'));
    });

    it('accept() with an invalid header throws and leaves the request waiting', () => {
      const connection = server({ autoAccept: false });
      feed(connection, [request()]);
      expect(() => connection.accept({ headers: { Upgrade: 'other' } })).toThrow(InvalidArgumentError);
      expect(connection.state).toBe(ReadyState.CONNECTING);
      connection.accept();
      expect(connection.state).toBe(ReadyState.OPEN);
    });

    it('reject() answers with the given status and closes; negotiated extensions are released', () => {
      const disposed = { count: 0 };
      const connection = server({ autoAccept: false, extensions: [negotiators(disposed).server] });
      feed(connection, [request({ 'Sec-WebSocket-Extensions': 'x-test' })]);
      expect(() => connection.reject(200)).toThrow(InvalidArgumentError);
      connection.reject(401, 'who are you?', [['WWW-Authenticate', 'Basic']]);
      const { head, rest } = readResponse(connection.dataToSend());
      expect([head.status, head.headers.get('WWW-Authenticate'), text(rest)]).toEqual([401, 'Basic', 'who are you?']);
      expect(connection.shouldCloseTransport()).toBe(true);
      expect(disposed.count).toBe(1);
      expect(connection.eventsReceived()).toEqual([]);
      expect(() => connection.accept()).toThrow(/cannot accept: no opening request is waiting \(the connection is CONNECTING, and its handshake failed\)/);
    });

    it('a client that floods frames before accept() is refused once the backlog limit is passed', () => {
      const connection = server({ autoAccept: false, limits: { maxReceiveBacklog: 100, receiveHighWaterMark: 50 } });
      feed(connection, [request()]);
      connection.receiveData(new Uint8Array(60));
      expect(connection.shouldPauseReading()).toBe(true);
      connection.receiveData(new Uint8Array(60));
      expect(connection.eventsReceived()).toMatchObject([{ type: 'error', error: { status: 400 } }]);
      expect(readResponse(connection.dataToSend()).head.status).toBe(400);
      expect(connection.shouldCloseTransport()).toBe(true);
    });

    it('receiveRequest takes a head parsed elsewhere; the bytes after it follow through receiveData', () => {
      const parsed = new RequestHeadParser().push(request());
      if (!parsed.done) throw new Error('unreachable');
      const connection = server();
      connection.receiveRequest(parsed.head);
      connection.receiveData(frame(Opcode.BINARY, Uint8Array.of(1, 2), { mask: true }));
      expect(connection.eventsReceived().map((e) => e.type)).toEqual(['open', 'message']);
      expect(() => connection.receiveRequest(parsed.head)).toThrow('cannot receive a request: the connection is OPEN');
    });

    it('an extension is in use only when negotiated: its RSV bit is allowed, and released at close', () => {
      const disposed = { count: 0 };
      const connection = server({ extensions: [negotiators(disposed).server] });
      const events = feed(connection, [request({ 'Sec-WebSocket-Extensions': 'x-test' }), frame(Opcode.TEXT, 'x', { mask: true, rsv: 4 })]);
      expect(events.map((e) => e.type)).toEqual(['open', 'message']);
      expect(connection.extensions.map((e) => e.name)).toEqual(['x-test']);
      expect(readResponse(connection.dataToSend()).head.headers.get('Sec-WebSocket-Extensions')).toBe('x-test');
      connection.receiveEof();
      expect(disposed.count).toBe(1);
      const plain = server({ extensions: [negotiators(disposed).server] });
      const refused = feed(plain, [request(), frame(Opcode.TEXT, 'x', { mask: true, rsv: 4 })]);
      expect(refused.map((e) => e.type)).toEqual(['open', 'error']);
      expect(ofType(refused, 'error')[0]!.error.code).toBe(ErrorCode.RSV_NOT_ALLOWED);
    });

    it('§4.2.1 bytes after the request head beyond the receive backlog are refused with 400, in the read that brought them', () => {
      const connection = server({ autoAccept: false, limits: { maxReceiveBacklog: 100, receiveHighWaterMark: 50 } });
      const events = feed(connection, [bytesOf(request(), new Uint8Array(101))]);
      expect(events).toMatchObject([{ type: 'error', error: { name: 'HandshakeError', status: 400 } }]);
      expect((ofType(events, 'error')[0]!.error as HandshakeError).message).toBe('more than 100 bytes arrived before the handshake completed');
      expect(readResponse(connection.dataToSend()).head.status).toBe(400);
      expect(connection.shouldCloseTransport()).toBe(true);
      expect(() => connection.accept()).toThrow(InvalidStateError);
    });

    it('frames held for accept() over several reads are parsed once OPEN, in the order they came', () => {
      const connection = server({ autoAccept: false });
      const frames = ['one', 'two', 'three'].map((word) => frame(Opcode.TEXT, word, { mask: true }));
      const events = feed(connection, [bytesOf(request(), frames[0]!), frames[1]!, frames[2]!]);
      expect(events.map((e) => e.type)).toEqual(['request']);
      connection.accept();
      expect(ofType(connection.eventsReceived(), 'message').map((m) => text(m.data))).toEqual(['one', 'two', 'three']);
      expect(connection.shouldPauseReading()).toBe(false);
    });

    it('a negotiator or callback that throws something other than a WebSocketError is a 500 saying "internal error"', () => {
      const failing = (thrown: unknown): ServerExtensionNegotiator<Extension> => ({
        name: 'x-test',
        rsvBits: 0b100,
        accept: () => {
          throw thrown;
        },
      });
      for (const [thrown, message] of [
        [new TypeError('no such engine'), 'internal error: no such engine'],
        ['a string', 'internal error: a string'],
      ] as const) {
        const connection = server({ extensions: [failing(thrown)] });
        const events = feed(connection, [request({ 'Sec-WebSocket-Extensions': 'x-test' })]);
        expect(events).toEqual([{ type: 'error', error: new HandshakeError(message, 500) }]);
        const { head, rest } = readResponse(connection.dataToSend());
        // §4.2.1: an HTTP error status; the body tells the client nothing of the server's fault.
        expect(head.status).toBe(500);
        expect(text(rest)).not.toContain(message);
        expect(connection.shouldCloseTransport()).toBe(true);
      }
    });

    it('misuse while CONNECTING names the handshake’s progress: nothing received, a request waiting, one being validated', () => {
      const fresh = server();
      expect(() => fresh.accept()).toThrow(new InvalidStateError('cannot accept: no opening request is waiting (the connection is CONNECTING)'));
      expect(() => fresh.reject(403)).toThrow('cannot reject: no opening request is waiting (the connection is CONNECTING)');

      const waiting = server({ autoAccept: false });
      feed(waiting, [request()]);
      expect(() => waiting.receiveRequest({ method: 'GET', target: '/', version: { major: 1, minor: 1 }, headers: new HttpHeaders() })).toThrow(
        new InvalidStateError('cannot receive a request: the connection is CONNECTING, with a request waiting'),
      );

      // A callback of the validation calling back into the connection finds the request not yet validated.
      let early: unknown;
      const validating: ServerConnection = server({
        handleProtocols: () => {
          try {
            validating.accept();
          } catch (error) {
            early = error;
          }
          return false;
        },
      });
      feed(validating, [request({ 'Sec-WebSocket-Protocol': 'chat' })]);
      expect(early).toEqual(new InvalidStateError('cannot accept: no opening request is waiting (the connection is CONNECTING, past its request)'));
      expect(validating.state).toBe(ReadyState.OPEN);
    });

    it('the transport ending while a request waits releases its extensions', () => {
      const disposed = { count: 0 };
      const connection = server({ autoAccept: false, extensions: [negotiators(disposed).server] });
      feed(connection, [request({ 'Sec-WebSocket-Extensions': 'x-test' })]);
      connection.receiveEof();
      expect(disposed.count).toBe(1);
      expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
    });
  });

  describe('client', () => {
    it('§4.1 the opening request is queued at construction', () => {
      const connection = client();
      const parsed = new RequestHeadParser().push(bytesOf(connection.dataToSend()));
      expect(parsed.done).toBe(true);
      if (!parsed.done) return;
      expect(parsed.head.target).toBe('/chat');
      expect(parsed.head.headers.get('Sec-WebSocket-Key')).toBe(connection.request!.key);
      expect(parsed.head.headers.get('Sec-WebSocket-Protocol')).toBe('chat, superchat');
      expect(connection.state).toBe(ReadyState.CONNECTING);
      expect(() => connection.sendPing()).toThrow('cannot send a ping: the connection is CONNECTING');
    });

    it('§4.1 a valid response, split anywhere, opens the connection; frames right after it are the first frames', () => {
      const key = client().request!.key;
      const bytes = bytesOf(response(key, { 'Sec-WebSocket-Protocol': 'chat' }), frame(Opcode.TEXT, 'welcome'));
      for (const { name, chunks } of chunkings(bytes, { randomCount: 4 })) {
        const connection = client();
        connection.dataToSend();
        const events = feed(connection, chunks);
        expect(events.map((e) => e.type), name).toEqual(['open', 'message']);
        const open = ofType(events, 'open')[0]!;
        expect(open.protocol).toBe('chat');
        expect((open.head as HttpResponseHead).status).toBe(101);
        connection.sendText('hi');
        const [sent] = readFrames(connection.dataToSend());
        expect(sent!.masked).toBe(true);
      }
    });

    it('§4.1 a response whose Sec-WebSocket-Accept does not match fails the connection; the client closes the transport', () => {
      const connection = client();
      const events = feed(connection, [response('AAAAAAAAAAAAAAAAAAAAAA=='), frame(Opcode.TEXT, 'x')]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'error', error: { name: 'HandshakeError', status: 101 } });
      expect((ofType(events, 'error')[0]!.error as HandshakeError).message).toContain('Sec-WebSocket-Accept');
      expect(connection.shouldCloseTransport()).toBe(true);
      expect(connection.state).toBe(ReadyState.CONNECTING);
      connection.receiveEof();
      expect(connection.eventsReceived()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false }]);
    });

    it('§4.1 a status other than 101 fails the connection with that status and its headers', () => {
      const connection = client();
      const key = connection.request!.key;
      const events = feed(connection, [response(key, { 'Retry-After': '5' }, '503 Service Unavailable')]);
      const error = (ofType(events, 'error')[0]!.error as HandshakeError);
      expect(error).toBeInstanceOf(HandshakeError);
      expect(error.status).toBe(503);
      expect(new HttpHeaders(error.headers).get('Retry-After')).toBe('5');
    });

    it('§4.1 a malformed status line fails the connection', () => {
      const connection = client();
      const events = feed(connection, [utf8Encode('HTTP/1.1 1O1 Nope\r\n\r\n')]);
      expect(events[0]).toMatchObject({ type: 'error', error: { name: 'HandshakeError' } });
    });

    it('§7.2.1 the transport ending before the response fails the connection', () => {
      const connection = client();
      connection.receiveData(utf8Encode('HTTP/1.1 101 Switching'));
      connection.receiveEof();
      expect(connection.eventsReceived()).toEqual([
        { type: 'error', error: new HandshakeError('the connection closed before the opening handshake completed', 0) },
        { type: 'close', code: 1006, reason: '', wasClean: false },
      ]);
    });

    it('§9.1 the client uses an extension only when the server accepts it', () => {
      const disposed = { count: 0 };
      const connection = new ClientConnection({ codec, random: seededRandom(1), host: 'h', extensions: [negotiators(disposed).client] });
      const requestHead = new RequestHeadParser().push(bytesOf(connection.dataToSend()));
      expect(requestHead.done && requestHead.head.headers.get('Sec-WebSocket-Extensions')).toBe('x-test');
      const events = feed(connection, [response(connection.request!.key, { 'Sec-WebSocket-Extensions': 'x-test' }), frame(Opcode.BINARY, 'z', { rsv: 4 })]);
      expect(events.map((e) => e.type)).toEqual(['open', 'message']);
      expect(ofType(events, 'open')[0]!.extensions.map((e) => e.name)).toEqual(['x-test']);
    });

    it('§4.1 receiveResponse takes a response parsed elsewhere; the bytes after it follow through receiveData', () => {
      const connection = client();
      const key = connection.request!.key;
      connection.receiveResponse(101, [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', acceptFor(key)],
        ['Sec-WebSocket-Protocol', 'superchat'],
      ], 'Switching Protocols');
      connection.receiveData(frame(Opcode.TEXT, 'first'));
      const events = connection.eventsReceived();
      expect(events.map((e) => e.type)).toEqual(['open', 'message']);
      expect(ofType(events, 'open')[0]!).toMatchObject({ protocol: 'superchat', head: { status: 101, reason: 'Switching Protocols' } });
      expect(() => connection.receiveResponse(101, [])).toThrow(new InvalidStateError('cannot receive a response: the connection is not waiting for one'));
    });

    it('receiveResponse is refused once a response arrived as bytes, and without a request (established)', () => {
      const connection = client();
      feed(connection, [utf8Encode('HTTP/1.1 101 Switching Protocols\r\n\r\n')]);
      expect(() => connection.receiveResponse(101, [])).toThrow(InvalidStateError);
      const established = new ClientConnection({ codec, random: seededRandom(2), established: {} });
      expect(() => established.receiveResponse(101, [])).toThrow('cannot receive a response: the connection is not waiting for one');
    });

    it('§4.1 a SHA-1 port that throws fails the handshake as an internal error, whether the response came as bytes or parsed', () => {
      const broken = (): ClientConnection =>
        new ClientConnection({
          codec,
          random: seededRandom(3),
          host: 'example.com',
          sha1: () => {
            throw new RangeError('sha1 unavailable');
          },
        });
      const fromBytes = broken();
      const events = feed(fromBytes, [response(fromBytes.request!.key), frame(Opcode.TEXT, 'x')]);
      const parsed = broken();
      parsed.receiveResponse(101, [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', acceptFor(parsed.request!.key)]]);
      for (const [connection, reported] of [[fromBytes, events], [parsed, parsed.eventsReceived()]] as const) {
        expect(reported).toHaveLength(1);
        expect(reported[0]).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, message: 'internal error: sha1 unavailable' } });
        expect(((reported[0] as { error: Error }).error as Error & { cause: unknown }).cause).toBeInstanceOf(RangeError);
        expect(connection.state).toBe(ReadyState.CONNECTING);
        expect(connection.shouldCloseTransport()).toBe(true);
        expect(connection.closeExpected()).toBe(true);
        connection.receiveData(frame(Opcode.TEXT, 'ignored'));
        expect(connection.eventsReceived()).toEqual([]);
      }
    });

    it('refuses construction without a random source or a host', () => {
      expect(() => new ClientConnection({ codec, host: 'h' } as never)).toThrow('a client needs a random source to mask its frames (RFC 6455 §5.3)');
      expect(() => new ClientConnection({ codec, random: seededRandom(1) })).toThrow('host is required to build the opening request');
      expect(() => new ClientConnection({ codec, random: seededRandom(1), host: 'h', path: 'no-slash' })).toThrow(InvalidArgumentError);
      expect(() => new ServerConnection({} as never)).toThrow('a codec is required');
    });
  });
});
