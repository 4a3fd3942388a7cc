import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrowserWindow, type Session, shell } from 'electron';
import { APP_SCHEME, contentTypeOf, resolveAppFile } from './app-protocol.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  isAllowedNavigation,
  isPermissionAllowed,
  SECURE_WEB_PREFERENCES,
  windowOpenAction,
} from './security.ts';
import { type Bounds, MIN_SIZE } from './window-bounds.ts';

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

/** Answers app:// requests with the files of out/renderer that app-protocol.ts allows, 404 otherwise. */
export function serveRenderer(session: Session, rendererDir: string): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(rendererDir, request.url);
    const body = file ? await readFile(file).catch(() => null) : null;
    if (!file || !body) return new Response('Not found', { status: 404 });
    return new Response(body, {
      headers: { 'Content-Type': contentTypeOf(file), 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
    });
  });
}

export async function openCompanionWindow(
  outDir: string,
  serverUrl: string,
  title: string,
  place: { appUrl: string; bounds: Bounds },
): Promise<CompanionWindow> {
  const { appUrl, bounds } = place;
  const window = new BrowserWindow({
    ...bounds,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    title,
    show: false,
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: join(outDir, 'preload', 'index.cjs') },
  });
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
