import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyOpenAtLogin, type LoginItemHost } from '../../../src-main/login-item.ts';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function host(platform: NodeJS.Platform): LoginItemHost & { calls: unknown[] } {
  const configHome = mkdtempSync(join(tmpdir(), 'tollgate-login-'));
  folders.push(configHome);
  const calls: unknown[] = [];
  return {
    platform,
    calls,
    setLoginItemSettings: (settings) => void calls.push(settings),
    executable: '/home/ada/Apps/Acme Studio.AppImage',
    configHome,
    productName: 'Acme Studio',
  };
}

describe('open at login', () => {
  it('uses the OS login items on macOS and Windows', () => {
    for (const platform of ['darwin', 'win32'] as const) {
      const world = host(platform);
      applyOpenAtLogin(true, world);
      applyOpenAtLogin(false, world);
      expect(world.calls).toEqual([{ openAtLogin: true }, { openAtLogin: false }]);
    }
  });

  it('writes and removes an XDG autostart entry on Linux, quoting the program path', () => {
    const world = host('linux');
    const entry = join(world.configHome, 'autostart', 'tollgate.desktop');
    applyOpenAtLogin(true, world);
    expect(readFileSync(entry, 'utf8')).toBe(
      '[Desktop Entry]\nType=Application\nName=Acme Studio\nExec="/home/ada/Apps/Acme Studio.AppImage"\nX-GNOME-Autostart-enabled=true\n',
    );
    applyOpenAtLogin(false, world);
    expect(existsSync(entry)).toBe(false);
    applyOpenAtLogin(false, world);
    expect(world.calls).toEqual([]);
  });
});
