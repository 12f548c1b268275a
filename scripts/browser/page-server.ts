/**
 * A small HTTP server on 127.0.0.1 for browser tests and benchmarks: it serves pages and
 * bundles from memory, and its `http.Server` can carry a WebSocket server's upgrades.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A file the server answers with. */
export interface PageFile {
  readonly body: string | Uint8Array;
  readonly type: string;
}

/** The content types the tests serve. */
export const ContentType = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
} as const;

/** A running page server. */
export interface PageServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** The HTTP server (attach a WebSocket server to it, or listen for 'upgrade'). */
  readonly server: Server;
  /** Serve `file` at `path` (replacing what was there). */
  add(path: string, file: PageFile): void;
  close(): Promise<void>;
}

/** An HTML page that runs `moduleScript` as an inline `<script type="module">`. */
export function modulePage(title: string, moduleScript: string): PageFile {
  const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n<script type="module">\n${moduleScript}\n</script>\n</body></html>\n`;
  return { body, type: ContentType.html };
}

/** Options of `startPageServer`. */
export interface PageServerOptions {
  /**
   * Serve every response with COOP `same-origin` and COEP `require-corp`, so pages and their
   * workers are cross-origin isolated: Chromium then gives `performance.now()` 5 µs
   * resolution instead of 100 µs (for benchmarks).
   */
  readonly crossOriginIsolated?: boolean;
}

/** Start serving `files` (path → file) on an ephemeral port of 127.0.0.1. */
export async function startPageServer(files: Readonly<Record<string, PageFile>> = {}, options: PageServerOptions = {}): Promise<PageServer> {
  const routes = new Map<string, PageFile>(Object.entries(files));
  const isolation: Record<string, string> = options.crossOriginIsolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' }
    : {};
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const file = request.method === 'GET' ? routes.get(path) : undefined;
    // Browsers ask for an icon on their own; answering "no content" keeps their console clean.
    if (file === undefined && path === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no ${path}`);
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store', ...isolation }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    server,
    add(path, file) {
      routes.set(path, file);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
