/**
 * The `CompressionStream` engine of permessage-deflate (RFC 7692), for browsers, workers and
 * any runtime with the WHATWG Compression Streams and the `deflate-raw` format.
 *
 * What it can honour, and so what it negotiates
 * ---------------------------------------------
 * A `CompressionStream` has no flush and no window option: its output only ends when the
 * stream is closed, with a block that has BFINAL set, and its window is always 15 bits. So:
 * - every outgoing message gets a stream of its own, closed at the message's end (its
 *   compressed data ends with a final block, which permessage-deflate follows with the octet
 *   RFC 7692 §7.2.3.4 shows). A peer must then not expect context from one message to the
 *   next: the client offers `client_no_context_takeover`, the server answers with
 *   `server_no_context_takeover`, and where the peer does not agree (or imposes a window under
 *   15 bits) this end sends uncompressed and still decompresses;
 * - a `DecompressionStream` cannot say when it has produced all the output of the bytes it was
 *   given, so it cannot be kept across messages either: the client offers
 *   `server_no_context_takeover` and the server answers with `client_no_context_takeover`, and
 *   each incoming message is decompressed by a stream of its own, ended with an empty final
 *   block so that the stream closes cleanly.
 *
 * What RFC 7692 §7.2 does to the ends of messages (the `00 00 ff ff`), permessage-deflate does
 * (src/protocol/extensions/permessage-deflate.ts); this engine only runs the streams.
 *
 * Memory: the compressed payload is fed in slices small enough that even the densest DEFLATE
 * (about 1032:1) cannot produce more than the message may still have, so a bomb is stopped at
 * the limit like with zlib.
 */
import type { DecodeOutput } from '../../protocol/extension.js';
import { invalidDeflateData, type DeflateEngine, type RawDeflater, type RawInflater } from '../../protocol/extensions/deflate-engine.js';
import { createPerMessageDeflate, type PerMessageDeflateNegotiators, type PerMessageDeflateOptions } from '../../protocol/extensions/permessage-deflate.js';

/**
 * The largest ratio of decompressed to compressed size DEFLATE allows: a 258-byte match in
 * as little as 2 bits gives 1032:1 (RFC 1951 §3.2.5). Slices are sized by it.
 */
const MAX_DEFLATE_RATIO = 1032;
/** The largest slice of compressed input fed at once: 16 KiB, at most about 16 MiB out. */
const MAX_SLICE = 16 * 1024;
/** An empty stored block with BFINAL set: ends a decompression stream cleanly (RFC 1951 §3.2.4). */
const FINAL_EMPTY_BLOCK = new Uint8Array([0x01, 0x00, 0x00, 0xff, 0xff]);
/**
 * How implementations word the refusal of bytes after the end of a DEFLATE stream (Chromium:
 * "Junk found after end of compressed data."). Node ignores such bytes.
 */
const AFTER_END_MESSAGE = /junk|after (?:the )?end/i;

/** Whether this runtime has `CompressionStream` and `DecompressionStream` with `deflate-raw`. */
export function hasDeflateRawStreams(): boolean {
  if (typeof CompressionStream !== 'function' || typeof DecompressionStream !== 'function') return false;
  try {
    new CompressionStream('deflate-raw');
    new DecompressionStream('deflate-raw');
    return true;
  } catch {
    return false;
  }
}

/**
 * A permessage-deflate engine over `CompressionStream`/`DecompressionStream('deflate-raw')`.
 * See the module comment for what it negotiates.
 */
export function createCompressionStreamEngine(): DeflateEngine {
  return {
    capabilities: { minCompressWindowBits: 15, compressContextTakeover: false, decompressContextTakeover: false },
    createDeflater: () => new StreamDeflater(),
    createInflater: () => new StreamInflater(),
  };
}

/**
 * The permessage-deflate negotiators over Compression Streams, or null when the runtime lacks
 * them (then the extension is simply not offered or accepted).
 *
 * @example A client over a WHATWG stream pair (a runtime's TCP socket, a tunnel)
 * ```ts
 * import { perMessageDeflateWeb, StreamWebSocket } from 'wasmsocket/web';
 * const deflate = perMessageDeflateWeb();
 * const ws = StreamWebSocket.connect({ readable, writable }, 'ws://example.com/', {
 *   extensions: deflate === null ? [] : [deflate.client],
 * });
 * ```
 * @throws InvalidArgumentError for an invalid option, or a window under 15 bits (which this
 *   engine cannot keep to).
 */
export function perMessageDeflateWeb(options: PerMessageDeflateOptions = {}): PerMessageDeflateNegotiators | null {
  if (!hasDeflateRawStreams()) return null;
  return createPerMessageDeflate(createCompressionStreamEngine(), options);
}

function ignore(): void {}

/** The stream compressing the message being sent, and its output not yet returned. */
interface OutgoingStream {
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  chunks: Uint8Array[];
  /** Settles when the readable side has ended (or failed). */
  readonly reading: Promise<void>;
}

class StreamDeflater implements RawDeflater {
  // A CompressionStream's output ends only when it is closed, with a block that has BFINAL set.
  readonly messageEnd = 'final-block';
  #current: OutgoingStream | null = null;
  #disposed = false;

