/**
 * Shared pieces of the permessage-deflate tests: RFC 7692 payloads made with node:zlib's
 * synchronous API (an implementation independent of the engines under test), connections with
 * the extension already agreed, and a pump that waits for the asynchronous engines.
 */
import * as zlib from 'node:zlib';
import type { Codec } from '../../src/codec/types.js';
import { portableCodec } from '../../src/codec/portable/index.js';
import type { NegotiatedExtension } from '../../src/handshake/extensions.js';
import { ClientConnection } from '../../src/protocol/client-connection.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { ConnectionEvent } from '../../src/protocol/events.js';
import type { Extension } from '../../src/protocol/extension.js';
import type { DeflateEngine } from '../../src/protocol/extensions/deflate-engine.js';
import { DEFLATE_RSV_BITS, type DeflateAgreement, PERMESSAGE_DEFLATE } from '../../src/protocol/extensions/deflate-params.js';
import { PerMessageDeflate } from '../../src/protocol/extensions/permessage-deflate.js';
import type { ConnectionLimits } from '../../src/protocol/limits.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { pseudoRandomBytes } from '../codec/contract.js';
import { type ConnectionPair, seededRandom } from '../helpers/connection-pair.js';

/** The agreement with nothing limited: context takeover both ways, 15-bit windows. */
export const DEFAULT_AGREEMENT: DeflateAgreement = Object.freeze({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
});

/**
 * A message compressed as RFC 7692 §7.2.1 has it, by zlib's one-shot API: a raw DEFLATE stream
 * sync-flushed, its last four octets (`00 00 ff ff`) removed.
 */
export function deflateMessage(data: Uint8Array | string, windowBits = 15): Uint8Array {
  const compressed = zlib.deflateRawSync(typeof data === 'string' ? Buffer.from(data) : data, {
    windowBits,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  return compressed.subarray(0, compressed.length - 4);
}

/** A payload decompressed as RFC 7692 §7.2.2 has it (the trailer appended), by zlib's one-shot API. */
export function inflateMessage(payload: Uint8Array, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]), {
    windowBits,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}

/** The negotiated-extension record a connection gets from a handshake, built directly. */
export function negotiatedDeflate(extension: PerMessageDeflate): NegotiatedExtension<Extension> {
  return { name: PERMESSAGE_DEFLATE, rsvBits: DEFLATE_RSV_BITS, params: [], extension };
}

export interface EstablishedOptions {
  readonly engine: DeflateEngine;
  readonly agreement?: DeflateAgreement;
  readonly limits?: Partial<ConnectionLimits>;
  readonly threshold?: number;
  readonly codec?: Codec;
}

/** A connection that starts OPEN with permessage-deflate agreed, with a recorder of its output. */
export class Driven<C extends Connection> {
  readonly connection: C;
  readonly extension: PerMessageDeflate;
  readonly events: ConnectionEvent[] = [];
  readonly written: Uint8Array[] = [];
  woken = 0;

  constructor(side: 'server' | 'client', options: EstablishedOptions) {
    this.extension = new PerMessageDeflate(options.engine, side, options.agreement ?? DEFAULT_AGREEMENT, options.threshold);
    const common = {
      codec: options.codec ?? portableCodec,
      limits: options.limits,
      onWake: () => {
        this.woken++;
      },
      established: { extensions: [negotiatedDeflate(this.extension)] },
    };
    this.connection = (side === 'server' ? new ServerConnection(common) : new ClientConnection({ ...common, random: seededRandom(3) })) as unknown as C;
  }

  /** Collect events and output now. */
  collect(): void {
    this.events.push(...this.connection.eventsReceived());
    for (const chunk of this.connection.dataToSend()) this.written.push(chunk.slice());
  }

  /** Collect until `done()` holds, letting the engine's asynchronous work finish; throws after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.collect();
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out; events so far: ${this.events.map((event) => event.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      this.collect();
    }
  }

  ofType<T extends ConnectionEvent['type']>(type: T): Extract<ConnectionEvent, { type: T }>[] {
    return this.events.filter((event): event is Extract<ConnectionEvent, { type: T }> => event.type === type);
  }
}

/** Highly compressible bytes: a short phrase repeated. */
export function compressible(size: number): Uint8Array {
  const phrase = Buffer.from('permessage-deflate compresses repeated phrases well. ');
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = phrase[i % phrase.length]!;
  return out;
}

/** Incompressible bytes: the codec suite's seeded xorshift stream. */
export function incompressible(size: number, seed?: number): Uint8Array {
  return pseudoRandomBytes(size, seed);
}

/**
 * A decompression bomb: `mebibytes` MiB of zero bytes in about a thousandth of that. One MiB of
 * zeros is compressed once, ending with a full flush (an empty stored block, no reference to
 * what came before), so repeating it is a valid DEFLATE stream of as many MiB.
 */
export function deflateBomb(mebibytes: number): Uint8Array {
  const unit = zlib.deflateRawSync(Buffer.alloc(1 << 20), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const out = new Uint8Array(unit.length * mebibytes);
  for (let i = 0; i < mebibytes; i++) out.set(unit, i * unit.length);
  // RFC 7692 §7.2.1: the message's final `00 00 ff ff` is left off.
  return out.subarray(0, out.length - 4);
}

/**
 * Pump `pair` until `done()` holds, letting the engines' asynchronous work (on zlib's thread
 * pool, or in Compression Streams) finish however long it takes on a loaded machine; throws
 * after `timeoutMs`. Then pumps a little longer, so that anything wrongly sent after shows.
 */
export async function pumpUntil(pair: ConnectionPair, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  pair.pump();
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the connections');
    await new Promise((resolve) => setTimeout(resolve, 1));
    pair.pump();
  }
  await pair.settle();
}
