import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, signUp, startTestServer, type TestServer, uniqueEmail } from '../../support/server.ts';

/** Issue 17 item 8, each claim tried the way a client (or an attacker) would. */

const ADMIN_TOKEN = 'hardening-admin-token-0123456789-abcdef';
/** The admin budget per client in ten minutes (src-server/http/rate-limit.ts). */
const ADMIN_BUDGET = 300;

const wrongAdmin = (url: string, headers: Record<string, string> = {}) =>
  request(url, 'GET', '/v1/admin/metrics/summary', undefined, { token: 'not-the-admin-token', headers });

describe('hardening', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
  });
  afterAll(() => server.stop());

  it('sends security headers on every answer, with a CSP on /docs and /admin', async () => {
    for (const path of ['/healthz', '/docs', '/admin/', '/v1/plans', '/no-such-route']) {
      const response = await fetch(new URL(path, server.url));
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
    }
  });

  it('marks answers that carry tokens Cache-Control: no-store', async () => {
    const email = uniqueEmail();
    const body = { email, password: 'a long test password' };
    const up = await request(server.url, 'POST', '/v1/auth/sign-up', body);
    const signIn = await request(server.url, 'POST', '/v1/auth/sign-in', body);
    const refresh = await request(server.url, 'POST', '/v1/auth/refresh', { refreshToken: signIn.body.refreshToken });
    for (const response of [up, signIn, refresh]) {
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });

  it("answers the operation name 'constructor' with 422, never 500", async () => {
    const account = await signUp(server.url);
    const consume = await account.post('/v1/usage/consume', {
      operation: 'constructor',
      units: 1,
      idempotencyKey: 'constructor-1',
    });
    expect(consume.status).toBe(422);
    expect(consume.body.code).toBe('UNKNOWN_OPERATION');
    const reserve = await account.post('/v1/usage/reservations', {
      operation: 'constructor',
      units: 1,
      idempotencyKey: 'constructor-2',
    });
    expect(reserve.status).toBe(422);
    const batch = await account.post('/v1/usage/events', {
      events: [{ operation: 'constructor', units: 1, idempotencyKey: 'constructor-3' }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results[0]).toMatchObject({ status: 'rejected', code: 'UNKNOWN_OPERATION' });
  });

  it('counts a usage batch toward the hourly API limit like a consume, after refusing unmetered operations', async () => {
    const account = await signUp(server.url);
    const hourly = 10; // the free tier's api_calls_per_hour (src-shared/catalog.default.json)
    // Batches naming only operations the catalog does not meter are refused per event and cost nothing.
    for (let i = 0; i < hourly + 2; i += 1) {
      const junk = await account.post('/v1/usage/events', {
        events: [{ operation: 'not_metered', units: 1, idempotencyKey: `junk-event-${i}` }],
      });
      expect(junk.status).toBe(200);
      expect(junk.body.results[0]).toMatchObject({ status: 'rejected', code: 'UNKNOWN_OPERATION' });
    }
    // Half the hour's budget as consumes, the other half as batches: the next of either is refused.
    for (let i = 0; i < hourly; i += 1) {
      const response =
        i % 2 === 0
          ? await account.post('/v1/usage/consume', {
              operation: 'data_processing',
              units: 1,
              idempotencyKey: `hour-${i}-key`,
            })
          : await account.post('/v1/usage/events', {
              events: [{ operation: 'data_processing', units: 1, idempotencyKey: `hour-${i}-key` }],
            });
      expect(response.status, `call ${i + 1}`).not.toBe(429);
    }
    const batch = await account.post('/v1/usage/events', {
      events: [{ operation: 'ai_operations', units: 1, idempotencyKey: 'over-the-hour' }],
    });
    expect(batch.status).toBe(429);
    expect(Number(batch.headers.get('retry-after'))).toBeGreaterThan(0);
    const me = await account.get('/v1/me');
    expect(me.body.usage.operations.ai_operations.used).toBe(0);
  });

  it('refuses an admin token shorter than 32 characters at start', async () => {
    await expect(startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: 'only-twenty-characters' } })).rejects.toThrow(
      /TOLLGATE_ADMIN_TOKEN: use at least 32 characters/,
    );
  });

  it('rate-limits admin routes per client before comparing the token', async () => {
    for (let i = 0; i < ADMIN_BUDGET; i += 1) expect((await wrongAdmin(server.url)).status).toBe(403);
    const refused = await wrongAdmin(server.url);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The right token from the same client waits too: guessing cannot be interleaved with real use.
    const right = await request(server.url, 'GET', '/v1/admin/metrics/summary', undefined, { token: ADMIN_TOKEN });
    expect(right.status).toBe(429);
  });
});

describe('behind a reverse proxy (TOLLGATE_TRUST_PROXY)', () => {
  it('without it, a forged X-Forwarded-For does not buy a fresh budget', async () => {
    const server = await startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
    try {
      for (let i = 0; i < ADMIN_BUDGET; i += 1) {
        expect((await wrongAdmin(server.url, { 'x-forwarded-for': `198.51.100.${i % 250}` })).status).toBe(403);
      }
      expect((await wrongAdmin(server.url, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
    } finally {
      await server.stop();
    }
  });

  it('with it, each client behind the proxy has its own budget, an IPv6 client counted per /64', async () => {
    const server = await startTestServer({
      env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_TRUST_PROXY: '127.0.0.1' },
    });
    try {
      // One subscriber's /64, spread over many addresses: one budget.
      for (let i = 0; i < ADMIN_BUDGET; i += 1) {
        const address = `2001:db8:aa:1:${(i + 1).toString(16)}::1`;
        expect((await wrongAdmin(server.url, { 'x-forwarded-for': address })).status).toBe(403);
      }
      expect((await wrongAdmin(server.url, { 'x-forwarded-for': '2001:db8:aa:1:ffff::1' })).status).toBe(429);
      // Everyone else behind the same proxy is unaffected.
      expect((await wrongAdmin(server.url, { 'x-forwarded-for': '2001:db8:aa:2::1' })).status).toBe(403);
      expect((await wrongAdmin(server.url, { 'x-forwarded-for': '192.0.2.7' })).status).toBe(403);
      expect((await wrongAdmin(server.url)).status).toBe(403);
    } finally {
      await server.stop();
    }
  });
});
