/**
 * The driver contract over the stream binding: StreamWebSocket over `createWebStreamPair()`,
 * and raw peers holding the other end of a pair (permessage-deflate through the Compression
 * Streams engine).
 */
import { describe, expect, it } from 'vitest';
import { hasDeflateRawStreams } from '../../../src/adapters/web/deflate-streams.js';
import { defineDriverContract } from './contract.js';
import { streamEnvironment } from './stream-environment.js';

describe('the driver contract over WHATWG stream pairs', () => {
  it("runs where CompressionStream('deflate-raw') exists, as in Node 20", () => {
    expect(hasDeflateRawStreams()).toBe(true);
  });
  defineDriverContract(streamEnvironment);
});
