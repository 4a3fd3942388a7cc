import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { builtRenderer, RENDERER_BUILDS } from '../src-main/renderer-dir.ts';

/**
 * Builds the renderer for --web mode with Vite (`out/web`), in a checkout. The product never runs
 * this: it serves a build that exists (src-main/renderer-dir.ts). Built when missing, or on request
 * (npm start rebuilds so a newcomer never sees a stale UI).
 */
export const REPO_ROOT = resolve(import.meta.dirname, '..');

export async function ensureRendererBuild(options: { rebuild?: boolean } = {}): Promise<string> {
  if (!options.rebuild) {
    const built = builtRenderer(REPO_ROOT);
    if (built) return built;
  }
  // Loaded only when a build is needed: Vite is a development dependency of the checkout.
  const [{ build }, { default: react }] = await Promise.all([import('vite'), import('@vitejs/plugin-react')]);
  const outDir = join(REPO_ROOT, RENDERER_BUILDS.web);
  await build({
    root: join(REPO_ROOT, 'src-renderer'),
    plugins: [react()],
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  if (!existsSync(join(outDir, 'index.html'))) throw new Error(`The renderer build left no index.html in ${outDir}.`);
  return outDir;
}
