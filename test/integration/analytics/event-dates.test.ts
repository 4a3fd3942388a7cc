import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request } from '../../support/server.ts';
import { startWorld, type World } from '../payments/world.ts';

/**
 * Analytics dates each subscription change when it happened at the provider, not when the server
 * processed it: Stripe through the real SDK, a stateful fake and really signed webhooks, delivered
 * late on purpose. Every figure below is worked out by hand from the default catalog
 * (professional 49 $/month).
 */

const ADMIN_TOKEN = 'event-dates-admin-token-0123456789abcdef';
const at = (iso: string) => Date.parse(iso) / 1000;

for (const dialect of testDialects()) {
  describe(`subscription events are dated by the provider (${dialect})`, () => {
    let world: World;
    const summary = async (month: string) => {
      const response = await request(world.server.url, 'GET', `/v1/admin/metrics/summary?month=${month}`, undefined, {
        token: ADMIN_TOKEN,
      });
      expect(response.status).toBe(200);
      return response.body;
    };
    const moveClock = (iso: string) =>
      world.stripe.testHelpers.testClocks.advance(world.clockId, { frozen_time: at(iso) });

    beforeAll(async () => {
      world = await startWorld(dialect, { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });
      // One test clock drives the fake account and the server: creating one sets the time.
      const clock = await world.stripe.testHelpers.testClocks.create({ frozen_time: at('2027-01-31T23:40:00Z') });
      world.clockId = clock.id;
    });
    afterAll(() => world?.close());

    it('a checkout paid at 23:50 on Jan 31 whose webhooks arrive after midnight is January’s new MRR', async () => {
      const session = await world.signUp('late-webhook@example.com');
      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'professional',
        cycle: 'monthly',
      });
      expect(checkout.status).toBe(200);
      await moveClock('2027-01-31T23:50:00Z');
      world.fake.billing.completeCheckout(checkout.body.sessionId);
      const events = world.fake.drain();
      expect(events.map((event) => event.created)).toEqual([
        at('2027-01-31T23:50:00Z'),
        at('2027-01-31T23:50:00Z'),
        at('2027-01-31T23:50:00Z'),
      ]);

      // The webhooks are delivered on February 1, 00:20 (server clock): the newest first.
      await moveClock('2027-02-01T00:20:00Z');
      expect(world.fake.billing.pending).toEqual([]);
      const [created, paid, completed] = events;
      expect(await world.fake.deliver(completed!)).toBe(200);
      const { accessToken: afterMidnight } = await world.signIn('late-webhook@example.com');
      expect((await world.me(afterMidnight)).subscription.tier).toBe('professional');

      const january = await summary('2027-01');
      expect(january.mrr).toMatchObject({ mrrCents: 4900, movements: { newCents: 4900, newAccounts: 1 } });
      const february = await summary('2027-02');
      expect(february.mrr).toMatchObject({ mrrCents: 4900, movements: { netNewCents: 0, newAccounts: 0 } });

      const rows = await world.server.db
        .selectFrom('subscription_events')
        .select(['kind', 'at'])
        .where('account_id', '=', session.account.id)
        .execute();
      expect(rows.map((row) => ({ kind: row.kind, at: Number(row.at) }))).toEqual([
        { kind: 'start', at: Date.parse('2027-01-31T23:50:00Z') },
      ]);

      // Redelivery, and the two older events of the checkout arriving after it, change nothing.
      expect(await world.fake.deliver(completed!)).toBe(200);
      expect(await world.fake.deliver(paid!)).toBe(200);
      expect(await world.fake.deliver(created!)).toBe(200);
      // The invoice came with invoice.paid: revenue of January too, as it was paid then.
      expect(await summary('2027-01')).toEqual({ ...january, revenueNetCents: 4900 });
      expect(await summary('2027-02')).toEqual(february);

      // A cancel on Feb 10, then an old January event delivered after it: the cancel stands.
      await moveClock('2027-02-10T09:00:00Z');
      const { accessToken } = await world.signIn('late-webhook@example.com');
      const cancel = await world.call(accessToken, 'POST', '/v1/billing/cancel');
      expect(cancel.status).toBe(200);
      expect(await world.fake.flush()).toEqual([200]);
      expect(await world.fake.deliver({ ...created!, id: `${created!.id}_late` })).toBe(200);
      expect((await world.me(accessToken)).subscription).toMatchObject({
        tier: 'professional',
        cancelAtPeriodEnd: true,
      });
      const kinds = await world.server.db
        .selectFrom('subscription_events')
        .select(['kind', 'at'])
        .where('account_id', '=', session.account.id)
        .orderBy('at')
        .execute();
      expect(kinds.map((row) => row.kind)).toEqual(['start', 'cancel']);
      expect(Number(kinds[1]?.at)).toBe(Date.parse('2027-02-10T09:00:00Z'));
    });

    it('a past-due subscription churns when its 7-day grace ends; paying after it is a reactivation', async () => {
      // Renewals on Apr 22 12:00 fail: grace to Apr 29 12:00; the fake retries every 3 days and
      // cancels after the 4th failure, on May 1 12:00 — the month after the grace ended.
      await world.advanceTo(at('2027-03-22T12:00:00Z'));
      const subscribe = async (email: string) => {
        const session = await world.signUp(email);
        const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
          tier: 'professional',
          cycle: 'monthly',
        });
        world.fake.billing.completeCheckout(checkout.body.sessionId);
        expect(await world.fake.flush()).toEqual([200, 200, 200]);
        const customer = [...world.fake.billing.customers.values()].find(
          (candidate) => candidate.metadata.account_id === session.account.id,
        );
        world.fake.billing.decliningCustomers.add(customer?.id);
        return { accountId: session.account.id, customerId: customer?.id as string };
      };
      const hana = await subscribe('hana@example.com');
      const ivan = await subscribe('ivan@example.com');

      await world.advanceTo(at('2027-04-22T13:00:00Z'));
      await world.advanceTo(at('2027-04-30T12:00:00Z'));
      // Ivan fixes his card before the last retry; both webhooks of May 1 arrive on May 3.
      world.fake.billing.decliningCustomers.delete(ivan.customerId);
      await world.advanceTo(at('2027-05-03T08:00:00Z'));

      const eventsOf = async (accountId: string) =>
        (
          await world.server.db
            .selectFrom('subscription_events')
            .select(['kind', 'at', 'mrr_after_cents', 'mrr_ends_at'])
            .where('account_id', '=', accountId)
            .orderBy('at')
            .execute()
        ).map((row) => ({
          kind: row.kind,
          at: new Date(Number(row.at)).toISOString(),
          mrr: row.mrr_after_cents,
          endsAt: row.mrr_ends_at === null ? null : new Date(Number(row.mrr_ends_at)).toISOString(),
        }));
      const pastDue = {
        kind: 'past_due',
        at: '2027-04-22T12:00:00.000Z',
        mrr: 4900,
        endsAt: '2027-04-29T12:00:00.000Z',
      };
      expect(await eventsOf(hana.accountId)).toEqual([
        { kind: 'start', at: '2027-03-22T12:00:00.000Z', mrr: 4900, endsAt: null },
        pastDue,
        { kind: 'back_to_free', at: '2027-05-01T12:00:00.000Z', mrr: 0, endsAt: null },
      ]);
      expect(await eventsOf(ivan.accountId)).toEqual([
        { kind: 'start', at: '2027-03-22T12:00:00.000Z', mrr: 4900, endsAt: null },
        pastDue,
        { kind: 'recovered', at: '2027-05-01T12:00:00.000Z', mrr: 4900, endsAt: null },
      ]);

      // March: two new plans (and the first test's cancelled plan ends). April: both churn at the
      // grace end. May: Ivan comes back; Hana's cancellation by the provider moves nothing, her MRR
      // left in April.
      expect((await summary('2027-03')).mrr).toMatchObject({
        mrrCents: 9800,
        movements: { newCents: 9800, newAccounts: 2, churnedAccounts: 1 },
      });
      expect((await summary('2027-04')).mrr).toMatchObject({
        mrrCents: 0,
        subscribers: 0,
        movements: { churnedCents: 9800, churnedAccounts: 2, netNewCents: -9800 },
      });
      expect((await summary('2027-05')).mrr).toMatchObject({
        mrrCents: 4900,
        movements: { reactivationCents: 4900, reactivationAccounts: 1, churnedCents: 0, netNewCents: 4900 },
      });
    });
  });
}
