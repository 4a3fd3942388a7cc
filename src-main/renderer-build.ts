import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The renderer for --web mode: `out/web` (built here with Vite from src-renderer), else the Electron
 * build's `out/renderer` (`npm run build`). Built when missing, or on request (npm start rebuilds
 * so a newcomer never sees a stale UI).
 */
export const REPO_ROOT = resolve(import.meta.dirname, '..');
const WEB_OUT = join(REPO_ROOT, 'out', 'web');
const ELECTRON_OUT = join(REPO_ROOT, 'out', 'renderer');

export async function ensureRendererBuild(options: { rebuild?: boolean } = {}): Promise<string> {
  if (!options.rebuild) {
    for (const dir of [WEB_OUT, ELECTRON_OUT]) if (existsSync(join(dir, 'index.html'))) return dir;
  }
  // Loaded only when a build is needed: Vite is a development dependency of the checkout.
  const [{ build }, { default: react }] = await Promise.all([import('vite'), import('@vitejs/plugin-react')]);
  await build({
    root: join(REPO_ROOT, 'src-renderer'),
    plugins: [react()],
    logLevel: 'warn',
    build: { outDir: WEB_OUT, emptyOutDir: true },
  });
  return WEB_OUT;
}
