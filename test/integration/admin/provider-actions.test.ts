import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request } from '../../support/server.ts';
import { startWorld, type World } from '../payments/world.ts';

// Cancelling and refunding through the payment provider: the real stripe SDK against the fake Stripe, whose
// signed webhooks bring the outcome back.
const ADMIN_TOKEN = 'provider-actions-admin-token-0123';

for (const dialect of testDialects()) {
  describe(`admin cancel and refund through Stripe (${dialect})`, () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld(dialect, { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });
    });
    afterAll(async () => {
      await world?.close();
    });
    const admin = (method: string, path: string, body?: unknown) =>
      request(world.server.url, method, path, body, { token: ADMIN_TOKEN });

    it('an owner cancels at period end in Stripe, with one audit entry; access lasts until the end', async () => {
      const session = await world.subscribed('cancel.me@example.com', 'professional');
      const accountId = session.account.id;
      const cancelled = await admin('POST', `/v1/admin/customers/${accountId}/cancel`, {
        reason: 'customer asked by phone',
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ tier: 'professional', access: true, cancelAtPeriodEnd: true });
      const stripeSubscription = [...world.fake.billing.subscriptions.values()].find(
        (subscription) => subscription.metadata.account_id === accountId,
      );
      expect(stripeSubscription?.cancel_at_period_end).toBe(true);
      const audit = await admin('GET', `/v1/admin/audit?accountId=${accountId}`);
      expect(audit.body.entries).toHaveLength(1);
      expect(audit.body.entries[0]).toMatchObject({
        action: 'subscription.cancel',
        after: { cancelAtPeriodEnd: true },
      });
      await world.advanceDays(40);
      const after = await world.signIn('cancel.me@example.com');
      expect((await world.me(after.accessToken)).subscription.tier).toBe('free');
    });

    it('an owner refunds part of a Stripe invoice, then the rest: Stripe refunds the charge, one audit entry each', async () => {
      const session = await world.subscribed('refund.me@example.com', 'enterprise');
      const accountId = session.account.id;
      const invoice = (await admin('GET', `/v1/admin/customers/${accountId}`)).body.invoices[0];
      // Enterprise monthly with its setup fee: 199 $ + 500 $.
      expect(invoice).toMatchObject({ amountPaidCents: 69900, amountRefundedCents: 0 });
      const month = new Date(invoice.paidAt).toISOString().slice(0, 7);
      const net = async () =>
        (await admin('GET', `/v1/admin/metrics/summary?month=${month}`)).body.revenueNetCents as number;
      const netBefore = await net();

      const partial = await admin('POST', `/v1/admin/customers/${accountId}/refunds`, {
        invoiceId: invoice.id,
        amountCents: 50000,
        reason: 'setup was never done',
      });
      expect(partial.status).toBe(201);
      expect(partial.body).toMatchObject({ refundedCents: 50000, amountRefundedCents: 50000 });
      const charge = [...world.fake.billing.charges.values()].find((c) => c.amount === 69900 && c.amount_refunded > 0);
      expect(charge?.amount_refunded).toBe(50000);
      const refund = [...world.fake.billing.refunds.values()].find((r) => r.charge === charge?.id);
      expect(refund?.metadata).toMatchObject({ tollgate_invoice: invoice.id, tollgate_reason: 'setup was never done' });
      // Stripe's charge.refunded webhook arrives afterwards and agrees: nothing counted twice.
      expect((await world.fake.flush()).every((status) => status === 200)).toBe(true);
      expect(await net()).toBe(netBefore - 50000);

      const rest = await admin('POST', `/v1/admin/customers/${accountId}/refunds`, {
        invoiceId: invoice.id,
        reason: 'customer cancelled the deal',
      });
      expect(rest.body).toMatchObject({ refundedCents: 19900, amountRefundedCents: 69900 });
      expect(charge?.amount_refunded).toBe(69900);
      await world.fake.flush();
      expect(await net()).toBe(netBefore - 69900);
      const entries = (await admin('GET', `/v1/admin/audit?accountId=${accountId}`)).body.entries;
      expect(entries.map((entry: { action: string }) => entry.action)).toEqual(['invoice.refund', 'invoice.refund']);
      expect(entries[0]).toMatchObject({ before: { amountRefundedCents: 0 }, after: { amountRefundedCents: 50000 } });
      expect(entries[1]).toMatchObject({
        before: { amountRefundedCents: 50000 },
        after: { amountRefundedCents: 69900 },
      });
      // Every refund POST carried an idempotency key.
      const posts = world.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');
      expect(posts.length).toBeGreaterThanOrEqual(2);
      expect(posts.every((r) => r.idempotencyKey?.startsWith('tollgate-refund-'))).toBe(true);
    });

    it("Stripe refuses a refund (the charge was refunded in Stripe's dashboard, its webhook not in yet): 400 with Stripe's words, no audit entry", async () => {
      const session = await world.subscribed('refunded.elsewhere@example.com', 'professional');
      const accountId = session.account.id;
      const invoice = (await admin('GET', `/v1/admin/customers/${accountId}`)).body.invoices[0];
      const customerId = world.fake.billing.invoices.get(invoice.id)?.customer;
      const charge = [...world.fake.billing.charges.values()].find((c) => c.customer === customerId);
      if (!charge) throw new Error('the checkout left no charge in the fake Stripe');
      // Refunded by hand in Stripe; the charge.refunded webhook has not been delivered.
      charge.amount_refunded = charge.amount;
      charge.refunded = true;

      const refused = await admin('POST', `/v1/admin/customers/${accountId}/refunds`, {
        invoiceId: invoice.id,
        reason: 'goodwill',
      });
      expect(refused.status).toBe(400);
      expect(refused.body.detail).toContain('refund exceeds the charge');
      expect((await admin('GET', `/v1/admin/audit?accountId=${accountId}`)).body.entries).toEqual([]);
    });

    // Last: it takes the fake Stripe down for the rest of this world.
    it('with Stripe unreachable, cancel and refund answer 503 with Retry-After and record nothing', async () => {
      const session = await world.subscribed('stripe.down@example.com', 'professional');
      const accountId = session.account.id;
      const invoice = (await admin('GET', `/v1/admin/customers/${accountId}`)).body.invoices[0];
      await world.fake.close();

      const cancelled = await admin('POST', `/v1/admin/customers/${accountId}/cancel`, { reason: 'asked to leave' });
      const refunded = await admin('POST', `/v1/admin/customers/${accountId}/refunds`, {
        invoiceId: invoice.id,
        reason: 'asked for the money back',
      });
      for (const answer of [cancelled, refunded]) {
        expect(answer.status).toBe(503);
        expect(answer.body.code).toBe('UNAVAILABLE');
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      const customer = (await admin('GET', `/v1/admin/customers/${accountId}`)).body;
      expect(customer.subscription).toMatchObject({ tier: 'professional', cancelAtPeriodEnd: false });
      expect(customer.invoices[0]).toMatchObject({ amountRefundedCents: 0 });
      expect((await admin('GET', `/v1/admin/audit?accountId=${accountId}`)).body.entries).toEqual([]);
    });
  });
}
