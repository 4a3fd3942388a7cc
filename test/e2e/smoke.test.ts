import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium, screenshot, watchConsole } from '../support/browser.ts';
import { serveStatic } from '../support/static-server.ts';

// Proves the e2e layer itself: Vite builds the renderer, Debian's Chromium renders it headless.
let outDir: string;
let site: Awaited<ReturnType<typeof serveStatic>>;
let chromium: LaunchedBrowser;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'tollgate-smoke-'));
  await build({
    root: resolve('src-renderer'),
    plugins: [react()],
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  site = await serveStatic(outDir);
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await site?.close();
  rmSync(outDir, { recursive: true, force: true });
});

it('renders the Vite-built renderer in headless Debian Chromium', async () => {
  const page = await chromium.browser.newPage();
  const errors = watchConsole(page);
  await page.goto(site.url);
  await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Tollgate');
  await screenshot(page, 'smoke');
  expect(errors).toEqual([]);
});
