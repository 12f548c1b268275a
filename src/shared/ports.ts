/**
 * Ports: what the protocol core needs from its platform, passed in rather than taken from
 * globals, so the core runs unchanged in Node, a page and a worker, and tests can pass
 * deterministic versions (as ws does with its `generateMask` option).
 */

/** Fills `target` with cryptographically strong random bytes (e.g. `crypto.getRandomValues`). */
export type RandomSource = (target: Uint8Array) => void;

/** SHA-1 digest of `data` (20 bytes). Used only for Sec-WebSocket-Accept (RFC 6455 §4.2.2). */
export type Sha1 = (data: Uint8Array) => Uint8Array;

/**
 * The platform's strong random source: Web Crypto's `getRandomValues`, present in Node ≥ 19,
 * every browser and every worker. Adapters pass this to the core; the core never calls it
 * itself.
 */
export const webCryptoRandom: RandomSource = (target) => {
  // getRandomValues fills at most 65,536 bytes per call (WebCrypto §10.1.1).
  for (let offset = 0; offset < target.length; offset += 65536) {
    globalThis.crypto.getRandomValues(target.subarray(offset, Math.min(offset + 65536, target.length)));
  }
};
