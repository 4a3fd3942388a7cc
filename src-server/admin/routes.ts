import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Limits, TierId } from '../../src-shared/catalog.ts';
import { periodOf } from '../../src-shared/period.ts';
import { newId } from '../db/ids.ts';
import { inTransaction } from '../db/transactions.ts';
import { accountPlan } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { addOverride, type Override, readOverrides } from '../plans/overrides.ts';
import { loadSubscription, subscriptionView } from '../plans/subscriptions.ts';
import { endTrial, grantTrial, readTrial } from '../plans/trials.ts';
import { actingAdministrator, createAdministrator, signInAdministrator } from './admins.ts';
import { auditCsv, readAudit, recordAudit } from './audit.ts';
import { recordContract } from './contracts.ts';

/**
 * The admin console's API: administrators and their sessions, customers, actions on one customer
 * (each with a reason, each one audit entry), and the audit log. Every action needs the `owner`
 * role (or TOLLGATE_ADMIN_TOKEN); a `support` administrator may only read.
 */

const Reason = z.string().trim().min(3).max(500);
const AccountParams = z.object({ accountId: z.string().min(1).max(200) });

export const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  const context = app.tollgate;
  const { db, now, catalog } = context;
  const tags = ['admin'];

  const accountOrThrow = async (accountId: string) => {
    const account = await db
      .selectFrom('accounts')
      .select(['id', 'email', 'created_at'])
      .where('id', '=', accountId)
      .executeTakeFirst();
    if (!account) throw new ApiError('NOT_FOUND', `No account ${accountId}.`);
    return account;
  };

  app.post(
    '/v1/admin/users',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Creates a named administrator (owner or support)',
        body: z.object({
          email: z.string().email().max(320),
          name: z.string().trim().min(1).max(200),
          password: z.string().min(12).max(1000),
          role: z.enum(['owner', 'support']),
        }),
      },
    },
    async (request, reply) => {
      const administrator = actingAdministrator(request);
      const created = await createAdministrator(db, request.body, now());
      await recordAudit(
        db,
        {
          administrator,
          accountId: null,
          action: 'admin_user.create',
          reason: 'new administrator',
          before: null,
          after: created,
        },
        now(),
      );
      return reply.code(201).send(created);
    },
  );

  app.post(
    '/v1/admin/sessions',
    {
      config: { access: 'guest' },
      schema: {
        tags,
        summary: 'Signs an administrator in: a bearer token for the admin API and /admin',
        body: z.object({ email: z.string().max(320), password: z.string().max(1000) }),
      },
    },
    async (request) => {
      const session = await signInAdministrator(db, request.body.email, request.body.password, now());
      return {
        token: session.token,
        expiresAt: new Date(session.expiresAt).toISOString(),
        administrator: session.administrator,
      };
    },
  );

  app.get(
    '/v1/admin/customers',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Customers, searchable by e-mail: tier, status, last seen',
        querystring: z.object({
          q: z.string().max(320).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
    },
    async (request) => {
      let select = db
        .selectFrom('accounts')
        .innerJoin('subscriptions', 'subscriptions.account_id', 'accounts.id')
        .select((eb) => [
          'accounts.id',
          'accounts.email',
          'subscriptions.tier',
          'subscriptions.status',
          eb
            .selectFrom('sessions')
            .select((inner) => inner.fn.max<number | null>('sessions.created_at').as('seen'))
            .whereRef('sessions.account_id', '=', 'accounts.id')
            .as('last_seen'),
          eb
            .selectFrom('subscription_events')
            .select('subscription_events.mrr_after_cents')
            .whereRef('subscription_events.account_id', '=', 'accounts.id')
            .orderBy('subscription_events.at', 'desc')
            .limit(1)
            .as('mrr'),
          // A past-due subscription's MRR ends with its grace (docs/analytics.md), as in the reports.
          eb
            .selectFrom('subscription_events')
            .select('subscription_events.mrr_ends_at')
            .whereRef('subscription_events.account_id', '=', 'accounts.id')
            .orderBy('subscription_events.at', 'desc')
            .limit(1)
            .as('mrr_ends_at'),
        ])
        .orderBy('accounts.email')
        .limit(request.query.limit);
      if (request.query.q) select = select.where('accounts.email', 'like', `%${request.query.q.toLowerCase()}%`);
      const rows = await select.execute();
      const at = now();
      return {
        customers: rows.map((row) => ({
          id: row.id,
          email: row.email,
          tier: row.tier,
          status: row.status,
          mrrCents: row.mrr_ends_at !== null && Number(row.mrr_ends_at) <= at ? 0 : Number(row.mrr ?? 0),
          lastSeenAt: row.last_seen === null ? null : new Date(Number(row.last_seen)).toISOString(),
        })),
      };
    },
  );

  app.get(
    '/v1/admin/customers/:accountId',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'One customer: subscription, usage against limits, invoices, notices, timeline',
        params: AccountParams,
      },
    },
    async (request) => {
      const account = await accountOrThrow(request.params.accountId);
      const row = await loadSubscription(db, account.id);
      const { plan } = await accountPlan(context, row);
      const period = periodOf(now());
      const [counters, invoices, notices, events, audit, overrides, trial] = await Promise.all([
        db
          .selectFrom('usage_counters')
          .selectAll()
          .where('account_id', '=', account.id)
          .where('period', '=', period)
          .execute(),
        db.selectFrom('invoices').selectAll().where('account_id', '=', account.id).orderBy('paid_at', 'desc').execute(),
        db
          .selectFrom('notifications')
          .selectAll()
          .where('account_id', '=', account.id)
          .orderBy('created_at', 'desc')
          .execute(),
        db.selectFrom('subscription_events').selectAll().where('account_id', '=', account.id).orderBy('at').execute(),
        readAudit(db, account.id),
        readOverrides(db, account.id, now()),
        readTrial(db, account.id),
      ]);
      const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
      return {
        account: { id: account.id, email: account.email, createdAt: iso(account.created_at) },
        subscription: subscriptionView(row, plan),
        usage: {
          period,
          operations: Object.keys(catalog.operations).map((operation) => ({
            operation,
            used: Number(counters.find((counter) => counter.operation === operation)?.used ?? 0),
            limit: plan.limits.monthly[operation] ?? 0,
          })),
        },
        overrides,
        trial: trial ? { tier: trial.tier, endsAt: iso(trial.endsAt) } : null,
        invoices: invoices.map((invoice) => ({
          id: invoice.id,
          tier: invoice.tier,
          amountPaidCents: Number(invoice.amount_paid_cents),
          amountRefundedCents: Number(invoice.amount_refunded_cents),
          currency: invoice.currency,
          paidAt: iso(invoice.paid_at),
        })),
        notices: notices.map((notice) => ({
          operation: notice.operation,
          period: notice.period,
          threshold: Number(notice.threshold),
          at: iso(notice.created_at),
        })),
        timeline: [
          ...events.map((event) => ({
            at: iso(event.at),
            kind: 'subscription' as const,
            what: `${event.kind}: ${event.from_tier} → ${event.to_tier}`,
          })),
          ...audit.map((entry) => ({
            at: entry.at,
            kind: 'admin' as const,
            what: `${entry.action} by ${entry.actor.name}: ${entry.reason}`,
          })),
        ].sort((a, b) => a.at.localeCompare(b.at)),
        audit,
      };
    },
  );

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
      await provider.setCancelAtPeriodEnd(account, row, true);
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

  app.get(
    '/v1/admin/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'The audit log of every admin action, oldest first',
        querystring: z.object({ accountId: z.string().max(200).optional() }),
      },
    },
    async (request) => ({ entries: await readAudit(db, request.query.accountId) }),
  );

  app.get(
    '/v1/admin/audit.csv',
    { config: { access: 'admin' }, schema: { tags, summary: 'The audit log as CSV' } },
    async (_request, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="tollgate-audit.csv"')
        .send(auditCsv(await readAudit(db))),
  );
};
