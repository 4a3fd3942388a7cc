import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Companion } from '../../../src-main/companion.ts';
import { cipherFor, type SafeStorageLike } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';
import { startWebServer, type WebServer } from '../../../src-main/web-server.ts';
import { WEB_BRIDGE } from '../../../src-shared/web-bridge.ts';
import { buildRenderer } from '../../support/renderer-site.ts';
import { signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { openTestCompanion, tempDir, webSessionCookie } from './harness.ts';

/** Issue 12, item 7: transport hygiene in the companion. */

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('the billing server URL', () => {
  it('a non-loopback http:// server is refused with an error naming the setting', () => {
    const folder = tempDir('tollgate-https-');
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src-main', 'cli.ts'), 'status'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          TOLLGATE_SERVER_URL: 'http://billing.example.com',
          TOLLGATE_HOME: folder.path,
        },
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('"http://billing.example.com/" must use https://');
      expect(run.stderr).toContain('TOLLGATE_SERVER_URL');
    } finally {
      folder.remove();
    }
  });

  it('https anywhere and plain http on this machine are accepted; a companion never opens on http elsewhere', async () => {
    const folder = tempDir('tollgate-https-');
    try {
      for (const serverUrl of ['http://127.0.0.1:9', 'http://localhost:9', 'http://[::1]:9']) {
        const companion = await openTestCompanion({ home: join(folder.path, String(serverUrl.length)), serverUrl });
        await companion.close();
      }
      await expect(
        openTestCompanion({ home: join(folder.path, 'plain'), serverUrl: 'http://10.0.0.5:8787' }),
      ).rejects.toThrow(/must use https:\/\/.*TOLLGATE_SERVER_URL/);
    } finally {
      folder.remove();
    }
  });
});

