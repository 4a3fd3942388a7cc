import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractAll, extractFile, listPackage } from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/packaging/builder-config.ts';

/**
 * What a vendor ships: `npm run build`, then electron-builder's --dir target (scripts/package.ts)
 * with a stand-in Electron distribution — an executable named `electron` and a resources/ folder,
 * since the real binary cannot be downloaded here. The app.asar it writes is the same the
 * installers wrap; it must hold the built companion and its runtime dependencies, nothing else.
 */

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
/** Build and test tools, named too in case one is ever moved into `dependencies` by mistake. */
const DEV_TOOLS = [
  'vite',
  'vitest',
  'electron-vite',
  'electron',
  'electron-builder',
  'typescript',
  '@biomejs/biome',
  'knip',
];
/** The billing server's dependencies: installed for `tollgate-server`, never needed by the companion. */
const SERVER_ONLY = [
  'fastify',
  'pg',
  'stripe',
  'better-sqlite3',
  'ioredis',
  'kysely',
  'tsx',
  'esbuild',
  'react',
  'chart.js',
];

/**
 * Just enough of Electron's main-process module for out/main/index.js to load and run its top level
 * as a packaged app whose single-instance lock is taken (so it quits before start()).
 */
const ELECTRON_STAND_IN = [
  // Written out one by one: Node finds a CommonJS module's named exports by reading `exports.X =`.
  ...['BrowserWindow', 'Menu', 'Notification', 'Tray', 'dialog', 'ipcMain', 'nativeImage', 'safeStorage']
    .concat(['screen', 'session', 'shell'])
    .map((name) => `exports.${name} = {};`),
  `exports.app = {
    isPackaged: true,
    on() {},
    requestSingleInstanceLock: () => false,
    quit: () => console.log('quit'),
    setPath() {},
    setAsDefaultProtocolClient() { throw new Error('not before the lock'); },
  };`,
  `exports.protocol = {
    registerSchemesAsPrivileged: (schemes) => console.log('privileged ' + schemes.map((s) => s.scheme).join(' ')),
  };`,
].join('\n');

