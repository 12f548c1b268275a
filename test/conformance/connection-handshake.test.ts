/**
 * RFC 6455 §4, §5.8, §7.2 and §9.1 through connections that do their own opening handshake:
 * a client and a server connection wired to each other, every codec. One test per
 * requirement of docs/compliance.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codec/types.js';
import type { ClientExtensionNegotiator, ServerExtensionNegotiator } from '../../src/handshake/index.js';
import {
  ClientConnection,
  ServerConnection,
  type ClientConnectionOptions,
  type Connection,
  type Extension,
  type ServerConnectionOptions,
} from '../../src/protocol/index.js';
import { CloseCode, Opcode, ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, HandshakeError, InvalidStateError } from '../../src/shared/errors.js';
import { codecsUnderTest } from '../helpers/codecs.js';
import { countingRandom, parseRequest, parseResponse } from './handshake-helpers.js';
import { drain, eventsOf, expectFailed, feed, messages, PEER_MASK_KEY, utf8 } from './harness.js';
import { buildFrame, concat } from '../codec/frame-builder.js';
import { readFrames } from '../helpers/frames.js';

/** RSV2: a bit no registered extension uses, for a made-up extension. */
const TEST_RSV = 0b010;

/** An extension that reverses each message's bytes (a visible transformation, kept symmetric). */
function reversingExtension(): Extension {
  let incoming: Uint8Array[] = [];
  let outgoing: Uint8Array[] = [];
  const reversed = (parts: Uint8Array[]) => concat(...parts).reverse();
  return {
    encode(data, fin) {
      outgoing.push(data.slice());
      if (!fin) return new Uint8Array(0);
      const out = reversed(outgoing);
      outgoing = [];
      return out;
    },
    decode(data, fin, output) {
      incoming.push(data.slice());
      if (!fin) return;
      output.push(reversed(incoming));
      incoming = [];
    },
  };
}

const serverNegotiator: ServerExtensionNegotiator<Extension> = {
  name: 'x-reverse',
  rsvBits: TEST_RSV,
  accept: (offers) => (offers.length === 0 ? null : { response: [], extension: reversingExtension() }),
};

const clientNegotiator: ClientExtensionNegotiator<Extension> = {
  name: 'x-reverse',
  rsvBits: TEST_RSV,
  offer: () => [[]],
  accept: () => reversingExtension(),
};

/** Move bytes both ways until neither side has anything more to write. */
function pump(client: Connection, server: Connection): void {
  for (let round = 0; round < 10; round++) {
    const toServer = client.dataToSend();
    const toClient = server.dataToSend();
    if (toServer.length === 0 && toClient.length === 0) return;
    for (const chunk of toServer) server.receiveData(chunk.slice());
    for (const chunk of toClient) client.receiveData(chunk.slice());
  }
  throw new Error('the connections kept writing');
}

