/**
 * Output the peer never reads must not grow without bound: pongs the server owes a peer that
 * floods pings and reads nothing, and messages an application sends before its socket is even
 * attached. The server stops reading from a peer whose replies are not being read (TCP flow
 * control then stops the peer), and the buffer limit holds from the first send.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, WebSocket } from '../../src/node.js';
import { Opcode } from '../../src/shared/constants.js';
import { clientFrame, nodeCodecs, rawConnect, readUntil, Resources, upgradeRequest } from '../adapters/node/helpers.js';
import { type EchoServer, memoryInUse, rawUpgrade, sleep, startEchoServer, underAttack, until } from './helpers.js';

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

  it("messages sent from the 'connection' listener itself are held to maxBufferedAmount ('terminate')", async () => {
    const limited = await startEchoServer(resources, { codec, maxBufferedAmount: 4 * MiB, onBufferOverflow: 'terminate' });
    let sent = 0;
    limited.wss.on('connection', (ws) => {
      const chunk = Buffer.alloc(MiB, 0x62);
      // Before the socket is attached: ignoring send's false, up to 256 MiB.
      while (ws.readyState === WebSocket.OPEN && sent < 256) {
        ws.send(chunk);
        sent++;
      }
    });
    const before = memoryInUse();
    // The overflow terminates the connection before its socket is even attached: the client
    // sees the TCP connection end without a 101.
    const socket = await rawConnect(resources, limited.port);
    socket.write(upgradeRequest());
    expect((await readUntil(socket, () => false)).toString('latin1')).toBe('');
    await until(() => limited.closes.length === 1, 'the overflow to end the connection');
    expect(limited.closes).toEqual([1006]);
    expect(limited.socketErrors.map((error) => (error as { code?: string }).code)).toEqual([ErrorCode.BUFFER_OVERFLOW]);
    expect(sent).toBeLessThanOrEqual(5);
    expect(memoryInUse() - before).toBeLessThan(32 * MiB);
  });
});
