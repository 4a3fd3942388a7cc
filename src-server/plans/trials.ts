import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

/**
 * Trials an administrator grants: a tier until an end date, stored once per account. The plan an
 * account gets reads it through `adjustPlan` (adjustments.ts); self-service trials can add their
 * own source of `Trial` here.
 */

export interface Trial {
  tier: string;
  endsAt: number;
  grantedAt: number;
}

type Db = Kysely<Database> | Transaction<Database>;

export async function readTrial(db: Db, accountId: string): Promise<Trial | null> {
  const row = await db.selectFrom('account_trials').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  return row ? { tier: row.tier, endsAt: Number(row.ends_at), grantedAt: Number(row.granted_at) } : null;
}

export async function grantTrial(db: Db, accountId: string, trial: Trial): Promise<void> {
  await db
    .insertInto('account_trials')
    .values({ account_id: accountId, tier: trial.tier, ends_at: trial.endsAt, granted_at: trial.grantedAt })
    .onConflict((conflict) =>
      conflict
        .column('account_id')
        .doUpdateSet({ tier: trial.tier, ends_at: trial.endsAt, granted_at: trial.grantedAt }),
    )
    .execute();
}

export async function endTrial(db: Db, accountId: string): Promise<void> {
  await db.deleteFrom('account_trials').where('account_id', '=', accountId).execute();
}

/** Whether a trial grants its tier at `now`. */
export function trialRunning(trial: Trial | null, now: number): trial is Trial {
  return trial !== null && now < trial.endsAt;
}
