/**
 * The Node floor: the least a WebSocket server on `net.Socket` can spend per message, as the
 * reference every end-to-end cell is measured against.
 *
 * It completes the RFC 6455 §4.2 opening handshake, then serves a benchmark client that sends
 * unfragmented frames of one payload size and one opcode, known from the request URL
 * (`?size=N&type=binary|text`, or the server's defaults). For every complete client frame it
 * writes one server frame of the same size and opcode, built once when the first connection
 * asks for that size and shared by every connection. It unmasks nothing, validates no UTF-8
 * and allocates nothing per message: a masked client frame of payload n is
 * `2 + (0 | 2 | 8) + 4 + n` bytes on the wire (§5.2), so it counts bytes. Per read it does one
 * thing per frame boundary in the read — compare the frame's first byte with the one expected
 * (FIN and the opcode) — and then one `socket.write` per completed frame: one read and one
 * write per message, as a server that answers each message as it comes spends. (With
 * `'batch'` writes it makes one `socket.write` of as many pre-built frames as frames completed
 * instead: a stricter bound where reads carry many frames.) That byte is what tells the client's Close frame (§5.5.1) from a data frame: the
 * floor answers it with a Close frame of its own (1000) and ends the TCP connection, as the
 * server should (§7.1.1). Any other first byte (a ping, a fragment, another size) is not what
 * the floor serves: it closes with 1002 at once rather than miscount.
 *
 * It ignores write backpressure: a closed-loop client keeps at most its depth in flight, which
 * bounds what the socket can queue.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { binaryPayload, textPayload } from '../../../src/cli/bench/payload.js';

/** What the floor replies with when the request does not say. */
export interface FloorOptions {
  readonly size: number;
  readonly type: 'binary' | 'text';
}

/** One write per read carrying every reply the read asked for, or one write per reply. */
export type FloorWrites = 'batch' | 'frame';

/** Open WebSocket connections and frames replied to, for the memory benchmark's checks. */
export interface FloorStats {
  connections: number;
  frames: number;
}

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A request head larger than this is refused (431): nothing the benchmark sends comes close. */
const MAX_HEAD_BYTES = 8192;

/** The largest payload the floor serves, as a benchmark message may be: 256 MiB. */
const MAX_PAYLOAD = 256 * 1024 * 1024;

/** Bytes of pre-built server frames one write may carry: more frames go in further writes. */
const BATCH_BYTES = 4 * 1024 * 1024;

/** The most frames one write carries. */
const MAX_BATCH_FRAMES = 256;

/** First byte of a frame with FIN set (§5.2). */
const FIN = 0x80;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;

/** A Close frame with status 1000 (§7.4.1), and one with 1002 (protocol error): unmasked, server to client. */
const CLOSE_NORMAL = Buffer.from([FIN | OPCODE_CLOSE, 2, 0x03, 0xe8]);
const CLOSE_PROTOCOL_ERROR = Buffer.from([FIN | OPCODE_CLOSE, 2, 0x03, 0xea]);

/** Bytes of a frame header: 2, plus the extended length (§5.2), plus the masking key for a client frame. */
export function frameHeaderBytes(payload: number, masked: boolean): number {
  return 2 + (payload < 126 ? 0 : payload < 65536 ? 2 : 8) + (masked ? 4 : 0);
}

/** The frames the floor replies with for one payload size and type, shared by all connections. */
class ReplyFrames {
  /** The first byte every client frame of this kind starts with. */
  readonly firstByte: number;
  /** Wire size of one masked client frame. */
  readonly clientFrameBytes: number;
  readonly #serverFrameBytes: number;
  /** `MAX_BATCH_FRAMES` or fewer copies of the server frame back to back. */
  readonly #batch: Buffer;
  readonly #batchFrames: number;
  /** `#views[k]`: the first k frames of the batch, made the first time k frames are written at once. */
  readonly #views: Buffer[] = [];

