import type { Kysely } from 'kysely';

/**
 * 017_import_claims: one-time codes that claim an account `npm run stripe:import` made without a
 * password. Only the code's SHA-256 is kept (a leaked database yields no usable code); a code
 * works once and until it expires. The index serves the per-address sending limit.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('account_claims')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('account_claims_by_account')
    .on('account_claims')
    .columns(['account_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('account_claims').execute();
}