let workDir: string;
let asarPath: string;
let entries: string[];
let packagedModules: Set<string>;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'tollgate-package-'));
  const standIn = join(workDir, 'electron-dist');
  mkdirSync(join(standIn, 'resources'), { recursive: true });
  writeFileSync(join(standIn, 'electron'), '#!/bin/sh\necho "stand-in Electron: not runnable"\nexit 1\n');
  chmodSync(join(standIn, 'electron'), 0o755);

  const started = Date.now();
  execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'pipe' });
  const tsx = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const output = join(workDir, 'dist');
  const log = execFileSync(
    process.execPath,
    [tsx, 'scripts/package.ts', '--dir', '--electron-dist', standIn, '--output', output],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } },
  );
  expect(log).toMatch(/fuses skipped: .* is a stand-in/);
  asarPath = join(output, 'linux-unpacked', 'resources', 'app.asar');
  entries = listPackage(asarPath, { isPack: false }).map((entry) => entry.replaceAll('\\', '/'));
  packagedModules = new Set(
    entries
      .map((entry) => /^\/node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(entry)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  const size = statSync(asarPath).size;
  console.log(
    `app.asar: ${(size / 1024 / 1024).toFixed(1)} MB, ${entries.length} entries, ${packagedModules.size} packages; ` +
      `build + package in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}, 120_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('the packaged app.asar', () => {
  it('holds the built main, preload and renderer', () => {
    expect(entries).toContain('/out/main/index.js');
    expect(entries).toContain('/out/preload/index.cjs');
    expect(entries).toContain('/out/renderer/index.html');
    expect(entries.some((entry) => /^\/out\/renderer\/assets\/index-[\w-]+\.js$/.test(entry))).toBe(true);
    const packaged = JSON.parse(extractFile(asarPath, 'package.json').toString('utf8')) as Record<string, unknown>;
    expect(packaged.main).toBe('out/main/index.js');
    expect(packaged.devDependencies).toBeUndefined();
    expect(packaged.scripts).toBeUndefined();
  });

  it('holds every package out/main imports, complete enough to load', () => {
    const main = readFileSync(join(REPO_ROOT, 'out', 'main', 'index.js'), 'utf8');
    const imports = [...main.matchAll(/(?:^|\n)import\s[^;]*?from\s*"([^".][^"]*)"/g)].map(
      (match) => match[1] as string,
    );
    const bare = [...new Set(imports.filter((name) => !name.startsWith('node:') && name !== 'electron'))];
    expect(bare.length).toBeGreaterThan(0);
    for (const specifier of bare) {
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      expect(packagedModules, `out/main imports ${specifier}`).toContain(name);
    }
    // Load each one from the unpacked archive with plain Node, Electron's module stood in for: a
    // file or nested dependency the package lost (electron-builder re-lays node_modules) fails here.
    const app = join(workDir, 'app');
    extractAll(asarPath, app);
    mkdirSync(join(app, 'node_modules', 'electron'), { recursive: true });
    writeFileSync(join(app, 'node_modules', 'electron', 'index.js'), ELECTRON_STAND_IN);
    const script = `for (const name of ${JSON.stringify(bare)}) await import(name); console.log('loaded');`;
    const loaded = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(loaded.trim()).toBe('loaded');
  });

  it('starts its main entry as a packaged app: the bundled vendor config parses and every import resolves', () => {
    // Run up to the single-instance lock, which the stand-in refuses: the app must quit, having
    // registered app:// and touched nothing else.
    const app = join(workDir, 'app');
    const started = execFileSync(process.execPath, ['out/main/index.js'], { cwd: app, encoding: 'utf8' });
    expect(started.split('\n').filter(Boolean)).toEqual(['privileged app', 'quit']);
  });

  it('holds no sources, tests, fixtures, scripts or local data', () => {
    const forbidden = [
      /^\/(src-[a-z]+|test|scripts|bench|docs|sdk|seed|bin|assets\/(?!icon\.png$))\//,
      /^\/out\/(web|dashboard)\//,
      /\.(ts|tsx|mts|cts|map)$/,
      /\.test\.|\/(tests?|__tests__|spec|fixtures?)\//,
      /\/\.env(\.|$)/,
      /\/\.tollgate\//,
      /^\/(vendor\.config\.json|electron\.vite\.config|vitest\.config|tsconfig|biome\.json|knip\.config|package-lock\.json)/,
    ];
    const offending = entries.filter((entry) => forbidden.some((pattern) => pattern.test(entry)));
    expect(offending).toEqual([]);
  });

  it('holds no development dependency, nothing of the billing server, and no native module', () => {
    const unwanted = [...Object.keys(manifest.devDependencies), ...DEV_TOOLS, ...SERVER_ONLY].filter((name) =>
      packagedModules.has(name),
    );
    expect(unwanted).toEqual([]);
    expect(entries.filter((entry) => entry.endsWith('.node'))).toEqual([]);
  });

  it('holds nothing secret: no private keys, no Stripe or signing secrets', () => {
    const secret =
      /-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=\r\n]{64,}|\b(sk|rk)_(live|test)_[0-9a-zA-Z]{10,}|\bwhsec_[0-9a-zA-Z]{10,}|"d"\s*:\s*"[A-Za-z0-9_-]{43}"/;
    const files = entries.filter((entry) => /\.(js|cjs|mjs|json|html|css|ya?ml|txt)$/.test(entry));
    const leaking = files.filter((entry) => secret.test(extractFile(asarPath, entry.slice(1)).toString('utf8')));
    expect(leaking).toEqual([]);
    expect(entries.filter((entry) => /\.(pem|key|p12|pfx|jwk)$|id_(rsa|ed25519)/.test(entry))).toEqual([]);
  });
});
