import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import {
  request,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../../support/server.ts';
import { openTestCheckout, payTestCheckout, submitTestCheckout } from '../../support/test-checkout.ts';

/**
 * Issue 12, item 6: payments that cannot be skipped. The local test provider runs only when
 * chosen, never on a public server unless forced, and its checkout is completed only by the
 * session that opened it or the browser that opened its one-time link — not by a cross-site form,
 * not by another account.
 */

const LOCAL = { TOLLGATE_PAYMENTS: 'local' };

describe('choosing the payment provider', () => {
  it('a server with an https public URL refuses the local provider unless forced, and then says payments are fake', async () => {
    const env = { ...LOCAL, TOLLGATE_PUBLIC_URL: 'https://billing.example.com' };
    const refused = await spawnTestServer({ env }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(refused).toContain('exited (2)');
    expect(refused).toContain('TOLLGATE_PAYMENTS: local gives paid plans away');
    expect(refused).toContain('https://billing.example.com is not a loopback address');
    expect(refused).toContain('TOLLGATE_FORCE_LOCAL_PAYMENTS=1');

    const forced = await spawnTestServer({ env: { ...env, TOLLGATE_FORCE_LOCAL_PAYMENTS: '1' } });
    try {
      expect(forced.output()).toContain('payments: local test provider, FAKE');
      // Printed on stderr right after the listening line.
      await expect.poll(() => forced.output()).toContain('WARNING: payments are FAKE');
      expect(forced.output()).toContain('This server is not on loopback');
    } finally {
      await forced.stop();
    }
  });

  it('no Stripe key and no TOLLGATE_PAYMENTS: the server starts, and checkout says how to configure payments', async () => {
    const server = await spawnTestServer({ env: { TOLLGATE_PUBLIC_URL: 'https://billing.example.com' } });
    try {
      expect(server.output()).toContain('payments: disabled');
      const account = await signUp(server.url);
      for (const [path, body] of [
        ['/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' }],
        ['/v1/billing/portal', {}],
      ] as const) {
        const answer = await account.post(path, body);
        expect(answer.status).toBe(503);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
        expect(answer.body.code).toBe('PAYMENTS_DISABLED');
        expect(answer.body.detail).toContain('STRIPE_SECRET_KEY');
        expect(answer.body.detail).toContain('TOLLGATE_PAYMENTS=local');
      }
      // No test pages exist to be posted to.
      const page = await request(server.url, 'POST', '/billing/test-checkout/local_cs_x/pay', undefined, {
        raw: '',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(page.status).toBe(404);
      expect((await account.get('/v1/me')).body.subscription.tier).toBe('free');
    } finally {
      await server.stop();
    }
  });

  it('TOLLGATE_PAYMENTS=local beside STRIPE_SECRET_KEY, or stripe without a key, is a configuration error', async () => {
    for (const [env, says] of [
      [{ ...LOCAL, STRIPE_SECRET_KEY: 'sk_test_x' }, 'both set'],
      [{ TOLLGATE_PAYMENTS: 'stripe' }, 'TOLLGATE_PAYMENTS: stripe needs STRIPE_SECRET_KEY'],
      [{ TOLLGATE_PAYMENTS: 'fake' }, 'TOLLGATE_PAYMENTS: expected stripe or local'],
    ] as const) {
      const message = await startTestServer({ env }).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(message).toContain(says);
    }
  });
});

for (const dialect of testDialects()) {
  describe(`completing a local test checkout (${dialect})`, () => {
    let server: TestServer;
    let alice: TestAccount;
    let bob: TestAccount;
    beforeAll(async () => {
      server = await startTestServer({ dialect, env: LOCAL });
      [alice, bob] = await Promise.all([signUp(server.url), signUp(server.url)]);
    });
    afterAll(() => server.stop());

    const tier = async (account: TestAccount) => (await account.get('/v1/me')).body.subscription.tier;
    const openCheckout = async (account: TestAccount) => {
      const checkout = await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      expect(checkout.status).toBe(200);
      return { url: checkout.body.url as string, id: checkout.body.sessionId as string };
    };

    it('a cross-site form POST fails, even from a browser that opened the link', async () => {
      const checkout = await openCheckout(alice);
      // An attacker's page that knows the URL posts the form: no cookie, no form token.
      const blind = await submitTestCheckout(checkout.url, { cookie: '', formToken: null });
      expect(blind.status).toBe(403);
      expect(blind.body).toContain('Test checkout refused');
      // The victim's browser opened the link; the attacker's page posts to it cross-site: browsers
      // withhold the SameSite=Strict cookie, and Sec-Fetch-Site names the request cross-site.
      const visit = await openTestCheckout(checkout.url);
      expect(visit.cookie).toMatch(/^tollgate_test_checkout=/);
      const crossSite = await submitTestCheckout(
        checkout.url,
        { cookie: '', formToken: visit.formToken },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      );
      expect(crossSite.status).toBe(403);
      const withCookie = await submitTestCheckout(checkout.url, visit, {
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      });
      expect(withCookie.status).toBe(403);
      expect(await tier(alice)).toBe('free');
    });

    it('the cookie is HttpOnly, SameSite=Strict and scoped to the one checkout; the link works once', async () => {
      const checkout = await openCheckout(alice);
      const response = await fetch(checkout.url);
      const cookie = response.headers.getSetCookie()[0] ?? '';
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Strict');
      expect(cookie).toContain(`Path=/billing/test-checkout/${checkout.id}`);
      // Someone else who got the link (history, a shoulder) opens it second: refused.
      const leaked = await openTestCheckout(checkout.url);
      expect(leaked.status).toBe(403);
      expect(leaked.formToken).toBeNull();
      // Without the code at all: refused too.
      expect((await openTestCheckout(checkout.url.split('?')[0] as string)).status).toBe(403);
      expect(await tier(alice)).toBe('free');
    });

    it("another account's session cannot complete it, nor its browser cookie; the opener's session can", async () => {
      const checkout = await openCheckout(alice);
      const stolen = await bob.post(`/v1/billing/test-checkout/${checkout.id}/pay`);
      expect(stolen.status).toBe(403);
      expect(stolen.body.code).toBe('CHECKOUT_FORBIDDEN');
      // Bob's own checkout's browser cookie does not open Alice's.
      const bobs = await openCheckout(bob);
      const bobVisit = await openTestCheckout(bobs.url);
      const crossed = await submitTestCheckout(checkout.url, bobVisit);
      expect(crossed.status).toBe(403);
      expect(await tier(alice)).toBe('free');
      expect(await tier(bob)).toBe('free');

      const paid = await alice.post(`/v1/billing/test-checkout/${checkout.id}/pay`);
      expect(paid.status).toBe(200);
      expect(paid.body).toMatchObject({ paid: true, tier: 'professional' });
      expect(await tier(alice)).toBe('professional');
      // Bob's browser still completes Bob's own checkout.
      expect((await submitTestCheckout(bobs.url, bobVisit)).body).toContain('Test payment recorded');
      expect(await tier(bob)).toBe('professional');
    });

    it('unsigned, the API completion is refused', async () => {
      const checkout = await openCheckout(await signUp(server.url));
      const anonymous = await request(server.url, 'POST', `/v1/billing/test-checkout/${checkout.id}/pay`);
      expect(anonymous.status).toBe(401);
      expect((await payTestCheckout(checkout.url)).body).toContain('Test payment recorded');
    });
  });
}
