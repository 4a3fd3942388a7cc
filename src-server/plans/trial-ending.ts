import type { Kysely } from 'kysely';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { runAsync, transactionRunner } from '../db/statements.ts';
import { inTransaction } from '../db/transactions.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';

/**
 * The `trial.ending` webhook (docs/webhooks.md): written once per trial, as soon as a sweep sees the
 * trial end within TRIAL_ENDING_NOTICE_DAYS (at once for a trial shorter than that). The guarded
 * update of `ending_notified_at` in the event's own transaction makes it once, however many sweeps
 * or server processes see the trial; a trial granted again (a new end) is announced again.
 */

const TRIAL_ENDING_NOTICE_DAYS = 3;
const NOTICE_MS = TRIAL_ENDING_NOTICE_DAYS * 86_400_000;

export async function sweepTrialEndings(store: { db: Kysely<Database>; dialect: Dialect }, now: number): Promise<void> {
  const { db, dialect } = store;
  const due = await db
    .selectFrom('account_trials')
    .select(['account_id', 'tier', 'ends_at'])
    .where('ending_notified_at', 'is', null)
    .where('ends_at', '>', now)
    .where('ends_at', '<=', now + NOTICE_MS)
    .execute();
  for (const trial of due) {
    const endsAt = Number(trial.ends_at);
    await inTransaction(db, async (trx) => {
      const marked = await trx
        .updateTable('account_trials')
        .set({ ending_notified_at: now })
        .where('account_id', '=', trial.account_id)
        .where('ends_at', '=', endsAt)
        .where('ending_notified_at', 'is', null)
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) !== 1) return;
      await runAsync(
        enqueueEvent(transactionRunner(db, dialect, trx), {
          accountId: trial.account_id,
          type: 'trial.ending',
          data: {
            tier: trial.tier,
            ends_at: new Date(endsAt).toISOString(),
            days_left: Math.ceil((endsAt - now) / 86_400_000),
          },
          now,
        }),
      );
    });
  }
}
