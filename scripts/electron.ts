import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompanionConfig } from '../src-main/config.ts';
import { REPO_ROOT } from './renderer-build.ts';

/**
 * The Electron window from a checkout: the `electron` dev dependency's binary (Electron 45+
 * downloads it lazily, so it may be missing) running the electron-vite build in `out/`.
 */

const ELECTRON_DIR = join(REPO_ROOT, 'node_modules', 'electron');

/** Where the executable sits inside an Electron distribution (as electron's own install.js names it). */
function executableIn(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  return platform === 'win32' ? 'electron.exe' : 'electron';
}

export type ElectronBinary = { ok: true; binary: string } | { ok: false; reason: string };

/** The binary already on this machine: an ELECTRON_OVERRIDE_DIST_PATH distribution, or the downloaded one. */
function installedBinary(env: NodeJS.ProcessEnv, electronDir: string): ElectronBinary | null {
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const binary = join(override, executableIn(process.platform));
    return existsSync(binary)
      ? { ok: true, binary }
      : {
          ok: false,
          reason: `ELECTRON_OVERRIDE_DIST_PATH is ${override}, which holds no ${executableIn(process.platform)}`,
        };
  }
  try {
    const binary = join(electronDir, 'dist', readFileSync(join(electronDir, 'path.txt'), 'utf8').trim());
    return existsSync(binary) ? { ok: true, binary } : null;
  } catch {
    return null;
  }
}

/** The last line of what the installer wrote on failure that says why (not its stack frames). */
function failureReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('at '));
  const cause = lines.findLast((line) => /\b(E[A-Z]+|cause|Error|Response code)\b/.test(line)) ?? lines.at(-1);
  return (cause ?? 'the installer gave no reason').slice(0, 300);
}

/**
 * The Electron binary for the window. Electron 45+ no longer downloads it at install time, so on
 * first use this runs Electron's own installer (node_modules/electron/install.js: the release
 * for this platform, checked against the package's checksums; ELECTRON_MIRROR and the other
 * @electron/get settings apply), which shows its own progress bar on a slow download.
 */
export function ensureElectron(env: NodeJS.ProcessEnv = process.env, electronDir = ELECTRON_DIR): ElectronBinary {
  const installed = installedBinary(env, electronDir);
  if (installed) return installed;
  console.log('Fetching the Electron binary (first start only; set ELECTRON_MIRROR to use a mirror)…');
  const result = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
    cwd: electronDir,
    env,
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  if (result.error) return { ok: false, reason: result.error.message };
  if (result.status !== 0) {
    return { ok: false, reason: `Electron's installer could not download it (${failureReason(result.stderr ?? '')})` };
  }
  return installedBinary(env, electronDir) ?? { ok: false, reason: 'the installer finished but left no binary' };
}

/** What the user reads when the window cannot open: why, what happens instead, how to retry. */
export function fallbackMessage(reason: string): string {
  return [
    `The Electron window cannot start: ${reason}.`,
    'The companion opens in your browser instead (--web).',
    'To retry the window: run `node node_modules/electron/install.js` (with ELECTRON_MIRROR set if',
    'the default host is blocked), then start again.',
  ].join('\n');
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
