/**
 * The streams faces of a `WebSocket`, for code that prefers pulling to listening:
 *
 * - `messages(ws)`: an async iterator of messages (`for await (const message of ws)`), text as
 *   strings, binary as the socket's `binaryType` says;
 * - `createWebSocketStream(ws)`: a Node `Duplex` whose writes become messages and whose reads
 *   are message data, with `ws`'s `createWebSocketStream` semantics;
 * - `sendMessageStream(ws, chunks)`: one message sent fragment by fragment (RFC 6455 §5.4) as
 *   its chunks are produced, so a large message never has to exist whole in memory.
 *
 * Backpressure, everywhere: a reader that falls behind pauses the socket (`ws.pause()`, so
 * the kernel's receive window closes and the peer slows down) and resumes it once it catches
 * up; a writer waits while `send` reports its buffer full (`false`) until `'drain'`.
 *
 * These functions use only the socket's public `ws` face (`on`, `send`, `pause`, `resume`,
 * `close`, `terminate`, `readyState`, `bufferedAmount`), so they hold no protocol logic.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { ReadyState } from '../shared/constants.js';
import { InvalidArgumentError, InvalidStateError } from '../shared/errors.js';
import type { WebSocket } from './websocket.js';

export { DEFAULT_MESSAGES_HIGH_WATER_MARK, DEFAULT_MESSAGES_HIGH_WATER_MARK_BYTES, messages, type Message, type MessageIterator, type MessagesOptions } from './message-iterator.js';

/** The data of a `'message'` event, as the socket's `binaryType` shapes it. */
type MessageData = Buffer | ArrayBuffer | Blob | Buffer[];

// ---------------------------------------------------------------------------------------------
// Duplex
// ---------------------------------------------------------------------------------------------

/**
 * Wait for `ws` to open, then run `then`; if it closes (or fails) first, run `failed`.
 */
function whenOpen(ws: WebSocket, then: () => void, failed: () => void): void {
  const onOpen = (): void => {
    ws.off('close', onClose);
    then();
  };
  const onClose = (): void => {
    ws.off('open', onOpen);
    failed();
  };
  ws.once('open', onOpen);
  ws.once('close', onClose);
}

/** Message data for a byte stream: `Buffer`s, whatever `binaryType` says (a `Blob` cannot be read synchronously). */
function streamChunk(data: MessageData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new InvalidStateError(`a stream cannot read messages as ${typeof Blob === 'function' && data instanceof Blob ? 'Blobs' : typeof data}: set binaryType to 'nodebuffer'`);
}

/**
 * Wrap `ws` in a Node `Duplex`, as `ws`'s `createWebSocketStream` does:
 *
 * - every chunk written is sent as one message (a `Buffer` as binary; a string, with
 *   `decodeStrings: false`, as text); a write completes once `send` has room for more
 *   (`send` returned true, or `'drain'` followed);
 * - every message received is pushed as one chunk (text too, as bytes; with
 *   `readableObjectMode`, text as a string); when the reader falls behind (`push` returns
 *   false) the socket is paused until `_read` asks for more;
 * - `end()` starts the closing handshake; the readable side ends when the connection closes;
 * - `destroy()` terminates the connection unless it already failed; a connection error
 *   destroys the stream with that error.
 *
 * Writes made while the socket is CONNECTING wait for it to open. `options` go to the
 * `Duplex` constructor, except the object modes of the writable side and `autoDestroy` /
 * `emitClose`, which the stream manages.
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  // A connection error already closes the connection (with a close frame); terminating it on
  // top of that could cut that frame off.
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });

  const onMessage = (data: MessageData, isBinary: boolean): void => {
    let chunk: Buffer | string;
    try {
      chunk = streamChunk(data);
    } catch (error) {
      duplex.destroy(error as Error);
      return;
    }
    if (!isBinary && duplex.readableObjectMode) chunk = chunk.toString('utf8');
    if (!duplex.push(chunk)) ws.pause();
  };
  ws.on('message', onMessage);

  ws.once('error', (error: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(error);
  });

  ws.once('close', () => {
    ws.off('message', onMessage);
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = (error, callback): void => {
    if (ws.readyState === ReadyState.CLOSED) {
      callback(error);
      process.nextTick(() => duplex.emit('close'));
      return;
    }
    let reported = false;
    ws.once('error', (wsError: Error) => {
      reported = true;
      callback(wsError);
    });
    ws.once('close', () => {
      if (!reported) callback(error);
      process.nextTick(() => duplex.emit('close'));
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback): void => {
    if (ws.readyState === ReadyState.CONNECTING) {
      whenOpen(ws, () => duplex._final(callback), () => callback());
      return;
    }
    if (ws.readyState === ReadyState.CLOSED) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
      return;
    }
    // The readable side ends (push(null)) when the connection closes; finishing waits for it
    // too, so 'finish' means the closing handshake is over.
    ws.once('close', () => callback());
    ws.close();
  };

  duplex._read = (): void => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer | string, _encoding, callback): void => {
    if (ws.readyState === ReadyState.CONNECTING) {
      whenOpen(
        ws,
        () => duplex._write(chunk, _encoding, callback),
        () => callback(new InvalidStateError('the WebSocket closed before it opened')),
      );
      return;
    }
    sendWithBackpressure(ws, chunk, typeof chunk !== 'string', true, callback);
  };

  // Both sides done (the connection closed, the reader saw the end): release the stream.
  const destroyWhenBothEnded = (): void => {
    if (!duplex.destroyed && duplex.readableEnded && duplex.writableFinished) duplex.destroy();
  };
  duplex.on('end', destroyWhenBothEnded);
  duplex.on('finish', destroyWhenBothEnded);
  duplex.on('error', function onError(this: Duplex, error: Error) {
    duplex.off('error', onError);
    duplex.destroy();
    // Without another listener, keep Node's behaviour: an unhandled 'error' throws.
    if (duplex.listenerCount('error') === 0) duplex.emit('error', error);
  });
  return duplex;
}

/**
 * Send one message or fragment and call `callback` once the socket can take more: at once
 * when `send` returned true, else on `'drain'` — or with an error if the send failed or the
 * connection closed first. Shared by the streams faces; not part of the package's surface.
 *
 * @internal
 */
