import type { Kysely, Transaction } from 'kysely';
import { toCsv } from '../analytics/csv.ts';
import { newId } from '../db/ids.ts';
import type { Database } from '../db/schema.ts';
import type { Administrator } from './admins.ts';

/**
 * The append-only audit log: one entry per admin action, written in the action's own transaction
 * (who, when, what, before → after, why). There is no update or delete path, and the database
 * refuses both by trigger (migration 008_admin_console).
 */

export interface AuditEntry {
  id: string;
  at: string;
  actor: { id: string; name: string };
  accountId: string | null;
  action: string;
  reason: string;
  before: unknown;
  after: unknown;
}

type Db = Kysely<Database> | Transaction<Database>;

/** The actor of an action taken on the server's own command line. */
export const TOKEN_AUDIT_ACTOR: Administrator = { id: 'cli', name: 'command line', role: 'owner' };

export async function recordAudit(
  db: Db,
  entry: {
    administrator: Administrator;
    accountId: string | null;
    action: string;
    reason: string;
    before: unknown;
    after: unknown;
  },
  now: number,
): Promise<void> {
  // The log reads in `at` order, so `at` strictly increases even when two actions land in the
  // same millisecond (or under a test's frozen clock), as subscription_events does.
  const last = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.max<number | string | null>('at').as('at'))
    .executeTakeFirst();
  await db
    .insertInto('audit_log')
    .values({
      id: newId('aud'),
      at: Math.max(now, Number(last?.at ?? 0) + 1),
      actor_id: entry.administrator.id,
      actor_name: entry.administrator.name,
      account_id: entry.accountId,
      action: entry.action,
      reason: entry.reason,
      before_json: entry.before === undefined ? null : JSON.stringify(entry.before),
      after_json: entry.after === undefined ? null : JSON.stringify(entry.after),
    })
    .execute();
}

export async function readAudit(db: Db, accountId?: string): Promise<AuditEntry[]> {
  let select = db.selectFrom('audit_log').selectAll().orderBy('at').orderBy('id');
  if (accountId !== undefined) select = select.where('account_id', '=', accountId);
  const rows = await select.execute();
  return rows.map((row) => ({
    id: row.id,
    at: new Date(Number(row.at)).toISOString(),
    actor: { id: row.actor_id, name: row.actor_name },
    accountId: row.account_id,
    action: row.action,
    reason: row.reason,
    before: row.before_json === null ? null : JSON.parse(row.before_json),
    after: row.after_json === null ? null : JSON.parse(row.after_json),
  }));
}

export function auditCsv(entries: readonly AuditEntry[]): string {
  return toCsv(
    ['at', 'actor_id', 'actor_name', 'account_id', 'action', 'reason', 'before', 'after'],
    entries.map((entry) => [
      entry.at,
      entry.actor.id,
      entry.actor.name,
      entry.accountId,
      entry.action,
      entry.reason,
      JSON.stringify(entry.before),
      JSON.stringify(entry.after),
    ]),
  );
}
