import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrowserWindow, type Session, shell } from 'electron';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  isAllowedNavigation,
  isPermissionAllowed,
  SECURE_WEB_PREFERENCES,
  windowOpenAction,
} from './security.ts';

/**
 * The companion window, with security.ts applied: isolated sandboxed renderer, CSP on every
 * response, navigation and new windows denied (billing pages go to the system browser), and every
 * permission request refused.
 */
export interface CompanionWindow {
  window: BrowserWindow;
  appUrl: string;
}

export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(isPermissionAllowed(permission)));
  session.setPermissionCheckHandler((_contents, permission) => isPermissionAllowed(permission));
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
}

export async function openCompanionWindow(outDir: string, serverUrl: string, title: string): Promise<CompanionWindow> {
  const window = new BrowserWindow({
    width: 1000,
    height: 760,
    title,
    show: false,
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: join(outDir, 'preload', 'index.cjs') },
  });
  // electron-vite's dev server when developing; the built page otherwise.
  const appUrl = process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(join(outDir, 'renderer', 'index.html')).href;
  const contents = window.webContents;
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url, appUrl)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const decision = windowOpenAction(url, serverUrl);
    if (decision.openExternally) void shell.openExternal(url);
    return { action: decision.action };
  });
  window.once('ready-to-show', () => window.show());
  await window.loadURL(appUrl);
  return { window, appUrl };
}

/** shell.openExternal, only for URLs security.ts allows. */
export async function openExternalSafely(url: string, serverUrl: string): Promise<void> {
  if (!isAllowedExternalUrl(url, serverUrl)) throw new Error(`Refusing to open ${url}`);
  await shell.openExternal(url);
}
