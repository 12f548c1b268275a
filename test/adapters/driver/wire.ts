/**
 * What a raw peer of the driver contract needs on the wire, for either binding: the bytes of
 * its frames (masked when it plays the client), the opening handshake by hand, permessage-
 * deflate done with node:zlib outside the library, and an inbox that turns whatever chunks
 * arrive into an HTTP head and then complete frames.
 */
import { createHash } from 'node:crypto';
import { constants as zlib, deflateRawSync, inflateRawSync } from 'node:zlib';
import { concatBytes, utf8Encode } from '../../../src/shared/bytes.js';
import { Opcode, WEBSOCKET_GUID } from '../../../src/shared/constants.js';
import { closeFrame, frame, type FrameOptions, type ReadFrame, readClose, readFrames, text } from '../../helpers/frames.js';
import { EventQueue } from '../../interop/events.js';
import type { RawPeer } from './environment.js';

/** Which end a raw peer plays: a client masks every frame (RFC 6455 §5.1), a server none. */
export type PeerSide = 'client' | 'server';

/** What a raw client offers, and a raw server answers, for permessage-deflate: no context either way, so each message inflates alone. */
export const DEFLATE_PARAMS = 'permessage-deflate; client_no_context_takeover; server_no_context_takeover';

/** RFC 7692 §7.2.1: the four octets a sync flush ends with, removed from a compressed message. */
const SYNC_TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** A message compressed as permessage-deflate sends it (RFC 7692 §7.2.1), with node:zlib. */
export function deflateMessage(payload: Uint8Array | string): Uint8Array {
  const data = typeof payload === 'string' ? utf8Encode(payload) : payload;
  const flushed = deflateRawSync(data, { finishFlush: zlib.Z_SYNC_FLUSH });
  return new Uint8Array(flushed.subarray(0, flushed.length - SYNC_TAIL.length));
}

/** The payload of a compressed message (RFC 7692 §7.2.2: the four octets appended again). */
export function inflateMessage(payload: Uint8Array): Uint8Array {
  // A sync-flushed message has no final block: inflate what is there.
  return new Uint8Array(inflateRawSync(concatBytes([payload, SYNC_TAIL]), { finishFlush: zlib.Z_SYNC_FLUSH }));
}

/** One frame as `side` sends it. */
export function peerFrame(side: PeerSide, opcode: number, payload: Uint8Array | string = new Uint8Array(0), options: FrameOptions = {}): Uint8Array {
  return frame(opcode, payload, { ...options, mask: side === 'client' });
}

/** A text message as `side` sends it, compressed (RSV1) when `deflate`. */
export function peerText(side: PeerSide, message: string, deflate: boolean): Uint8Array {
  return deflate ? peerFrame(side, Opcode.TEXT, deflateMessage(message), { rsv: 4 }) : peerFrame(side, Opcode.TEXT, message);
}

/** A close frame as `side` sends it. */
export function peerClose(side: PeerSide, code?: number, reason = ''): Uint8Array {
  return closeFrame(code, reason, { mask: side === 'client' });
}

/** The Sec-WebSocket-Accept value for a request head's key (RFC 6455 §4.2.2). */
function acceptFor(requestHead: string): string {
  const key = /^sec-websocket-key:[ \t]*(\S+)[ \t]*$/im.exec(requestHead)?.[1];
  if (key === undefined) throw new Error(`no Sec-WebSocket-Key in the request: ${JSON.stringify(requestHead.slice(0, 200))}`);
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** A valid opening request, offering permessage-deflate when `deflate`. */
export function openingRequest(deflate: boolean): Uint8Array {
  const lines = [
    'GET / HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...(deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_PARAMS}`] : []),
  ];
  return utf8Encode(`${lines.join('\r\n')}\r\n\r\n`);
}

/** The 101 answer to `requestHead`, agreeing to permessage-deflate when `deflate`. */
export function switchingProtocols(requestHead: string, deflate: boolean): Uint8Array {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptFor(requestHead)}`,
    ...(deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_PARAMS}`] : []),
  ];
  return utf8Encode(`${lines.join('\r\n')}\r\n\r\n`);
}

