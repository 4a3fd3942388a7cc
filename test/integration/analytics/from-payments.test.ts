import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { payTestCheckout } from '../../support/test-checkout.ts';

/**
 * The analytics read what the payments code really writes: customers buy through the embedded
 * local provider (the same apply path as a Stripe webhook) and the admin API reports it.
 */

const ADMIN_TOKEN = 'analytics-from-payments-token-0123456789';
const DAY_MS = 86_400_000;

for (const dialect of testDialects()) {
  describe(`analytics of real checkouts (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 2, 3, 12);
    const admin = (path: string) => request(server.url, 'GET', path, undefined, { token: ADMIN_TOKEN });

    beforeAll(async () => {
      server = await startTestServer({
        dialect,
        now: () => clock,
        env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAYMENTS: 'local' },
      });
    });
    afterAll(() => server?.stop());

    async function buy(account: TestAccount, tier: string, cycle: string): Promise<void> {
      const checkout = await account.post('/v1/billing/checkout', { tier, cycle });
      expect(checkout.status).toBe(200);
      const paid = await payTestCheckout(checkout.body.url);
      expect(paid.status).toBe(200);
    }

    it('a yearly plan counts at a twelfth, the setup fee only as revenue, then a cancel churns', async () => {
      const yearly = await signUp(server.url);
      const enterprise = await signUp(server.url);
      await signUp(server.url); // stays free
      await buy(yearly, 'professional', 'yearly');
      await buy(enterprise, 'enterprise', 'monthly');

      const march = await admin('/v1/admin/metrics/summary?month=2026-03');
      expect(march.status).toBe(200);
      expect(march.body).toMatchObject({
        mrr: { mrrCents: 4083 + 19900, movements: { newCents: 4083 + 19900, newAccounts: 2 } },
        subscribersByTier: { professional: 1, enterprise: 1 },
        freeAccounts: 1,
        conversion: { converted: 2, eligible: 3 },
        // 490 $ for the year plus 199 $ and the 500 $ setup fee.
        revenueNetCents: 49000 + 19900 + 50000,
      });
      const revenue = await admin('/v1/admin/metrics/revenue?month=2026-03&months=1');
      expect(revenue.body.months[0].byTier.enterprise).toMatchObject({ grossCents: 69900, setupFeeCents: 50000 });

      // Cancelled in March, the enterprise plan runs to the end of its period in April and then ends.
      const cancel = await enterprise.post('/v1/billing/cancel');
      expect(cancel.status).toBe(200);
      clock += 40 * DAY_MS;
      const again = await request(server.url, 'POST', '/v1/auth/sign-in', {
        email: enterprise.email,
        password: enterprise.password,
      });
      await request(server.url, 'POST', '/v1/billing/portal', {}, { token: again.body.accessToken });

      const april = await admin('/v1/admin/metrics/summary?month=2026-04');
      expect(april.body).toMatchObject({
        mrr: { mrrCents: 4083, movements: { churnedCents: 19900, churnedAccounts: 1 } },
        logoChurnRate: 1 / 2,
        revenueChurnRate: 19900 / (4083 + 19900),
      });
      const ltv = await admin(`/v1/admin/accounts/${enterprise.id}/ltv?month=2026-04`);
      expect(ltv.body).toMatchObject({ tier: 'free', mrrCents: 0, totalPaidCents: 69900, setupFeeCents: 50000 });
    });
  });
}
