import { type Kysely, sql } from 'kysely';
import { isPostgres } from './dialect.ts';

/**
 * 019_usage_events_lean: what each stored usage event costs beyond its row, cut to what is read.
 *
 * - `usage_events_period` (period, operation) is dropped: no query reads events by period (the
 *   usage reports read the counters), so every event paid for an index nobody used.
 * - On PostgreSQL the foreign key from usage_events to accounts is dropped. Its check runs once per
 *   inserted row and takes a KEY SHARE lock on the account's row; a fleet's batches for one account
 *   all lock that same row, which PostgreSQL records as a MultiXact for every transaction. Measured
 *   with tollgate_meter, 16 concurrent batches of 1,000 events for one account: 32,000 → 43,000
 *   events/s for the foreign key alone, 46,600 without the index too (bench/server.bench.ts).
 *   What the key guaranteed still holds: an event is stored only by a call that holds the lock on
 *   its account's usage counter, and that counter keeps its own foreign key to the account; no
 *   route deletes an account. SQLite keeps the key (it has no row locks to contend on, and dropping
 *   a key there means rebuilding the table).
 */

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_events_period').execute();
  if (isPostgres(db)) {
    await sql`ALTER TABLE usage_events DROP CONSTRAINT usage_events_account_id_fkey`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    await sql`ALTER TABLE usage_events ADD CONSTRAINT usage_events_account_id_fkey
      FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE`.execute(db);
  }
  await db.schema.createIndex('usage_events_period').on('usage_events').columns(['period', 'operation']).execute();
}
