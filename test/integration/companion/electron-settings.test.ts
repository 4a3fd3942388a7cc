import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openElectronStore } from '../../../src-main/electron-settings.ts';
import { tempDir } from './harness.ts';

// The settings file as the Electron app opens it (src-main/index.ts → electron-settings.ts), with
// electron-store itself — only the `electron` module it asks for main's app object is absent here,
// as in any process that is not Electron's main (electron-store then needs an absolute cwd, given).
vi.mock('electron', () => ({ default: {} }));

describe("the Electron app's settings file", () => {
  it('is companion.json in the data folder, 0600, even when it existed with a looser mode', () => {
    const folder = tempDir('tollgate-electron-store-');
    try {
      const file = join(folder.path, 'companion.json');
      const fresh = openElectronStore(folder.path);
      fresh.set('session', { scheme: 'plaintext', data: 'x' });
      expect(statSync(file).mode & 0o777).toBe(0o600);

      writeFileSync(file, '{}', { mode: 0o644 });
      openElectronStore(folder.path).set('session', { scheme: 'plaintext', data: 'y' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      folder.remove();
    }
  });
});
