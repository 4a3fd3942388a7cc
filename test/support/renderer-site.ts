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

const viteConfig = (outDir: string) => ({
  root: resolve(import.meta.dirname, '..', '..', 'src-renderer'),
  configFile: false as const,
  plugins: [react()],
  logLevel: 'silent' as const,
  build: { outDir, emptyOutDir: true },
});

/** Builds this checkout's src-renderer with Vite into `outDir`, so a test sees today's UI. */
export async function buildRenderer(outDir: string): Promise<void> {
  await build(viteConfig(outDir));
}

/**
 * Builds src-renderer into a temp folder, serves it with Vite's own preview server, and launches
 * Debian's Chromium.
 */
export async function openRendererSite(): Promise<RendererSite> {
  const outDir = mkdtempSync(join(tmpdir(), 'tollgate-renderer-'));
  await buildRenderer(outDir);
  const server = await preview({
    ...viteConfig(outDir),
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
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