describe('--web opens billing pages through the same allow-list as Electron', () => {
  const folder = tempDir('tollgate-web-allow-');
  let server: TestServer;
  let companion: Companion;
  let web: WebServer;
  let session: string;
  beforeAll(async () => {
    // A server whose checkout links point at a host outside the allow-list (neither Stripe nor itself).
    server = await startTestServer({
      env: {
        TOLLGATE_PAYMENTS: 'local',
        TOLLGATE_FORCE_LOCAL_PAYMENTS: '1',
        TOLLGATE_PUBLIC_URL: 'https://pay.evil.example',
      },
    });
    const site = join(folder.path, 'site');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>Tollgate</title>');
    // No openExternal: as in --web, where the page opens the URL main answers with.
    companion = await openTestCompanion({ home: join(folder.path, 'home'), serverUrl: server.url });
    web = await startWebServer({ staticDir: site, dispatch: companion.dispatch, state: companion.state });
    session = await webSessionCookie(web.pageUrl);
  });
  afterAll(async () => {
    await web?.close();
    await companion?.close();
    await server?.stop();
    folder.remove();
  });

  const rpc = async (method: string, params: unknown) => {
    const response = await fetch(`${web.origin}${WEB_BRIDGE.rpcPath}${method}`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test asserts on the Result's shape.
    return (await response.json()) as any;
  };

  it('a checkout link to a host outside the allow-list is refused, and its URL never reaches the page', async () => {
    const account = await signUp(server.url);
    expect(await rpc('auth.signIn', { email: account.email, password: account.password })).toMatchObject({ ok: true });
    const checkout = await rpc('billing.checkout', { tier: 'professional', cycle: 'monthly' });
    expect(checkout).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED' } });
    expect(checkout.error.message).toContain('https://pay.evil.example/billing/test-checkout/');
    expect(JSON.stringify(checkout)).not.toMatch(/"url"/);
    const portal = await rpc('billing.portal', {});
    expect(portal).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED' } });
  });
});

describe('the --web link', () => {
  it('is a one-time code: it buys an HttpOnly SameSite=Strict cookie once; the token is never printed nor on a command line', async () => {
    const folder = tempDir('tollgate-web-link-');
    // Its own build of the UI: out/web is rebuilt by the browser tests running beside this one.
    const ui = join(folder.path, 'ui');
    await buildRenderer(ui);
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src-main', 'cli.ts'), '--web'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: folder.path,
        TOLLGATE_HOME: folder.path,
        TOLLGATE_SOCKET: join(folder.path, 'companion.sock'),
        TOLLGATE_SERVER_URL: 'http://127.0.0.1:9',
        TOLLGATE_RENDERER_DIR: ui,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      const pageUrl = await new Promise<string>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /Open the companion: (\S+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`companion exited (${code}):\n${output}`)));
      });
      const origin = new URL(pageUrl).origin;
      // Without the cookie the API and the event stream refuse.
      expect((await fetch(`${origin}${WEB_BRIDGE.rpcPath}state.get`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await fetch(`${origin}${WEB_BRIDGE.eventsPath}`)).status).toBe(401);

      const first = await fetch(pageUrl, { redirect: 'manual' });
      expect(first.status).toBe(303);
      expect(first.headers.get('location')).toBe('/');
      const sessionCookie = first.headers.getSetCookie().find((cookie) => cookie.startsWith('tollgate_web=')) ?? '';
      expect(sessionCookie).toContain('HttpOnly');
      expect(sessionCookie).toContain('SameSite=Strict');
      const session = sessionCookie.split(';')[0] as string;
      const token = session.slice('tollgate_web='.length);
      expect(token.length).toBeGreaterThanOrEqual(40);

      // The same link again (a second browser, someone who read it off the screen): refused.
      const again = await fetch(pageUrl, { redirect: 'manual' });
      expect(again.status).toBe(403);
      expect(again.headers.getSetCookie()).toEqual([]);
      expect(await again.text()).toContain('already used');

      const state = await fetch(`${origin}${WEB_BRIDGE.rpcPath}state.get`, {
        method: 'POST',
        headers: { cookie: session, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(state.status).toBe(200);
      expect(await state.json()).toMatchObject({ ok: true });

      expect(output).not.toContain(token);
      expect(pageUrl).not.toContain(token);
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      expect(cmdline).toContain('--web');
      expect(cmdline).not.toContain(token);
    } finally {
      child.kill('SIGTERM');
      await exited;
      folder.remove();
    }
  });
});

describe('secrets at rest', () => {
  it('the settings file is 0600, even when it existed with a looser mode', () => {
    const folder = tempDir('tollgate-mode-');
    try {
      const file = join(folder.path, 'companion.json');
      writeFileSync(file, '{}', { mode: 0o644 });
      openNodeStore(folder.path).set('session', { scheme: 'plaintext', data: 'x' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      folder.remove();
    }
  });

  /** Electron's safeStorage as Linux reports it: a keyring, or none (`basic_text`). */
  const linuxSafeStorage = (backend: string): SafeStorageLike => ({
    isEncryptionAvailable: () => true,
    encryptString: (text) => Buffer.from(text).reverse(),
    decryptString: (sealed) => Buffer.from(sealed).reverse().toString(),
    getSelectedStorageBackend: () => backend,
  });

  it("Linux without a keyring (safeStorage's basic_text) is reported as not encrypted; a keyring as encrypted", async () => {
    const folder = tempDir('tollgate-keyring-');
    try {
      const states: Record<string, string> = {};
      for (const backend of ['basic_text', 'gnome_libsecret']) {
        const companion = await openTestCompanion({
          home: join(folder.path, backend),
          serverUrl: 'http://127.0.0.1:9',
          cipher: cipherFor(linuxSafeStorage(backend)),
        });
        states[backend] = companion.state.getState().tokenStorage;
        await companion.close();
      }
      expect(states).toEqual({ basic_text: 'plaintext', gnome_libsecret: 'encrypted' });
    } finally {
      folder.remove();
    }
  });
});
