import { randomUUID } from 'node:crypto';
import type { Insertable, Kysely } from 'kysely';
import type { Notification } from '../../src-shared/api.ts';
import { type Catalog, UNLIMITED } from '../../src-shared/catalog.ts';
import { NOTICE_THRESHOLDS } from '../../src-shared/notices.ts';
import type { Database, NotificationRow, NotificationsTable } from '../db/schema.ts';
import { compiledOnce, type StatementRunner, type Steps, slot, statement } from '../db/statements.ts';
import { ApiError } from '../http/errors.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';

/**
 * Usage notifications at 80 % and 100 % of each monthly limit. "Exactly once per threshold per
 * period" is the table's unique key (account, operation, period, threshold) with
 * insert-on-conflict-do-nothing, written in the same transaction as the usage that crossed it.
 */

interface ThresholdCrossing {
  accountId: string;
  operation: string;
  period: string;
  limit: number;
  usedBefore: number;
  usedAfter: number;
  now: number;
}

/** The notifications a change of `used` crosses into (none for an unlimited or zero limit). */
function thresholdNotifications(crossing: ThresholdCrossing): Insertable<NotificationsTable>[] {
  const { limit, usedBefore, usedAfter } = crossing;
  if (limit === UNLIMITED || limit <= 0) return [];
  const crossed = NOTICE_THRESHOLDS.filter((t) => usedBefore * 100 < t * limit && usedAfter * 100 >= t * limit);
  return crossed.map((threshold) => ({
    id: `ntf_${randomUUID()}`,
    account_id: crossing.accountId,
    kind: 'usage_threshold' as const,
    operation: crossing.operation,
    period: crossing.period,
    threshold,
    used: usedAfter,
    limit_value: limit,
    created_at: crossing.now,
    read_at: null,
  }));
}

type NotificationInsert = Insertable<NotificationsTable>;

const NOTIFICATION_COLUMNS = [
  'id',
  'account_id',
  'kind',
  'operation',
  'period',
  'threshold',
  'used',
  'limit_value',
  'created_at',
  'read_at',
] as const;

function compileNotificationStatements(db: Kysely<Database>) {
  return {
    insert: statement<NotificationInsert>(
      db
        .insertInto('notifications')
        .values(
          Object.fromEntries(
            NOTIFICATION_COLUMNS.map((column) => [column, slot((row: NotificationInsert) => row[column] ?? null)]),
          ) as unknown as NotificationInsert,
        )
        .onConflict((oc) => oc.columns(['account_id', 'operation', 'period', 'threshold']).doNothing()),
    ),
  };
}

/** Stores the notifications a change of `used` crosses into, in the transaction that changed it. */
export function* recordThresholds(runner: StatementRunner, crossing: ThresholdCrossing): Steps<void> {
  const rows = thresholdNotifications(crossing);
  if (rows.length === 0) return;
  const s = compiledOnce(runner, compileNotificationStatements);
  for (const row of rows) {
    const inserted = (yield runner.changes(s.insert, row)) as number;
    if (inserted === 1) yield* enqueueEvent(runner, thresholdEvent(row));
  }
}

/** The outbox event of a stored notification: the email and the `usage.threshold_reached` webhook. */
function thresholdEvent(row: NotificationInsert) {
  const { account_id, operation, period, threshold, used, limit_value, created_at } = row;
  return {
    accountId: account_id,
    type: 'usage.threshold_reached' as const,
    data: { operation, period, threshold, used, limit: limit_value },
    now: created_at,
  };
}

function message(catalog: Catalog, row: NotificationRow): string {
  const label = catalog.operations[row.operation]?.label ?? row.operation;
  return row.threshold >= 100
    ? `You have used all ${row.limit_value} ${label} of this month; upgrade to keep going.`
    : `You have used ${row.threshold} % of your ${row.limit_value} ${label} this month.`;
}

function view(catalog: Catalog, row: NotificationRow): Notification {
  return {
    id: row.id,
    kind: row.kind,
    operation: row.operation,
    threshold: row.threshold === 100 ? 100 : 80,
    period: row.period,
    used: row.used,
    limit: row.limit_value,
    message: message(catalog, row),
    createdAt: new Date(row.created_at).toISOString(),
    readAt: row.read_at === null ? null : new Date(row.read_at).toISOString(),
  };
}

/** The account's notifications, newest first (the most recent 100). */
export async function listNotifications(
  db: Kysely<Database>,
  catalog: Catalog,
  accountId: string,
): Promise<Notification[]> {
  const rows = await db
    .selectFrom('notifications')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at', 'desc')
    .orderBy('threshold', 'desc')
    .limit(100)
    .execute();
  return rows.map((row) => view(catalog, row));
}

/** Marks one of the account's notifications read; reading it again keeps the first time. */
export async function markNotificationRead(
  db: Kysely<Database>,
  catalog: Catalog,
  accountId: string,
  id: string,
  now: number,
): Promise<Notification> {
  await db
    .updateTable('notifications')
    .set({ read_at: now })
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('read_at', 'is', null)
    .execute();
  const row = await db
    .selectFrom('notifications')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  if (!row) throw new ApiError('NOTIFICATION_NOT_FOUND');
  return view(catalog, row);
}
