import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Runs a transaction, and runs it again when the database aborts it for a reason a retry fixes —
 * PostgreSQL's serialization failure or deadlock; SQLite's busy snapshot, when another process
 * wrote after this transaction's first read (busy_timeout covers the plain waiting) — or when the
 * code itself detects it lost a race (RetryTransaction).
 */

const RETRYABLE_PG_CODES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 8;

export class RetryTransaction extends Error {
  override readonly name = 'RetryTransaction';
}

function retryable(error: unknown): boolean {
  if (error instanceof RetryTransaction) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (RETRYABLE_PG_CODES.has(code) || code.startsWith('SQLITE_BUSY'));
}

export async function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return retrying(() => db.transaction().execute(work));
}

/** Runs `attempt` (one whole transaction) again while it fails for a reason a retry fixes. */
export async function retrying<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= MAX_ATTEMPTS || !retryable(error)) throw error;
      // A little random backoff so the racers do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * n));
    }
  }
}
