import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { periodOf } from '../../src-shared/period.ts';
import { listDevices } from '../devices/registry.ts';
import { deviceStore } from '../devices/routes.ts';
import { accountPlan } from '../http/context.ts';
import { readOverrides } from '../plans/overrides.ts';
import { loadSubscription, subscriptionView } from '../plans/subscriptions.ts';
import { readTrial } from '../plans/trials.ts';
import { registerCustomerActions } from './action-routes.ts';
import { actingAdministrator, createAdministrator, signInAdministrator, TOKEN_ADMINISTRATOR } from './admins.ts';
import { auditCsv, readAudit, recordAudit } from './audit.ts';
import { AccountParams, ADMIN_TAGS, accountOfAdmin } from './route-parts.ts';

/**
 * The admin console's API: administrators and their sessions, customers, and the audit log; the
 * actions on one customer (each with a reason, each one audit entry) are in action-routes.ts. Every action needs the `owner`
 * role (or TOLLGATE_ADMIN_TOKEN); a `support` administrator may only read.
 */

export const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  const context = app.tollgate;
  const { db, now, catalog } = context;
  const tags = ADMIN_TAGS;
  const accountOrThrow = (accountId: string) => accountOfAdmin(db, accountId);

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
    '/v1/admin/session',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Who this admin bearer is: name and role (the dashboard disables actions for support)' },
    },
    async (request) => ({ administrator: request.administrator ?? TOKEN_ADMINISTRATOR }),
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
        summary: 'One customer: subscription, usage against limits, devices, invoices, notices, timeline',
        params: AccountParams,
      },
    },
    async (request) => {
      const account = await accountOrThrow(request.params.accountId);
      const row = await loadSubscription(db, account.id);
      const { plan } = await accountPlan(context, row);
      const period = periodOf(now());
      const [counters, invoices, notices, events, audit, overrides, trial, devices] = await Promise.all([
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
        listDevices(deviceStore(context), account.id, now()),
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
        devices: { active: devices, maxDevices: plan.limits.max_devices },
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

  registerCustomerActions(app);

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
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'The audit log as CSV, of one customer with accountId',
        querystring: z.object({ accountId: z.string().max(200).optional() }),
      },
    },
    async (request, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="tollgate-audit.csv"')
        .send(auditCsv(await readAudit(db, request.query.accountId))),
  );
};
