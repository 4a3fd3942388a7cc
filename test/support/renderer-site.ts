import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { build, preview } from 'vite';
import { type LaunchedBrowser, launchChromium } from './browser.ts';

export interface RendererSite {
  /** Where the freshly built renderer is served (loopback, free port). */
  url: string;
  chromium: LaunchedBrowser;
  close(): Promise<void>;
}

/**
 * Builds src-renderer with Vite into a temp folder, serves it with Vite's own preview server, and
 * launches Debian's Chromium.
 */
export async function openRendererSite(): Promise<RendererSite> {
  const outDir = mkdtempSync(join(tmpdir(), 'tollgate-renderer-'));
  const config = {
    root: resolve('src-renderer'),
    configFile: false as const,
    plugins: [react()],
    logLevel: 'silent' as const,
    build: { outDir, emptyOutDir: true },
  };
  await build(config);
  const server = await preview({ ...config, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  const { port } = server.httpServer.address() as AddressInfo;
  const chromium = await launchChromium();
  return {
    url: `http://127.0.0.1:${port}/`,
    chromium,
    async close() {
      await chromium.close();
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
