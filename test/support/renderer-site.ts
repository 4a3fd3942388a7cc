import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { build } from 'vite';
import { type LaunchedBrowser, launchChromium } from './browser.ts';
import { serveStatic } from './static-server.ts';

export interface RendererSite {
  /** Where the freshly built renderer is served (loopback, free port). */
  url: string;
  chromium: LaunchedBrowser;
  close(): Promise<void>;
}

/** Builds src-renderer with Vite into a temp folder, serves it, and launches Debian's Chromium. */
export async function openRendererSite(): Promise<RendererSite> {
  const outDir = mkdtempSync(join(tmpdir(), 'tollgate-renderer-'));
  await build({
    root: resolve('src-renderer'),
    plugins: [react()],
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  const site = await serveStatic(outDir);
  const chromium = await launchChromium();
  return {
    url: site.url,
    chromium,
    async close() {
      await chromium.close();
      await site.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
