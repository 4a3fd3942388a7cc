import { type Kysely, PostgresAdapter } from 'kysely';

/** Whether a migration runs on PostgreSQL (the PostgreSQL-only parts of 006, 018, 019 and 020). */
export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
