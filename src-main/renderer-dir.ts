import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where a built renderer is, for --web mode: `out/web` (built for the browser by
 * scripts/renderer-build.ts), else the Electron build's `out/renderer` (`npm run build`). The
 * product only looks; building is the checkout's business (scripts/).
 */
export const RENDERER_BUILDS = { web: join('out', 'web'), electron: join('out', 'renderer') } as const;

/** The app's root folder: the checkout, or the installed package. */
const APP_ROOT = resolve(import.meta.dirname, '..');

export function builtRenderer(root: string = APP_ROOT): string | null {
  for (const dir of [RENDERER_BUILDS.web, RENDERER_BUILDS.electron]) {
    const path = join(root, dir);
    if (existsSync(join(path, 'index.html'))) return path;
  }
  return null;
}

/**
 * The renderer --web serves: `TOLLGATE_RENDERER_DIR` when set (a build of the UI kept elsewhere,
 * e.g. a test's own, so it never races another build of out/), else this app's own build.
 */
export function webRenderer(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = env.TOLLGATE_RENDERER_DIR;
  if (chosen) return existsSync(join(chosen, 'index.html')) ? resolve(chosen) : null;
  return builtRenderer();
}
