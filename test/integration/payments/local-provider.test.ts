import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../../src-server/payments/local-provider.ts';
import { SubscriptionStore } from '../../../src-server/payments/subscription-store.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';
import { type LaunchedBrowser, launchChromium, screenshot, watchConsole } from '../../support/browser.ts';
import { testDialects } from '../../support/databases.ts';
import { request, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { payTestCheckout, submitTestCheckout } from '../../support/test-checkout.ts';

/**
 * The local test provider (TOLLGATE_PAYMENTS=local): the server's own clearly labelled test
 * checkout, completing through the same apply path as a Stripe webhook.
 */

const DAY_MS = 86_400_000;

/** Signs in again after the clock moved past the access token's life. */
async function signInAgain(server: TestServer, account: TestAccount): Promise<TestAccount> {
  const response = await request(server.url, 'POST', '/v1/auth/sign-in', {
    email: account.email,
    password: account.password,
  });
  expect(response.status).toBe(200);
  const token = response.body.accessToken as string;
  return {
    ...account,
    token,
    get: (path, options) => request(server.url, 'GET', path, undefined, { token, ...options }),
    post: (path, body, options) => request(server.url, 'POST', path, body, { token, ...options }),
  };
}

const LOCAL = { TOLLGATE_PAYMENTS: 'local' };

for (const dialect of testDialects()) {
  describe(`local test provider (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 0, 10, 12);
    beforeAll(async () => {
      server = await startTestServer({ dialect, now: () => clock, env: LOCAL });
    });
    afterAll(() => server.stop());

    const me = async (account: TestAccount) => (await account.get('/v1/me')).body.subscription;
    /** The account's analytics events in replay order; `at` must order them without ties. */
    const kinds = async (account: TestAccount) => {
      const events = await server.db
        .selectFrom('subscription_events')
        .select(['kind', 'at'])
        .where('account_id', '=', account.id)
        .orderBy('at')
        .execute();
      events.forEach((event, index) => {
        if (index > 0) expect(event.at).toBeGreaterThan(events[index - 1]?.at ?? 0);
      });
      return events.map((event) => event.kind);
    };
    const invoices = (account: TestAccount) =>
      server.db.selectFrom('invoices').selectAll().where('account_id', '=', account.id).orderBy('paid_at').execute();

    it('checkout shows a labelled test page; Pay starts the plan once, however often it is pressed', async () => {
      const account = await signUp(server.url);
      const checkout = await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      expect(checkout.status).toBe(200);
      expect(checkout.body.url.startsWith(`${server.url}/billing/test-checkout/local_cs_`)).toBe(true);

      const response = await fetch(checkout.body.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      const cookie = response.headers.getSetCookie()[0] ?? '';
      const body = await response.text();
      expect(body).toContain('Test checkout — no real payment');
      expect(body).toContain('>Pay (test)</button>');
      expect(body).toContain('$49.00');
      expect(body).not.toMatch(/<script|src=|https?:\/\//);
      expect((await me(account)).tier).toBe('free');

      // The browser that opened the link pays; pressing Pay again is a redelivery.
      const visit = {
        cookie: cookie.split(';')[0] as string,
        formToken: /name="token" value="([^"]+)"/.exec(body)?.[1] ?? null,
      };
      const paid = await submitTestCheckout(checkout.body.url, visit);
      expect(paid.status).toBe(200);
      expect(paid.body).toContain('Test payment recorded');
      expect((await submitTestCheckout(checkout.body.url, visit)).body).toContain('Test payment recorded');

      expect(await me(account)).toMatchObject({
        tier: 'professional',
        status: 'active',
        cycle: 'monthly',
        access: true,
      });
      expect((await invoices(account)).map((invoice) => invoice.amount_paid_cents)).toEqual([4900]);
      expect(await kinds(account)).toEqual(['start']);
    });

    it('upgrade now (prorated, setup fee once), downgrade at period end, cancel then free', async () => {
      let account = await signUp(server.url);
      const checkout = await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      await payTestCheckout(checkout.body.url);

      clock += 10 * DAY_MS;
      account = await signInAgain(server, account);
      const upgrade = await account.post('/v1/billing/change-plan', { tier: 'enterprise', cycle: 'monthly' });
      expect(upgrade.status).toBe(200);
      expect(upgrade.body).toMatchObject({ effective: 'now', subscription: { tier: 'enterprise' } });
      const [, proration] = await invoices(account);
      expect(proration?.setup_fee_cents).toBe(50000);
      expect(proration?.amount_paid_cents).toBeGreaterThan(50000);

      const downgrade = await account.post('/v1/billing/change-plan', { tier: 'professional', cycle: 'monthly' });
      expect(downgrade.body).toMatchObject({
        effective: 'period_end',
        subscription: { tier: 'enterprise', pendingTier: 'professional' },
      });

      // The period ends: the next billing call (or the minute sweep) renews on the new plan.
      clock += 25 * DAY_MS;
      account = await signInAgain(server, account);
      const cancel = await account.post('/v1/billing/cancel');
      expect(cancel.body.subscription).toMatchObject({ tier: 'professional', cancelAtPeriodEnd: true, access: true });

      clock += 35 * DAY_MS;
      account = await signInAgain(server, account);
      await account.post('/v1/billing/portal', {});
      expect(await me(account)).toMatchObject({ tier: 'free', cancelAtPeriodEnd: false });
      expect(await kinds(account)).toEqual(['start', 'upgrade', 'downgrade', 'cancel', 'back_to_free']);
    });

    it('a period end settled twice at once (sweep and request racing) renews once', async () => {
      const account = await signUp(server.url);
      const checkout = await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      await payTestCheckout(checkout.body.url);
      clock += 33 * DAY_MS;
      // Two settlers holding the same stale row: what the minute sweep and a request can both have.
      const store = new SubscriptionStore(server.db, server.database.dialect, defaultCatalog, () => clock, 7 * DAY_MS);
      const local = new LocalProvider(
        store,
        defaultCatalog,
        () => server.url,
        () => clock,
      );
      const stale = await store.row(account.id);
      if (!stale) throw new Error('no subscription row');
      await Promise.all([local.advanceDuePeriods(stale), local.advanceDuePeriods(stale)]);
      expect((await invoices(account)).map((invoice) => invoice.amount_paid_cents)).toEqual([4900, 4900]);
      expect(await kinds(account)).toEqual(['start']);
    });

    it('custom is a contact-sales answer; an unknown test checkout is a 404 page', async () => {
      const account = await signUp(server.url);
      const custom = await account.post('/v1/billing/checkout', { tier: 'custom', cycle: 'yearly' });
      expect(custom.body.kind).toBe('contact_sales');
      const unknown = await request(server.url, 'GET', '/billing/test-checkout/local_cs_nope');
      expect(unknown.status).toBe(404);
      expect((await payTestCheckout(`${server.url}/billing/test-checkout/local_cs_nope`)).status).toBe(404);
    });
  });
}

describe('local test checkout in Chromium', () => {
  let server: TestServer;
  let chromium: LaunchedBrowser;
  beforeAll(async () => {
    server = await startTestServer({ env: LOCAL });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium.close();
    await server.stop();
  });

  it('is completed by keyboard alone, with no CSP violation or console error', async () => {
    const account = await signUp(server.url);
    const checkout = await account.post('/v1/billing/checkout', { tier: 'enterprise', cycle: 'yearly' });
    const page = await chromium.browser.newPage();
    const errors = watchConsole(page);
    await page.goto(checkout.body.url);
    await expect(page.getByRole('heading', { name: 'Test checkout — no real payment' }).isVisible()).resolves.toBe(
      true,
    );
    await screenshot(page, 'payments-local-checkout');
    // Tab until the Pay button has focus, then Enter: no mouse.
    for (let step = 0; step < 5; step += 1) {
      await page.keyboard.press('Tab');
      if ((await page.locator(':focus').textContent()) === 'Pay (test)') break;
    }
    await expect(page.locator(':focus').textContent()).resolves.toBe('Pay (test)');
    await page.keyboard.press('Enter');
    await page.getByRole('status').waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Enterprise plan is active');
    await screenshot(page, 'payments-local-checkout-paid');
    expect(errors).toEqual([]);
    expect((await account.get('/v1/me')).body.subscription).toMatchObject({ tier: 'enterprise', cycle: 'yearly' });
  });
});
