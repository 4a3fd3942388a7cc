import type { Kysely } from 'kysely';

/**
 * 015_funnel: the two funnel steps no other table records. `upgrade_prompts`: each upgrade prompt
 * the companion reported showing (one row per account and prompt key, so a resent report changes
 * nothing). `checkout_starts`: each checkout session the server opened. Both are read per account
 * (the sign-up cohort's first time at each step), so each is keyed or indexed by account first, and
 * so are the two existing tables the funnel reads by account without such an index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('upgrade_prompts')
    .addColumn('account_id', 'text', (column) => column.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('prompt_key', 'text', (column) => column.notNull())
    .addColumn('reason', 'text', (column) => column.notNull())
    .addColumn('shown_at', 'bigint', (column) => column.notNull())
    .addPrimaryKeyConstraint('upgrade_prompts_pk', ['account_id', 'prompt_key'])
    .execute();
  await db.schema
    .createTable('checkout_starts')
    .addColumn('session_id', 'text', (column) => column.primaryKey())
    .addColumn('account_id', 'text', (column) => column.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('tier', 'text', (column) => column.notNull())
    .addColumn('cycle', 'text', (column) => column.notNull())
    .addColumn('provider', 'text', (column) => column.notNull())
    .addColumn('started_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('checkout_starts_account')
    .on('checkout_starts')
    .columns(['account_id', 'started_at'])
    .execute();
  // An account's first accepted and first refused usage event, and first committed reservation, as
  // one seek each: the keys alone would read every event of a heavy user, and with no account
  // index the planner reads reservations by status, every committed one for every account.
  await db.schema
    .createIndex('usage_events_account_first')
    .on('usage_events')
    .columns(['account_id', 'status', 'created_at'])
    .execute();
  await db.schema
    .createIndex('reservations_account_first')
    .on('reservations')
    .columns(['account_id', 'status', 'settled_at'])
    .execute();
  // The cohorts' accounts from the index alone (accounts_created_at would read each account's row).
  await db.schema.createIndex('accounts_cohort').on('accounts').columns(['created_at', 'id']).execute();
  // An account's first paid invoice (the other invoice indexes start with the payment date or currency).
  await db.schema.createIndex('invoices_account_paid').on('invoices').columns(['account_id', 'paid_at']).execute();
  await db.schema
    .createIndex('notifications_account_threshold')
    .on('notifications')
    .columns(['account_id', 'threshold', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('notifications_account_threshold').execute();
  await db.schema.dropIndex('invoices_account_paid').execute();
  await db.schema.dropIndex('accounts_cohort').execute();
  await db.schema.dropIndex('reservations_account_first').execute();
  await db.schema.dropIndex('usage_events_account_first').execute();
  await db.schema.dropTable('checkout_starts').execute();
  await db.schema.dropTable('upgrade_prompts').execute();
}
