#!/usr/bin/env node
// The `tollgate` command: the companion's CLI (src-main/cli.ts), run through tsx from the checkout.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli.ts');
process.exit(await main(process.argv.slice(2)));
