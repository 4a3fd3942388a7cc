import { defineConfig } from 'vitest/config';

// Three layers, one runner. Unit tests are pure and run in parallel; integration tests start real
// servers and databases; e2e tests drive Debian's Chromium and run one file at a time. The few
// integration tests that rebuild out/ form their own group, one file at a time.
/** Test files that (may) run `npm run build`, which rewrites out/main, out/preload and out/renderer. */
const BUILDS_OUT = [
  'test/integration/packaging.test.ts',
  'test/integration/companion/launcher.test.ts',
  'test/integration/production-start.test.ts',
];

export default defineConfig({
  test: {
    // The JSON report is what .ci/run counts for its closing "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Projects with different worker settings must run as separate groups (vitest 4).
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: BUILDS_OUT,
          environment: 'node',
          // Bundled through Vite so that a test can stand in for the `electron` module it imports
          // (test/integration/companion/electron-settings.test.ts opens the Electron settings file).
          server: { deps: { inline: ['electron-store'] } },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // These run `npm run build` (the Electron build in out/) and must not overlap.
        test: {
          name: 'build',
          include: BUILDS_OUT,
          environment: 'node',
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
