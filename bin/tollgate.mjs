#!/usr/bin/env node
// The `tollgate` command from a checkout: the companion's CLI (src-main/cli.ts) through its launcher
// (scripts/companion.ts: the Electron window, the UI build), run through tsx.
import { register } from 'tsx/esm/api';

register();
const { launch } = await import('../scripts/companion.ts');
process.exit(await launch(process.argv.slice(2)));
