import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { DAY_S, startWorld, type World } from './world.ts';

/**
 * Whole customer journeys: the real billing server, the real `stripe` SDK, a stateful fake Stripe
 * that renews, retries and cancels on its test clock, and signed webhooks.
 */

async function subscribe(world: World, email: string, tier: 'professional' | 'enterprise', cycle = 'monthly') {
  const session = await world.signUp(email);
  const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', { tier, cycle });
  expect(checkout.status).toBe(200);
  world.fake.billing.completeCheckout(checkout.body.sessionId);
  expect(await world.fake.flush()).toEqual([200, 200, 200]);
  return session;
}

/** The end of the account's current paid period, in Unix seconds (Stripe's unit). */
async function periodEndOf(world: World, accessToken: string): Promise<number> {
  const end = (await world.me(accessToken)).subscription.currentPeriodEnd;
  if (!end) throw new Error('no current period');
  return Date.parse(end) / 1000;
}

function customerOf(world: World, accountId: string): string {
  const customer = [...world.fake.billing.customers.values()].find((c) => c.metadata.account_id === accountId);
  if (!customer) throw new Error(`no Stripe customer for ${accountId}`);
  return customer.id;
}

async function eventsOf(world: World, accountId: string) {
  return world.server.db
    .selectFrom('subscription_events')
    .select(['kind', 'from_tier', 'to_tier', 'mrr_before_cents', 'mrr_after_cents'])
    .where('account_id', '=', accountId)
    .orderBy('at')
    .execute();
}

async function invoicesOf(world: World, accountId: string) {
  return world.server.db
    .selectFrom('invoices')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('paid_at')
    .execute();
}

