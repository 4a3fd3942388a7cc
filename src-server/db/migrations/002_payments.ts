import type { Kysely } from 'kysely';

/** 002_payments: processed webhook events, subscription change events and paid invoices. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('subscription_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('from_tier', 'text', (c) => c.notNull())
    .addColumn('to_tier', 'text', (c) => c.notNull())
    .addColumn('from_cycle', 'text')
    .addColumn('to_cycle', 'text')
    .addColumn('mrr_before_cents', 'integer', (c) => c.notNull())
    .addColumn('mrr_after_cents', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('subscription_events_account_at')
    .on('subscription_events')
    .columns(['account_id', 'at'])
    .execute();
  await db.schema.createIndex('subscription_events_at').on('subscription_events').column('at').execute();

  await db.schema
    .createTable('invoices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('cycle', 'text')
    .addColumn('amount_paid_cents', 'integer', (c) => c.notNull())
    .addColumn('setup_fee_cents', 'integer', (c) => c.notNull())
    .addColumn('amount_refunded_cents', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('period_end', 'bigint', (c) => c.notNull())
    .addColumn('paid_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('invoices_account').on('invoices').column('account_id').execute();
  await db.schema.createIndex('invoices_paid_at').on('invoices').column('paid_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('invoices').ifExists().execute();
  await db.schema.dropTable('subscription_events').ifExists().execute();
  await db.schema.dropTable('webhook_events').ifExists().execute();
}
