/**
 * The errors the methods throw, where ws throws one class and the WHATWG WebSocket a
 * DOMException: the Node WebSocket throws ws's class with the DOMException's name and code,
 * so `instanceof` checks written for ws and `name` checks written for the WHATWG API both
 * hold (only `instanceof DOMException` does not); the web faces throw the DOMExceptions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { WebSocket } from '../../src/node.js';
import { StreamWebSocket, createWebStreamPair } from '../../src/web.js';
import { nextEvent, openClient, Resources, startServer } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

describe('the Node WebSocket: ws\'s classes, the DOMException names', () => {
  it('an invalid URL: a SyntaxError in both (ws\'s class and the DOMException\'s name)', () => {
    for (const url of ['not a url', 'ftp://127.0.0.1/', 'ws://127.0.0.1/#x']) {
      const ours = thrownBy(() => new WebSocket(url));
      expect(ours).toBeInstanceOf(SyntaxError);
      expect(thrownBy(() => new WsClient(url))).toBeInstanceOf(SyntaxError);
      expect([ours.name, (ours as DOMException).code]).toEqual(['SyntaxError', 12]);
      expect(ours).not.toBeInstanceOf(DOMException);
    }
  });

  it('close() with an invalid code: a TypeError (ws) named InvalidAccessError (WHATWG); a long reason: a RangeError (ws) named SyntaxError', async () => {
    const { wss, url } = await startServer(resources);
    wss.on('connection', () => {});
    const ours = await openClient(resources, url);
    const theirs = resources.track(new WsClient(url));
    await nextEvent(theirs, 'open');
    const badCode = thrownBy(() => ours.close(1005));
    expect(badCode).toBeInstanceOf(TypeError);
    expect(thrownBy(() => theirs.close(1005))).toBeInstanceOf(TypeError);
    expect([badCode.name, (badCode as DOMException).code]).toEqual(['InvalidAccessError', 15]);
    const longReason = thrownBy(() => ours.close(1000, 'x'.repeat(124)));
    expect(longReason).toBeInstanceOf(RangeError);
    expect(thrownBy(() => theirs.close(1000, 'x'.repeat(124)))).toBeInstanceOf(RangeError);
    expect([longReason.name, (longReason as DOMException).code]).toEqual(['SyntaxError', 12]);
  });

  it('send() while CONNECTING: an Error (ws) named InvalidStateError (WHATWG)', async () => {
    const { url } = await startServer(resources);
    const ours = resources.track(new WebSocket(url));
    const theirs = resources.track(new WsClient(url));
    // ws reports its own abandoned handshake (terminated while CONNECTING, at teardown) as an
    // 'error' event, which an emitter without listeners would throw.
    theirs.on('error', () => {});
    const error = thrownBy(() => ours.send('early'));
    expect(error).toBeInstanceOf(Error);
    expect(thrownBy(() => theirs.send('early'))).toBeInstanceOf(Error);
    expect([error.name, (error as DOMException).code]).toEqual(['InvalidStateError', 11]);
  });
});

it('the web faces throw the DOMExceptions the WHATWG API requires', () => {
  const [end] = createWebStreamPair();
  const ws = StreamWebSocket.connect(end, 'ws://example.test/');
  const error = thrownBy(() => ws.send('early'));
  expect(error).toBeInstanceOf(DOMException);
  expect(error.name).toBe('InvalidStateError');
  const badUrl = thrownBy(() => StreamWebSocket.connect(createWebStreamPair()[0], 'ftp://example.test/'));
  expect(badUrl).toBeInstanceOf(DOMException);
  expect(badUrl.name).toBe('SyntaxError');
  ws.terminate();
});
