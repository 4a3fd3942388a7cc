import { join } from 'node:path';
import { app, Notification, safeStorage, session } from 'electron';
import ElectronStore from 'electron-store';
import { resolveConfig } from './config.ts';
import { registerIpc } from './ipc-main.ts';
import { announceNotices } from './os-notices.ts';
import { runCompanion } from './run-companion.ts';
import { cipherFor } from './secrets.ts';
import type { SettingsStore } from './settings-store.ts';
import { hardenSession, openCompanionWindow, openExternalSafely } from './window.ts';

// The Electron entry: thin. One companion per user — a second launch hands over to the first.
const config = resolveConfig({}, process.env);
if (process.env.TOLLGATE_HOME) app.setPath('userData', config.home);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.whenReady().then(start, (error: Error) => {
    console.error(error);
    app.exit(1);
  });
}

function openElectronStore(home: string): SettingsStore {
  const store = new ElectronStore<Record<string, unknown>>({ cwd: home, name: 'companion' });
  return {
    get: (key) => store.get(key),
    set: (key, value) => store.set(key, value),
    delete: (key) => store.delete(key),
  };
}

async function start(): Promise<void> {
  hardenSession(session.defaultSession);
  const running = await runCompanion({
    home: app.getPath('userData'),
    serverUrl: config.serverUrl,
    openStore: openElectronStore,
    cipher: cipherFor(safeStorage),
    ...(config.publicKey ? { publicKey: config.publicKey } : {}),
    timing: config.timing,
    openExternal: (url) => openExternalSafely(url, config.serverUrl),
  });
  const { companion } = running;
  const outDir = join(import.meta.dirname, '..');
  const { window, appUrl } = await openCompanionWindow(
    outDir,
    config.serverUrl,
    companion.state.getState().branding.productName,
  );
  const unregister = registerIpc(companion, window, appUrl);
  const bringForward = () => {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };
  // The 80 % / 100 % notices also reach the desktop when the window is closed or behind others.
  const stopNotices = announceNotices(companion.state, companion.store, (notice) => {
    if (!Notification.isSupported()) return;
    const shown = new Notification({ title: notice.title, body: notice.body });
    shown.on('click', bringForward);
    shown.show();
  });
  app.on('second-instance', bringForward);
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    event.preventDefault();
    unregister();
    stopNotices();
    void running.close().finally(() => app.exit(0));
  });
}