describe.each(codecsUnderTest)('%s codec', (_name, makeCodec) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await makeCodec();
  });

  function pair(
    clientOptions: Partial<ClientConnectionOptions> = {},
    serverOptions: Partial<ServerConnectionOptions> = {},
  ): { client: ClientConnection; server: ServerConnection } {
    const client = new ClientConnection({ codec, random: countingRandom(), host: 'server.example.com', path: '/chat', ...clientOptions });
    const server = new ServerConnection({ codec, ...serverOptions });
    return { client, server };
  }

  describe('§4.1 and §4.2 through connections', () => {
    it('§4.1 a client sends nothing but its request until the server\'s response is validated', () => {
      const { client, server } = pair();
      expect(client.state).toBe(ReadyState.CONNECTING);
      expect(() => client.sendText('too early')).toThrow(InvalidStateError);
      expect(() => client.sendPing()).toThrow(InvalidStateError);
      const request = concat(...client.dataToSend());
      expect(parseRequest(request).method).toBe('GET');
      // Only the head: nothing follows its blank line.
      expect(new TextDecoder().decode(request).endsWith('\r\n\r\n')).toBe(true);
      expect(new TextDecoder().decode(request).indexOf('\r\n\r\n')).toBe(request.length - 4);

      server.receiveData(request);
      expect(eventsOf(server.eventsReceived(), 'open')).toHaveLength(1);
      const response = concat(...server.dataToSend());
      expect(parseResponse(response).status).toBe(101);
      client.receiveData(response);
      expect(client.state).toBe(ReadyState.OPEN);
      expect(eventsOf(client.eventsReceived(), 'open')).toHaveLength(1);
      client.sendText('now');
      server.receiveData(concat(...client.dataToSend()));
      expect(messages(server.eventsReceived())).toEqual([['text', 'now']]);
    });

    it('§4.1 frames that follow the server\'s response in the same read are received', () => {
      const { client, server } = pair();
      server.receiveData(concat(...client.dataToSend()));
      server.eventsReceived();
      server.sendText('right after');
      client.receiveData(concat(...server.dataToSend()));
      expect(client.eventsReceived().map((event) => event.type)).toEqual(['open', 'message']);
    });

    it('§7.2.1 a client whose opening handshake fails reports it, sends no frame and closes the transport', () => {
      const { client } = pair();
      client.dataToSend();
      const badAccept = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';
      client.receiveData(utf8(badAccept));
      const errors = eventsOf(client.eventsReceived(), 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.error).toBeInstanceOf(HandshakeError);
      expect(client.state).toBe(ReadyState.CONNECTING);
      expect(client.dataToSend()).toEqual([]);
      expect(client.shouldCloseTransport()).toBe(true);
      expect(() => client.sendText('x')).toThrow(InvalidStateError);
      client.receiveEof();
      expect(eventsOf(client.eventsReceived(), 'close')).toEqual([{ type: 'close', code: CloseCode.ABNORMAL_CLOSURE, reason: '', wasClean: false }]);
    });

    it('§7.2.2 a server that refuses the opening handshake answers with the HTTP error and closes the transport', () => {
      const server = new ServerConnection({ codec });
      server.receiveData(utf8('GET /chat HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n'));
      const errors = eventsOf(server.eventsReceived(), 'error');
      expect(errors).toHaveLength(1);
      expect((errors[0]!.error as HandshakeError).status).toBe(400);
      const response = parseResponse(concat(...server.dataToSend()));
      expect(response.status).toBe(400);
      expect(server.shouldCloseTransport()).toBe(true);
      server.receiveData(utf8('more bytes that are never read'));
      expect(server.eventsReceived()).toEqual([]);
      expect(server.dataToSend()).toEqual([]);
    });
  });

  describe('§5.8 and §9.1 extensions in use', () => {
    it('§5.8 a negotiated extension transforms the messages that carry its RSV bit, both ways', () => {
      const { client, server } = pair({ extensions: [clientNegotiator] }, { extensions: [serverNegotiator] });
      pump(client, server);
      expect(client.extensions.map((extension) => extension.name)).toEqual(['x-reverse']);
      expect(server.extensions.map((extension) => extension.name)).toEqual(['x-reverse']);
      client.eventsReceived();
      server.eventsReceived();
      client.sendText('stressed');
      const frames = readFrames(concat(...client.dataToSend().map((chunk) => chunk.slice())));
      expect(frames.map((frame) => [frame.rsv, new TextDecoder().decode(frame.payload)])).toEqual([[TEST_RSV, 'desserts']]);
      server.receiveData(concat(...frames.map((frame) => buildFrame({ opcode: frame.opcode, rsv: frame.rsv, payload: frame.payload, maskKey: PEER_MASK_KEY }))));
      expect(messages(server.eventsReceived())).toEqual([['text', 'stressed']]);
    });

    it('§5.8 an RSV bit of an extension offered but not accepted → 1002', () => {
      const { client, server } = pair({ extensions: [clientNegotiator] });
      pump(client, server);
      expect(client.extensions).toEqual([]);
      client.eventsReceived();
      const output = feed(client, buildFrame({ opcode: Opcode.TEXT, rsv: TEST_RSV, payload: utf8('x') }));
      expectFailed(output, client, CloseCode.PROTOCOL_ERROR, ErrorCode.RSV_NOT_ALLOWED);

      server.eventsReceived();
      const fromClient = feed(server, buildFrame({ opcode: Opcode.TEXT, rsv: TEST_RSV, payload: utf8('x'), maskKey: PEER_MASK_KEY }));
      expectFailed(fromClient, server, CloseCode.PROTOCOL_ERROR, ErrorCode.RSV_NOT_ALLOWED);
    });

    it('§9.1 a client whose offer the server declines sends no RSV bit', () => {
      const { client, server } = pair({ extensions: [clientNegotiator] });
      pump(client, server);
      client.eventsReceived();
      client.sendText('plain');
      const frames = drain(client).frames;
      expect(frames.map((frame) => [frame.rsv, new TextDecoder().decode(frame.payload)])).toEqual([[0, 'plain']]);
    });
  });
});