export function sendWithBackpressure(ws: WebSocket, data: Uint8Array | string, binary: boolean, fin: boolean, callback: (error?: Error | null) => void): void {
  let done = false;
  const finish = (error?: Error | null): void => {
    if (done) return;
    done = true;
    ws.off('drain', onDrain);
    ws.off('close', onClose);
    callback(error);
  };
  const onDrain = (): void => finish();
  const onClose = (): void => finish(new InvalidStateError('the WebSocket closed before the data could be sent'));
  const hasRoom = ws.send(data, { binary, fin }, (error) => {
    if (error) finish(error);
  });
  if (hasRoom) {
    // The send callback may still report a failure later: by then the write is done, and the
    // connection's own 'error' and 'close' tell the rest.
    finish();
    return;
  }
  if (ws.readyState !== ReadyState.OPEN) return; // the send callback reports why
  ws.on('drain', onDrain);
  ws.on('close', onClose);
}

// ---------------------------------------------------------------------------------------------
// One message, fragment by fragment
// ---------------------------------------------------------------------------------------------

/** What `sendMessageStream` takes: the message's chunks, in order. */
export type MessageChunks =
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>
  | ReadableStream<string | Uint8Array>;

/** Options of `sendMessageStream`. */
export interface SendMessageStreamOptions {
  /** Send a binary message; default: text if the first chunk is a string, else binary. */
  readonly binary?: boolean;
  /** Abort the message: the connection is closed (see `sendMessageStream`). */
  readonly signal?: AbortSignal;
}

/** The chunks of `source` as an async iterator, whatever kind of source it is. */
async function* chunksOf(source: MessageChunks): AsyncGenerator<string | Uint8Array> {
  if (typeof (source as ReadableStream).getReader === 'function') {
    const reader = (source as ReadableStream<string | Uint8Array>).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;
}

/**
 * Send one message whose data is produced piece by piece, each chunk as one frame of a
 * fragmented message (RFC 6455 §5.4): the first frame carries the opcode, the others are
 * continuations, the last has FIN set. The whole message never exists in memory at once;
 * between chunks it waits while the socket's buffer is full (backpressure), so a fast source
 * cannot outrun the network. Empty chunks are skipped (an empty source sends an empty message).
 *
 * Text chunks may be strings or bytes; bytes may split a character between chunks (the peer
 * validates the message as a whole, §8.1). Until the returned promise settles, send nothing
 * else on `ws`: another message cannot start inside this one (§5.4).
 *
 * A fragmented message cannot be withdrawn once started, so if the source throws, `signal`
 * aborts, or a chunk is not a string or bytes, the connection is closed (1011 for a failing
 * source, 1000 for an abort) and the promise rejects.
 *
 * @returns a promise that resolves once the last frame has been written to the socket.
 * @throws (rejects) InvalidStateError if the connection is not open or closes midway.
 */
export async function sendMessageStream(ws: WebSocket, source: MessageChunks, options: SendMessageStreamOptions = {}): Promise<void> {
  const { signal } = options;
  signal?.throwIfAborted();
  if (ws.readyState !== ReadyState.OPEN) {
    throw new InvalidStateError(`cannot send: the WebSocket is not open (readyState ${ws.readyState})`);
  }
  let binary = options.binary;
  let started = false;
  // One chunk is held back so that the last one can carry FIN.
  let held: Uint8Array | string | null = null;
  const sendHeld = (fin: boolean): Promise<void> => {
    const data = held ?? Buffer.alloc(0);
    held = null;
    started = true;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (fin) {
        // The promise means "written": wait for the last frame's own callback.
        ws.send(data, { binary, fin }, (error) => settle(error));
      } else {
        sendWithBackpressure(ws, data, binary!, false, settle);
      }
    });
  };
  try {
    for await (const chunk of chunksOf(source)) {
      signal?.throwIfAborted();
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw new InvalidArgumentError(`a message chunk must be a string or a Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`);
      }
      if (chunk.length === 0) continue;
      binary ??= typeof chunk !== 'string';
      if (held !== null) await sendHeld(false);
      held = chunk;
    }
    signal?.throwIfAborted();
    binary ??= false;
    await sendHeld(true);
  } catch (error) {
    if (started && ws.readyState === ReadyState.OPEN) {
      // The peer holds a message it can never see finished: end the connection, saying why.
      const aborted = signal?.aborted === true && error === signal.reason;
      ws.close(aborted ? 1000 : 1011, aborted ? 'message aborted' : '');
    }
    throw error;
  }
}
