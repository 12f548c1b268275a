/**
 * The public surface of the Node entry (`import … from 'wasmsocket'`): what is exported, and
 * that internals are not.
 */
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/node.js';

describe('wasmsocket (Node entry)', () => {
  it('exports exactly the public values', () => {
    expect(Object.keys(entry).sort()).toEqual(
      [
        'CloseCode',
        'CloseEvent',
        'DEFAULT_HANDSHAKE_TIMEOUT',
        'DEFAULT_TRANSPORT_OPTIONS',
        'ErrorCode',
        'ErrorEvent',
        'HandshakeError',
        'InvalidArgumentError',
        'InvalidStateError',
        'MessageEvent',
        'ProtocolError',
        'ReadyState',
        'WebSocket',
        'WebSocketError',
        'WebSocketServer',
        'WebSocketStream',
        'WebSocketStreamError',
        'createCodec',
        'createCodecSync',
        'createWebSocketStream',
        'default',
        'perMessageDeflateNode',
        'sharedZlibQueue',
        'ZlibQueue',
        'messages',
        'sendMessageStream',
      ].sort(),
    );
  });

  it('WebSocket is an EventTarget class with the readyState constants; the server an EventEmitter', () => {
    expect(entry.WebSocket.prototype).toBeInstanceOf(EventTarget);
    expect([entry.WebSocket.CONNECTING, entry.WebSocket.OPEN, entry.WebSocket.CLOSING, entry.WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(typeof entry.WebSocketServer.prototype.on).toBe('function');
    expect(typeof entry.WebSocketServer.prototype.handleUpgrade).toBe('function');
  });

  it('the server-side construction path is not reachable from the class', () => {
    expect(Object.getOwnPropertySymbols(entry.WebSocket)).toEqual([]);
    // The readyState constants come from the face base, which has no more statics either.
    expect(Object.getOwnPropertyNames(entry.WebSocket).sort()).toEqual(['length', 'name', 'prototype'].sort());
    const base = Object.getPrototypeOf(entry.WebSocket) as object;
    expect(Object.getOwnPropertySymbols(base)).toEqual([]);
    expect(Object.getOwnPropertyNames(base).sort()).toEqual(['CLOSED', 'CLOSING', 'CONNECTING', 'OPEN', 'length', 'name', 'prototype'].sort());
  });
});
