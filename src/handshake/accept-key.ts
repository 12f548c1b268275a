/**
 * Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 §1.3, §4.1, §4.2.2).
 */

import { WEBSOCKET_GUID } from '../shared/constants.js';
import { InvalidArgumentError } from '../shared/errors.js';
import type { RandomSource, Sha1 } from '../shared/ports.js';
import { encodeBase64 } from './base64.js';
import { sha1 as portableSha1 } from './sha1.js';

/**
 * A fresh Sec-WebSocket-Key: "a randomly selected 16-byte value that has been base64-encoded"
 * and "MUST be selected randomly for each connection" (RFC 6455 §4.1, client requirement 7).
 *
 * @param random a cryptographically strong source (e.g. `webCryptoRandom`).
 */
export function generateKey(random: RandomSource): string {
  const nonce = new Uint8Array(16);
  random(nonce);
  return encodeBase64(nonce);
}

/**
 * The Sec-WebSocket-Accept value for `key`: base64(SHA-1(key + GUID)), where the key is taken
 * as the string the client sent, not its decoded bytes (RFC 6455 §4.2.2, step 5.4; example in
 * §1.3: `dGhlIHNhbXBsZSBub25jZQ==` → `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`).
 *
 * @param key the Sec-WebSocket-Key value, as sent (ASCII).
 * @param sha1 a SHA-1 implementation; defaults to the portable one in `sha1.ts`.
 * @throws InvalidArgumentError if `key` contains a non-ASCII character (a key never does).
 */
export function computeAcceptKey(key: string, sha1: Sha1 = portableSha1): string {
  const input = key + WEBSOCKET_GUID;
  const bytes = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    if (code > 0x7f) throw new InvalidArgumentError('Sec-WebSocket-Key must be ASCII');
    bytes[i] = code;
  }
  return encodeBase64(sha1(bytes));
}
