/**
 * The public surface of the web entry (`wasmsocket/web`, and `wasmsocket` in browsers and
 * workers): what is exported, and that both web clients have every member of the Node client,
 * so code written against one runs against the others.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import * as node from '../../src/node.js';
import * as web from '../../src/web.js';

/** Every property name along a prototype chain, up to EventTarget (the web faces) or EventEmitter (the Node one). */
function memberNames(prototype: object): Set<string> {
  const names = new Set<string>();
  for (let p: object | null = prototype; p !== null && p !== EventTarget.prototype && p !== EventEmitter.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) names.add(name);
  }
  return names;
}

describe('wasmsocket/web', () => {
  it('exports exactly the public values', () => {
    expect(Object.keys(web).sort()).toEqual(
      [
        'CloseCode',
        'CloseEvent',
        'DEFAULT_STREAM_HANDSHAKE_TIMEOUT',
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
        'WebSocketFace',
        'StreamWebSocket',
        'createCodec',
        'default',
        'messages',
        'createWebCodec',
        'hasDeflateRawStreams',
        'perMessageDeflateWeb',
        'createWebStreamPair',
        'sharedWebCodec',
      ].sort(),
    );
  });

  it('both web clients are EventTargets (not EventEmitters) with every member of the Node client and the emitter methods ws code uses', () => {
    const nodeMembers = memberNames(node.WebSocket.prototype);
    expect(nodeMembers.size).toBeGreaterThan(20);
    for (const client of [web.WebSocket, web.StreamWebSocket]) {
      expect(client.prototype).toBeInstanceOf(EventTarget);
      expect(client.prototype).not.toBeInstanceOf(EventEmitter);
      expect(client.prototype).toBeInstanceOf(web.WebSocketFace);
      const members = memberNames(client.prototype);
      // (eventFor is the Node event base's hook for building WHATWG events, the web faces
      // dispatch them; _socket and _sender are ws's net.Socket and Sender, which have no web twin;
      // topics are a WebSocketServer's, whose sockets are Node's.)
      const nodeOnly = new Set(['eventFor', '_socket', '_sender', 'subscribe', 'unsubscribe', 'isSubscribed', 'topics']);
      expect([...nodeMembers].filter((name) => !(name in client.prototype) && !nodeOnly.has(name))).toEqual([]);
      for (const name of ['on', 'once', 'off', 'addListener', 'removeListener', 'removeAllListeners', 'emit', 'listenerCount', 'listeners']) expect(members, name).toContain(name);
      expect([client.CONNECTING, client.OPEN, client.CLOSING, client.CLOSED]).toEqual([0, 1, 2, 3]);
      expect(Object.getOwnPropertyDescriptor(client.prototype, 'url')?.enumerable).toBe(true);
      expect(Object.getOwnPropertyDescriptor(web.WebSocketFace.prototype, 'readyState')?.enumerable).toBe(true);
    }
  });

  it('shares the vocabulary of the Node entry', () => {
    for (const name of ['CloseCode', 'ReadyState', 'ErrorCode', 'WebSocketError', 'ProtocolError', 'HandshakeError', 'CloseEvent', 'MessageEvent', 'ErrorEvent'] as const) {
      expect(web[name], name).toBe(node[name]);
    }
  });
});
