import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';

/**
 * Failed sign-ins per e-mail address, with delays that grow: the first FREE_FAILURES mistakes
 * cost nothing, then each further failure makes the address wait twice as long as the last
 * (1 s, 2 s, 4 s, … up to 15 minutes) before any password is checked again, the right one
 * included. Guessing one account's password from many IPs is thus as slow as from one; the
 * per-IP budget (rate-limit.ts) covers guessing many accounts from one client. A success clears
 * the address, and a day without failures forgets it.
 *
 * Kept in the database (021_sign_in_failures), on the server's clock: every server process on the
 * database counts the same failures, so n processes behind a load balancer do not give an attacker
 * n times the guesses, and a restart does not wipe them. A failure is counted by one atomic upsert,
 * so failures arriving at several processes at once are all counted.
 */

const FREE_FAILURES = 5;
const MAX_DELAY_MS = 15 * 60 * 1000;
/** Failures older than this are forgotten: last week's typos do not make today's cost 15 minutes. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

export class SignInThrottle {
  constructor(private readonly db: Kysely<Database>) {}

  /** Milliseconds this address must still wait before a sign-in is tried (0: go ahead). */
  async waitFor(email: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom('sign_in_failures')
      .select('blocked_until')
      .where('email', '=', key(email))
      .where('last_failed_at', '>', now - FORGET_AFTER_MS)
      .executeTakeFirst();
    return row ? Math.max(0, Number(row.blocked_until) - now) : 0;
  }

  async failed(email: string, now: number): Promise<void> {
    const address = key(email);
    const forgotten = now - FORGET_AFTER_MS;
    const counted = await this.db
      .insertInto('sign_in_failures')
      .values({ email: address, failures: 1, blocked_until: now, last_failed_at: now })
      .onConflict((conflict) =>
        conflict.column('email').doUpdateSet({
          failures: sql`CASE WHEN sign_in_failures.last_failed_at > ${forgotten} THEN sign_in_failures.failures + 1 ELSE 1 END`,
          last_failed_at: now,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    const over = Number(counted.failures) - FREE_FAILURES;
    if (over > 0) {
      const until = now + Math.min(MAX_DELAY_MS, 1000 * 2 ** (over - 1));
      // Never shortens a wait that a failure counted at another process has already set.
      await this.db
        .updateTable('sign_in_failures')
        .set({ blocked_until: sql`CASE WHEN blocked_until > ${until} THEN blocked_until ELSE ${until} END` })
        .where('email', '=', address)
        .execute();
    }
    // Addresses with no failure for a day (found by the index; usually none).
    await this.db.deleteFrom('sign_in_failures').where('last_failed_at', '<=', forgotten).execute();
  }

  async succeeded(email: string): Promise<void> {
    await this.db.deleteFrom('sign_in_failures').where('email', '=', key(email)).execute();
  }
}

function key(email: string): string {
  return email.trim().toLowerCase();
}
