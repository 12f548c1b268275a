/**
 * Launching the headless Chromium the browser tests and the browser benchmark run in: Debian's
 * `chromium` (or the one `WASMSOCKET_CHROMIUM` names), driven by playwright-core, with a fresh
 * profile directory per launch. A missing browser is an error with instructions, never a skip.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where the browser is looked for. */
export const CHROMIUM_PATH = process.env['WASMSOCKET_CHROMIUM'] ?? '/usr/bin/chromium';

/** Quiet, deterministic headless flags: no GPU, no sandbox (containers), no background traffic. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A running browser with its own profile; `close()` ends it and deletes the profile. */
export interface ChromiumSession {
  readonly context: BrowserContext;
  /** A new tab whose uncaught errors and console errors are collected in `errors`. */
  newPage(): Promise<Page>;
  /** Uncaught exceptions and console errors of every page and worker so far. */
  readonly errors: string[];
  close(): Promise<void>;
}

/**
 * Start Chromium.
 * @throws Error naming the path and how to install the browser when it is not there.
 */
export async function launchChromium(): Promise<ChromiumSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium was not found at ${CHROMIUM_PATH}. The browser tests run in a real browser and are never skipped: ` +
        'install it (Debian/Ubuntu: apt-get install chromium) or set WASMSOCKET_CHROMIUM to its executable.',
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'wasmsocket-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_FLAGS],
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`Chromium at ${CHROMIUM_PATH} did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  const errors: string[] = [];
  return {
    context,
    errors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()}`);
      });
      page.on('worker', (worker) => worker.on('console', (message) => message.type() === 'error' && errors.push(`worker console: ${message.text()}`)));
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