for (const dialect of testDialects()) {
  describe(`Stripe billing journeys (${dialect})`, () => {
    // One server and fake Stripe per database: each journey has its own account, and the shared
    // test clock only moves forward (a journey signs in again after moving it).
    let world: World;
    beforeAll(async () => {
      world = await startWorld(dialect);
    });
    afterAll(() => world.close());

    it('free → checkout → active professional, confirmed by Stripe before the tier changes', async () => {
      const session = await world.signUp('ada@example.com');
      expect((await world.me(session.accessToken)).subscription.tier).toBe('free');

      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'professional',
        cycle: 'monthly',
      });
      expect(checkout.status).toBe(200);
      expect(checkout.body.kind).toBe('checkout');
      expect(checkout.body.url).toMatch(new RegExp(`^${world.fake.url}/c/pay/cs_test_`));
      // Nothing is granted before Stripe says the customer paid.
      expect((await world.me(session.accessToken)).subscription.tier).toBe('free');

      world.fake.billing.completeCheckout(checkout.body.sessionId);
      expect(await world.fake.flush()).toEqual([200, 200, 200]);

      const me = await world.me(session.accessToken);
      expect(me.subscription).toMatchObject({ tier: 'professional', status: 'active', cycle: 'monthly', access: true });
      expect(me.usage.operations.ai_operations?.limit).toBe(100);
      const [invoice, ...others] = await invoicesOf(world, session.account.id);
      expect(others).toEqual([]);
      expect(invoice).toMatchObject({
        tier: 'professional',
        amount_paid_cents: 4900,
        setup_fee_cents: 0,
        currency: 'usd',
      });
      expect(await eventsOf(world, session.account.id)).toEqual([
        { kind: 'start', from_tier: 'free', to_tier: 'professional', mrr_before_cents: 0, mrr_after_cents: 4900 },
      ]);

      // The Stripe customer was made once, with an idempotency key; a second checkout is refused.
      const again = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'enterprise',
        cycle: 'monthly',
      });
      expect(again.status).toBe(400);
      const customerPosts = world.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
      expect(customerPosts).toHaveLength(1);
      expect(customerPosts[0]?.idempotencyKey).toBe(`tollgate-customer-${session.account.id}`);

      // A trial-ending notice is verified, recorded once, and leaves the plan as Stripe has it.
      const subscription = world.fake.billing.sessions.get(checkout.body.sessionId)?.subscription as string;
      world.fake.billing.trialWillEnd(subscription);
      const [notice] = world.fake.drain();
      expect(await world.fake.deliver(notice!)).toBe(200);
      expect(await world.fake.deliver(notice!)).toBe(200);
      const stored = await world.server.db
        .selectFrom('webhook_events')
        .selectAll()
        .where('id', '=', notice!.id)
        .execute();
      expect(stored).toMatchObject([{ type: 'customer.subscription.trial_will_end' }]);
      expect((await world.me(session.accessToken)).subscription.tier).toBe('professional');
    });

    it('enterprise checkout carries the setup fee as a one-time line; custom answers contact sales', async () => {
      const session = await subscribe(world, 'grace@example.com', 'enterprise', 'yearly');
      const [invoice] = await invoicesOf(world, session.account.id);
      expect(invoice).toMatchObject({ tier: 'enterprise', cycle: 'yearly', amount_paid_cents: 249000 });
      expect(invoice?.setup_fee_cents).toBe(50000);
      expect(await eventsOf(world, session.account.id)).toMatchObject([{ kind: 'start', mrr_after_cents: 16583 }]);

      const custom = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'custom',
        cycle: 'monthly',
      });
      expect(custom.body.kind).toBe('contact_sales');

      const portal = await world.call(session.accessToken, 'POST', '/v1/billing/portal', {});
      expect(portal.status).toBe(200);
      expect(portal.body.url).toMatch(new RegExp(`^${world.fake.url}/p/session/`));
    });

    it('upgrade to enterprise mid-period: now, prorated, setup fee once', async () => {
      const { account } = await subscribe(world, 'linus@example.com', 'professional');
      await world.advanceDays(15);
      const { accessToken } = await world.signIn('linus@example.com');

      const upgrade = await world.call(accessToken, 'POST', '/v1/billing/change-plan', {
        tier: 'enterprise',
        cycle: 'monthly',
      });
      expect(upgrade.status).toBe(200);
      expect(upgrade.body.effective).toBe('now');
      expect(upgrade.body.subscription).toMatchObject({ tier: 'enterprise', access: true, pendingTier: null });
      expect(await world.fake.flush()).toSatisfy((statuses: number[]) => statuses.every((s) => s === 200));

      const invoices = await invoicesOf(world, account.id);
      expect(invoices).toHaveLength(2);
      const proration = invoices[1];
      // About half a month of the difference (15 of 28–31 days left), plus the setup fee.
      expect(proration?.setup_fee_cents).toBe(50000);
      const prorated = (proration?.amount_paid_cents ?? 0) - 50000;
      expect(prorated).toBeGreaterThan(15000 * 0.4);
      expect(prorated).toBeLessThan(15000 * 0.6);
      expect((await world.me(accessToken)).usage.operations.ai_operations?.limit).toBe(-1);
      expect((await eventsOf(world, account.id)).map((e) => e.kind)).toEqual(['start', 'upgrade']);
    });

    it('downgrade is scheduled and applied when the paid period ends', async () => {
      const { account } = await subscribe(world, 'barbara@example.com', 'enterprise');
      await world.advanceDays(10);
      let { accessToken } = await world.signIn('barbara@example.com');

      const downgrade = await world.call(accessToken, 'POST', '/v1/billing/change-plan', {
        tier: 'professional',
        cycle: 'monthly',
      });
      expect(downgrade.body.effective).toBe('period_end');
      expect(downgrade.body.subscription).toMatchObject({ tier: 'enterprise', pendingTier: 'professional' });
      await world.fake.flush();
      expect((await world.me(accessToken)).subscription).toMatchObject({ tier: 'enterprise', access: true });

      await world.advanceTo((await periodEndOf(world, accessToken)) + DAY_S);
      ({ accessToken } = await world.signIn('barbara@example.com'));
      const me = await world.me(accessToken);
      expect(me.subscription).toMatchObject({ tier: 'professional', pendingTier: null, status: 'active' });
      expect((await invoicesOf(world, account.id)).map((i) => i.amount_paid_cents)).toEqual([19900 + 50000, 4900]);
      expect(await eventsOf(world, account.id)).toMatchObject([
        { kind: 'start' },
        { kind: 'downgrade', from_tier: 'enterprise', to_tier: 'professional', mrr_after_cents: 4900 },
      ]);
    });

    it('payment fails → past due (access during the grace) → grace ends → free; Stripe then cancels', async () => {
      const { account, accessToken: first } = await subscribe(world, 'edsger@example.com', 'professional');
      world.fake.billing.decliningCustomers.add(customerOf(world, account.id));
      const renewal = await periodEndOf(world, first);

      await world.advanceTo(renewal + DAY_S);
      let { accessToken } = await world.signIn('edsger@example.com');
      let me = await world.me(accessToken);
      expect(me.subscription).toMatchObject({ tier: 'professional', status: 'past_due', access: true });
      expect(me.subscription.pastDueGraceEndsAt).not.toBeNull();
      expect(me.usage.operations.ai_operations?.limit).toBe(100);

      // Retries on days 3 and 6 fail too; the 7-day grace is over on day 8.
      await world.advanceTo(renewal + 8 * DAY_S);
      ({ accessToken } = await world.signIn('edsger@example.com'));
      me = await world.me(accessToken);
      expect(me.subscription).toMatchObject({ status: 'past_due', access: false });
      expect(me.usage.operations.ai_operations?.limit).toBe(5);

      // The fourth attempt (day 9) fails and Stripe cancels the subscription.
      await world.advanceTo(renewal + 10 * DAY_S);
      ({ accessToken } = await world.signIn('edsger@example.com'));
      me = await world.me(accessToken);
      expect(me.subscription).toMatchObject({ tier: 'free', status: 'active' });
      expect((await eventsOf(world, account.id)).map((e) => e.kind)).toEqual(['start', 'past_due', 'back_to_free']);
    });

    it('a card that is fixed during dunning recovers the subscription', async () => {
      const { account, accessToken: first } = await subscribe(world, 'alan@example.com', 'professional');
      const customer = customerOf(world, account.id);
      world.fake.billing.authenticatingCustomers.add(customer);
      const renewal = await periodEndOf(world, first);
      await world.advanceTo(renewal + 3600);
      const types = world.fake.billing.events.map((event) => event.type);
      expect(types).toContain('invoice.payment_action_required');
      let { accessToken } = await world.signIn('alan@example.com');
      expect((await world.me(accessToken)).subscription.status).toBe('past_due');

      world.fake.billing.authenticatingCustomers.delete(customer);
      await world.advanceTo(renewal + 3 * DAY_S + 3600);
      ({ accessToken } = await world.signIn('alan@example.com'));
      expect((await world.me(accessToken)).subscription).toMatchObject({ status: 'active', access: true });
      expect((await eventsOf(world, account.id)).map((e) => e.kind)).toEqual(['start', 'past_due', 'recovered']);
      expect(await invoicesOf(world, account.id)).toHaveLength(2);
    });

    it('cancel at period end keeps access until then; resume undoes it; the end returns to free', async () => {
      const { account, accessToken } = await subscribe(world, 'barbara.l@example.com', 'professional', 'yearly');
      const cancel = await world.call(accessToken, 'POST', '/v1/billing/cancel');
      expect(cancel.status).toBe(200);
      expect(cancel.body.subscription).toMatchObject({ cancelAtPeriodEnd: true, access: true, tier: 'professional' });
      const resume = await world.call(accessToken, 'POST', '/v1/billing/resume');
      expect(resume.body.subscription.cancelAtPeriodEnd).toBe(false);
      await world.call(accessToken, 'POST', '/v1/billing/cancel');
      await world.fake.flush();

      await world.advanceDays(300);
      let session = await world.signIn('barbara.l@example.com');
      expect((await world.me(session.accessToken)).subscription).toMatchObject({ tier: 'professional', access: true });

      await world.advanceDays(70);
      session = await world.signIn('barbara.l@example.com');
      expect((await world.me(session.accessToken)).subscription).toMatchObject({
        tier: 'free',
        cancelAtPeriodEnd: false,
      });
      expect((await eventsOf(world, account.id)).map((e) => e.kind)).toEqual([
        'start',
        'cancel',
        'reactivation',
        'cancel',
        'back_to_free',
      ]);
    });

    it('a declined upgrade leaves the plan as it was; choosing a plan later undoes a scheduled cancel', async () => {
      const { account, accessToken } = await subscribe(world, 'donald@example.com', 'professional');
      await world.call(accessToken, 'POST', '/v1/billing/cancel');
      const customer = customerOf(world, account.id);
      world.fake.billing.decliningCustomers.add(customer);

      const declined = await world.call(accessToken, 'POST', '/v1/billing/change-plan', {
        tier: 'enterprise',
        cycle: 'monthly',
      });
      expect(declined.status).toBe(400);
      expect(declined.body.detail).toContain('did not go through');
      await world.fake.flush();
      expect((await world.me(accessToken)).subscription).toMatchObject({
        tier: 'professional',
        cancelAtPeriodEnd: true,
      });

      world.fake.billing.decliningCustomers.delete(customer);
      const upgrade = await world.call(accessToken, 'POST', '/v1/billing/change-plan', {
        tier: 'enterprise',
        cycle: 'monthly',
      });
      expect(upgrade.body.subscription).toMatchObject({ tier: 'enterprise', cancelAtPeriodEnd: false });
      await world.fake.flush();
      expect((await eventsOf(world, account.id)).map((e) => e.kind)).toEqual(['start', 'cancel', 'upgrade']);
    });

    it('a refund is recorded against its invoice, whatever order the events arrive in', async () => {
      const { account } = await subscribe(world, 'margaret@example.com', 'professional');
      const customer = customerOf(world, account.id);
      const charge = [...world.fake.billing.charges.values()].find((candidate) => candidate.customer === customer);
      await world.stripe.refunds.create({ payment_intent: charge?.payment_intent, amount: 1000 });
      await world.stripe.refunds.create({ payment_intent: charge?.payment_intent, amount: 900 });
      const [first, second] = world.fake.drain();
      expect([first?.type, second?.type]).toEqual(['charge.refunded', 'charge.refunded']);
      // The later refund event arrives first: the amount is read from Stripe, so order cannot shrink it.
      expect(await world.fake.deliver(second!)).toBe(200);
      expect(await world.fake.deliver(first!)).toBe(200);
      const [invoice] = await invoicesOf(world, account.id);
      expect(invoice?.amount_refunded_cents).toBe(1900);
    });
  });
}
