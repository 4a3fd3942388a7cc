import type { Kysely } from 'kysely';

/**
 * 003_analytics: indexes that let the admin reports read from an index alone at 100,000 accounts
 * (measured in bench/analytics.bench.ts). The tables are core's and payments'; analytics only reads.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Accounts created before a month's end, counted without reading the table.
  await db.schema.createIndex('accounts_created_at').on('accounts').column('created_at').execute();
  // One month's usage (the primary key starts with the account, so it cannot serve this).
  await db.schema
    .createIndex('usage_counters_period')
    .on('usage_counters')
    .columns(['period', 'account_id', 'operation', 'used'])
    .execute();
  // The whole event history in replay order (at, then id) without a sort or a table lookup.
  await db.schema
    .createIndex('subscription_events_replay')
    .on('subscription_events')
    .columns(['at', 'id', 'account_id', 'to_tier', 'mrr_after_cents'])
    .execute();
  // Revenue by month and tier.
  await db.schema
    .createIndex('invoices_revenue')
    .on('invoices')
    .columns(['paid_at', 'tier', 'currency', 'amount_paid_cents', 'setup_fee_cents', 'amount_refunded_cents'])
    .execute();
  // Each account's paid total, grouped in index order.
  await db.schema
    .createIndex('invoices_account_totals')
    .on('invoices')
    .columns(['currency', 'account_id', 'paid_at', 'amount_paid_cents', 'setup_fee_cents', 'amount_refunded_cents'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of [
    'invoices_account_totals',
    'invoices_revenue',
    'subscription_events_replay',
    'usage_counters_period',
    'accounts_created_at',
  ]) {
    await db.schema.dropIndex(index).execute();
  }
}
