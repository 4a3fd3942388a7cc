import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { startWebServer } from '../src-main/web-server.ts';
import { findChromium } from '../test/support/browser.ts';
import { signedInOfflineCompanion } from './companion-fixture.ts';
import { percentile, report } from './report.ts';

/**
 * The companion window: time from navigation to the cached plan and usage bars on screen, served by
 * main's --web server from a companion that is signed in with a cached license and no reachable
 * billing server (so nothing waits on the network). Cold: a fresh browser context each time (no
 * cache); warm: the same tab navigating again. Baseline in the same run: an empty page from the
 * same server, navigation to load event. Also the gzipped size of the renderer's JavaScript.
 */

const COLD_SAMPLES = 12;
const WARM_SAMPLES = 25;
const COLD_TARGET_MS = 300;
const BUNDLE_TARGET_KB = 150;

/**
 * Runs in the page before its scripts: notes the first frame painted after both the plan name and
 * the usage rows are in the document (ms since navigation start).
 */
const READY_PROBE = `
  new MutationObserver((_, observer) => {
    if (document.querySelector('[data-testid="plan-name"]') && document.querySelector('.usage-row')) {
      observer.disconnect();
      requestAnimationFrame(() => { window.__ready = performance.now(); });
    }
  }).observe(document, { childList: true, subtree: true });
`;

/** Functions, not strings: the page's CSP forbids eval, which string predicates need. */
const readyAt = () => (globalThis as unknown as { __ready?: number }).__ready;
type PageTiming = { performance: { getEntriesByType(type: 'navigation'): { loadEventEnd: number }[] } };
const loadTime = () =>
  (globalThis as unknown as PageTiming).performance.getEntriesByType('navigation')[0]?.loadEventEnd ?? Number.NaN;

async function main(): Promise<void> {
  const outDir = mkdtempSync(join(tmpdir(), 'tollgate-renderer-bench-'));
  const home = mkdtempSync(join(tmpdir(), 'tollgate-renderer-bench-home-'));
  await build({
    root: resolve('src-renderer'),
    plugins: [react()],
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  const assets = join(outDir, 'assets');
  const scripts = readdirSync(assets).filter((file) => file.endsWith('.js'));
  const jsGzipKb = scripts.reduce((sum, file) => sum + gzipSync(readFileSync(join(assets, file))).length, 0) / 1024;
  writeFileSync(join(outDir, 'empty.html'), '<!doctype html><html lang="en"><title>empty</title></html>');

  const companion = await signedInOfflineCompanion(home);
  const web = await startWebServer({
    staticDir: outDir,
    dispatch: (method, params) => companion.dispatch(method, params),
    state: companion.state,
  });
  const browser: Browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });

  try {
    // The link's one-time code buys the session once; every fresh context gets the same cookies.
    const exchange = await fetch(web.pageUrl, { redirect: 'manual' });
    const cookies = exchange.headers.getSetCookie().map((cookie) => {
      const [name = '', value = ''] = (cookie.split(';')[0] ?? '').split('=');
      return { name, value, url: web.origin, httpOnly: /HttpOnly/i.test(cookie), sameSite: 'Strict' as const };
    });
    const emptyCold: number[] = [];
    const cold: number[] = [];
    for (let sample = 0; sample < COLD_SAMPLES; sample += 1) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${web.origin}/empty.html`);
      emptyCold.push(await page.evaluate(loadTime));
      await context.close();

      const fresh = await browser.newContext();
      const tab = await fresh.newPage();
      await tab.addInitScript(READY_PROBE);
      await fresh.addCookies(cookies);
      await tab.goto(`${web.origin}/`);
      cold.push(await tab.waitForFunction(readyAt).then((handle) => handle.jsonValue() as Promise<number>));
      await fresh.close();
    }

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(READY_PROBE);
    await context.addCookies(cookies);
    await page.goto(`${web.origin}/`);
    await page.waitForFunction(readyAt);
    const warm: number[] = [];
    const emptyWarm: number[] = [];
    for (let sample = 0; sample < WARM_SAMPLES; sample += 1) {
      await page.goto(`${web.origin}/empty.html`);
      emptyWarm.push(await page.evaluate(loadTime));
      await page.goto(web.origin);
      warm.push(await page.waitForFunction(readyAt).then((handle) => handle.jsonValue() as Promise<number>));
    }
    await context.close();

    const coldP50 = percentile(cold, 50);
    report(
      'renderer',
      [
        {
          name: 'cold: navigation → cached plan + usage on screen (p50)',
          value: coldP50,
          unit: 'ms',
          ceiling: percentile(emptyCold, 50),
          target: `< ${COLD_TARGET_MS} ms`,
          pass: coldP50 < COLD_TARGET_MS,
          p95: percentile(cold, 95),
        },
        {
          name: 'warm: navigation → cached plan + usage on screen (p50)',
          value: percentile(warm, 50),
          unit: 'ms',
          ceiling: percentile(emptyWarm, 50),
          p95: percentile(warm, 95),
        },
        {
          name: 'renderer JavaScript, gzipped',
          value: jsGzipKb,
          unit: 'KB',
          target: `≤ ${BUNDLE_TARGET_KB} KB`,
          pass: jsGzipKb <= BUNDLE_TARGET_KB,
        },
      ],
      {
        ceilingIs: 'an empty page from the same server: navigation to load event',
        coldSamples: COLD_SAMPLES,
        // Page timings stretch with machine load; the empty-page ceiling shows by how much.
        loadAverage: loadavg(),
        warmSamples: WARM_SAMPLES,
        scripts,
      },
    );
  } finally {
    await browser.close();
    await web.close();
    await companion.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
