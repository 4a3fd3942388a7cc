/**
 * The Electron security checklist as pure functions, so each rule is tested with hostile inputs
 * (test/unit/companion/security.test.ts) and window.ts / ipc-main.ts only apply them.
 *   - contextIsolation, sandbox, no nodeIntegration, no webview, web security on: SECURE_WEB_PREFERENCES
 *   - a strict Content-Security-Policy: CONTENT_SECURITY_POLICY
 *   - navigation and window.open denied: isAllowedNavigation, windowOpenAction
 *   - shell.openExternal only for https pages of Stripe checkout/portal or the configured server:
 *     isAllowedExternalUrl
 *   - every permission request denied: isPermissionAllowed
 *   - IPC answered only for the app's own top frame: isTrustedSender
 * The companion holds no Stripe secret: checkout and portal URLs come from the billing server.
 */

export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webviewTag: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  spellcheck: false,
} as const;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Stripe's hosted pages: checkout and the customer portal. Nothing else of Stripe's is opened. */
const STRIPE_PAGE_HOSTS = ['checkout.stripe.com', 'billing.stripe.com'] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function parse(url: string): URL | null {
  if (typeof url !== 'string' || url.length > 4096) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * May shell.openExternal open this URL? Only https pages on Stripe's checkout/portal hosts, or pages
 * of the configured billing server (plain http only when that server is on this machine — the
 * embedded default's local checkout page). No credentials in URLs, no other schemes.
 */
export function isAllowedExternalUrl(url: string, serverUrl: string): boolean {
  const target = parse(url);
  if (!target) return false;
  if (target.username || target.password) return false;
  if (target.protocol === 'https:' && (STRIPE_PAGE_HOSTS as readonly string[]).includes(target.hostname)) {
    return target.port === '';
  }
  const server = parse(serverUrl);
  if (!server || target.origin !== server.origin) return false;
  return target.protocol === 'https:' || (target.protocol === 'http:' && LOOPBACK_HOSTS.has(target.hostname));
}

/**
 * May the window navigate to this URL? Only within the app's own page (same origin and path, e.g.
 * a hash change); every other navigation is denied — external pages open in the system browser.
 */
export function isAllowedNavigation(url: string, appUrl: string): boolean {
  const target = parse(url);
  const app = parse(appUrl);
  if (!target || !app) return false;
  if (target.protocol !== app.protocol) return false;
  if (target.protocol === 'file:') return target.pathname === app.pathname;
  // The host too: Node's URL gives every custom-scheme URL (app://…) the origin "null".
  return target.origin === app.origin && target.host === app.host && target.pathname === app.pathname;
}

/** window.open is always denied inside the app; an allowed billing URL goes to the system browser. */
export function windowOpenAction(url: string, serverUrl: string): { action: 'deny'; openExternally: boolean } {
  return { action: 'deny', openExternally: isAllowedExternalUrl(url, serverUrl) };
}

/** Camera, microphone, geolocation, notifications, clipboard...: the companion needs none. */
export function isPermissionAllowed(_permission: string): boolean {
  return false;
}

export interface SenderFrame {
  url: string;
  /** True when the frame is the window's top frame (not an iframe). */
  isTopFrame: boolean;
}

/** IPC is answered only for the app's own page in its top frame. */
export function isTrustedSender(frame: SenderFrame | null | undefined, appUrl: string): boolean {
  if (!frame?.isTopFrame) return false;
  return isAllowedNavigation(frame.url, appUrl);
}
