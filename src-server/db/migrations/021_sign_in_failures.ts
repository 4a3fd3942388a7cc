import type { Kysely } from 'kysely';

/**
 * 021_sign_in_failures: the per-e-mail sign-in delays (src-server/accounts/sign-in-throttle.ts)
 * move from each process's memory into the database, so that every server process behind a load
 * balancer counts the same failures (n processes no longer give n times the guesses) and a restart
 * does not wipe them. One row per address with a failure in the last day; the index serves the
 * sweep of rows older than that.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sign_in_failures')
    .addColumn('email', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('blocked_until', 'bigint', (c) => c.notNull())
    .addColumn('last_failed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_failures_by_time').on('sign_in_failures').column('last_failed_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sign_in_failures').execute();
}
