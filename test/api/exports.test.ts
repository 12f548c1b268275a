/**
 * The public surface of the Node entry (`import … from 'wasmsocket'`): what is exported, and
 * that internals are not.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/node.js';

describe('wasmsocket (Node entry)', () => {
  it('exports exactly the public values', () => {
    expect(Object.keys(entry).sort()).toEqual(
      [
        'CloseCode',
        'CloseEvent',
        'ClusterBus',
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

  it('WebSocket is an EventEmitter class (as ws has it) with the readyState constants; the server an EventEmitter', () => {
    expect(entry.WebSocket.prototype).toBeInstanceOf(EventEmitter);
    expect(entry.WebSocket.prototype).not.toBeInstanceOf(EventTarget);
    expect([entry.WebSocket.CONNECTING, entry.WebSocket.OPEN, entry.WebSocket.CLOSING, entry.WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(entry.WebSocketServer.prototype).toBeInstanceOf(EventEmitter);
    expect(typeof entry.WebSocketServer.prototype.handleUpgrade).toBe('function');
  });

  it('the readyState constants are enumerable and read-only on the class and its instances; the attributes are enumerable accessors', () => {
    const WebSocket = entry.WebSocket as unknown as Record<string, unknown> & { prototype: Record<string, unknown> };
    for (const target of [WebSocket, WebSocket.prototype]) {
      for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
        expect(Object.getOwnPropertyDescriptor(target, name)).toEqual({ value, enumerable: true, writable: false, configurable: false });
        expect(() => {
          'use strict';
          target[name] = 7;
        }).toThrow(TypeError);
      }
    }
    for (const name of ['readyState', 'url', 'binaryType', 'protocol', 'extensions', 'bufferedAmount', 'isPaused', 'onopen', 'onmessage', 'onerror', 'onclose']) {
      const descriptor = Object.getOwnPropertyDescriptor(entry.WebSocket.prototype, name);
      expect(descriptor?.get, name).toBeTypeOf('function');
      expect(descriptor?.enumerable, name).toBe(true);
    }
    for (const name of ['binaryType', 'onopen', 'onmessage', 'onerror', 'onclose']) {
      expect(Object.getOwnPropertyDescriptor(entry.WebSocket.prototype, name)?.set, name).toBeTypeOf('function');
    }
    // As in ws, the methods are not enumerable.
    expect(Object.getOwnPropertyDescriptor(entry.WebSocket.prototype, 'send')?.enumerable).toBe(false);
  });

  it('the server-side construction path is not reachable from the class', () => {
    expect(Object.getOwnPropertySymbols(entry.WebSocket)).toEqual([]);
    // The readyState constants are the class's only statics.
    expect(Object.getOwnPropertyNames(entry.WebSocket).sort()).toEqual(['CLOSED', 'CLOSING', 'CONNECTING', 'OPEN', 'length', 'name', 'prototype'].sort());
  });
});
