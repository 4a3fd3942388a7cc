import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * The browser the UI tests drive, found the way contributors have one: TOLLGATE_CHROMIUM (a path),
 * else Playwright's own Chromium when `npx playwright-core install chromium` has run, else the system's
 * Chrome, Chromium or Edge where Linux, macOS and Windows put them. Launched headless, without the
 * sandbox (CI runs as root) and background networking (closed networks refuse it), with a fresh
 * profile each time.
 */
const SYSTEM_BROWSERS: Record<string, string[]> = {
  linux: [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/snap/bin/chromium',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/opt/google/chrome/chrome',
    '/usr/bin/microsoft-edge',
    '/opt/microsoft/msedge/msedge',
  ],
  darwin: [
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
  ],
};

/**
 * Where Chrome, Chromium and Edge install on Windows: under %LOCALAPPDATA% (per user),
 * %ProgramFiles% and %ProgramFiles(x86)%, read from `env` (Windows spells the names in any case).
 */
function windowsBrowsers(env: NodeJS.ProcessEnv): string[] {
  const variable = (name: string) => Object.entries(env).find(([key]) => key.toUpperCase() === name)?.[1] || undefined;
  return ['LOCALAPPDATA', 'PROGRAMFILES', 'PROGRAMFILES(X86)']
    .map(variable)
    .filter((dir): dir is string => dir !== undefined)
    .flatMap((dir) => [
      win32.join(dir, 'Google', 'Chrome', 'Application', 'chrome.exe'),
      win32.join(dir, 'Chromium', 'Application', 'chrome.exe'),
      win32.join(dir, 'Microsoft', 'Edge', 'Application', 'msedge.exe'),
    ]);
}

/** Where each place looked; the first that exists is used. Exported for the message test. */
export function browserCandidates(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): { source: string; path: string }[] {
  const candidates: { source: string; path: string }[] = [];
  if (env.TOLLGATE_CHROMIUM) candidates.push({ source: 'TOLLGATE_CHROMIUM', path: env.TOLLGATE_CHROMIUM });
  // Playwright downloads for the platform it runs on.
  if (platform === process.platform) {
    try {
      candidates.push({ source: "Playwright's Chromium", path: chromium.executablePath() });
    } catch {
      // playwright-core knows no download for this platform.
    }
  }
  const system = platform === 'win32' ? windowsBrowsers(env) : (SYSTEM_BROWSERS[platform] ?? []);
  for (const path of system) candidates.push({ source: 'system browser', path });
  return candidates;
}

/** The browser to drive, or an error saying what to install. */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  const candidates = browserCandidates(env, platform);
  const named = env.TOLLGATE_CHROMIUM;
  if (named && !existsSync(named))
    throw new Error(`TOLLGATE_CHROMIUM=${named} does not exist; point it at a Chrome, Chromium or Edge executable.`);
  const found = candidates.find((candidate) => existsSync(candidate.path));
  if (found) return found.path;
  throw new Error(
    [
      'No Chromium-based browser found for the UI tests. Any one of these works:',
      '  npx playwright-core install chromium            (Playwright downloads its own Chromium)',
      '  apt-get install chromium                        (Debian, Ubuntu: or install Google Chrome / Edge)',
      '  TOLLGATE_CHROMIUM=/path/to/chrome npm test      (a browser somewhere else)',
      'Looked in:',
      ...candidates.map((candidate) => `  ${candidate.path} (${candidate.source})`),
    ].join('\n'),
  );
}

const ARTIFACTS_DIR = join(process.cwd(), 'test-results', 'screenshots');

export interface LaunchedBrowser {
  browser: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser: context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and page errors so a test can assert there were none. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export type { Page };
