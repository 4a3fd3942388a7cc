import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { openTestCheckout, submitTestCheckout } from '../../support/test-checkout.ts';
import { startWorld, type World } from './world.ts';

/**
 * Promotion codes at checkout: a code typed on the payment page lowers the first invoice, revenue
 * counts what was paid, and MRR stays at the list price (the coupons are first-invoice only).
 * Stripe through the real SDK against the fake with signed webhooks; the local provider with its
 * documented test code.
 */

const ADMIN_TOKEN = 'promotion-codes-admin-token-0123456789abcdef';
const DAY_MS = 86_400_000;
const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

for (const dialect of testDialects()) {
  describe(`promotion codes with Stripe (${dialect})`, () => {
    let world: World;
    const admin = (path: string) => world.call(ADMIN_TOKEN, 'GET', path);
    beforeAll(async () => {
      world = await startWorld(dialect, { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });
    });
    afterAll(() => world.close());

    it('a 50 % first-invoice code halves the first invoice only; revenue is what was paid, MRR the list price', async () => {
      // The vendor's code, made in the Stripe dashboard.
      const coupon = await world.stripe.coupons.create({ percent_off: 50, duration: 'once', name: 'Launch' });
      await world.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'LAUNCH50' });

      const session = await world.signUp('promo-pro@example.com');
      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'professional',
        cycle: 'monthly',
      });
      expect(checkout.status).toBe(200);
      expect(world.fake.billing.sessions.get(checkout.body.sessionId)?.allow_promotion_codes).toBe(true);
      world.fake.billing.completeCheckout(checkout.body.sessionId, { promotionCode: 'launch50' });
      expect(await world.fake.flush()).toEqual([200, 200, 200]);

      expect((await world.me(session.accessToken)).subscription).toMatchObject({ tier: 'professional', access: true });
      const stripeInvoice = [...world.fake.billing.invoices.values()].find(
        (invoice) => invoice.parent.subscription_details.metadata.account_id === session.account.id,
      );
      expect(stripeInvoice).toMatchObject({ subtotal: 4900, amount_paid: 2450 });
      expect(stripeInvoice?.total_discount_amounts[0].amount).toBe(2450);

      const month = monthOf(world.fake.billing.now * 1000);
      const revenue = await admin(`/v1/admin/metrics/revenue?month=${month}&months=1`);
      expect(revenue.body.months[0].byTier.professional).toMatchObject({
        invoices: 1,
        grossCents: 2450,
        netCents: 2450,
      });
      const summary = await admin(`/v1/admin/metrics/summary?month=${month}`);
      expect(summary.body).toMatchObject({ mrr: { mrrCents: 4900 }, revenueNetCents: 2450 });

      // The renewal is at the full price: the coupon was for the first invoice.
      await world.advanceDays(31);
      const next = monthOf(world.fake.billing.now * 1000);
      const renewed = await admin(`/v1/admin/metrics/revenue?month=${next}&months=1`);
      expect(renewed.body.months[0].byTier.professional).toMatchObject({ invoices: 1, grossCents: 4900 });
    });

    it('with a setup fee, the fee collected is what the code left of it', async () => {
      const coupon = await world.stripe.coupons.create({ percent_off: 50, duration: 'once' });
      await world.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'HALFENT' });
      const session = await world.signUp('promo-ent@example.com');
      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'enterprise',
        cycle: 'monthly',
      });
      world.fake.billing.completeCheckout(checkout.body.sessionId, { promotionCode: 'HALFENT' });
      expect(await world.fake.flush()).toEqual([200, 200, 200]);
      const [invoice] = await world.server.db
        .selectFrom('invoices')
        .selectAll()
        .where('account_id', '=', session.account.id)
        .execute();
      // (199 $ + 500 $ setup fee) / 2, the fee's share of the discount pro rata.
      expect(invoice).toMatchObject({ amount_paid_cents: 34950, setup_fee_cents: 25000 });
    });

    it('a code Stripe does not know is refused on its page, and nothing is charged', async () => {
      const session = await world.signUp('promo-unknown@example.com');
      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'professional',
        cycle: 'monthly',
      });
      expect(() => world.fake.billing.completeCheckout(checkout.body.sessionId, { promotionCode: 'NOPE' })).toThrow(
        /invalid/,
      );
      expect(await world.fake.flush()).toEqual([]);
      expect((await world.me(session.accessToken)).subscription.tier).toBe('free');
    });
  });

  describe(`promotion codes with the local provider (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 4, 6, 9);
    const admin = (path: string) => request(server.url, 'GET', path, undefined, { token: ADMIN_TOKEN });
    beforeAll(async () => {
      server = await startTestServer({
        dialect,
        now: () => clock,
        env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAYMENTS: 'local' },
      });
    });
    afterAll(() => server?.stop());

    it('the page refuses an unknown code, saying which one works; TESTPROMO50 halves the first invoice only', async () => {
      const account = await signUp(server.url);
      const checkout = await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      expect(checkout.status).toBe(200);
      const visit = await openTestCheckout(checkout.body.url);
      expect(visit.body).toContain('name="promotion_code"');
      expect(visit.body).toContain('TESTPROMO50');

      const refused = await submitTestCheckout(checkout.body.url, visit, {}, { promotion_code: 'SUMMER99' });
      expect(refused.status).toBe(422);
      expect(refused.body).toContain('The promotion code &#34;SUMMER99&#34; is not valid here');
      expect((await account.get('/v1/me')).body.subscription.tier).toBe('free');

      // Case-insensitive, as on Stripe's page; the same page may be submitted again.
      const paid = await submitTestCheckout(checkout.body.url, visit, {}, { promotion_code: ' testpromo50 ' });
      expect(paid.status).toBe(200);
      expect(paid.body).toContain('data-testid="amount-paid">$24.50<');
      expect((await account.get('/v1/me')).body.subscription.tier).toBe('professional');

      const revenue = await admin('/v1/admin/metrics/revenue?month=2026-05&months=1');
      expect(revenue.body.months[0].total).toMatchObject({ invoices: 1, grossCents: 2450, netCents: 2450 });
      expect((await admin('/v1/admin/metrics/summary?month=2026-05')).body.mrr.mrrCents).toBe(4900);

      // The renewal at the period end is at the list price.
      clock += 32 * DAY_MS;
      const again = await request(server.url, 'POST', '/v1/auth/sign-in', {
        email: account.email,
        password: account.password,
      });
      await request(server.url, 'POST', '/v1/billing/portal', {}, { token: again.body.accessToken });
      const june = await admin('/v1/admin/metrics/revenue?month=2026-06&months=1');
      expect(june.body.months[0].total).toMatchObject({ invoices: 1, grossCents: 4900 });
    });

    it('the API completion takes the code too, and refuses an unknown one with PROMOTION_CODE_INVALID', async () => {
      const account = await signUp(server.url);
      const checkout = await account.post('/v1/billing/checkout', { tier: 'enterprise', cycle: 'monthly' });
      const path = `/v1/billing/test-checkout/${checkout.body.sessionId}/pay`;
      const refused = await account.post(path, { promotionCode: 'FREE100' });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'PROMOTION_CODE_INVALID' });
      expect(refused.body.detail).toContain('TESTPROMO50');
      expect((await account.get('/v1/me')).body.subscription.tier).toBe('free');

      const paid = await account.post(path, { promotionCode: 'TESTPROMO50' });
      expect(paid.status).toBe(200);
      expect(paid.body).toMatchObject({ paid: true, tier: 'enterprise', amountPaidCents: 34950 });
      const [invoice] = await server.db
        .selectFrom('invoices')
        .selectAll()
        .where('account_id', '=', account.id)
        .execute();
      expect(invoice).toMatchObject({ amount_paid_cents: 34950, setup_fee_cents: 25000 });
    });
  });
}