/** The byte length of the frame at `bytes[at..]`, or 0 while it is incomplete. */
function frameLengthAt(bytes: Uint8Array, at: number): number {
  const available = bytes.length - at;
  if (available < 2) return 0;
  const field = bytes[at + 1]! & 0x7f;
  const extended = field === 126 ? 2 : field === 127 ? 8 : 0;
  if (available < 2 + extended) return 0;
  let length = field;
  if (extended > 0) {
    length = 0;
    for (let i = 0; i < extended; i++) length = length * 256 + bytes[at + 2 + i]!;
  }
  const total = 2 + extended + ((bytes[at + 1]! & 0x80) !== 0 ? 4 : 0) + length;
  return available >= total ? total : 0;
}

const HEAD_END = utf8Encode('\r\n\r\n');

function indexOfHeadEnd(bytes: Uint8Array): number {
  outer: for (let i = 0; i + HEAD_END.length <= bytes.length; i++) {
    for (let j = 0; j < HEAD_END.length; j++) if (bytes[i + j] !== HEAD_END[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * What a raw peer received: first an HTTP head (the request or the 101), then frames, from
 * chunks split anywhere.
 */
export class WireInbox {
  /** Every complete frame after the head, in order. */
  readonly frames = new EventQueue<ReadFrame>();
  /** The HTTP head (without its blank line). */
  readonly head: Promise<string>;
  /** Bytes received after the head. */
  received = 0;
  #resolveHead!: (head: string) => void;
  #rejectHead!: (error: Error) => void;
  #inHead = true;
  #pending: Uint8Array = new Uint8Array(0);

  constructor() {
    this.head = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
    this.head.catch(() => {});
  }

  push(chunk: Uint8Array): void {
    let bytes = this.#pending.length === 0 ? chunk : concatBytes([this.#pending, chunk]);
    if (this.#inHead) {
      const end = indexOfHeadEnd(bytes);
      if (end === -1) {
        this.#pending = bytes;
        return;
      }
      this.#inHead = false;
      this.#resolveHead(new TextDecoder('latin1').decode(bytes.subarray(0, end)));
      bytes = bytes.subarray(end + HEAD_END.length);
      this.received += bytes.length;
    } else {
      this.received += chunk.length;
    }
    let at = 0;
    for (let length = frameLengthAt(bytes, at); length > 0; length = frameLengthAt(bytes, at)) {
      this.frames.push(readFrames(bytes.subarray(at, at + length))[0]!);
      at += length;
    }
    this.#pending = bytes.slice(at);
  }

  /** The connection closed: waiters for more fail. */
  end(): void {
    this.#rejectHead(new Error('the connection closed before the end of the HTTP head'));
    this.frames.end(new Error('the connection closed'));
  }
}

/** What every raw peer shares: an inbox for what it reads, and the moment its connection closed. */
export abstract class InboxPeer {
  readonly closed: Promise<void>;
  isClosed = false;
  protected readonly inbox = new WireInbox();
  #resolveClosed!: () => void;

  constructor() {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get head(): Promise<string> {
    return this.inbox.head;
  }
  get frames(): EventQueue<ReadFrame> {
    return this.inbox.frames;
  }
  get received(): number {
    return this.inbox.received;
  }

  /** The connection is gone: nothing more will be read. */
  protected closedNow(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.inbox.end();
    this.#resolveClosed();
  }
}

/** After a test: detach its listeners, terminate (or close) the faces it opened, destroy its raw peers. */
export function closeOpened(detach: Array<() => void>, opened: Array<{ terminate(): void } | { close(): void }>, peers: RawPeer[]): void {
  for (const off of detach.splice(0)) off();
  for (const item of opened.splice(0)) {
    if ('terminate' in item) item.terminate();
    else item.close();
  }
  for (const peer of peers.splice(0)) peer.destroy();
}

/**
 * A frame as one line, for comparing what a peer saw: `text hello`, `text hello deflated`
 * (it came compressed), `binary 3 bytes`, `close 1000 bye`, `ping`, `pong`, `continuation`.
 */
export function describeFrame(received: ReadFrame, withReason = true): string {
  const deflated = (received.rsv & 4) !== 0;
  const payload = deflated ? inflateMessage(received.payload) : received.payload;
  const suffix = deflated ? ' deflated' : '';
  switch (received.opcode) {
    case Opcode.TEXT:
      return `text ${text(payload)}${suffix}`;
    case Opcode.BINARY:
      return `binary ${payload.length} bytes${suffix}`;
    case Opcode.CLOSE: {
      const { code, reason } = readClose(payload);
      return withReason ? `close ${String(code)} ${reason}` : `close ${String(code)}`;
    }
    case Opcode.PING:
      return 'ping';
    case Opcode.PONG:
      return 'pong';
    default:
      return `opcode ${received.opcode}`;
  }
}
