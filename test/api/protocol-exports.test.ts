/**
 * The public surface of `wasmsocket/protocol` (the Sans-I/O core on its own): exactly these
 * values and types, so that nothing internal — the handshake's parsers and builders, base64,
 * SHA-1, the frame parser — is published by accident, and nothing public disappears.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
// The codec from `wasmsocket/codec`, as a user of the core takes it.
import { portableCodec as codec } from '../../src/codec/index.js';
import * as protocol from '../../src/protocol/index.js';

const ENTRY = fileURLToPath(new URL('../../src/protocol/index.ts', import.meta.url));

/** The values an import of the entry gives. */
const VALUES = [
  'ClientConnection',
  'CloseCode',
  'Connection',
  'createPerMessageDeflate',
  'DEFAULT_CONNECTION_LIMITS',
  'DEFAULT_HEAD_LIMITS',
  'EncodedMessage',
  'ErrorCode',
  'HandshakeError',
  'HttpHeaders',
  'invalidDeflateData',
  'InvalidArgumentError',
  'InvalidStateError',
  'ProtocolError',
  'ReadyState',
  'ServerConnection',
  'webCryptoRandom',
  'WebSocketError',
];

/** The names that exist only as types. */
const TYPES = [
  // The connections and how they are configured.
  'ClientConnectionOptions',
  'CloseStatus',
  'ConnectionLimits',
  'ConnectionOptions',
  'ConnectionSide',
  'EstablishedTerms',
  'ServerConnectionOptions',
  // What they report.
  'CloseReceivedEvent',
  'ConnectionClosedEvent',
  'ConnectionErrorEvent',
  'ConnectionEvent',
  'FragmentReceivedEvent',
  'MessageReceivedEvent',
  'OpenEvent',
  'PingReceivedEvent',
  'PongReceivedEvent',
  'UpgradeRequestEvent',
  // Extensions and permessage-deflate's engine.
  'ClientExtensionNegotiator',
  'DecodeOutput',
  'DeflateCapabilities',
  'DeflateEngine',
  'DeflateMessageEnd',
  'DeflateOfferOptions',
  'DeflateStreamParameters',
  'Extension',
  'ExtensionParams',
  'NegotiatedExtension',
  'PerMessageDeflateNegotiators',
  'PerMessageDeflateOptions',
  'RawDeflater',
  'RawInflater',
  'ServerExtensionAcceptance',
  'ServerExtensionNegotiator',
  // The opening handshake's vocabulary, and the ports.
  'ClientRequest',
  'HeaderField',
  'HeadLimits',
  'HttpRequestHead',
  'HttpResponseHead',
  'HttpVersion',
  'RandomSource',
  'ServerHandshake',
  'Sha1',
];

const sorted = (names: readonly string[]): string[] => [...names].sort((a, b) => a.localeCompare(b, 'en'));

/** Every name the entry exports, types included, as the type checker resolves them. */
function declaredExports(): string[] {
  const program = ts.createProgram([ENTRY], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY)!;
  const module = checker.getSymbolAtLocation(source)!;
  return checker.getExportsOfModule(module).map((symbol) => symbol.name);
}

describe('wasmsocket/protocol', () => {
  it('exports exactly the public values', () => {
    expect(sorted(Object.keys(protocol))).toEqual(sorted(VALUES));
  });

  it('exports exactly the public values and types', () => {
    expect(sorted(declaredExports())).toEqual(sorted([...VALUES, ...TYPES]));
  });

  it('keeps the handshake internal: no parser, builder, validator, base64 or SHA-1', () => {
    const exported = new Set<string>(Object.keys(protocol));
    for (const name of [
      'buildClientRequest',
      'buildServerResponse',
      'computeAcceptKey',
      'decodeBase64',
      'encodeBase64',
      'FrameParser',
      'generateKey',
      'RequestHeadParser',
      'ResponseHeadParser',
      'serializeFrame',
      'sha1',
      'STATE_NAMES',
      'validateClientRequest',
      'validateServerResponse',
    ]) {
      expect(exported.has(name), name).toBe(false);
    }
  });

  it('what it exports is enough to run a client and a server against each other', () => {
    const server = new protocol.ServerConnection({ codec });
    const client = new protocol.ClientConnection({ codec, random: protocol.webCryptoRandom, host: 'example.com', path: '/chat' });
    for (const chunk of client.dataToSend()) server.receiveData(chunk.slice());
    for (const chunk of server.dataToSend()) client.receiveData(chunk.slice());
    expect(server.eventsReceived().map((event) => event.type)).toEqual(['open']);
    expect(client.eventsReceived().map((event) => event.type)).toEqual(['open']);
    client.sendText('hello');
    for (const chunk of client.dataToSend()) server.receiveData(chunk.slice());
    const [message] = server.eventsReceived();
    expect(message).toMatchObject({ type: 'message', binary: false });
    expect(new TextDecoder().decode((message as protocol.MessageReceivedEvent).data)).toBe('hello');
    expect(server.state).toBe(protocol.ReadyState.OPEN);
  });

  it('a request head parsed elsewhere is handed over with HttpHeaders', () => {
    const server = new protocol.ServerConnection({ codec });
    server.receiveRequest({
      method: 'GET',
      target: '/',
      version: { major: 1, minor: 1 },
      headers: new protocol.HttpHeaders([
        ['Host', 'example.com'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ['Sec-WebSocket-Version', '13'],
      ]),
    });
    expect(server.state).toBe(protocol.ReadyState.OPEN);
    // RFC 6455 §1.3's example key and its accept value.
    expect(new TextDecoder().decode(server.dataToSend()[0])).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});
