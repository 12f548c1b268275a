/**
 * The Node WebSocket's event model on real sockets, next to ws's: an EventEmitter whose
 * addEventListener and onxxx listeners share the emitter's list, in registration order, with
 * WHATWG event objects; emit() reaches them all. (A throwing listener: websocket.integration.test.ts.)
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { CloseEvent, MessageEvent, WebSocket } from '../../src/node.js';
import { nextEvent, openClient, Resources, startServer } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

type AnyClient = WebSocket | WsClient;

/** Register listeners for 'message' in a mixed order through every method, and record the calls. */
function registerMixed(ws: AnyClient, order: string[]): void {
  ws.on('message', () => order.push('on 1'));
  ws.addEventListener('message', () => order.push('addEventListener 1'));
  ws.onmessage = () => order.push('onmessage');
  ws.once('message', () => order.push('once'));
  ws.addEventListener('message', { handleEvent: () => order.push('handleEvent object') });
  ws.on('message', () => order.push('on 2'));
}

async function echoUrl(): Promise<string> {
  const { wss, url } = await startServer(resources);
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
  return url;
}

describe('the Node WebSocket is an EventEmitter with the EventTarget methods, as ws', () => {
  it('calls listeners in registration order across on(), addEventListener and onmessage — the order ws has', async () => {
    const url = await echoUrl();
    const orders: string[][] = [];
    for (const make of [(u: string) => new WebSocket(u), (u: string) => new WsClient(u)]) {
      const ws = resources.track(make(url));
      expect(ws).toBeInstanceOf(EventEmitter);
      const order: string[] = [];
      registerMixed(ws, order);
      await nextEvent(ws, 'open');
      ws.send('one');
      await expect.poll(() => order.length).toBe(6);
      ws.send('two');
      await expect.poll(() => order.length).toBe(11);
      orders.push(order);
      ws.terminate();
    }
    expect(orders[0]).toEqual(['on 1', 'addEventListener 1', 'onmessage', 'once', 'handleEvent object', 'on 2', 'on 1', 'addEventListener 1', 'onmessage', 'handleEvent object', 'on 2']);
    expect(orders[0]).toEqual(orders[1]);
  });

  it('emit() reaches the addEventListener and onxxx listeners with WHATWG events built from its arguments', async () => {
    const url = await echoUrl();
    const ws = await openClient(resources, url);
    const events: Event[] = [];
    ws.addEventListener('message', (event) => events.push(event));
    ws.onclose = (event) => events.push(event);
    ws.emit('message', Buffer.from('made up'), false);
    ws.emit('message', Buffer.from([1, 2]), true);
    ws.emit('close', 4001, Buffer.from('pretend'));
    expect(events).toHaveLength(3);
    expect(events[0]).toBeInstanceOf(MessageEvent);
    expect((events[0] as MessageEvent).data).toBe('made up');
    expect([...((events[1] as MessageEvent).data as Buffer)]).toEqual([1, 2]);
    expect(events[2]).toBeInstanceOf(CloseEvent);
    expect({ code: (events[2] as CloseEvent).code, reason: (events[2] as CloseEvent).reason }).toEqual({ code: 4001, reason: 'pretend' });
    for (const event of events) expect(event.target).toBe(ws);
  });

  it('real events: text as a string, the origin of the URL, target the socket, a clean CloseEvent; removeEventListener works', async () => {
    const url = await echoUrl();
    const ws = await openClient(resources, url);
    const messages: MessageEvent[] = [];
    const listener = (event: MessageEvent): void => {
      messages.push(event);
    };
    ws.addEventListener('message', listener);
    ws.send('hello');
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]!.data).toBe('hello');
    expect(messages[0]!.origin).toBe(new URL(url).origin);
    expect(messages[0]!.target).toBe(ws);
    ws.removeEventListener('message', listener);
    const more = nextEvent(ws, 'message');
    ws.send('again');
    await more;
    expect(messages).toHaveLength(1);
    const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve, { once: true }));
    ws.close(1000, 'done');
    const close = await closed;
    expect({ code: close.code, reason: close.reason, wasClean: close.wasClean }).toEqual({ code: 1000, reason: 'done', wasClean: true });
  });
});
