/**
 * permessage-deflate (RFC 7692) for Node: the negotiators over the `node:zlib` engine, ready
 * for the `extensions` option of a server or a client.
 *
 * @example
 * ```ts
 * const deflate = perMessageDeflateNode({ serverNoContextTakeover: true });
 * new WebSocketServer({ port: 8080, extensions: [deflate.server] });
 * new WebSocket('ws://localhost:8080', { extensions: [deflate.client] });
 * ```
 */
import { createPerMessageDeflate, type PerMessageDeflateNegotiators, type PerMessageDeflateOptions } from '../../protocol/extensions/permessage-deflate.js';
import { ZlibQueue } from './deflate-queue.js';
import { createZlibEngine, type ZlibEngineOptions } from './deflate-zlib.js';

/** Options of permessage-deflate in Node: the negotiation's, the threshold, and zlib's. */
export interface PerMessageDeflateNodeOptions extends PerMessageDeflateOptions, ZlibEngineOptions {
  /**
   * The most zlib operations these negotiators' connections run at once, in a queue of their
   * own. Default: the process-wide queue (`sharedZlibQueue`, 10 at once).
   */
  readonly concurrencyLimit?: number;
}

/**
 * The permessage-deflate negotiators for Node: `server` for a server's `extensions`, `client`
 * for a client's. One call serves any number of connections; each negotiation makes its own
 * per-connection state.
 *
 * @throws InvalidArgumentError for an invalid option.
 */
export function perMessageDeflateNode(options: PerMessageDeflateNodeOptions = {}): PerMessageDeflateNegotiators {
  const queue = options.queue ?? (options.concurrencyLimit === undefined ? undefined : new ZlibQueue(options.concurrencyLimit));
  return createPerMessageDeflate(createZlibEngine({ ...options, queue }), options);
}
