import type { Kysely } from 'kysely';

/**
 * 014_trials: the cardless trial a free account starts itself (POST /v1/trial). A claim is kept
 * for good, once per account (primary key) and once per device (unique), so a trial that ended, or
 * one an administrator ended, is never taken again by the same account or on the same machine.
 * `account_trials.ending_notified_at` marks the trial whose `trial.ending` webhook is written, so
 * each trial emits it once however many sweeps or processes see it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('trial_claims')
    // No foreign key: the claim outlives the account, or a deleted account would free its device.
    .addColumn('account_id', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().unique())
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('account_trials').addColumn('ending_notified_at', 'bigint').execute();
  // The trial.ending sweep: trials not yet notified, by end.
  await db.schema
    .createIndex('account_trials_ending')
    .on('account_trials')
    .columns(['ending_notified_at', 'ends_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('account_trials_ending').ifExists().execute();
  await db.schema.alterTable('account_trials').dropColumn('ending_notified_at').execute();
  await db.schema.dropTable('trial_claims').ifExists().execute();
}