  async deflate(data: Uint8Array, end: boolean): Promise<readonly Uint8Array[]> {
    if (this.#disposed) throw new Error('permessage-deflate stream disposed while a message was being compressed');
    const current = (this.#current ??= this.#open());
    if (data.length > 0) await current.writer.write(data);
    if (!end) return this.#take(current);
    await current.writer.close();
    await current.reading;
    this.#current = null;
    return this.#take(current);
  }

  dispose(): void {
    this.#disposed = true;
    const current = this.#current;
    this.#current = null;
    current?.writer.abort().catch(ignore);
  }

  #open(): OutgoingStream {
    const stream = new CompressionStream('deflate-raw');
    const writer = stream.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    writer.closed.catch(ignore);
    const current: { writer: typeof writer; chunks: Uint8Array[]; reading: Promise<void> } = { writer, chunks: [], reading: Promise.resolve() };
    const reader = stream.readable.getReader();
    current.reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        current.chunks.push(value);
      }
    })();
    // A failure also fails the pending write or close, which reports it.
    current.reading.catch(ignore);
    return current;
  }

  #take(current: OutgoingStream): readonly Uint8Array[] {
    const out = current.chunks;
    current.chunks = [];
    return out;
  }
}

/** The stream decompressing the message being received. */
interface IncomingStream {
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly reading: Promise<void>;
  output: DecodeOutput;
  /** The output was refused: the message is over its limit, or the connection failed. */
  refused: boolean;
}

class StreamInflater implements RawInflater {
  #current: IncomingStream | null = null;
  #disposed = false;

  async inflate(data: Uint8Array, last: Uint8Array | null, output: DecodeOutput): Promise<void> {
    if (this.#disposed) throw new Error('permessage-deflate stream disposed while a message was being decompressed');
    const current = (this.#current ??= this.#open(output));
    current.output = output;
    let at = 0;
    while (at < data.length) {
      const size = Math.max(1, Math.min(MAX_SLICE, Math.floor(output.remaining / MAX_DEFLATE_RATIO), data.length - at));
      if (!(await this.#write(current, data.subarray(at, at + size), false))) return;
      at += size;
    }
    if (last === null) return;
    // The message's last bytes go alone: they may lie after a block with BFINAL set, which a
    // strict DecompressionStream refuses as junk, and nothing else may share their write. Then
    // a final empty block, so that the stream closes cleanly.
    if (!((await this.#write(current, last, true)) && (await this.#write(current, FINAL_EMPTY_BLOCK, true)))) return;
    try {
      await current.writer.close();
      await current.reading;
    } catch (error) {
      if (!(await this.#endedEarly(current, error, true))) throw invalidDeflateData(error);
    }
    this.#current = null;
  }

  dispose(): void {
    this.#disposed = true;
    this.#close();
  }

  /**
   * Write one piece and wait until it is consumed. Returns false when the message is over: its
   * output was refused, or its stream had ended at a BFINAL block and these are bytes that
   * `mayFollowEnd`.
   * @throws ProtocolError (1007) when the bytes are not DEFLATE.
   */
  async #write(current: IncomingStream, bytes: Uint8Array, mayFollowEnd: boolean): Promise<boolean> {
    try {
      await current.writer.write(bytes);
    } catch (error) {
      if (current.refused) return false;
      if (await this.#endedEarly(current, error, mayFollowEnd)) return false;
      this.#close();
      throw invalidDeflateData(error);
    }
    if (current.refused) {
      this.#close();
      return false;
    }
    return true;
  }

  /**
   * A strict implementation refused bytes after the end of the DEFLATE stream: the message
   * ended with a BFINAL block (RFC 7692 §7.2.3.4), and all its output was produced — provided
   * the refused write held only bytes that may lie after the end. Waits until the output read
   * before the refusal has been delivered.
   */
  async #endedEarly(current: IncomingStream, error: unknown, mayFollowEnd: boolean): Promise<boolean> {
    if (!mayFollowEnd || !(error instanceof Error) || !AFTER_END_MESSAGE.test(error.message)) return false;
    if (this.#current === current) this.#current = null;
    await current.reading.catch(ignore);
    return true;
  }

  #open(output: DecodeOutput): IncomingStream {
    const stream = new DecompressionStream('deflate-raw');
    const writer = stream.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    writer.closed.catch(ignore);
    const reader = stream.readable.getReader();
    const current: { writer: typeof writer; reading: Promise<void>; output: DecodeOutput; refused: boolean } = {
      writer,
      reading: Promise.resolve(),
      output,
      refused: false,
    };
    current.reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        // Pushed as soon as it is read: the next slice is only transformed once this read has
        // emptied the queue (the readable's high-water mark is 0), so no output waits unseen.
        if (!current.output.push(value)) {
          current.refused = true;
          reader.cancel().catch(ignore);
          return;
        }
      }
    })();
    current.reading.catch(ignore);
    return current;
  }

  #close(): void {
    const current = this.#current;
    this.#current = null;
    current?.writer.abort().catch(ignore);
  }
}
