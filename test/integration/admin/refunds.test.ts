import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { type Json, request, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { payTestCheckout } from '../../support/test-checkout.ts';

// Refunds through the local payment provider on a real server: whole or partial, each one audit
// entry with before → after, revenue net of them, and the refunds the provider cannot make refused.
const ADMIN_TOKEN = 'refunds-admin-token-0123456789-abcdef';
const CONTRACT_LIMITS = {
  monthly: { ai_operations: 5000, data_processing: 200 },
  max_project_size_mb: 2000,
  api_calls_per_hour: -1,
  max_devices: 10,
};

for (const dialect of testDialects()) {
  describe(`admin refunds through the local provider (${dialect})`, () => {
    let server: TestServer;
    const clock = Date.UTC(2026, 4, 12, 12);
    const month = '2026-05';
    const asToken = (method: string, path: string, body?: unknown) =>
      request(server.url, method, path, body, { token: ADMIN_TOKEN });
    const audit = async (accountId: string) =>
      (await asToken('GET', `/v1/admin/audit?accountId=${accountId}`)).body.entries as Json[];
    const netRevenue = async () =>
      (await asToken('GET', `/v1/admin/metrics/summary?month=${month}`)).body.revenueNetCents as number;

    beforeAll(async () => {
      server = await startTestServer({
        dialect,
        now: () => clock,
        env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAYMENTS: 'local' },
      });
    });
    afterAll(() => server?.stop());

    async function payingCustomer() {
      const customer = await signUp(server.url);
      const checkout = await customer.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      expect(checkout.status).toBe(200);
      expect((await payTestCheckout(checkout.body.url)).status).toBe(200);
      const page = await asToken('GET', `/v1/admin/customers/${customer.id}`);
      const invoice = page.body.invoices[0] as Json;
      expect(invoice).toMatchObject({ amountPaidCents: 4900, amountRefundedCents: 0 });
      return { customer, invoice };
    }

    it('a partial then a whole refund: each one audit entry, the page and net revenue show them', async () => {
      const { customer, invoice } = await payingCustomer();
      const revenueBefore = await netRevenue();
      const refunds = `/v1/admin/customers/${customer.id}/refunds`;

      const partial = await asToken('POST', refunds, {
        invoiceId: invoice.id,
        amountCents: 1000,
        reason: 'a week of outage',
      });
      expect(partial.status).toBe(201);
      expect(partial.body).toMatchObject({ refundedCents: 1000, amountRefundedCents: 1000, amountPaidCents: 4900 });
      let entries = await audit(customer.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        action: 'invoice.refund',
        reason: 'a week of outage',
        actor: { name: 'admin token' },
        before: { invoiceId: invoice.id, amountRefundedCents: 0 },
        after: { invoiceId: invoice.id, amountRefundedCents: 1000, refundedCents: 1000 },
      });
      expect(await netRevenue()).toBe(revenueBefore - 1000);

      // Without an amount: what is left of the invoice.
      const rest = await asToken('POST', refunds, { invoiceId: invoice.id, reason: 'customer left us' });
      expect(rest.status).toBe(201);
      expect(rest.body).toMatchObject({ refundedCents: 3900, amountRefundedCents: 4900 });
      entries = await audit(customer.id);
      expect(entries).toHaveLength(2);
      expect(entries[1]).toMatchObject({ before: { amountRefundedCents: 1000 }, after: { amountRefundedCents: 4900 } });
      expect(await netRevenue()).toBe(revenueBefore - 4900);
      const page = await asToken('GET', `/v1/admin/customers/${customer.id}`);
      expect(page.body.invoices[0]).toMatchObject({ id: invoice.id, amountRefundedCents: 4900 });
      expect(page.body.timeline.filter((item: Json) => item.kind === 'admin')).toHaveLength(2);

      // Nothing is left: a further refund is refused and leaves no entry.
      const again = await asToken('POST', refunds, { invoiceId: invoice.id, amountCents: 1, reason: 'once more' });
      expect(again.status).toBe(422);
      expect(again.body.code).toBe('REFUND_TOO_LARGE');
      expect(await audit(customer.id)).toHaveLength(2);
    });

    it('refuses a refund over what is left, of another customer’s invoice, or of a contract paid elsewhere', async () => {
      const { customer, invoice } = await payingCustomer();
      const other = await signUp(server.url);
      const tooMuch = await asToken('POST', `/v1/admin/customers/${customer.id}/refunds`, {
        invoiceId: invoice.id,
        amountCents: 4901,
        reason: 'typo in the amount',
      });
      expect(tooMuch.status).toBe(422);
      expect(tooMuch.body.code).toBe('REFUND_TOO_LARGE');
      const wrongCustomer = await asToken('POST', `/v1/admin/customers/${other.id}/refunds`, {
        invoiceId: invoice.id,
        reason: 'wrong page',
      });
      expect(wrongCustomer.status).toBe(404);
      expect(wrongCustomer.body.code).toBe('INVOICE_NOT_FOUND');

      const contract = await asToken('PUT', `/v1/admin/customers/${other.id}/contract`, {
        cycle: 'monthly',
        priceCents: 30000,
        limits: CONTRACT_LIMITS,
        features: [],
        reason: 'order form 7',
      });
      expect(contract.status).toBe(200);
      const contractInvoice = (await asToken('GET', `/v1/admin/customers/${other.id}`)).body.invoices[0] as Json;
      const elsewhere = await asToken('POST', `/v1/admin/customers/${other.id}/refunds`, {
        invoiceId: contractInvoice.id,
        reason: 'credit note',
      });
      expect(elsewhere.status).toBe(409);
      expect(elsewhere.body.code).toBe('REFUND_NOT_THROUGH_PROVIDER');
      expect(await audit(customer.id)).toHaveLength(0);
      expect(await audit(other.id)).toHaveLength(1);
    });

    it('is documented in the OpenAPI document', async () => {
      const paths = Object.keys((await request(server.url, 'GET', '/openapi.json')).body.paths);
      expect(paths).toEqual(
        expect.arrayContaining(['/v1/admin/customers/{accountId}/refunds', '/v1/admin/session', '/v1/admin/audit.csv']),
      );
    });
  });
}
