/**
 * The page `wasmsocket serve` shows at `/`, in a real browser (headless Chromium through
 * playwright-core): two tabs connect to /broadcast, see each other in the count, and see each
 * other's messages. CI installs Chromium at /usr/bin/chromium; without it this test fails,
 * saying so, rather than skipping.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CliProcess, startServe } from './cli-process.js';

const CHROMIUM = '/usr/bin/chromium';

let browser: Browser;
let serve: CliProcess;
let port: number;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the page test needs Chromium at ${CHROMIUM} (Debian: apt-get install chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  ({ cli: serve, port } = await startServe());
});

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('#status[data-state="open"]').waitFor({ timeout: 10_000 });
  return page;
}

async function send(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.click('#send button');
}

it('connects to /broadcast, counts the clients and shows every message', async () => {
  const first = await openPage();
  await expect.poll(() => first.textContent('#clients'), { timeout: 10_000 }).toBe('1');
  const second = await openPage();
  await expect.poll(() => first.textContent('#clients'), { timeout: 10_000 }).toBe('2');
  await expect.poll(() => second.textContent('#clients'), { timeout: 10_000 }).toBe('2');

  await send(first, 'hello from the first tab');
  for (const page of [first, second]) {
    await expect.poll(() => page.locator('#log li').allTextContents(), { timeout: 10_000 }).toContainEqual(expect.stringMatching(/^\d+: hello from the first tab {2}\(.+\)$/));
  }
  // The sender's own message is marked as its own.
  expect(await first.locator('#log li.self').allTextContents()).toEqual([expect.stringMatching(/hello from the first tab {2}\(.+\)$/)]);
  expect(await second.locator('#log li.self').count()).toBe(0);

  await second.close();
  await expect.poll(() => first.textContent('#clients'), { timeout: 10_000 }).toBe('1');
});
