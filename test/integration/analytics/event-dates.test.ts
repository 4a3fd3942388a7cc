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
  });
}
