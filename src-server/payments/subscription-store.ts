import { randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { BillingCycle } from '../../src-shared/api.ts';
import type { Catalog, TierId } from '../../src-shared/catalog.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database, SubscriptionRow } from '../db/schema.ts';
import { runAsync, transactionRunner } from '../db/statements.ts';
import { inTransaction } from '../db/transactions.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';
import {
  classifySubscriptionChange,
  fieldsFromProvider,
  type ProviderName,
  type ProviderSubscription,
  type SubscriptionFields,
  type SubscriptionSummary,
  shouldApply,
} from './subscription-state.ts';

/**
 * The only writer of the subscription row for payments, and of the payments tables. Every provider
 * outcome — a verified Stripe webhook, an answer to a plan change, the local test checkout — goes
 * through `apply`, so each takes the same path: one transaction that records the event id (a
 * redelivery finds it and changes nothing), updates the row, writes the analytics event of the
 * change, and records the paid invoice.
 */

export interface InvoiceRecord {
  id: string;
  accountId: string | null;
  customerId: string;
  provider: ProviderName;
  tier: TierId;
  cycle: BillingCycle | null;
  amountPaidCents: number;
  setupFeeCents: number;
  /** Everything refunded so far (cumulative, as the provider reports it). */
  amountRefundedCents: number;
  currency: string;
  periodStart: number;
  periodEnd: number;
  paidAt: number;
}

export interface BillingEffect {
  /** The provider's event id; absent for a provider's direct answer (which is safe to apply twice). */
  event?: { id: string; type: string };
  subscription?: ProviderSubscription;
  /**
   * When the provider says the change happened (UTC ms): a Stripe event's `created`, a local
   * period's end. Analytics dates the change then, not when the server got round to it. Absent:
   * now (a provider's direct answer to a request made now).
   */
  occurredAt?: number;
  invoice?: InvoiceRecord;
  /**
   * History imported from the provider (`npm run stripe:import`): recorded for analytics, but the
   * customer and the vendor's systems lived through it already, so no email or outbound webhook is
   * queued for it.
   */
  imported?: boolean;
  /** A payment failed: the customer is emailed this billing portal link to fix the card. */
  paymentFailed?: { provider: ProviderName; customerId: string; portalUrl: string };
}

type ApplyOutcome = 'applied' | 'duplicate';

export class SubscriptionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly catalog: Catalog,
    private readonly now: () => number,
    /** How long a past-due subscription keeps access (TOLLGATE_PAST_DUE_GRACE_DAYS). */
    private readonly pastDueGraceMs: number,
  ) {}

  async row(accountId: string): Promise<SubscriptionRow | undefined> {
    return this.db.selectFrom('subscriptions').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  }

  async accountOfCustomer(provider: ProviderName, customerId: string): Promise<string | null> {
    const found = await this.db
      .selectFrom('subscriptions')
      .select('account_id')
      .where('provider', '=', provider)
      .where('provider_customer_id', '=', customerId)
      .executeTakeFirst();
    return found?.account_id ?? null;
  }

  /** Links the account to its provider customer (made once, before its first checkout). */
  async rememberCustomer(accountId: string, provider: ProviderName, customerId: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await this.ensureRow(trx, accountId);
      await trx
        .updateTable('subscriptions')
        .set({ provider, provider_customer_id: customerId, updated_at: this.now() })
        .where('account_id', '=', accountId)
        .execute();
    });
  }

  async isKnownEvent(eventId: string): Promise<boolean> {
    const found = await this.db.selectFrom('webhook_events').select('id').where('id', '=', eventId).executeTakeFirst();
    return found !== undefined;
  }

  async apply(effect: BillingEffect): Promise<ApplyOutcome> {
    return inTransaction(this.db, async (trx) => {
      if (effect.event) {
        const inserted = await trx
          .insertInto('webhook_events')
          .values({ id: effect.event.id, type: effect.event.type, received_at: this.now() })
          .onConflict((conflict) => conflict.column('id').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return 'duplicate';
      }
      if (effect.subscription) {
        await this.applySubscription(trx, effect.subscription, effect.occurredAt, effect.imported === true);
      }
      if (effect.invoice) await this.recordInvoice(trx, effect.invoice);
      if (effect.paymentFailed) await this.recordPaymentFailed(trx, effect.paymentFailed);
      return 'applied';
    });
  }

  private async resolveAccount(
    trx: Transaction<Database>,
    provider: ProviderName,
    accountId: string | null,
    customerId: string,
  ): Promise<string | null> {
    if (accountId) {
      const account = await trx.selectFrom('accounts').select('id').where('id', '=', accountId).executeTakeFirst();
      if (account) return account.id;
    }
    const found = await trx
      .selectFrom('subscriptions')
      .select('account_id')
      .where('provider', '=', provider)
      .where('provider_customer_id', '=', customerId)
      .executeTakeFirst();
    return found?.account_id ?? null;
  }

  private async ensureRow(trx: Transaction<Database>, accountId: string): Promise<void> {
    await trx
      .insertInto('subscriptions')
      .values({
        account_id: accountId,
        tier: 'free',
        status: 'active',
        cancel_at_period_end: 0,
        provider: 'none',
        updated_at: this.now(),
      })
      .onConflict((conflict) => conflict.column('account_id').doNothing())
      .execute();
  }

  private async lockedRow(trx: Transaction<Database>, accountId: string): Promise<SubscriptionRow> {
    await this.ensureRow(trx, accountId);
    const query = trx.selectFrom('subscriptions').selectAll().where('account_id', '=', accountId);
    // PostgreSQL: hold the row so concurrent applies for one account queue; SQLite already
    // serializes writers (and has no FOR UPDATE).
    const row = await (this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirstOrThrow();
    return row;
  }

  private async applySubscription(
    trx: Transaction<Database>,
    incoming: ProviderSubscription,
    occurredAt: number | undefined,
    imported: boolean,
  ): Promise<void> {
    const accountId = await this.resolveAccount(trx, incoming.provider, incoming.accountId, incoming.customerId);
    if (!accountId) return;
    const row = await this.lockedRow(trx, accountId);
    if (!shouldApply(row, incoming)) return;
    const fields = fieldsFromProvider(incoming, row);
    const before = summaryOf(row);
    const change = classifySubscriptionChange(this.catalog, before, fields);
    const now = this.now();
    await trx
      .updateTable('subscriptions')
      .set({ ...fields, cancel_at_period_end: fields.cancel_at_period_end ? 1 : 0, updated_at: now })
      .where('account_id', '=', accountId)
      .execute();
    if (!change) return;
    // Dated when the provider says it happened (never in the future). Analytics replays an
    // account's events in `at` order, so `at` strictly increases per account even when two changes
    // land in the same millisecond, or when a change is learnt from an event older than the last
    // one recorded: it is then the latest news, dated just after what is already known. The row
    // lock above makes this read-then-insert safe.
    const last = await trx
      .selectFrom('subscription_events')
      .select((eb) => eb.fn.max<number | string | null>('at').as('at'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    const at = Math.max(Math.min(occurredAt ?? now, now), Number(last?.at ?? 0) + 1);
    await trx
      .insertInto('subscription_events')
      .values({
        id: randomUUID(),
        account_id: accountId,
        at,
        kind: change.kind,
        from_tier: before.tier,
        to_tier: fields.tier,
        from_cycle: before.cycle,
        to_cycle: fields.cycle,
        mrr_before_cents: change.mrrBeforeCents,
        mrr_after_cents: change.mrrAfterCents,
        // Past due: the MRR leaves when the grace ends and access stops (subscriptionAccess), not
        // when the provider gets round to cancelling; paying later is a reactivation then.
        mrr_ends_at: fields.status === 'past_due' ? (fields.past_due_since ?? at) + this.pastDueGraceMs : null,
      })
      .execute();
    if (imported) return;
    await runAsync(
      enqueueEvent(transactionRunner(this.db, this.dialect, trx), {
        accountId,
        type: 'subscription.changed',
        data: { kind: change.kind, from_tier: before.tier, to_tier: fields.tier, status: fields.status },
        now,
      }),
    );
  }

  private async recordPaymentFailed(
    trx: Transaction<Database>,
    failed: NonNullable<BillingEffect['paymentFailed']>,
  ): Promise<void> {
    const accountId = await this.resolveAccount(trx, failed.provider, null, failed.customerId);
    if (!accountId) return;
    await runAsync(
      enqueueEvent(transactionRunner(this.db, this.dialect, trx), {
        accountId,
        type: 'payment.failed',
        data: { portalUrl: failed.portalUrl },
        now: this.now(),
      }),
    );
  }

  private async recordInvoice(trx: Transaction<Database>, invoice: InvoiceRecord): Promise<void> {
    const accountId = await this.resolveAccount(trx, invoice.provider, invoice.accountId, invoice.customerId);
    if (!accountId) return;
    await trx
      .insertInto('invoices')
      .values({
        id: invoice.id,
        account_id: accountId,
        tier: invoice.tier,
        cycle: invoice.cycle,
        amount_paid_cents: invoice.amountPaidCents,
        setup_fee_cents: invoice.setupFeeCents,
        amount_refunded_cents: invoice.amountRefundedCents,
        currency: invoice.currency,
        period_start: invoice.periodStart,
        period_end: invoice.periodEnd,
        paid_at: invoice.paidAt,
      })
      // A paid invoice never changes except by refunds, which only grow: keep the largest seen, so
      // an old refund event arriving late cannot shrink it.
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet({
          amount_refunded_cents: sql<number>`case when excluded.amount_refunded_cents > invoices.amount_refunded_cents
            then excluded.amount_refunded_cents else invoices.amount_refunded_cents end`,
        }),
      )
      .execute();
  }
}

function summaryOf(row: SubscriptionRow): SubscriptionSummary {
  return {
    tier: row.tier as TierId,
    status: row.status as SubscriptionFields['status'],
    cycle: row.cycle,
    cancel_at_period_end: row.cancel_at_period_end === 1,
  };
}
