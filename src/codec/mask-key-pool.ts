/**
 * Masking keys for client frames. RFC 6455 §5.3: "The masking key is a 32-bit value chosen at
 * random by the client … MUST pick a fresh masking key from the set of allowed 32-bit values
 * … derived from a strong source of entropy."
 *
 * Random bytes are drawn from the strong source a pool at a time (one `getRandomValues` call
 * per 2,048 keys instead of one per frame) and each 4 bytes are handed out exactly once.
 */
import { type RandomSource, webCryptoRandom } from '../shared/ports.js';

/** Fresh, never reused masking keys. */
export interface MaskKeyPool {
  /** Write a fresh 4-byte key into `target` at `offset` (e.g. straight into a frame header). */
  fill(target: Uint8Array, offset: number): void;
}

/** Keys drawn per refill: 8 KiB of randomness, 2,048 frames. */
const DEFAULT_POOL_BYTES = 8192;

/** A pool of fresh masking keys drawn from `random` (Web Crypto by default). */
export function createMaskKeyPool(random: RandomSource = webCryptoRandom, poolBytes = DEFAULT_POOL_BYTES): MaskKeyPool {
  if (!Number.isInteger(poolBytes) || poolBytes < 4 || poolBytes % 4 !== 0) {
    throw new RangeError('poolBytes must be a positive multiple of 4');
  }
  const pool = new Uint8Array(poolBytes);
  let next = poolBytes;
  return {
    fill(target: Uint8Array, offset: number): void {
      if (next === poolBytes) {
        random(pool);
        next = 0;
      }
      target[offset] = pool[next]!;
      target[offset + 1] = pool[next + 1]!;
      target[offset + 2] = pool[next + 2]!;
      target[offset + 3] = pool[next + 3]!;
      // Wipe what was handed out, so no later read of the pool can reveal a used key.
      pool.fill(0, next, next + 4);
      next += 4;
    },
  };
}
