import type { Insertable, Kysely } from 'kysely';
import type { Database, UsageEventStatus, UsageEventsTable } from '../db/schema.ts';
import {
  compiledOnce,
  listShape,
  type Statement,
  type StatementRunner,
  type Steps,
  slot,
  slotList,
  statement,
} from '../db/statements.ts';
import type { FirstAnswer, StoredAnswer } from './decision.ts';

/**
 * The usage ledger: one row per idempotency key (the events table's primary key is
 * (account, key)), holding the first answer given to it, so nothing is counted twice and a
 * repeated key gets the same answer again.
 */

export type UsageEventRow = Insertable<UsageEventsTable>;

interface SeenArgs {
  accountId: string;
  keys: readonly string[];
}

interface InsertArgs {
  rows: readonly UsageEventRow[];
}

type SeenRow = { idempotency_key: string; status: UsageEventStatus; result_json: string };

/** Keys looked up per statement (an `in` list, padded to a power of two). */
const KEYS_PER_LOOKUP = 1024;
/** Rows per insert: 1,024 × 9 parameters stays under SQLite's 32,766 bound parameters. */
const ROWS_PER_INSERT = 1024;

const COLUMNS = [
  'account_id',
  'idempotency_key',
  'operation',
  'units',
  'period',
  'status',
  'result_json',
  'occurred_at',
  'created_at',
] as const;

function compileLedgerStatements(db: Kysely<Database>) {
  const seen = new Map<number, Statement<SeenArgs, SeenRow>>();
  const inserts = new Map<number, Statement<InsertArgs>>();
  return {
    seen(size: number) {
      let found = seen.get(size);
      if (!found) {
        found = statement<SeenArgs, SeenRow>(
          db
            .selectFrom('usage_events')
            .select(['idempotency_key', 'status', 'result_json'])
            .where(
              'account_id',
              '=',
              slot((a: SeenArgs) => a.accountId),
            )
            .where(
              'idempotency_key',
              'in',
              slotList(size, (a: SeenArgs) => a.keys),
            ),
        );
        seen.set(size, found);
      }
      return found;
    },
    insert(size: number) {
      let found = inserts.get(size);
      if (!found) {
        const rows = Array.from(
          { length: size },
          (_, i) =>
            Object.fromEntries(
              COLUMNS.map((column) => [
                column,
                slot((a: InsertArgs) => (a.rows[Math.min(i, a.rows.length - 1)] as UsageEventRow)[column] ?? null),
              ]),
            ) as unknown as UsageEventRow,
        );
        found = statement<InsertArgs>(
          db
            .insertInto('usage_events')
            .values(rows)
            .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing()),
        );
        inserts.set(size, found);
      }
      return found;
    },
  };
}

function firstAnswer(row: SeenRow): FirstAnswer {
  return { eventStatus: row.status, answer: JSON.parse(row.result_json) as StoredAnswer };
}

/** The first answers already given to any of these keys. */
export function* seenKeys(
  runner: StatementRunner,
  accountId: string,
  keys: readonly string[],
): Steps<Map<string, FirstAnswer>> {
  const s = compiledOnce(runner, compileLedgerStatements);
  const seen = new Map<string, FirstAnswer>();
  for (let i = 0; i < keys.length; i += KEYS_PER_LOOKUP) {
    const batch = keys.slice(i, i + KEYS_PER_LOOKUP);
    const rows = (yield runner.rows(s.seen(listShape(batch.length)), { accountId, keys: batch })) as SeenRow[];
    for (const row of rows) seen.set(row.idempotency_key, firstAnswer(row));
  }
  return seen;
}

/**
 * Stores the events whose keys are new; how many were stored. Each statement takes a power-of-two
 * number of rows, the last one repeated to fill it: the repeats conflict with it and are skipped,
 * so the count stays exact and one statement (one round trip on PostgreSQL) serves up to 1,024.
 */
export function* insertEvents(runner: StatementRunner, rows: readonly UsageEventRow[]): Steps<number> {
  const s = compiledOnce(runner, compileLedgerStatements);
  let stored = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.length <= ROWS_PER_INSERT ? rows : rows.slice(i, i + ROWS_PER_INSERT);
    stored += (yield runner.changes(s.insert(listShape(chunk.length)), { rows: chunk })) as number;
  }
  return stored;
}
