import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Limits, TierId } from '../../src-shared/catalog.ts';
import { periodOf } from '../../src-shared/period.ts';
import { newId } from '../db/ids.ts';
import { inTransaction } from '../db/transactions.ts';
import { accountPlan } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { KeyedQueue } from '../payments/keyed-queue.ts';
import { invoicePaidThrough } from '../payments/provider.ts';
import { providerCall } from '../payments/provider-call.ts';
import { addOverride, type Override } from '../plans/overrides.ts';
import { loadSubscription, subscriptionView } from '../plans/subscriptions.ts';
import { endTrial, grantTrial, readTrial } from '../plans/trials.ts';
import { actingAdministrator } from './admins.ts';
import { recordAudit } from './audit.ts';
import { recordContract } from './contracts.ts';
import { AccountParams, ADMIN_TAGS, accountOfAdmin, Reason } from './route-parts.ts';

/**
 * The actions on one customer: a Custom contract, overrides, trials, usage corrections, cancel,
 * refunds, revoking sessions. Each needs the `owner` role (or TOLLGATE_ADMIN_TOKEN), takes a reason and
 * appends exactly one audit entry.
 */
export function registerCustomerActions(app: Parameters<FastifyPluginAsyncZod>[0]): void {
  const context = app.tollgate;
  const { db, now, catalog } = context;
  const tags = ADMIN_TAGS;
  const accountOrThrow = (accountId: string) => accountOfAdmin(db, accountId);

  app.post(
    '/v1/admin/customers/:accountId/overrides',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Extra units of an operation, or an extra feature, until an expiry',
        params: AccountParams,
        body: z.union([
          z.object({
            operation: z.string().min(1).max(100),
            extraUnits: z.number().int().min(1),
            expiresAt: z.iso.datetime(),
            reason: Reason,
          }),
          z.object({ feature: z.string().min(1).max(100), expiresAt: z.iso.datetime(), reason: Reason }),
        ]),
      },
    },
    async (request, reply) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const body = request.body;
      const expiresAt = Date.parse(body.expiresAt);
      if (expiresAt <= now()) throw new ApiError('VALIDATION_FAILED', 'expiresAt must be in the future.');
      const override: Override =
        'operation' in body
          ? { id: newId('ovr'), kind: 'units', operation: body.operation, extraUnits: body.extraUnits, expiresAt }
          : { id: newId('ovr'), kind: 'feature', feature: body.feature, expiresAt };
      await inTransaction(db, async (trx) => {
        await addOverride(trx, account.id, override, now());
        await recordAudit(
          trx,
          {
            administrator,
            accountId: account.id,
            action: 'override.add',
            reason: body.reason,
            before: null,
            after: override,
          },
          now(),
        );
      });
      return reply.code(201).send(override);
    },
  );

  app.put(
    '/v1/admin/customers/:accountId/contract',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Records a negotiated Custom contract: price per cycle, setup fee, limits, features',
        params: AccountParams,
        body: z.object({
          cycle: z.enum(['monthly', 'yearly']),
          priceCents: z.number().int().min(0),
          setupFeeCents: z.number().int().min(0).default(0),
          limits: Limits,
          features: z.array(z.string().min(1).max(100)).max(100),
          reason: Reason,
        }),
      },
    },
    async (request) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const { reason, ...terms } = request.body;
      await inTransaction(db, async (trx) => {
        const row = await loadSubscription(trx, account.id);
        if (row.provider_subscription_id !== null && ['active', 'trialing', 'past_due'].includes(row.status)) {
          throw new ApiError('CONTRACT_CONFLICT');
        }
        const before = {
          tier: row.tier,
          cycle: row.cycle,
          limits: row.custom_limits_json,
          features: row.custom_features_json,
        };
        await recordContract(trx, row, terms, catalog.currency, now());
        await recordAudit(
          trx,
          { administrator, accountId: account.id, action: 'contract.set', reason, before, after: terms },
          now(),
        );
      });
      const { row, plan } = await accountPlan(context, await loadSubscription(db, account.id));
      return subscriptionView(row, plan);
    },
  );

  app.put(
    '/v1/admin/customers/:accountId/trial',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Grants a trial of a tier until an end date',
        params: AccountParams,
        body: z.object({ tier: TierId, endsAt: z.iso.datetime(), reason: Reason }),
      },
    },
    async (request) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const endsAt = Date.parse(request.body.endsAt);
      if (endsAt <= now()) throw new ApiError('VALIDATION_FAILED', 'endsAt must be in the future.');
      const trial = { tier: request.body.tier, endsAt, grantedAt: now() };
      await inTransaction(db, async (trx) => {
        const before = await readTrial(trx, account.id);
        await grantTrial(trx, account.id, trial);
        await recordAudit(
          trx,
          {
            administrator,
            accountId: account.id,
            action: 'trial.grant',
            reason: request.body.reason,
            before,
            after: trial,
          },
          now(),
        );
      });
      return { tier: trial.tier, endsAt: new Date(endsAt).toISOString() };
    },
  );

  app.delete(
    '/v1/admin/customers/:accountId/trial',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Ends a trial now', params: AccountParams, body: z.object({ reason: Reason }) },
    },
    async (request, reply) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      await inTransaction(db, async (trx) => {
        const before = await readTrial(trx, account.id);
        if (!before) throw new ApiError('NOT_FOUND', 'This account has no trial.');
        await endTrial(trx, account.id);
        await recordAudit(
          trx,
          {
            administrator,
            accountId: account.id,
            action: 'trial.end',
            reason: request.body.reason,
            before,
            after: null,
          },
          now(),
        );
      });
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/admin/customers/:accountId/usage-adjustments',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: "Corrects this period's usage of an operation: an event of its own, never a silent rewrite",
        params: AccountParams,
        body: z.object({
          operation: z.string().min(1).max(64),
          units: z.number().int().min(-1_000_000_000).max(1_000_000_000),
          reason: Reason,
        }),
      },
    },
    async (request, reply) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const { operation, units, reason } = request.body;
      if (!(operation in catalog.operations)) throw new ApiError('UNKNOWN_OPERATION');
      const period = periodOf(now());
      const result = await inTransaction(db, async (trx) => {
        await trx
          .insertInto('usage_counters')
          .values({ account_id: account.id, operation, period, used: 0, reserved: 0 })
          .onConflict((conflict) => conflict.columns(['account_id', 'operation', 'period']).doNothing())
          .execute();
        const counter = await trx
          .selectFrom('usage_counters')
          .select('used')
          .where('account_id', '=', account.id)
          .where('operation', '=', operation)
          .where('period', '=', period)
          .executeTakeFirstOrThrow();
        const before = Number(counter.used);
        const after = Math.max(0, before + units);
        await trx
          .updateTable('usage_counters')
          .set({ used: after })
          .where('account_id', '=', account.id)
          .where('operation', '=', operation)
          .where('period', '=', period)
          .execute();
        const key = newId('admin-adjustment');
        const answer = { operation, period, units: after - before, used: after };
        // The correction is a usage event of its own, beside the events it corrects.
        await trx
          .insertInto('usage_events')
          .values({
            account_id: account.id,
            idempotency_key: key,
            operation,
            units: after - before,
            period,
            status: 'accepted',
            result_json: JSON.stringify({ status: 200, body: answer }),
            occurred_at: null,
            created_at: now(),
          })
          .execute();
        await recordAudit(
          trx,
          {
            administrator,
            accountId: account.id,
            action: 'usage.adjust',
            reason,
            before: { operation, period, used: before },
            after: { operation, period, used: after },
          },
          now(),
        );
        return answer;
      });
      return reply.code(201).send(result);
    },
  );

  app.post(
    '/v1/admin/customers/:accountId/cancel',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Cancels the paid subscription at the end of its period, through the payment provider',
        params: AccountParams,
        body: z.object({ reason: Reason }),
      },
    },
    async (request) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const provider = context.paymentProvider;
      const row = await loadSubscription(db, account.id);
      if (!provider || row.provider_subscription_id === null || row.tier === 'free') {
        throw new ApiError('BAD_REQUEST', 'There is no paid provider subscription to cancel.');
      }
      await providerCall(request.log, provider.name, () => provider.setCancelAtPeriodEnd(account, row, true));
      const after = await loadSubscription(db, account.id);
      await recordAudit(
        db,
        {
          administrator,
          accountId: account.id,
          action: 'subscription.cancel',
          reason: request.body.reason,
          before: { tier: row.tier, cancelAtPeriodEnd: row.cancel_at_period_end === 1 },
          after: { tier: after.tier, cancelAtPeriodEnd: after.cancel_at_period_end === 1 },
        },
        now(),
      );
      const { plan } = await accountPlan(context, after);
      return subscriptionView(after, plan);
    },
  );

  // One refund of an invoice at a time: a second click reads what the first one left.
  const refunds = new KeyedQueue();
  app.post(
    '/v1/admin/customers/:accountId/refunds',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Refunds a paid invoice, whole or in part, through the payment provider',
        description:
          'Without amountCents, refunds what is left of the invoice. Revenue counts the refund in the month ' +
          'the invoice was paid (docs/analytics.md); MRR does not change: cancel as well to stop the plan.',
        params: AccountParams,
        body: z.object({
          invoiceId: z.string().min(1).max(200),
          amountCents: z.number().int().min(1).optional(),
          reason: Reason,
        }),
      },
    },
    async (request, reply) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const { invoiceId, amountCents, reason } = request.body;
      const answer = await refunds.run(invoiceId, async () => {
        const invoice = await db
          .selectFrom('invoices')
          .selectAll()
          .where('id', '=', invoiceId)
          .where('account_id', '=', account.id)
          .executeTakeFirst();
        if (!invoice) throw new ApiError('INVOICE_NOT_FOUND', `Account ${account.id} has no invoice ${invoiceId}.`);
        const provider = context.paymentProvider;
        if (!provider || invoicePaidThrough(invoice.id) !== provider.name) {
          throw new ApiError(
            'REFUND_NOT_THROUGH_PROVIDER',
            `Invoice ${invoice.id} was not paid through ${provider ? `the ${provider.name} provider` : 'a payment provider'}.`,
          );
        }
        const refundedBefore = Number(invoice.amount_refunded_cents);
        const left = Number(invoice.amount_paid_cents) - refundedBefore;
        const amount = amountCents ?? left;
        if (amount <= 0 || amount > left) {
          throw new ApiError('REFUND_TOO_LARGE', `Invoice ${invoice.id} has ${left} cents left to refund.`);
        }
        // The same invoice, refunded total and amount make the same key: a retried request is one refund.
        await providerCall(request.log, provider.name, () =>
          provider.refund(invoice, amount, reason, `tollgate-refund-${invoice.id}-${refundedBefore}-${amount}`),
        );
        const after = await db
          .selectFrom('invoices')
          .select('amount_refunded_cents')
          .where('id', '=', invoice.id)
          .executeTakeFirstOrThrow();
        const refundedAfter = Number(after.amount_refunded_cents);
        await recordAudit(
          db,
          {
            administrator,
            accountId: account.id,
            action: 'invoice.refund',
            reason,
            before: { invoiceId: invoice.id, amountRefundedCents: refundedBefore },
            after: { invoiceId: invoice.id, amountRefundedCents: refundedAfter, refundedCents: amount },
          },
          now(),
        );
        return {
          invoiceId: invoice.id,
          refundedCents: amount,
          amountPaidCents: Number(invoice.amount_paid_cents),
          amountRefundedCents: refundedAfter,
          currency: invoice.currency,
        };
      });
      return reply.code(201).send(answer);
    },
  );

  app.post(
    '/v1/admin/customers/:accountId/revoke-sessions',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Signs the customer out everywhere',
        params: AccountParams,
        body: z.object({ reason: Reason }),
      },
    },
    async (request) => {
      const administrator = actingAdministrator(request);
      const account = await accountOrThrow(request.params.accountId);
      const revoked = await inTransaction(db, async (trx) => {
        const result = await trx
          .updateTable('sessions')
          .set({ revoked_at: now() })
          .where('account_id', '=', account.id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        const count = Number(result.numUpdatedRows);
        await recordAudit(
          trx,
          {
            administrator,
            accountId: account.id,
            action: 'sessions.revoke',
            reason: request.body.reason,
            before: null,
            after: { revoked: count },
          },
          now(),
        );
        return count;
      });
      return { revoked };
    },
  );
}
