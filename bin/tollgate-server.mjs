#!/usr/bin/env node
// The package bin: the compiled server (`npm run build`, or `npm install` in a checkout, writes it).
import { existsSync } from 'node:fs';

const cli = new URL('../out/server/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('tollgate-server: out/server/cli.js is missing: run `npm run build` (or `npm install`) first.');
  process.exit(1);
}
await import(cli.href);
