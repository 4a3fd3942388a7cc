import { homedir } from 'node:os';
import { join } from 'node:path';
import { app, Notification, protocol, safeStorage, screen, session } from 'electron';
import vendorFile from '../vendor.config.json' with { type: 'json' };
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, rendererUrl } from './app-protocol.ts';
import { resolveConfig } from './config.ts';
import { DEEP_LINK_SCHEME, type DeepLink, deepLinkInArgs, followDeepLink, parseDeepLink } from './deep-link.ts';
import { openElectronStore } from './electron-settings.ts';
import { registerIpc } from './ipc-main.ts';
import { applyOpenAtLogin, OPEN_AT_LOGIN_KEY } from './login-item.ts';
import { announceNotices } from './os-notices.ts';
import { runCompanion } from './run-companion.ts';
import { cipherFor } from './secrets.ts';
import { subscribeThrottled } from './state.ts';
import { showTray } from './tray.ts';
import { trayModel } from './tray-model.ts';
import { startUpdates } from './updater.ts';
import { updateStatusLine } from './updates.ts';
import { parseVendorConfig } from './vendor-config.ts';
import { hardenSession, openCompanionWindow, openExternalSafely, serveRenderer } from './window.ts';
import { fitWindowBounds, WINDOW_BOUNDS_KEY } from './window-bounds.ts';

// The Electron entry: thin. One companion per user — a second launch hands over to the first.
// The vendor's build configuration is bundled in at build time. A packaged app takes its billing
// server from it and ignores the end user's TOLLGATE_SERVER_URL; a development build (npm start)
// keeps following the environment. The license keys are the vendor's in every build.
const vendor = parseVendorConfig(vendorFile);
const config = app.isPackaged ? resolveConfig({ server: vendor.serverUrl }) : resolveConfig({}, process.env);
if (process.env.TOLLGATE_HOME) app.setPath('userData', config.home);

// Before ready: the renderer's own scheme (app-protocol.ts).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

// tollgate:// links (deep-link.ts): macOS delivers them as open-url, possibly before the app is
// ready; Windows and Linux start the app with the link as an argument, and a running instance
// receives it in second-instance. Links wait until the companion is there to follow them.
const waitingLinks: DeepLink[] = [];
let followLink = (link: DeepLink) => void waitingLinks.push(link);
const launchLink = deepLinkInArgs(process.argv);
if (launchLink) waitingLinks.push(launchLink);
app.on('open-url', (event, url) => {
  event.preventDefault();
  const link = parseDeepLink(url);
  if (link) followLink(link);
});

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // Registered by the installers too (electron-builder's `protocols`); this keeps it current on Windows.
  if (app.isPackaged) app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME);
  app.whenReady().then(start, (error: Error) => {
    console.error(error);
    app.exit(1);
  });
}

async function start(): Promise<void> {
  hardenSession(session.defaultSession);
  const running = await runCompanion({
    home: app.getPath('userData'),
    serverUrl: config.serverUrl,
    openStore: openElectronStore,
    cipher: cipherFor(safeStorage),
    licenseKeys: vendor.licenseKeys,
    appId: vendor.appId,
    timing: config.timing,
    openExternal: (url) => openExternalSafely(url, config.serverUrl),
    // Only a packaged app has the tollgate:// scheme registered to receive the way back.
    checkoutReturn: app.isPackaged ? 'app' : 'browser',
  });
  const { companion } = running;
  const { store } = companion;
  const outDir = join(import.meta.dirname, '..');
  serveRenderer(session.defaultSession, join(outDir, 'renderer'));
  const displays = [screen.getPrimaryDisplay(), ...screen.getAllDisplays()].map((display) => display.workArea);
  const { window, appUrl } = await openCompanionWindow(
    outDir,
    config.serverUrl,
    companion.state.getState().branding.productName,
    {
      appUrl: rendererUrl(app.isPackaged, process.env),
      bounds: fitWindowBounds(store.get(WINDOW_BOUNDS_KEY), displays),
    },
  );
  const unregister = registerIpc(companion, window, appUrl);
  const bringForward = () => {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };
  // Closing the window leaves the companion in the tray (host apps keep their gate checks); Quit quits.
  let quitting = false;
  app.on('before-quit', () => {
    quitting = true;
  });
  window.on('close', (event) => {
    store.set(WINDOW_BOUNDS_KEY, window.getNormalBounds());
    if (!quitting) {
      event.preventDefault();
      window.hide();
    }
  });

  // The 80 % / 100 % notices also reach the desktop when the window is closed or behind others.
  const stopNotices = announceNotices(companion.state, companion.store, (notice) => {
    if (!Notification.isSupported()) return;
    const shown = new Notification({ title: notice.title, body: notice.body });
    shown.on('click', bringForward);
    shown.show();
  });

  followLink = (link) => {
    bringForward();
    void followDeepLink(companion, link);
  };
  for (const link of waitingLinks.splice(0)) followLink(link);
  app.on('second-instance', (_event, argv) => {
    const link = deepLinkInArgs(argv);
    if (link) followLink(link);
    else bringForward();
  });
  app.on('activate', bringForward);

  const loginItem = {
    platform: process.platform,
    setLoginItemSettings: (settings: { openAtLogin: boolean }) => app.setLoginItemSettings(settings),
    executable: process.env.APPIMAGE ?? process.execPath,
    configHome: process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'),
    productName: vendor.productName,
  };
  let openAtLogin = store.get(OPEN_AT_LOGIN_KEY) === true;
  // A development build is the bare Electron binary: registering it at login would start nothing useful.
  if (app.isPackaged) applyOpenAtLogin(openAtLogin, loginItem);

  const updates = startUpdates({
    feed: vendor.updates,
    enabled: app.isPackaged,
    onChange: () => refreshTray(),
    beforeRestart: () => {
      quitting = true;
    },
  });
  const tray = showTray(join(app.getAppPath(), vendor.icon), (action) => {
    switch (action) {
      case 'open':
        return bringForward();
      case 'sync':
        return void companion.dispatch('sync.now', {});
      case 'restart-to-update':
        return updates.restartToUpdate();
      case 'toggle-open-at-login':
        openAtLogin = !openAtLogin;
        store.set(OPEN_AT_LOGIN_KEY, openAtLogin);
        if (app.isPackaged) applyOpenAtLogin(openAtLogin, loginItem);
        return refreshTray();
      case 'quit':
        return app.quit();
    }
  });
  function refreshTray(): void {
    const update = updates.state();
    tray.show(
      trayModel(companion.state.getState(), {
        update: updateStatusLine(update),
        updateReady: update.phase === 'ready',
        openAtLogin,
      }),
    );
  }
  refreshTray();
  const stopTray = subscribeThrottled(companion.state, refreshTray, 500);

  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    event.preventDefault();
    unregister();
    stopNotices();
    stopTray();
    updates.stop();
    tray.destroy();
    void running.close().finally(() => app.exit(0));
  });
}
