import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { payTestCheckout } from '../../support/test-checkout.ts';

/**
 * The local test provider renews at the period end (dated then, whenever the sweep or a request
 * applies it) and can be told to decline renewals, so past due, the grace and recovery can be tried
 * without Stripe. Professional is 49 $/month; the grace is 7 days. Worked out by hand:
 *
 *   paula  buys 01-20 12:00; renews 02-20 12:00 (invoice paid then, though applied on 02-25)
 *   quinn  buys 01-20 12:00; renewal declined 02-20 (grace to 02-27 12:00); pays again 03-02
 *   rosa   buys 01-20 12:00; renewal declined 02-20; never pays: cancelled 03-20 12:00, the end of
 *          the period she did not pay for
 *
 *              Jan           Feb                   Mar
 *   new        147 (3 × 49)
 *   churned                  98 (quinn, rosa)
 *   reactiv.                                       49 (quinn)
 *   MRR end    147           49 (paula)            49 (paula) + 49 (quinn) = 98
 *   revenue    147           49 (paula's renewal)  49 (quinn) + 49 (paula's 03-20 renewal) = 98
 */

const ADMIN_TOKEN = 'local-renewals-admin-token-0123456789ab';

for (const dialect of testDialects()) {
  describe(`local provider renewals, declined and recovered (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.parse('2026-01-20T12:00:00Z');
    beforeAll(async () => {
      server = await startTestServer({
        dialect,
        now: () => clock,
        env: { TOLLGATE_PAYMENTS: 'local', TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAST_DUE_GRACE_DAYS: '7' },
      });
    });
    afterAll(() => server?.stop());

    /** The account with a fresh access token (the clock moves past a token's life). */
    const signedIn = async (account: TestAccount): Promise<TestAccount> => {
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
    };
    const summary = async (month: string) =>
      (await request(server.url, 'GET', `/v1/admin/metrics/summary?month=${month}`, undefined, { token: ADMIN_TOKEN }))
        .body;
    const eventsOf = async (account: TestAccount) =>
      (
        await server.db
          .selectFrom('subscription_events')
          .select(['kind', 'at', 'mrr_ends_at'])
          .where('account_id', '=', account.id)
          .orderBy('at')
          .execute()
      ).map((row) => ({
        kind: row.kind,
        at: new Date(Number(row.at)).toISOString(),
        endsAt: row.mrr_ends_at === null ? null : new Date(Number(row.mrr_ends_at)).toISOString(),
      }));
    const paidAt = async (account: TestAccount) =>
      (
        await server.db
          .selectFrom('invoices')
          .select('paid_at')
          .where('account_id', '=', account.id)
          .orderBy('paid_at')
          .execute()
      ).map((row) => new Date(Number(row.paid_at)).toISOString());

    it('renews at the period end, declines when told to, recovers when paid, and dates each change', async () => {
      const buy = async () => {
        const account = await signUp(server.url);
        const checkout = await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
        expect((await payTestCheckout(checkout.body.url)).status).toBe(200);
        return account;
      };
      const paula = await buy();
      const quinn = await buy();
      const rosa = await buy();
      for (const account of [quinn, rosa]) {
        const declined = await account.post('/v1/billing/test-renewals', { fail: true });
        expect(declined.status).toBe(200);
      }

      // Five days after the period end, a billing request settles it: dated at the end itself.
      clock = Date.parse('2026-02-25T09:00:00Z');
      for (const account of [paula, quinn, rosa]) await (await signedIn(account)).post('/v1/billing/portal', {});
      expect(await paidAt(paula)).toEqual(['2026-01-20T12:00:00.000Z', '2026-02-20T12:00:00.000Z']);
      expect((await (await signedIn(quinn)).get('/v1/me')).body.subscription).toMatchObject({
        tier: 'professional',
        status: 'past_due',
        access: true,
        pastDueGraceEndsAt: '2026-02-27T12:00:00.000Z',
      });
      expect(await paidAt(quinn)).toEqual(['2026-01-20T12:00:00.000Z']);

      // Quinn's card works again on March 2: the unpaid renewal is paid then.
      clock = Date.parse('2026-03-02T10:00:00Z');
      const fixed = await (await signedIn(quinn)).post('/v1/billing/test-renewals', { fail: false });
      expect(fixed.status).toBe(200);
      expect(fixed.body.subscription).toMatchObject({ status: 'active', access: true });
      expect(await paidAt(quinn)).toEqual(['2026-01-20T12:00:00.000Z', '2026-03-02T10:00:00.000Z']);

      // Past the end of the period Rosa did not pay for (and Paula's next renewal).
      clock = Date.parse('2026-03-25T09:00:00Z');
      for (const account of [paula, rosa]) await (await signedIn(account)).post('/v1/billing/portal', {});
      expect((await (await signedIn(rosa)).get('/v1/me')).body.subscription).toMatchObject({ tier: 'free' });

      const pastDue = { kind: 'past_due', at: '2026-02-20T12:00:00.000Z', endsAt: '2026-02-27T12:00:00.000Z' };
      expect(await eventsOf(paula)).toEqual([{ kind: 'start', at: '2026-01-20T12:00:00.000Z', endsAt: null }]);
      expect(await eventsOf(quinn)).toEqual([
        { kind: 'start', at: '2026-01-20T12:00:00.000Z', endsAt: null },
        pastDue,
        { kind: 'recovered', at: '2026-03-02T10:00:00.000Z', endsAt: null },
      ]);
      expect(await eventsOf(rosa)).toEqual([
        { kind: 'start', at: '2026-01-20T12:00:00.000Z', endsAt: null },
        pastDue,
        { kind: 'back_to_free', at: '2026-03-20T12:00:00.000Z', endsAt: null },
      ]);

      expect(await summary('2026-01')).toMatchObject({
        mrr: { mrrCents: 14700, movements: { newCents: 14700, newAccounts: 3 } },
        revenueNetCents: 14700,
      });
      expect(await summary('2026-02')).toMatchObject({
        mrr: { mrrCents: 4900, movements: { churnedCents: 9800, churnedAccounts: 2, netNewCents: -9800 } },
        revenueNetCents: 4900,
      });
      expect(await summary('2026-03')).toMatchObject({
        mrr: {
          mrrCents: 9800,
          movements: { reactivationCents: 4900, reactivationAccounts: 1, churnedCents: 0, netNewCents: 4900 },
        },
        revenueNetCents: 9800,
      });
    });
  });
}
