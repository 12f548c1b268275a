/**
 * One browser and one page server per test file: Chromium is launched once (a missing browser
 * fails the file with instructions), the files are served from 127.0.0.1, and one page is
 * shared by the file's tests.
 */
import type { Page } from 'playwright-core';
import { launchChromium, type ChromiumSession } from '../../../scripts/browser/chromium.js';
import { type PageFile, type PageServer, startPageServer } from '../../../scripts/browser/page-server.js';

export interface BrowserSuite {
  readonly session: ChromiumSession;
  readonly server: PageServer;
  /** A page opened on `/` (blank) of the server, shared by the file's tests. */
  readonly page: Page;
  /** Start the worker at `url` from the shared page, post it `message`, and resolve with its first reply. */
  runWorker<T>(url: string, type: 'module' | 'classic', message?: unknown): Promise<T>;
  close(): Promise<void>;
}

/** Launch Chromium and serve `files` (plus a blank page at `/`). */
export async function openBrowserSuite(files: Readonly<Record<string, PageFile>>): Promise<BrowserSuite> {
  const [session, server] = await Promise.all([
    launchChromium(),
    startPageServer({ '/': { body: '<!doctype html><title>wasmsocket</title>', type: 'text/html; charset=utf-8' }, ...files }),
  ]);
  const page = await session.newPage();
  await page.goto(`${server.origin}/`);
  return {
    session,
    server,
    page,
    runWorker<T>(url: string, type: 'module' | 'classic', message: unknown = 'start'): Promise<T> {
      return page.evaluate(
        ({ url, type, message }) =>
          new Promise<T>((resolve, reject) => {
            const worker = new Worker(url, { type });
            worker.onmessage = (event: MessageEvent<T>) => {
              resolve(event.data);
              worker.terminate();
            };
            worker.onerror = (event) => reject(new Error(`worker ${url}: ${event.message}`));
            worker.postMessage(message);
          }),
        { url, type, message },
      );
    },
    async close() {
      await session.close();
      await server.close();
    },
  };
}
