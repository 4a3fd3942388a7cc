import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureElectron, fallbackMessage } from './electron.ts';
import { ensureRendererBuild, REPO_ROOT } from './renderer-build.ts';

/**
 * `npm start`, the newcomer's first command: the billing server on its embedded default (SQLite in
 * .tollgate/server) and the companion pointed at it (data in .tollgate/companion) — the Electron
 * window (Electron's binary fetched on first use), or, where it cannot be had, the same UI in the
 * browser (--web). Ctrl+C stops both.
 */

const serverPort = process.env.TOLLGATE_PORT ?? '8787';
const children: ChildProcess[] = [];

function stopAll(code: number): never {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exit(code);
}
process.once('SIGINT', () => stopAll(0));
process.once('SIGTERM', () => stopAll(0));

async function serverAlreadyRunning(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/v1/plans', url), { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The analytics dashboard needs an admin token. A newcomer has none, so the first start makes one
 * and keeps it in a private file beside the server's data (never printed, never in a URL).
 */
function adminToken(): { token: string; source: string } {
  if (process.env.TOLLGATE_ADMIN_TOKEN)
    return { token: process.env.TOLLGATE_ADMIN_TOKEN, source: 'TOLLGATE_ADMIN_TOKEN' };
  const dir = join(REPO_ROOT, '.tollgate', 'server');
  const file = join(dir, 'admin-token');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  return { token: readFileSync(file, 'utf8').trim(), source: file };
}

function ensureDashboardBuild(): void {
  if (existsSync(join(REPO_ROOT, 'out', 'dashboard', 'index.html'))) return;
  console.log('Building the analytics dashboard…');
  const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const build = spawnSync(process.execPath, [vite, 'build', '-c', 'vite.dashboard.config.ts', '--logLevel', 'warn'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) console.log('The dashboard did not build; /admin will say so. The rest works.');
}

/**
 * A newcomer has no Stripe account: the local stack takes fake payments on the server's own test
 * checkout page. Chosen here, out loud, never by the server on its own (it would give plans away).
 */
function paymentsEnv(): Record<string, string> {
  if (process.env.TOLLGATE_PAYMENTS || process.env.STRIPE_SECRET_KEY) return {};
  console.log(
    'Payments: the local test provider (TOLLGATE_PAYMENTS=local): checkout is a test page, nothing is charged. ' +
      'Set STRIPE_SECRET_KEY for Stripe test mode (docs/stripe.md).',
  );
  return { TOLLGATE_PAYMENTS: 'local' };
}

/** The server runs compiled, as in production; compiling it takes well under a second. */
function compileServer(): string {
  const compiled = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-server.mjs')], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (compiled.status !== 0) throw new Error('The billing server did not compile (see above).');
  return join(REPO_ROOT, 'out', 'server', 'cli.js');
}

function startServer(admin: string): Promise<string> {
  const child = spawn(process.execPath, [compileServer()], {
    cwd: REPO_ROOT,
    env: {
      // The development vendor key: the companion pins its public half (vendor.config.json).
      TOLLGATE_LICENSE_SIGNING_KEY: join(REPO_ROOT, 'dev-keys', 'license-signing.dev.jwk.json'),
      ...process.env,
      ...paymentsEnv(),
      TOLLGATE_PORT: serverPort,
      TOLLGATE_ADMIN_TOKEN: admin,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    child.once('exit', (code) => reject(new Error(`The billing server stopped (exit ${code}) before it was ready.`)));
  });
}

async function main(): Promise<void> {
  const defaultUrl = `http://127.0.0.1:${serverPort}`;
  let serverUrl = process.env.TOLLGATE_SERVER_URL;
  if (!serverUrl && (await serverAlreadyRunning(defaultUrl))) {
    console.log(`A billing server is already answering on ${defaultUrl}; the companion will use it.`);
    serverUrl = defaultUrl;
  }
  const admin = adminToken();
  if (!serverUrl) {
    ensureDashboardBuild();
    serverUrl = await startServer(admin.token);
    console.log(`Analytics dashboard: ${serverUrl}/admin — sign in with the admin token in ${admin.source}`);
  }
  // The Electron window, fetching Electron's binary on first use; the browser (--web) when that fails.
  const electron = ensureElectron();
  if (!electron.ok) {
    console.log(`\n${fallbackMessage(electron.reason)}\nBuilding the UI…`);
    await ensureRendererBuild({ rebuild: true });
  }
  console.log(`\nBilling server: ${serverUrl}   (API docs: ${serverUrl}/docs)`);
  const companion = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'tollgate.mjs'), ...(electron.ok ? [] : ['--web', '--open'])],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        TOLLGATE_SERVER_URL: serverUrl,
        TOLLGATE_HOME: process.env.TOLLGATE_HOME ?? join(REPO_ROOT, '.tollgate', 'companion'),
      },
      stdio: 'inherit',
    },
  );
  children.push(companion);
  companion.once('exit', (code) => stopAll(code ?? 0));
}

main().catch((error: Error) => {
  console.error(error.message);
  stopAll(1);
});
