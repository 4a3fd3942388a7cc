import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request } from '../../support/server.ts';
import { startWorld, type World } from '../payments/world.ts';

// Cancelling through the payment provider: the real stripe SDK against the fake Stripe, whose
// signed webhooks bring the outcome back.
const ADMIN_TOKEN = 'provider-actions-admin-token-0123';

for (const dialect of testDialects()) {
  describe(`admin cancel through Stripe (${dialect})`, () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld(dialect, { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });
    });
    afterAll(async () => {
      await world?.close();
    });

    it('an owner cancels at period end in Stripe, with one audit entry; access lasts until the end', async () => {
      const session = await world.signUp('cancel.me@example.com');
      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'professional',
        cycle: 'monthly',
      });
      expect(checkout.status).toBe(200);
      world.fake.billing.completeCheckout(checkout.body.sessionId);
      await world.fake.flush();
      const accountId = session.account.id;
      const cancelled = await request(
        world.server.url,
        'POST',
        `/v1/admin/customers/${accountId}/cancel`,
        { reason: 'customer asked by phone' },
        { token: ADMIN_TOKEN },
      );
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ tier: 'professional', access: true, cancelAtPeriodEnd: true });
      const stripeSubscription = [...world.fake.billing.subscriptions.values()].find(
        (subscription) => subscription.metadata.account_id === accountId,
      );
      expect(stripeSubscription?.cancel_at_period_end).toBe(true);
      const audit = await request(world.server.url, 'GET', `/v1/admin/audit?accountId=${accountId}`, undefined, {
        token: ADMIN_TOKEN,
      });
      expect(audit.body.entries).toHaveLength(1);
      expect(audit.body.entries[0]).toMatchObject({
        action: 'subscription.cancel',
        after: { cancelAtPeriodEnd: true },
      });
      await world.advanceDays(40);
      const after = await world.signIn('cancel.me@example.com');
      expect((await world.me(after.accessToken)).subscription.tier).toBe('free');
    });
  });
}
