import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 17 item 5, done the way a newcomer and an operator do it:
 * - a fresh checkout (the repository's files, no out/), where `npm install` runs `prepare`, then
 *   `npm run server`: /admin serves the dashboard;
 * - a production folder holding only what `npm run build` wrote and the production dependencies
 *   (what `npm ci --omit=dev` installs: no tsx, no esbuild, no Vite), started with NODE_ENV=production
 *   through the package bin.
 * Packages are copied from this checkout's node_modules rather than downloaded, to stay offline.
 */

const ROOT = join(import.meta.dirname, '..', '..');
let work: string;
let checkout: string;
let production: string;
const children: ChildProcess[] = [];

function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening:\n${output}`)));
  });
}

function serverEnv(dataDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TOLLGATE_PORT: '0',
    TOLLGATE_LOG_LEVEL: 'warn',
    TOLLGATE_DATA_DIR: dataDir,
    TOLLGATE_LICENSE_SIGNING_KEY: join(ROOT, 'dev-keys', 'license-signing.dev.jwk.json'),
  };
}

async function expectDashboard(url: string): Promise<void> {
  const page = await fetch(new URL('/admin/', url));
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  const html = await page.text();
  const script = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script, 'the dashboard page loads its built script').toBeDefined();
  expect((await fetch(new URL(script as string, url))).status).toBe(200);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tollgate-prod-'));
  // The fresh checkout: every file git would give a clone (tracked, and new ones not ignored).
  checkout = join(work, 'checkout');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(join(ROOT, file)));
  for (const file of files) {
    mkdirSync(dirname(join(checkout, file)), { recursive: true });
    cpSync(join(ROOT, file), join(checkout, file));
  }
  expect(existsSync(join(checkout, 'out'))).toBe(false);
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  // What `npm install` runs after installing the packages in a checkout.
  execFileSync('npm', ['run', 'prepare'], { cwd: checkout, stdio: 'pipe' });

  // The production folder: the build output, the bins, package.json and the production packages only.
  production = join(work, 'production');
  for (const entry of ['out', 'bin', 'package.json'])
    cpSync(join(checkout, entry), join(production, entry), { recursive: true });
  const packages = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .map((path) => relative(join(ROOT, 'node_modules'), path))
    // Top-level packages only: a nested node_modules comes along inside its parent.
    .filter(
      (name) =>
        name &&
        !name.startsWith('..') &&
        !name.includes('node_modules') &&
        (name.startsWith('@') ? name.split('/').length === 2 : !name.includes('/')),
    );
  for (const name of packages) {
    cpSync(join(ROOT, 'node_modules', name), join(production, 'node_modules', name), { recursive: true });
  }
}, 240_000);

afterAll(() => {
  for (const child of children) if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('starting the server', () => {
  it('after `npm install` on a fresh checkout, `npm run server` serves /admin', async () => {
    const child = spawn('npm', ['run', 'server'], {
      cwd: checkout,
      env: serverEnv(join(work, 'checkout-data')),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(child);
    const url = await listening(child);
    await expectDashboard(url);
  });

  it('runs in production from the build output without tsx or any build tool installed', async () => {
    for (const tool of ['tsx', 'esbuild', 'vite', 'typescript']) {
      expect(existsSync(join(production, 'node_modules', tool)), `${tool} is not installed`).toBe(false);
    }
    const manifest = JSON.parse(readFileSync(join(production, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
    const child = spawn(process.execPath, [join(production, 'bin', 'tollgate-server.mjs')], {
      cwd: production,
      env: { ...serverEnv(join(work, 'production-data')), NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(child);
    const url = await listening(child);
    expect((await fetch(new URL('/healthz', url))).status).toBe(200);
    const signUp = await fetch(new URL('/v1/auth/sign-up', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'prod@example.test', password: 'a long test password' }),
    });
    expect(signUp.status).toBe(201);
    await expectDashboard(url);
  });

  it("runs the companion's command line compiled, in production", () => {
    const status = execFileSync(process.execPath, [join(production, 'bin', 'tollgate.mjs'), 'status'], {
      cwd: production,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        TOLLGATE_HOME: join(work, 'companion-home'),
        TOLLGATE_SERVER_URL: 'http://127.0.0.1:9',
      },
    });
    expect(status).toMatch(/not signed in\): free tier/);
  });
});
