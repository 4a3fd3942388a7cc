#!/usr/bin/env node
// The `tollgate` command: the companion's CLI (src-main/cli.ts) through its launcher
// (scripts/companion.ts: the Electron window, the UI build), compiled by `npm run build`.
import { existsSync } from 'node:fs';

const cli = new URL('../out/companion.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('tollgate: out/companion.js is missing: run `npm run build` (or `npm install`) first.');
  process.exit(1);
}
const { launch } = await import(cli.href);
process.exit(await launch(process.argv.slice(2)));
