/**
 * The driver contract (test/adapters/driver/contract.ts) over the HTTP/2 stream binding: the
 * same behaviour tests as over TCP sockets and WHATWG stream pairs, with every connection a
 * stream of an h2c session (RFC 8441) — permessage-deflate through node:zlib.
 */
import { describe } from 'vitest';
import { defineDriverContract } from '../adapters/driver/contract.js';
import { http2Environment } from './driver-environment.js';

describe('the driver contract over HTTP/2 streams', () => {
  // A stream begins with its request; the per-stream deadline is tested in handshake.integration.test.ts.
  defineDriverContract(http2Environment, { requestOpensTransport: true });
});
