/**
 * Receiving large messages piece by piece (`streamMessages`): `'fragment'` events as the bytes
 * arrive, no assembled `'message'`, with the message limit and UTF-8 checks still applied —
 * on both sides, with each codec.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/constants.js';
import { WebSocket } from '../../src/node.js';
import { clientFrame, closeOf, nextEvent, nodeCodecs, openClient, rawConnect, readUntil, Resources, startServer, upgradeRequest } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

interface Piece {
  readonly data: Buffer;
  readonly binary: boolean;
  readonly first: boolean;
  readonly last: boolean;
}

function collectPieces(ws: WebSocket): { pieces: Piece[]; messages: number } {
  const seen = { pieces: [] as Piece[], messages: 0 };
  ws.on('fragment', (data, binary, first, last) => seen.pieces.push({ data, binary, first, last }));
  ws.on('message', () => seen.messages++);
  return seen;
}

function pattern(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >>> 11)) & 0xff;
  return out;
}

describe.each(nodeCodecs)('streamMessages (%s codec)', (_name, codec) => {
  it('a server receives an 8 MiB message as several pieces, in order, with no message event', async () => {
    const { wss, url } = await startServer(resources, { codec, streamMessages: true });
    const received = new Promise<{ pieces: Piece[]; messages: number }>((resolve) => {
      wss.on('connection', (ws) => {
        const seen = collectPieces(ws);
        ws.on('fragment', (_data, _binary, _first, last) => {
          if (last) resolve(seen);
        });
      });
    });
    const client = await openClient(resources, url, undefined, { codec });
    const payload = pattern(8 * 1024 * 1024);
    client.send(payload);
    const { pieces, messages } = await received;
    expect(messages).toBe(0);
    // It arrived over many socket reads: never held whole by the library.
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.map((p) => p.first)).toEqual(pieces.map((_, i) => i === 0));
    expect(pieces.map((p) => p.last)).toEqual(pieces.map((_, i) => i === pieces.length - 1));
    expect(pieces.every((p) => p.binary)).toBe(true);
    expect(Buffer.concat(pieces.map((p) => p.data)).equals(payload)).toBe(true);
  });

  it('a client receives fragmented text piece by piece; pieces join into the text sent', async () => {
    const { wss, url } = await startServer(resources, { codec });
    const text = 'κόσμε 🌍 '.repeat(20000);
    wss.on('connection', (ws) => {
      // Three frames whose boundaries fall inside characters.
      const bytes = Buffer.from(text);
      ws.send(bytes.subarray(0, 100_001), { binary: false, fin: false });
      ws.send(bytes.subarray(100_001, 200_003), { binary: false, fin: false });
      ws.send(bytes.subarray(200_003), { binary: false, fin: true });
    });
    const client = resources.track(new WebSocket(url, { codec, streamMessages: true }));
    const seen = collectPieces(client);
    await expect.poll(() => seen.pieces.at(-1)?.last ?? false, { timeout: 10_000 }).toBe(true);
    expect(seen.messages).toBe(0);
    expect(seen.pieces.every((p) => !p.binary)).toBe(true);
    expect(Buffer.concat(seen.pieces.map((p) => p.data)).toString('utf8')).toBe(text);
  });

  it('§10.4 maxPayload still bounds a streamed message: 1009 once it passes the limit', async () => {
    const { wss, url } = await startServer(resources, { codec, streamMessages: true, maxPayload: 1024 * 1024 });
    const serverSide = new Promise<WebSocket>((resolve) => wss.on('connection', resolve));
    const client = await openClient(resources, url, undefined, { codec });
    const ws = await serverSide;
    const seen = collectPieces(ws);
    const closed = closeOf(client);
    // Fragments of 256 KiB each: no single frame is over the limit, the message is.
    for (let i = 0; i < 8; i++) client.send(pattern(256 * 1024), { fin: i === 7 });
    const { code } = await closed;
    expect(code).toBe(CloseCode.MESSAGE_TOO_BIG);
    const delivered = seen.pieces.reduce((n, p) => n + p.data.length, 0);
    expect(delivered).toBeLessThanOrEqual(1024 * 1024);
    expect(seen.pieces.some((p) => p.last)).toBe(false);
  });

  it('§8.1 invalid UTF-8 in a streamed text message fails with 1007 when the byte arrives', async () => {
    const { wss, port } = await startServer(resources, { codec, streamMessages: true });
    const serverSide = new Promise<WebSocket>((resolve) => wss.on('connection', resolve));
    const peer = await rawConnect(resources, port);
    peer.write(upgradeRequest());
    await readUntil(peer, (received) => received.includes('\r\n\r\n'));
    const ws = await serverSide;
    const seen = collectPieces(ws);
    const failed = nextEvent<[Error & { code: string; closeCode: number }]>(ws, 'error');
    // A well-formed first fragment, then one whose bytes can never be UTF-8 (an overlong
    // NUL); the message is not finished, so only fail-fast can catch it.
    peer.write(clientFrame(0x1, Buffer.from('valid start, '), false));
    await expect.poll(() => seen.pieces.length).toBe(1);
    peer.write(clientFrame(0x0, Buffer.from([0xc0, 0x80]), false));
    const [error] = await failed;
    expect(error.closeCode).toBe(CloseCode.INVALID_PAYLOAD);
    expect(error.code).toBe('WS_ERR_INVALID_UTF8');
    expect(seen.pieces.length).toBe(1);
  });
});
