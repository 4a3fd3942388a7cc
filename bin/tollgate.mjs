#!/usr/bin/env node
// The `tollgate` command: the companion's CLI (src-main/cli.ts) through its launcher
// (scripts/companion.ts: the Electron window, the UI build). Installed (or with NODE_ENV=production)
// it runs the build `npm run build` compiled to out/companion.js; in a checkout with the development
// tools it runs the sources through tsx, so what runs is always what was just edited.
import { existsSync } from 'node:fs';

const sources = new URL('../scripts/companion.ts', import.meta.url);
const compiled = new URL('../out/companion.js', import.meta.url);
const tsx = new URL('../node_modules/tsx/package.json', import.meta.url);
let entry = compiled;
if (process.env.NODE_ENV !== 'production' && existsSync(sources) && existsSync(tsx)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = sources;
} else if (!existsSync(compiled)) {
  console.error('tollgate: out/companion.js is missing: run `npm run build` (or `npm install`) first.');
  process.exit(1);
}
const { launch } = await import(entry.href);
process.exit(await launch(process.argv.slice(2)));
