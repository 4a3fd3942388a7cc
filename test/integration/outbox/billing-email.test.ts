import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { DAY_S, startWorld, type World } from '../payments/world.ts';
import { distinctIds, eventually, startTestSmtp, type TestSmtp } from './smtp.ts';

/**
 * Billing emails from really signed Stripe webhooks (the real SDK against the fake Stripe) to a real
 * SMTP server: a failed payment sends one message with the billing portal link, each plan change
 * one message — redelivered webhooks included.
 */

for (const dialect of testDialects()) {
  describe(`billing emails (${dialect})`, () => {
    let smtp: TestSmtp;
    let world: World;
    beforeAll(async () => {
      smtp = await startTestSmtp();
      world = await startWorld(dialect, { TOLLGATE_SMTP_URL: smtp.url });
    });
    afterAll(async () => {
      await world.close();
      await smtp.close();
    });

    async function subscribe(email: string) {
      const session = await world.signUp(email);
      const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
        tier: 'professional',
        cycle: 'monthly',
      });
      world.fake.billing.completeCheckout(checkout.body.sessionId);
      expect(await world.fake.flush()).toEqual([200, 200, 200]);
      return session;
    }
    const to = (email: string) => smtp.received.filter((mail) => mail.to === email);
    async function allSent(accountId: string) {
      await eventually('every email recorded as sent', async () => {
        const open = await world.server.db
          .selectFrom('outbox_messages')
          .select('id')
          .where('account_id', '=', accountId)
          .where('channel', '=', 'email')
          .where('status', '!=', 'delivered')
          .execute();
        return open.length === 0;
      });
    }

    it('a plan change sends exactly one message, a redelivered webhook none', async () => {
      const session = await subscribe('grace@example.com');
      await eventually('the start email', () => to('grace@example.com').length >= 1);
      const change = await world.call(session.accessToken, 'POST', '/v1/billing/change-plan', {
        tier: 'enterprise',
        cycle: 'monthly',
      });
      expect(change.status).toBe(200);
      const events = world.fake.billing.pending.slice();
      await world.fake.flush();
      // Stripe delivers every event of the change again: nothing more is sent.
      for (const event of events) expect(await world.fake.deliver(event)).toBe(200);
      await allSent(session.account.id);
      const mails = to('grace@example.com');
      expect(mails.map((mail) => mail.subject)).toEqual([
        'Your subscription changed: professional',
        'Your subscription changed: enterprise',
      ]);
      expect(distinctIds(mails)).toHaveLength(2);
      expect(mails[1]?.text).toContain('from professional to enterprise (upgrade)');
    });

    it('a failed payment sends one message carrying the billing portal link', async () => {
      const session = await subscribe('edgar@example.com');
      const customer = [...world.fake.billing.customers.values()].find(
        (c) => c.metadata.account_id === session.account.id,
      );
      world.fake.billing.decliningCustomers.add(customer?.id as string);
      const end = Date.parse((await world.me(session.accessToken)).subscription.currentPeriodEnd as string) / 1000;
      await world.advanceTo(end + DAY_S);
      await allSent(session.account.id);
      const failed = to('edgar@example.com').filter((mail) => mail.subject === 'Your payment failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.text).toMatch(new RegExp(`${world.fake.url}/p/session/`));
    });
  });
}
