/**
 * A WebSocket client as small as a benchmark of server memory needs: a TCP socket that sends
 * the opening handshake (RFC 6455 §4.1) and hands the socket over once the server answered
 * 101, and a helper that waits for a number of bytes. It holds no state per connection beyond
 * the socket, so what a server spends on it is the server's own.
 */
import { connect, type Socket } from 'node:net';

/** A fixed Sec-WebSocket-Key: the client checks no accept key, so any valid one does. */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function request(path: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
}

/** Open a connection to 127.0.0.1:`port` and complete its handshake at `path`; rejects when the server refuses it. */
export function openRawWebSocket(port: number, path = '/'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
      } else {
        resolve(socket);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => socket.write(request(path)));
  });
}

/** Resolves once `bytes` more bytes have arrived on `socket`; rejects if it closes first. */
export function receiveBytes(socket: Socket, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received < bytes) return;
      done();
      resolve();
    };
    const onClose = (): void => {
      done();
      reject(new Error(`the connection closed after ${received} of ${bytes} bytes`));
    };
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
