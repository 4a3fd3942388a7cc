import { describe, expect, it } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  isAllowedNavigation,
  isPermissionAllowed,
  isTrustedSender,
  SECURE_WEB_PREFERENCES,
  windowOpenAction,
} from '../../../src-main/security.ts';

const SERVER = 'https://billing.example.com';
const LOCAL_SERVER = 'http://127.0.0.1:8787';
const APP = 'file:///opt/tollgate/out/renderer/index.html';

describe('external URLs (shell.openExternal)', () => {
  it.each([
    'https://checkout.stripe.com/c/pay/cs_test_123',
    'https://billing.stripe.com/p/session/test_abc',
    'https://billing.example.com/checkout/local/abc',
  ])('opens %s', (url) => {
    expect(isAllowedExternalUrl(url, SERVER)).toBe(true);
  });

  it('opens the embedded local server checkout page over http on loopback', () => {
    expect(isAllowedExternalUrl('http://127.0.0.1:8787/v1/billing/local-checkout/x', LOCAL_SERVER)).toBe(true);
  });

  it.each([
    'http://checkout.stripe.com/c/pay/cs_test_123',
    'https://checkout.stripe.com.evil.com/pay',
    'https://evil.com/https://checkout.stripe.com',
    'https://checkout.stripe.com@evil.com/',
    'https://user:pass@checkout.stripe.com/',
    'https://checkout.stripe.com:8443/pay',
    'https://dashboard.stripe.com/apikeys',
    'https://api.stripe.com/v1/charges',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox',
    'smb://attacker/share',
    'ms-msdt:/id PCWDiagnostic',
    'http://billing.example.com/checkout',
    'https://billing.example.com.evil.com/',
    'https://billing.example.com:444/',
    'http://127.0.0.1:8788/',
    'https://xn--checkut-stripe-com.evil/',
    '',
    'not a url',
    `https://checkout.stripe.com/${'a'.repeat(5000)}`,
  ])('refuses %s', (url) => {
    expect(isAllowedExternalUrl(url, SERVER)).toBe(false);
  });

  it('refuses plain http to a configured server that is not on this machine', () => {
    expect(isAllowedExternalUrl('http://billing.internal/x', 'http://billing.internal')).toBe(false);
  });
});

describe('navigation and window.open', () => {
  it('stays on the app page (hash changes only)', () => {
    expect(isAllowedNavigation(`${APP}#/plans`, APP)).toBe(true);
    expect(isAllowedNavigation('http://localhost:5173/#/x', 'http://localhost:5173/')).toBe(true);
  });

  it.each([
    'https://evil.com/',
    'file:///etc/passwd',
    'file:///opt/tollgate/out/renderer/other.html',
    'https://checkout.stripe.com/pay',
    'javascript:alert(1)',
    'data:text/html,hi',
    'http://localhost:5174/',
    'about:blank',
  ])('denies navigating to %s', (url) => {
    expect(isAllowedNavigation(url, APP)).toBe(false);
    expect(isAllowedNavigation(url, 'http://localhost:5173/')).toBe(false);
  });

  it('denies every window.open, handing only billing pages to the system browser', () => {
    expect(windowOpenAction('https://checkout.stripe.com/pay', SERVER)).toEqual({
      action: 'deny',
      openExternally: true,
    });
    expect(windowOpenAction('https://evil.com/', SERVER)).toEqual({ action: 'deny', openExternally: false });
    expect(windowOpenAction('file:///etc/passwd', SERVER)).toEqual({ action: 'deny', openExternally: false });
  });
});

describe('permissions, IPC senders and window settings', () => {
  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'midi', 'hid', 'serial', 'usb'])(
    'denies the %s permission',
    (permission) => {
      expect(isPermissionAllowed(permission)).toBe(false);
    },
  );

  it('answers IPC only from the app page in its top frame', () => {
    expect(isTrustedSender({ url: APP, isTopFrame: true }, APP)).toBe(true);
    expect(isTrustedSender({ url: APP, isTopFrame: false }, APP)).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.com/', isTopFrame: true }, APP)).toBe(false);
    expect(isTrustedSender({ url: 'file:///tmp/evil.html', isTopFrame: true }, APP)).toBe(false);
    expect(isTrustedSender({ url: 'about:blank', isTopFrame: true }, APP)).toBe(false);
    expect(isTrustedSender(null, APP)).toBe(false);
    expect(isTrustedSender(undefined, APP)).toBe(false);
  });

  it('isolates the renderer from Node and locks the page down', () => {
    expect(SECURE_WEB_PREFERENCES).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      webSecurity: true,
    });
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
  });
});
