import { type Kysely, sql } from 'kysely';
import type { TierId } from '../../src-shared/catalog.ts';
import { TIER_IDS } from '../../src-shared/catalog.ts';
import { periodEnd, periodOf, periodStart } from '../../src-shared/period.ts';
import type { Database } from '../db/schema.ts';
import type { FunnelAccount } from './funnel.ts';
import type { SubscriptionEventRecord } from './mrr-movements.ts';
import type { AccountInvoices, MonthTierInvoices } from './revenue.ts';
import type { UsageRecord } from './usage-report.ts';

/**
 * The reads that feed the pure metric functions: only the columns they need, through the indexes
 * of migration 003_analytics, summed in the database where the metric needs sums rather than rows.
 * Every query is plain Kysely and runs the same on SQLite and PostgreSQL.
 */

type Db = Kysely<Database>;

/** Tier names come from the database as text; a tier the catalog no longer has reads as free. */
function asTier(value: string): TierId {
  return (TIER_IDS as readonly string[]).includes(value) ? (value as TierId) : 'free';
}

/** The whole subscription event history in replay order (ties in a stable order: their id). */
export async function readSubscriptionEvents(db: Db): Promise<SubscriptionEventRecord[]> {
  const rows = await db
    .selectFrom('subscription_events')
    .select(['account_id', 'at', 'to_tier', 'mrr_after_cents', 'mrr_ends_at'])
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    accountId: row.account_id,
    at: Number(row.at),
    toTier: asTier(row.to_tier),
    mrrAfterCents: Number(row.mrr_after_cents),
    mrrEndsAt: row.mrr_ends_at === null ? null : Number(row.mrr_ends_at),
  }));
}

/**
 * A fingerprint of the event history: it changes with every event appended (or removed with its
 * account), and is answered from the replay index without reading the table.
 */
export async function readEventsVersion(db: Db): Promise<string> {
  const row = await db
    .selectFrom('subscription_events')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('events'),
      eb.fn.max<number | string | null>('at').as('last'),
      eb.fn.sum<number | string | null>('mrr_after_cents').as('mrr'),
    ])
    .executeTakeFirstOrThrow();
  return `${row.events}:${row.last}:${row.mrr}`;
}

/** A fingerprint of a month's usage: counters only grow, so any use changes the sum. */
export async function readUsageVersion(db: Db, month: string): Promise<string> {
  const row = await db
    .selectFrom('usage_counters')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('counters'),
      eb.fn.sum<number | string | null>('used').as('used'),
    ])
    .where('period', '=', month)
    .executeTakeFirstOrThrow();
  return `${row.counters}:${row.used}`;
}

/** A fingerprint of the invoices: a new one, or a refund recorded on one, changes it. */
export async function readInvoicesVersion(db: Db): Promise<string> {
  const row = await db
    .selectFrom('invoices')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('invoices'),
      eb.fn.sum<number | string | null>('amount_paid_cents').as('paid'),
      eb.fn.sum<number | string | null>('amount_refunded_cents').as('refunded'),
    ])
    .executeTakeFirstOrThrow();
  return `${row.invoices}:${row.paid}:${row.refunded}`;
}

