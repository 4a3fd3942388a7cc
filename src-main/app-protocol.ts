import { extname, isAbsolute, relative, resolve } from 'node:path';

/**
 * The renderer is served from `app://bundle/…` rather than file://: a file:// page may read any file
 * the user can, and every file:// URL is the same origin. app:// is registered as a standard, secure
 * scheme before the app is ready, so the page has a real origin ('self' in the CSP means app://bundle)
 * and the handler (window.ts) serves only what resolveAppFile allows: files inside out/renderer.
 */

export const APP_SCHEME = 'app';
const APP_HOST = 'bundle';
const APP_ENTRY = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** For protocol.registerSchemesAsPrivileged. */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true } as const;

/**
 * The page the window loads: electron-vite's dev server (ELECTRON_RENDERER_URL) only in a
 * development build — in a packaged app that variable is the end user's and is ignored.
 */
export function rendererUrl(isPackaged: boolean, env: NodeJS.ProcessEnv): string {
  const dev = env.ELECTRON_RENDERER_URL;
  if (!isPackaged && dev && /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//.test(dev)) return dev;
  return APP_ENTRY;
}

/**
 * The file an app:// request may be answered with, or null: only the app's host, no credentials or
 * port, a path that stays inside `root` once decoded, with no dot-segments, hidden files,
 * backslashes or NUL bytes. `/` is the entry page.
 */
export function resolveAppFile(root: string, requestUrl: string): string | null {
  if (typeof requestUrl !== 'string' || requestUrl.length > 2048) return null;
  // Dot-segments are refused on the raw text too: the URL parser would quietly resolve them.
  if (/[/\\](\.|%2e){1,2}([/\\?#]|$)/i.test(requestUrl)) return null;
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.hostname !== APP_HOST) return null;
  if (url.username || url.password || url.port) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (path === '/' || path === '') path = '/index.html';
  if (path.includes('\\') || [...path].some((char) => (char.codePointAt(0) ?? 0) < 0x20)) return null;
  const segments = path.split('/').slice(1);
  if (segments.some((segment) => segment === '' || segment.startsWith('.'))) return null;
  const file = resolve(root, ...segments);
  const inside = relative(resolve(root), file);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return null;
  return file;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** The Content-Type of a served file; anything unexpected is served as opaque bytes. */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}
