import type { Kysely } from 'kysely';

/**
 * 012_journal_heads: the highest usage-journal sequence number each device has sent for each
 * account. It is the anchor off the user's machine: a journal restored together with its head
 * record (a backup, a VM snapshot) numbers its lines below it, and the usage-events answer says so.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('journal_heads')
    .addColumn('account_id', 'text', (column) => column.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (column) => column.notNull())
    .addColumn('seq', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .addPrimaryKeyConstraint('journal_heads_pk', ['account_id', 'device_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('journal_heads').execute();
}
