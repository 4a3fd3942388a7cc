// `npm install` / `npm ci` in a checkout run this (package.json "prepare"): it builds the analytics
// dashboard (out/dashboard, served at /admin) and compiles the server and the companion's command
// line (out/server, out/companion.js), so `npm run server` on a fresh clone serves everything.
// A production install (`npm ci --omit=dev`) has no build tools: it then runs what `npm run build`
// produced beforehand, and this step only says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
const esbuild = join(root, 'node_modules', 'esbuild', 'package.json');

if (!existsSync(vite) || !existsSync(esbuild)) {
  const built = existsSync(join(root, 'out', 'server', 'cli.js'));
  console.log(
    built
      ? 'tollgate: no build tools installed (production install); using the existing build in out/.'
      : 'tollgate: no build tools installed, and no build in out/: run `npm run build` where the ' +
          'development dependencies are installed, then copy out/ here.',
  );
  process.exit(0);
}

const { buildServer } = await import('./build-server.mjs');
await buildServer();
const dashboard = spawnSync(process.execPath, [vite, 'build', '-c', 'vite.dashboard.config.ts', '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
if (dashboard.status !== 0) {
  // Never fail the whole install over the dashboard: the API works without it and /admin says how to build it.
  console.log('tollgate: the dashboard did not build; /admin will say so. Retry with `npm run build:dashboard`.');
}