export async function countAccountsCreatedBefore(db: Db, until: number): Promise<number> {
  const row = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('created_at', '<', until)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Paid invoices summed by the month they were paid in, tier and currency, over `months`. */
export async function readRevenueGroups(db: Db, months: readonly string[]): Promise<MonthTierInvoices[]> {
  const first = months[0];
  const last = months[months.length - 1];
  if (first === undefined || last === undefined) return [];
  // The month of each invoice as the index of its month in `months`: a CASE over the month ends,
  // which both databases evaluate without date functions of their own. Literals (our own numbers,
  // never input) rather than parameters, so PostgreSQL sees the GROUP BY expression as the selected one.
  const bucket = sql<number>`case ${sql.join(
    months.map((month, index) => sql`when paid_at < ${sql.lit(periodEnd(month))} then ${sql.lit(index)}`),
    sql` `,
  )} end`;
  const rows = await db
    .selectFrom('invoices')
    .select((eb) => [
      bucket.as('bucket'),
      'tier',
      'currency',
      eb.fn.countAll<number | string>().as('invoices'),
      eb.fn.sum<number | string>('amount_paid_cents').as('paid'),
      eb.fn.sum<number | string>('setup_fee_cents').as('setup'),
      eb.fn.sum<number | string>('amount_refunded_cents').as('refunded'),
    ])
    .where('paid_at', '>=', periodStart(first))
    .where('paid_at', '<', periodEnd(last))
    .groupBy([bucket, 'tier', 'currency'])
    .execute();
  return rows.map((row) => ({
    month: months[Number(row.bucket)] as string,
    tier: asTier(row.tier),
    currency: row.currency,
    invoices: Number(row.invoices),
    amountPaidCents: Number(row.paid),
    setupFeeCents: Number(row.setup),
    amountRefundedCents: Number(row.refunded),
  }));
}

interface AccountInvoicesQuery {
  until: number;
  currency: string;
  /** Only this account. */
  accountId?: string;
  /** The best payers only. */
  limit?: number;
}

/** What each account paid before `until`, in `currency`, best payers first. */
export async function readAccountInvoices(db: Db, query: AccountInvoicesQuery): Promise<AccountInvoices[]> {
  let select = db
    .selectFrom('invoices')
    .select((eb) => [
      'account_id',
      'currency',
      eb.fn.countAll<number | string>().as('invoices'),
      eb.fn.sum<number | string>('amount_paid_cents').as('paid'),
      eb.fn.sum<number | string>('setup_fee_cents').as('setup'),
      eb.fn.sum<number | string>('amount_refunded_cents').as('refunded'),
      eb.fn.min<number | string>('paid_at').as('first_paid_at'),
    ])
    .where('paid_at', '<', query.until)
    .where('currency', '=', query.currency)
    .groupBy(['account_id', 'currency'])
    .orderBy(sql`sum(amount_paid_cents) - sum(amount_refunded_cents)`, 'desc')
    .orderBy('account_id');
  if (query.accountId !== undefined) select = select.where('account_id', '=', query.accountId);
  if (query.limit !== undefined) select = select.limit(query.limit);
  const rows = await select.execute();
  return rows.map((row) => ({
    accountId: row.account_id,
    currency: row.currency,
    invoices: Number(row.invoices),
    amountPaidCents: Number(row.paid),
    setupFeeCents: Number(row.setup),
    amountRefundedCents: Number(row.refunded),
    firstPaidAt: Number(row.first_paid_at),
  }));
}

/** The month's usage counters with any use. */
export async function readUsage(db: Db, month: string): Promise<UsageRecord[]> {
  // Named as the pure functions want them: tens of thousands of rows, not copied again.
  return db
    .selectFrom('usage_counters')
    .select(['account_id as accountId', 'operation', 'used'])
    .where('period', '=', month)
    .where('used', '>', 0)
    .execute();
}

export interface EmailBook {
  emails: Map<string, string>;
  /** The newest account's creation time (UTC ms) when the book was last read. */
  newest: number;
}

/** Every account's e-mail address, or, given a book, the accounts created since it was read. */
export async function readEmailBook(db: Db, since?: EmailBook): Promise<EmailBook> {
  let select = db.selectFrom('accounts').select(['id', 'email', 'created_at']);
  // Accounts created in the same millisecond as the newest one read are read again, not missed.
  if (since) select = select.where('created_at', '>=', since.newest);
  const emails = since?.emails ?? new Map<string, string>();
  let newest = since?.newest ?? 0;
  for (const row of await select.execute()) {
    emails.set(row.id, row.email);
    newest = Math.max(newest, Number(row.created_at));
  }
  return { emails, newest };
}

const ID_CHUNK = 1000;

/** E-mail addresses of the given accounts, looked up in chunks that stay under bind limits. */
export async function readEmails(db: Db, accountIds: readonly string[]): Promise<Map<string, string>> {
  const emails = new Map<string, string>();
  const unique = [...new Set(accountIds)];
  for (let offset = 0; offset < unique.length; offset += ID_CHUNK) {
    const rows = await db
      .selectFrom('accounts')
      .select(['id', 'email'])
      .where('id', 'in', unique.slice(offset, offset + ID_CHUNK))
      .execute();
    for (const row of rows) emails.set(row.id, row.email);
  }
  return emails;
}

const asTime = (value: number | string | null): number | null => (value === null ? null : Number(value));
const earliest = (...times: (number | null)[]): number | null => {
  const known = times.filter((time): time is number => time !== null);
  return known.length === 0 ? null : Math.min(...known);
};

/**
 * The first time each account that signed up in `months` (consecutive, oldest first) reached each
 * funnel step, before `until`, grouped by sign-up month. One pass over the cohorts' accounts (015's
 * accounts_cohort index, so the accounts' rows are never read) with one correlated MIN per step,
 * each one seek in an index that starts with the account (015_funnel's, and the upgrade prompts'
 * key). Measured on 100,000 accounts: about 40 ms of server CPU per month's cohort (docs/analytics.md). First use is an accepted usage event or
 * a committed reservation; a limit is reached at the first 100 % notice or the first consume
 * refused for the limit.
 */
export async function readFunnelCohorts(
  db: Db,
  months: readonly string[],
  until: number,
): Promise<Map<string, FunnelAccount[]>> {
  const cohorts = new Map<string, FunnelAccount[]>(months.map((month) => [month, []]));
  const first = months[0];
  const last = months[months.length - 1];
  if (first === undefined || last === undefined) return cohorts;
  const rows = await db
    .selectFrom('accounts as a')
    .select((eb) => [
      'a.created_at',
      eb
        .selectFrom('usage_events')
        .select((inner) => inner.fn.min<number | string | null>('created_at').as('at'))
        .whereRef('usage_events.account_id', '=', 'a.id')
        .where('status', '=', 'accepted')
        .where('created_at', '<', until)
        .as('used_at'),
      eb
        .selectFrom('reservations')
        .select((inner) => inner.fn.min<number | string | null>('settled_at').as('at'))
        .whereRef('reservations.account_id', '=', 'a.id')
        .where('status', '=', 'committed')
        .where('settled_at', '<', until)
        .as('reserved_at'),
      eb
        .selectFrom('notifications')
        .select((inner) => inner.fn.min<number | string | null>('created_at').as('at'))
        .whereRef('notifications.account_id', '=', 'a.id')
        .where('threshold', '>=', 100)
        .where('created_at', '<', until)
        .as('full_at'),
      eb
        .selectFrom('usage_events')
        .select((inner) => inner.fn.min<number | string | null>('created_at').as('at'))
        .whereRef('usage_events.account_id', '=', 'a.id')
        .where('status', '=', 'rejected')
        .where('created_at', '<', until)
        .as('refused_at'),
      eb
        .selectFrom('upgrade_prompts')
        .select((inner) => inner.fn.min<number | string | null>('shown_at').as('at'))
        .whereRef('upgrade_prompts.account_id', '=', 'a.id')
        .where('shown_at', '<', until)
        .as('prompt_at'),
      eb
        .selectFrom('checkout_starts')
        .select((inner) => inner.fn.min<number | string | null>('started_at').as('at'))
        .whereRef('checkout_starts.account_id', '=', 'a.id')
        .where('started_at', '<', until)
        .as('checkout_at'),
      eb
        .selectFrom('invoices')
        .select((inner) => inner.fn.min<number | string | null>('paid_at').as('at'))
        .whereRef('invoices.account_id', '=', 'a.id')
        .where('paid_at', '<', until)
        .as('paid_at'),
    ])
    .where('a.created_at', '>=', periodStart(first))
    .where('a.created_at', '<', Math.min(periodEnd(last), until))
    .execute();
  for (const row of rows) {
    cohorts.get(periodOf(Number(row.created_at)))?.push({
      firstUseAt: earliest(asTime(row.used_at), asTime(row.reserved_at)),
      limitReachedAt: earliest(asTime(row.full_at), asTime(row.refused_at)),
      promptShownAt: asTime(row.prompt_at),
      checkoutStartedAt: asTime(row.checkout_at),
      paidAt: asTime(row.paid_at),
    });
  }
  return cohorts;
}
