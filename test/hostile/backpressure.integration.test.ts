/**
 * Output the peer never reads must not grow without bound: pongs the server owes a peer that
 * floods pings and reads nothing. The server stops reading from a peer whose replies are not
 * being read, and TCP flow control then stops the peer.
 */
import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/shared/constants.js';
import { clientFrame, nodeCodecs, Resources } from '../adapters/node/helpers.js';
import { type EchoServer, memoryInUse, rawUpgrade, sleep, underAttack, until } from './helpers.js';

const MiB = 1024 * 1024;

describe.each(nodeCodecs)('output owed to a peer that does not read (%s codec)', (_name, codec) => {
  const resources = new Resources();
  let server!: EchoServer;
  underAttack(resources, { codec }, (started) => (server = started));

  it('a ping flood from a peer that reads no pongs: the server stops reading, its memory stays bounded', async () => {
    const peer = await rawUpgrade(resources, server.port);
    peer.socket.pause();
    const ping = clientFrame(Opcode.PING, new Uint8Array(125).fill(0x61));
    const batch = Buffer.concat(Array.from({ length: 512 }, () => ping)); // 64 KiB of pings
    const before = memoryInUse();
    // Offer up to 512 MiB of pings; a server that keeps reading owes 500 MiB of pongs.
    let offered = 0;
    const deadline = Date.now() + 8000;
    while (offered < 512 * MiB && Date.now() < deadline) {
      offered += batch.length;
      if (!peer.socket.write(batch)) {
        const drained = await Promise.race([new Promise((resolve) => peer.socket.once('drain', () => resolve(true))), sleep(1000).then(() => false)]);
        if (!drained) break; // the server stopped reading: flow control reached us
      }
    }
    expect(offered).toBeLessThan(512 * MiB);
    expect(memoryInUse() - before).toBeLessThan(64 * MiB);
    // Reading again lets the server go on: the pongs come, and the connection is healthy.
    peer.socket.resume();
    await until(() => peer.frames().length > 0, 'the first pongs');
    expect(peer.frames()[0]!.opcode).toBe(Opcode.PONG);
  });
});
