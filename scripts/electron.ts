import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompanionConfig } from '../src-main/config.ts';
import { REPO_ROOT } from './renderer-build.ts';

/**
 * The Electron window from a checkout: the `electron` dev dependency's binary (Electron 45+
 * downloads it lazily, so it may be missing) running the electron-vite build in `out/`.
 */

/** The Electron binary of this checkout, when its download was possible. */
export function electronBinary(): string | null {
  const dir = join(REPO_ROOT, 'node_modules', 'electron');
  try {
    const relative = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
    const binary = join(dir, 'dist', relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Runs the companion window until it exits; builds `out/` first when it is missing. */
export async function runElectron(binary: string, config: CompanionConfig): Promise<number> {
  if (!existsSync(join(REPO_ROOT, 'out', 'main', 'index.js'))) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (built.status !== 0) return 1;
  }
  const env = { ...process.env, TOLLGATE_SERVER_URL: config.serverUrl, TOLLGATE_HOME: config.home };
  const child = spawn(binary, [REPO_ROOT], { stdio: 'inherit', env });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
