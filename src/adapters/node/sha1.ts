/**
 * SHA-1 through OpenSSL: the `Sha1` port of the opening handshake (RFC 6455 §4.2.2
 * Sec-WebSocket-Accept) in Node.
 */
import { createHash } from 'node:crypto';
import type { Sha1 } from '../../shared/ports.js';

export const nodeSha1: Sha1 = (data) => createHash('sha1').update(data).digest();
