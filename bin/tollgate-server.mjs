#!/usr/bin/env node
// The package bin: runs the TypeScript entry through tsx (no build step for the server).
import { register } from 'tsx/esm/api';

register();
await import('../src-server/cli.ts');
