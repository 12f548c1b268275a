/**
 * Peak memory of a server while it receives large messages: a fresh server process and one
 * connection; RSS after a full collection with the connection open, then the process's
 * high-water mark (VmHWM, proc(5)) reset by writing 5 to /proc/PID/clear_refs, then messages
 * of `size` bytes sent one at a time (each once the previous reply arrived), then VmHWM read
 * again. A fresh process per server and size, so that no earlier load has grown a heap that
 * would absorb the message unseen.
 */
import { randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseStatusKilobytes } from '../../src/cli/bench/proc.js';
import { maskedFrame } from '../fixtures.js';
import { openRawWebSocket, receiveBytes } from './raw-client.js';
import type { PeakResult } from './results.js';
import { ServerProcess, type ServerSpec } from './servers.js';
import { frameHeaderBytes } from './servers/floor.js';

/** How far VmHWM may stand above VmRSS right after the reset: the pages touched meanwhile. */
const RESET_SLACK_BYTES = 4 * 1024 * 1024;

function statusBytes(pid: number, field: string): number {
  return parseStatusKilobytes(readFileSync(`/proc/${pid}/status`, 'utf8'), field);
}

/** Reset the high-water mark of `pid`'s RSS to its current RSS (Linux ≥ 4.0); throws if it did not take. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const peak = statusBytes(pid, 'VmHWM');
  const rss = statusBytes(pid, 'VmRSS');
  if (peak > rss + RESET_SLACK_BYTES) throw new Error(`VmHWM of ${pid} did not reset (${peak} B against ${rss} B resident)`);
}

/** The peak of `spec`'s server receiving and answering `messages` binary messages of `size` bytes. */
export async function measurePeak(spec: ServerSpec, size: number, messages: number): Promise<PeakResult> {
  // With --expose-gc: the baseline is measured after a full collection.
  const server = await ServerProcess.start(spec, { exposeGc: true });
  try {
    const socket = await openRawWebSocket(server.port, `/echo?size=${size}&type=binary`);
    socket.on('error', () => {});
    try {
      const payload = new Uint8Array(size);
      const key = new Uint8Array(4);
      const replyBytes = frameHeaderBytes(size, false) + size;
      const baseline = await server.memory();
      resetPeak(server.pid);
      for (let i = 0; i < messages; i++) {
        // RFC 6455 §5.3: a fresh masking key for every frame.
        randomFillSync(key);
        const reply = receiveBytes(socket, replyBytes);
        socket.write(maskedFrame(0x2, payload, key));
        await reply;
      }
      const peakRssBytes = statusBytes(server.pid, 'VmHWM');
      return { server: spec.id, size, messages, baselineRssBytes: baseline.rssBytes, peakRssBytes, aboveMessageBytes: peakRssBytes - baseline.rssBytes - size };
    } finally {
      socket.destroy();
    }
  } finally {
    await server.stop();
  }
}
