import type { Kysely } from 'kysely';

/**
 * 013_event_dates: when a subscription event's MRR ends by itself. A past-due subscription keeps
 * its MRR only while its grace lasts (access stops then), whenever the provider finally cancels it,
 * so its events carry the grace's end. The replay index is rebuilt with the column, so the event
 * history is still read from the index alone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('subscription_events').addColumn('mrr_ends_at', 'bigint').execute();
  await db.schema.dropIndex('subscription_events_replay').execute();
  await db.schema
    .createIndex('subscription_events_replay')
    .on('subscription_events')
    .columns(['at', 'id', 'account_id', 'to_tier', 'mrr_after_cents', 'mrr_ends_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('subscription_events_replay').execute();
  await db.schema
    .createIndex('subscription_events_replay')
    .on('subscription_events')
    .columns(['at', 'id', 'account_id', 'to_tier', 'mrr_after_cents'])
    .execute();
  await db.schema.alterTable('subscription_events').dropColumn('mrr_ends_at').execute();
}
