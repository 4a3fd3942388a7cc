import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Companion } from '../../../src-main/companion.ts';
import { startWebServer, type WebServer } from '../../../src-main/web-server.ts';
import { CompanionState, WEB_BRIDGE } from '../../../src-shared/contract.ts';
import { openTestCompanion, tempDir, webSessionCookie } from './harness.ts';

// --web mode's loopback bridge: only our page, only with the per-run token, only under our Host name.

const folder = tempDir('tollgate-web-');
let companion: Companion;
let web: WebServer;
let session: string;

beforeAll(async () => {
  const site = join(folder.path, 'site');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>Tollgate</title>');
  writeFileSync(join(folder.path, 'secret.txt'), 'not for the browser');
  companion = await openTestCompanion({ home: join(folder.path, 'home'), serverUrl: 'http://127.0.0.1:9' });
  web = await startWebServer({
    staticDir: site,
    dispatch: (method, params) => companion.dispatch(method, params),
    state: companion.state,
  });
  session = await webSessionCookie(web.pageUrl);
});

afterAll(async () => {
  await web?.close();
  await companion?.close();
  folder.remove();
});

/** A raw request, so the Host header can be anything (fetch would not let us lie about it). */
function raw(
  path: string,
  options: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const url = new URL(web.origin);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? url.host, ...options.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const rpc = (method: string, body: unknown, headers: Record<string, string> = {}) =>
  raw(`${WEB_BRIDGE.rpcPath}${method}`, {
    method: 'POST',
    headers: { cookie: session, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('--web bridge', () => {
  it('serves the page on 127.0.0.1 with a strict CSP', async () => {
    expect(web.pageUrl).toMatch(new RegExp(`^${web.origin}/\\?code=[\\w-]{30,}$`));
    const page = await raw('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Tollgate</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it.each(['evil.example', 'localhost.evil.example', '127.0.0.1', '127.0.0.1:1', 'localhost'])(
    'refuses a request whose Host header is %j (DNS rebinding)',
    async (host) => {
      expect((await raw('/', { host })).status).toBe(421);
      expect((await rpc('state.get', {}, { host })).status).toBe(421);
    },
  );

  it('refuses RPC without the token or with a wrong one', async () => {
    expect((await rpc('state.get', {}, { cookie: '' })).status).toBe(401);
    expect((await rpc('state.get', {}, { cookie: 'tollgate_web=nope' })).status).toBe(401);
    expect((await raw(WEB_BRIDGE.eventsPath)).status).toBe(401);
    expect((await raw(WEB_BRIDGE.eventsPath, { headers: { cookie: 'tollgate_web=nope' } })).status).toBe(401);
  });

  it('answers renderer methods with Results and refuses host-only or unknown ones', async () => {
    const state = await rpc('state.get', {});
    expect(state.status).toBe(200);
    const parsed = JSON.parse(state.body);
    expect(parsed.ok).toBe(true);
    expect(CompanionState.parse(parsed.value).account).toBeNull();
    expect(JSON.parse((await rpc('gate.check', { feature: 'sso' })).body)).toEqual({
      ok: true,
      value: { allowed: false, code: 'NOT_SIGNED_IN' },
    });
    expect(JSON.parse((await rpc('gate.check', { feature: 42 })).body)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PARAMS' },
    });
    expect((await rpc('usage.consume', { operation: 'ai_operations' })).status).toBe(404);
    expect((await rpc('constructor', {})).status).toBe(404);
  });

  it('refuses a body that is not JSON, or too large, with a Result naming INVALID_PARAMS', async () => {
    const headers = { cookie: session, 'content-type': 'application/json' };
    const broken = await raw(`${WEB_BRIDGE.rpcPath}gate.check`, { method: 'POST', headers, body: '{"feature":' });
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body)).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } });
    const huge = await raw(`${WEB_BRIDGE.rpcPath}gate.check`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ feature: 'x'.repeat(100_000) }),
    });
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    expect(JSON.parse(huge.body)).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } });
  });

  it('answers a GET of the API with 405 and a POST elsewhere with 405', async () => {
    const get = await raw(`${WEB_BRIDGE.rpcPath}state.get`, { headers: { cookie: session } });
    expect(get.status).toBe(405);
    expect((await raw('/index.html', { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('serves the page with the security headers and without caching', async () => {
    const page = await raw('/index.html');
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
  });

  it('never serves files outside the built page', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt']) {
      const answer = await raw(path);
      expect(answer.body).not.toContain('not for the browser');
    }
  });

  it('streams the full state as server-sent events', async () => {
    const url = new URL(web.origin);
    const first = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: url.port, path: WEB_BRIDGE.eventsPath, headers: { cookie: session } },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          res.on('data', (chunk: Buffer) => {
            resolve(chunk.toString());
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(first.startsWith('data: ')).toBe(true);
    expect(CompanionState.parse(JSON.parse(first.slice(6).trim())).serverUrl).toBe('http://127.0.0.1:9');
  });
});
