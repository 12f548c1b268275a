/**
 * A Node stream socket (`net.Socket`, `tls.TLSSocket`, or the `Duplex` an HTTP server hands to
 * `'upgrade'`) as the `ByteTransport` of a `ConnectionDriver`, and Node's scheduler
 * (`process.nextTick`, unref'd timers).
 *
 * Socket events go to the driver: `'data'` → `receive`, `'end'` → `peerEnded`, `'close'` →
 * `transportClosed`, `'error'` → `transportFailed`, `'drain'` → `transportDrained`. The
 * callbacks are shared by every connection (a connection costs no closures for them): the
 * socket carries its driver under a symbol, as `ws` keeps its socket's WebSocket.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clearTimeout, setTimeout } from 'node:timers';
import type { ByteTransport, ConnectionDriver, Scheduler, Timer, WriteCallback } from '../driver.js';

/** A stream socket as Node hands it out; `setNoDelay` exists on TCP and TLS sockets. */
export type NodeSocket = Duplex & Partial<Pick<Socket, 'setNoDelay' | 'setTimeout'>>;

/** Node's scheduler: a flush per tick, timers that never hold the process open. */
export const nodeScheduler: Scheduler = {
  defer: (task, arg) => process.nextTick(task, arg),
  setTimer: (task, delay, arg) => setTimeout(task, delay, arg).unref(),
  clearTimer: (timer: Timer) => clearTimeout(timer as NodeJS.Timeout),
  now: () => performance.now(),
  later: (task, arg) => void setImmediate(task, arg),
};

const DRIVER: unique symbol = Symbol('wasmsocket.driver');
type SocketWithDriver = NodeSocket & { [DRIVER]?: ConnectionDriver };

function driverOf(socket: NodeSocket): ConnectionDriver {
  return (socket as SocketWithDriver)[DRIVER]!;
}

function onData(this: NodeSocket, chunk: Buffer): void {
  driverOf(this).receive(chunk);
}
function onEnd(this: NodeSocket): void {
  driverOf(this).peerEnded();
}
function onClose(this: NodeSocket): void {
  driverOf(this).transportClosed();
}
function onDrain(this: NodeSocket): void {
  driverOf(this).transportDrained();
}
function onError(this: NodeSocket, error: Error): void {
  // ECONNRESET, EPIPE: the connection ends without a closing handshake (1006 once closed).
  driverOf(this).transportFailed(error);
}

/** See the module comment. */
export class SocketBinding implements ByteTransport {
  readonly socket: NodeSocket;

  /** Bind `socket` to `driver`: it reads from now on. */
  constructor(socket: NodeSocket, driver: ConnectionDriver) {
    this.socket = socket;
    (socket as SocketWithDriver)[DRIVER] = driver;
    // Small frames are latency-bound: send them as they are written (no Nagle delay).
    socket.setNoDelay?.(true);
    socket.setTimeout?.(0);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.on('drain', onDrain);
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  write(chunks: readonly Uint8Array[], written: WriteCallback | null): void {
    const socket = this.socket;
    const last = chunks.length - 1;
    // Without a completion, no callback: a write with one makes Node's WritableState take one
    // more property than it has room for (40 bytes of an idle socket's memory).
    if (last === 0) {
      if (written === null) socket.write(chunks[0]!);
      else socket.write(chunks[0]!, written);
      return;
    }
    // One writev for the batch; its last chunk carries the completion.
    socket.cork();
    for (let i = 0; i < last; i++) socket.write(chunks[i]!);
    if (written === null) socket.write(chunks[last]!);
    else socket.write(chunks[last]!, written);
    socket.uncork();
  }

  end(): void {
    this.socket.end();
  }

  abort(): void {
    const socket = this.socket;
    if (socket.destroyed) {
      // Destroyed before it was handed over: 'close' has been emitted already, or never will be.
      process.nextTick(onClose.bind(socket));
      return;
    }
    socket.destroy();
  }

  setReading(reading: boolean): void {
    if (reading) this.socket.resume();
    else this.socket.pause();
  }
}

/**
 * Run `driver` over `socket`, feeding it `received` (bytes that came with the handshake). A
 * socket destroyed before it was handed over ends the connection at once (1006).
 */
export function attachSocket(driver: ConnectionDriver, socket: NodeSocket, received: readonly Uint8Array[] = []): SocketBinding {
  const binding = new SocketBinding(socket, driver);
  if (socket.destroyed) driver.terminate();
  driver.attach(binding, received);
  return binding;
}
