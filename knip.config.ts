import type { KnipConfig } from 'knip';

// Dead files, exports and dependencies (`npm run lint`). Knip finds most entry points itself:
// src-main/index.ts from package.json's `main`; bin/*.mjs, src-server/cli.ts, src-main/cli.ts and
// scripts/start.ts from `bin` and `scripts`; src-main/preload.ts and src-renderer/main.tsx from
// electron.vite.config.ts; src-dashboard/main.tsx from vite.dashboard.config.ts; the tests from
// vitest.config.ts. Listing those again only earns a "redundant entry" hint. The globs below name
// what no configuration points at, and the migrations, whose `up`/`down` Kysely's Migrator calls
// by name on the module object. sdk/typescript/src/index.ts is the TypeScript SDK's public API,
// which host apps (not this repository) import.
const config: KnipConfig = {
  entry: [
    'scripts/*.ts',
    'scripts/*.mjs',
    // Compiled by scripts/build-server.mjs, which names them as esbuild entry points.
    'src-server/cli.ts',
    'src-server/payments/sync-cli.ts',
    'src-server/payments/import-cli.ts',
    'src-server/admin/cli.ts',
    'bench/*.ts',
    'bin/*.mjs',
    'test/**/*.test.ts',
    // A fake billing server the trusted-time test runs as its own process (node --import tsx).
    'test/support/impersonator.ts',
    'src-server/db/migrations/[0-9]*.ts',
    'sdk/typescript/src/index.ts',
  ],
  project: ['**/*.{ts,tsx,mjs}'],
  // Mono's compiler and runtime, from Debian (.ci/run installs them): the C# SDK's conformance test.
  // ioreg (macOS) and reg (Windows) give the machine identity (src-main/device-id.ts).
  // mount and umount (util-linux) give the SQLite full-disk test a small tmpfs of its own.
  ignoreBinaries: ['mcs', 'mono', 'ioreg', 'reg', 'mount', 'umount'],
  // Type packages of the test SMTP server (test/integration/outbox/smtp.ts), which knip cannot tie to their imports.
  ignoreDependencies: ['@types/mailparser', '@types/smtp-server'],
};

export default config;
