// Compiles the billing server and the companion's command line to plain JavaScript under out/, so
// they start with Node alone (no tsx at run time). Each entry is one ES module with src-server,
// src-main and src-shared bundled in and every npm package left external (resolved from
// node_modules at run time, as `npm ci --omit=dev` installs them). Run by `npm run build`, by
// `npm install` (scripts/prepare.mjs) and by `npm run server`; it takes well under a second.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Where each bundle lands matters: code that finds files beside it (the dashboard in
 * src-server/analytics/routes.ts, the repository root in scripts/renderer-build.ts) walks up from
 * import.meta.dirname, so each bundle sits as deep under the root as its source does.
 */
const ENTRIES = [
  { in: 'src-server/cli.ts', out: 'out/server/cli.js' },
  { in: 'src-server/payments/sync-cli.ts', out: 'out/server/sync-cli.js' },
  { in: 'src-server/payments/import-cli.ts', out: 'out/server/import-cli.js' },
  { in: 'src-server/admin/cli.ts', out: 'out/server/admin-cli.js' },
  { in: 'scripts/companion.ts', out: 'out/companion.js' },
];

export async function buildServer() {
  await Promise.all(
    ENTRIES.map((entry) =>
      build({
        absWorkingDir: root,
        entryPoints: [entry.in],
        outfile: entry.out,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        sourcemap: 'linked',
        logLevel: 'warning',
      }),
    ),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildServer().catch((error) => {
    console.error(`The server build failed: ${error.message}`);
    process.exit(1);
  });
}
