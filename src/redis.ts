/**
 * `wasmsocket/redis`: a bus over Redis pub/sub, so that `publish` on a server reaches the
 * subscribers of every server behind the same Redis. It needs the `redis` client, an optional
 * peer dependency: `npm install redis`. The rest of wasmsocket never loads it.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from 'wasmsocket';
 * import { RedisBus } from 'wasmsocket/redis';
 *
 * const wss = new WebSocketServer({ port: 8080, bus: new RedisBus({ url: 'redis://10.0.0.5:6379', prefix: 'chat:' }) });
 * ```
 *
 * @packageDocumentation
 */
export { RedisBus, type RedisBusOfflinePolicy, type RedisBusOptions, type RedisBusStats } from './pubsub/redis-bus.js';
export type { Bus, BusDelivery } from './pubsub/bus.js';
