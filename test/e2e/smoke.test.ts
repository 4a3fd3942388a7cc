import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Page, screenshot, watchConsole } from '../support/browser.ts';
import { openRendererSite, type RendererSite } from '../support/renderer-site.ts';

// Proves the e2e layer itself: Vite builds the renderer, Debian's Chromium renders it headless.
let site: RendererSite;

beforeAll(async () => {
  site = await openRendererSite();
});

let page: Page | undefined;
afterEach(async () => {
  await page?.close();
  page = undefined;
});

afterAll(async () => {
  await site?.close();
});

it('renders the Vite-built renderer in headless Debian Chromium', async () => {
  page = await site.chromium.browser.newPage();
  const errors = watchConsole(page);
  await page.goto(site.url);
  await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Tollgate');
  await screenshot(page, 'smoke');
  expect(errors).toEqual([]);
});
