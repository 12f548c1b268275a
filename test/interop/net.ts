/**
 * Loopback tools below the WebSocket libraries: a raw opening handshake (to read the response
 * head exactly as it went on the wire) and a TCP relay that can cut a connection partway
 * through a message (a peer that vanishes without a closing handshake).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { withTimeout } from './events.js';

/** A response head as received: status code and header fields in wire order. */
export interface RawResponseHead {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** The values of header `name` (case-insensitive) in `headers`. */
export function headerValues(headers: ReadonlyArray<readonly [string, string]>, name: string): string[] {
  return headers.filter(([field]) => field.toLowerCase() === name.toLowerCase()).map(([, value]) => value);
}

/**
 * Send an opening handshake request for `path` on 127.0.0.1:`port` offering `protocols`, read
 * the response head, and drop the connection.
 */
export async function rawHandshake(port: number, path: string, protocols: readonly string[] = []): Promise<RawResponseHead> {
  const socket = net.connect({ host: '127.0.0.1', port });
  try {
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...(protocols.length > 0 ? [`Sec-WebSocket-Protocol: ${protocols.join(', ')}`] : []),
    ];
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    const head = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let received = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          received += chunk;
          const end = received.indexOf('\r\n\r\n');
          if (end !== -1) resolve(received.slice(0, end));
        });
        socket.on('error', reject);
        socket.on('end', () => reject(new Error(`connection ended before a response head: ${JSON.stringify(received)}`)));
      }),
      `the response head from port ${port}`,
    );
    const [statusLine, ...fields] = head.split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    const headers = fields.map((field) => {
      const colon = field.indexOf(':');
      return [field.slice(0, colon), field.slice(colon + 1).trim()] as const;
    });
    return { status, headers };
  } finally {
    socket.destroy();
  }
}

/** Which way the cut happens: after `bytes` from the client (it vanishes while sending) or to it. */
export type CutDirection = 'client-to-server' | 'server-to-client';

/** A relay on 127.0.0.1 in front of a server, cutting every connection after a byte count. */
export interface CuttingProxy {
  readonly port: number;
  /** Resolves when a connection was cut (both sides destroyed). */
  readonly cut: Promise<void>;
  close(): Promise<void>;
}

/**
 * Relay connections to 127.0.0.1:`targetPort` until `bytes` bytes have gone in `direction`;
 * forward exactly that many, then destroy both sockets without any closing handshake.
 */
export async function startCuttingProxy(targetPort: number, direction: CutDirection, bytes: number): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  let markCut: () => void;
  const cut = new Promise<void>((resolve) => (markCut = resolve));
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    const [from, to] = direction === 'client-to-server' ? [client, upstream] : [upstream, client];
    let forwarded = 0;
    from.on('data', (chunk: Buffer) => {
      if (forwarded + chunk.length < bytes) {
        forwarded += chunk.length;
        to.write(chunk);
        return;
      }
      from.pause();
      to.write(chunk.subarray(0, bytes - forwarded), () => {
        client.destroy();
        upstream.destroy();
        markCut();
      });
      forwarded = bytes;
    });
    (direction === 'client-to-server' ? upstream : client).pipe(direction === 'client-to-server' ? client : upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
