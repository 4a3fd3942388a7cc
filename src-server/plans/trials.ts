import type { Kysely, Transaction } from 'kysely';
import type { TrialState } from '../../src-shared/api.ts';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { Database } from '../db/schema.ts';
import type { EntitledPlan } from './subscriptions.ts';

/**
 * Trials: a tier until an end date, stored once per account in `account_trials`, whether an
 * administrator granted it or the account started the catalog's cardless trial itself (POST
 * /v1/trial, which also leaves a `trial_claims` row for good: once per account, once per device).
 * The plan an account gets reads it through `adjustPlan` (adjustments.ts), so /v1/me, the license
 * (`accessEndsAt` = the trial's end) and every usage decision follow, and an ended one simply
 * stops applying.
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
        // A new trial: its own trial.ending notice is still to come.
        .doUpdateSet({
          tier: trial.tier,
          ends_at: trial.endsAt,
          granted_at: trial.grantedAt,
          ending_notified_at: null,
        }),
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

/** The account's self-service trial claim, if it ever started one. */
export async function readTrialClaim(db: Db, accountId: string): Promise<{ endsAt: number } | null> {
  const row = await db
    .selectFrom('trial_claims')
    .select('ends_at')
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row ? { endsAt: Number(row.ends_at) } : null;
}

/**
 * What /v1/me says of the account's trial. `plan` is the adjusted plan: it carries `trialEndsAt`
 * exactly when a trial gives it its tier now. Pure.
 */
export function trialState(
  catalog: Catalog,
  plan: EntitledPlan,
  trial: Trial | null,
  claim: { endsAt: number } | null,
  now: number,
): TrialState {
  const offer = catalog.trial ?? null;
  if (trialRunning(trial, now) && plan.trialEndsAt !== undefined) {
    return {
      status: 'running',
      tier: plan.tier,
      days: offer?.days ?? null,
      endsAt: new Date(trial.endsAt).toISOString(),
    };
  }
  const base = { tier: offer?.tier ?? null, days: offer?.days ?? null, endsAt: null };
  if (claim) return { ...base, status: 'used', endsAt: new Date(claim.endsAt).toISOString() };
  if (!offer || plan.tier !== 'free') return { ...base, status: 'unavailable' };
  return { ...base, status: 'available' };
}
