/**
 * One browser and one page server per test file: Chromium is launched once, the files are
 * served from 127.0.0.1, and one page is shared by the file's tests. A browser that is missing
 * or does not start fails every test of the file with the reason — never a skip.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
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

/**
 * Open the suite before the file's tests (after `prepare`, e.g. starting a server on it) and
 * close it after them. Each test calls the returned function to get the suite: if the browser
 * could not be started, that call throws the reason, so each test fails with it.
 */
export function useBrowserSuite(
  files: () => Promise<Readonly<Record<string, PageFile>>>,
  prepare: (suite: BrowserSuite) => Promise<void> = async () => {},
): () => BrowserSuite {
  let suite: BrowserSuite | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      suite = await openBrowserSuite(await files());
      await prepare(suite);
    } catch (error) {
      failure = error;
    }
  });
  afterAll(async () => {
    await suite?.close();
  });
  return () => {
    if (suite === undefined || failure !== undefined) throw failure ?? new Error('the browser suite was not opened');
    return suite;
  };
}