  constructor(size: number, type: 'binary' | 'text') {
    const opcode = type === 'text' ? OPCODE_TEXT : OPCODE_BINARY;
    this.firstByte = FIN | opcode;
    this.clientFrameBytes = frameHeaderBytes(size, true) + size;
    const header = frameHeaderBytes(size, false);
    this.#serverFrameBytes = header + size;
    const frame = Buffer.alloc(this.#serverFrameBytes);
    frame[0] = this.firstByte;
    if (size < 126) {
      frame[1] = size;
    } else if (size < 65536) {
      frame[1] = 126;
      frame.writeUInt16BE(size, 2);
    } else {
      frame[1] = 127;
      frame.writeBigUInt64BE(BigInt(size), 2);
    }
    // The same bytes as the benchmark client sends: a text reply is valid UTF-8 for it to check.
    frame.set(type === 'text' ? textPayload(size) : binaryPayload(size), header);
    this.#batchFrames = Math.max(1, Math.min(MAX_BATCH_FRAMES, Math.floor(BATCH_BYTES / this.#serverFrameBytes)));
    if (this.#batchFrames === 1) {
      this.#batch = frame;
    } else {
      this.#batch = Buffer.alloc(this.#batchFrames * this.#serverFrameBytes);
      for (let i = 0; i < this.#batchFrames; i++) frame.copy(this.#batch, i * this.#serverFrameBytes);
    }
  }

  /** Write `count` server frames: one write while they fit in the batch, or one per frame. */
  write(socket: Socket, count: number, writes: FloorWrites): void {
    if (writes === 'frame') {
      const frame = this.#views[1] ?? this.#view(1);
      for (let i = 0; i < count; i++) socket.write(frame);
      return;
    }
    while (count > 0) {
      const k = Math.min(count, this.#batchFrames);
      socket.write(this.#views[k] ?? this.#view(k));
      count -= k;
    }
  }

  #view(k: number): Buffer {
    const view = this.#batch.subarray(0, k * this.#serverFrameBytes);
    this.#views[k] = view;
    return view;
  }
}

/** One connection past its handshake: where the next frame boundary is. */
class FloorConnection {
  readonly #socket: Socket;
  readonly #frames: ReplyFrames;
  readonly #stats: FloorStats;
  readonly #writes: FloorWrites;
  /** Bytes of the current client frame already read (0: the next byte starts a frame). */
  #into = 0;
  #done = false;

  constructor(socket: Socket, frames: ReplyFrames, stats: FloorStats, writes: FloorWrites) {
    this.#socket = socket;
    this.#frames = frames;
    this.#stats = stats;
    this.#writes = writes;
  }

  opened(): void {
    this.#stats.connections++;
  }

  closed(): void {
    this.#stats.connections--;
  }

  receive(chunk: Buffer): void {
    if (this.#done) return;
    const frameBytes = this.#frames.clientFrameBytes;
    const length = chunk.length;
    let at = 0;
    let complete = 0;
    if (this.#into > 0) {
      const rest = frameBytes - this.#into;
      if (length < rest) {
        this.#into += length;
        return;
      }
      at = rest;
      complete = 1;
      this.#into = 0;
    }
    let ending: Buffer | null = null;
    while (at < length) {
      const first = chunk[at]!;
      if (first !== this.#frames.firstByte) {
        ending = first === (FIN | OPCODE_CLOSE) ? CLOSE_NORMAL : CLOSE_PROTOCOL_ERROR;
        break;
      }
      if (length - at < frameBytes) {
        this.#into = length - at;
        break;
      }
      at += frameBytes;
      complete++;
    }
    if (complete > 0) {
      this.#frames.write(this.#socket, complete, this.#writes);
      this.#stats.frames += complete;
    }
    if (ending !== null) {
      this.#done = true;
      this.#socket.end(ending);
    }
  }
}

/** Sec-WebSocket-Accept for a key (§4.2.2 step 5.4). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** The value of header `name` (lower case) in a request head, or undefined. */
function headerValue(head: string, name: string): string | undefined {
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** The reply size and type a request asks for (`?size=&type=`), or null if they are not valid. */
function replyOf(target: string, defaults: FloorOptions): FloorOptions | null {
  const query = new URL(target, 'http://floor').searchParams;
  const size = query.has('size') ? Number(query.get('size')) : defaults.size;
  const type = query.get('type') ?? defaults.type;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAYLOAD || (type !== 'binary' && type !== 'text')) return null;
  return { size, type };
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

function refuse(socket: Socket, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** A floor server (not listening yet); `stats` counts what it serves. */
export function createFloorServer(defaults: FloorOptions, stats: FloorStats = { connections: 0, frames: 0 }, writes: FloorWrites = 'frame'): Server {
  const framesByKind = new Map<string, ReplyFrames>();
  const framesOf = (reply: FloorOptions): ReplyFrames => {
    const kind = `${reply.type}:${reply.size}`;
    let frames = framesByKind.get(kind);
    if (frames === undefined) framesByKind.set(kind, (frames = new ReplyFrames(reply.size, reply.type)));
    return frames;
  };
  return createServer((socket) => {
    socket.on('error', destroyOnError);
    let head: Buffer | null = null;
    const onHead = (chunk: Buffer): void => {
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD_BYTES) refuse(socket, '431 Request Header Fields Too Large');
        return;
      }
      socket.off('data', onHead);
      const request = head;
      // Nothing of the request outlives the handshake: this scope's variables would otherwise
      // stay reachable from the connection's listeners.
      head = null;
      const text = request.subarray(0, end).toString('latin1');
      const reply = validRequest(text, defaults);
      if (reply === null) refuse(socket, '400 Bad Request');
      else open(socket, reply.accept, new FloorConnection(socket, framesOf(reply), stats, writes), request.subarray(end + 4));
    };
    socket.on('data', onHead);
  });
}

/**
 * The reply a valid opening handshake asks for, with its Sec-WebSocket-Accept; null when the
 * request is not one (§4.2.1: a GET with Upgrade: websocket, Connection: Upgrade, version 13
 * and a 16-byte key in base64) or asks for a reply the floor does not serve.
 */
function validRequest(head: string, defaults: FloorOptions): (FloorOptions & { readonly accept: string }) | null {
  const [method, target] = head.slice(0, head.indexOf('\r\n')).split(' ');
  const key = headerValue(head, 'sec-websocket-key');
  if (
    method !== 'GET' ||
    target === undefined ||
    headerValue(head, 'upgrade')?.toLowerCase() !== 'websocket' ||
    !/(^|,)\s*upgrade\s*(,|$)/i.test(headerValue(head, 'connection') ?? '') ||
    headerValue(head, 'sec-websocket-version') !== '13' ||
    key === undefined ||
    !/^[A-Za-z0-9+/]{21}[AQgw]==$/.test(key)
  ) {
    return null;
  }
  const reply = replyOf(target, defaults);
  return reply === null ? null : { ...reply, accept: acceptKey(key) };
}

/** Accept the connection and serve it; `rest` is what arrived after the request head. */
function open(socket: Socket, accept: string, connection: FloorConnection, rest: Buffer): void {
  socket.setNoDelay(true);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  connection.opened();
  socket.once('close', () => connection.closed());
  socket.on('data', (chunk: Buffer) => connection.receive(chunk));
  if (rest.length > 0) connection.receive(rest);
}
