import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * "Open at login", persisted in the companion's settings (the OS keeps its own copy, which is
 * re-applied at start so it follows the app when an update moves it). macOS and Windows through
 * Electron's login items; Linux, where Electron has none, through an XDG autostart entry.
 */

export const OPEN_AT_LOGIN_KEY = 'settings.openAtLogin';

export interface LoginItemHost {
  platform: NodeJS.Platform;
  setLoginItemSettings(settings: { openAtLogin: boolean }): void;
  /** The program to start: the AppImage when running from one (its mount path changes every run). */
  executable: string;
  /** $XDG_CONFIG_HOME, else ~/.config. */
  configHome: string;
  productName: string;
}

/** The XDG autostart entry that starts the companion at login on Linux. */
function autostartEntry(productName: string, executable: string): string {
  const quoted = `"${executable.replace(/(["`$\\])/g, '\\$1')}"`;
  const name = productName.replace(/[\r\n]/g, ' ');
  return `[Desktop Entry]\nType=Application\nName=${name}\nExec=${quoted}\nX-GNOME-Autostart-enabled=true\n`;
}

export function applyOpenAtLogin(openAtLogin: boolean, host: LoginItemHost): void {
  if (host.platform !== 'linux') {
    host.setLoginItemSettings({ openAtLogin });
    return;
  }
  const file = join(host.configHome, 'autostart', 'tollgate.desktop');
  if (!openAtLogin) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(join(host.configHome, 'autostart'), { recursive: true });
  writeFileSync(file, autostartEntry(host.productName, host.executable), { mode: 0o644 });
}
