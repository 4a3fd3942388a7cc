import { type Kysely, sql } from 'kysely';
import { UNLIMITED } from '../../src-shared/catalog.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
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
import { RetryTransaction } from '../db/transactions.ts';

/**
 * The per-(account, operation, period) usage counters: `used` (spent) and `reserved` (held by
 * reservations). Every change is a conditional UPDATE guarded by `used + reserved <= limit`, made
 * while the row is locked, so no interleaving can push a counter past its limit.
 */

export interface CounterState {
  used: number;
  reserved: number;
}

interface CounterKey {
  accountId: string;
  operation: string;
  period: string;
}

interface CountersArgs {
  accountId: string;
  period: string;
  operations: readonly string[];
}

interface BumpArgs extends CounterKey {
  used: number;
  reserved: number;
  limit: number;
}

function compileCounterStatements(db: Kysely<Database>, dialect: Dialect) {
  const selects = new Map<number, Statement<CountersArgs, CounterRow>>();
  const bump = (guarded: boolean) =>
    db
      .updateTable('usage_counters')
      .set((eb) => ({
        used: eb(
          'used',
          '+',
          slot((b: BumpArgs) => b.used),
        ),
        reserved: eb(
          'reserved',
          '+',
          slot((b: BumpArgs) => b.reserved),
        ),
      }))
      .where(
        'account_id',
        '=',
        slot((b: BumpArgs) => b.accountId),
      )
      .where(
        'operation',
        '=',
        slot((b: BumpArgs) => b.operation),
      )
      .where(
        'period',
        '=',
        slot((b: BumpArgs) => b.period),
      )
      .$if(guarded, (query) =>
        query.where(
          sql<boolean>`used + reserved + ${slot((b: BumpArgs) => b.used + b.reserved)} <= ${slot((b: BumpArgs) => b.limit)}`,
        ),
      );
  return {
    /** The counters of some operations, locked until commit on PostgreSQL. */
    select(size: number) {
      let found = selects.get(size);
      if (!found) {
        const query = db
          .selectFrom('usage_counters')
          .select(['operation', 'used', 'reserved'])
          .where(
            'account_id',
            '=',
            slot((a: CountersArgs) => a.accountId),
          )
          .where(
            'period',
            '=',
            slot((a: CountersArgs) => a.period),
          )
          .where(
            'operation',
            'in',
            slotList(size, (a: CountersArgs) => a.operations),
          )
          // One lock order for every transaction, so two batches never deadlock on each other's rows:
          // byte order on PostgreSQL, as tollgate_meter locks them (migration 006_pg_metering).
          .orderBy(dialect === 'postgres' ? sql`operation collate "C"` : sql`operation`)
          .$if(dialect === 'postgres', (q) => q.forUpdate());
        found = statement<CountersArgs, CounterRow>(query);
        selects.set(size, found);
      }
      return found;
    },
    insert: statement<CounterKey>(
      db
        .insertInto('usage_counters')
        .values({
          account_id: slot((k: CounterKey) => k.accountId),
          operation: slot((k: CounterKey) => k.operation),
          period: slot((k: CounterKey) => k.period),
          used: 0,
          reserved: 0,
        })
        .onConflict((oc) => oc.columns(['account_id', 'operation', 'period']).doNothing()),
    ),
    bumpWithinLimit: statement<BumpArgs>(bump(true)),
    bumpUnguarded: statement<BumpArgs>(bump(false)),
  };
}

/**
 * Reads the account's counters for these operations — locked until commit on PostgreSQL —
 * creating the missing ones first. (On SQLite the whole transaction holds the database's write
 * lock from its first write, which comes right after.)
 */
export function* lockCounters(
  runner: StatementRunner,
  accountId: string,
  period: string,
  operations: readonly string[],
): Steps<Map<string, CounterState>> {
  const s = compiledOnce(runner, compileCounterStatements);
  const unique = operations.length === 1 ? operations : [...new Set(operations)].sort();
  const select = s.select(listShape(unique.length));
  const args = { accountId, period, operations: unique };
  let counters = counterMap((yield runner.rows(select, args)) as CounterRow[]);
  if (counters.size === unique.length) return counters;
  // The first use of an operation this period: create its counter (a concurrent creator wins
  // harmlessly), then read again so every counter is locked.
  for (const operation of unique) {
    if (!counters.has(operation)) yield runner.changes(s.insert, { accountId, operation, period });
  }
  counters = counterMap((yield runner.rows(select, args)) as CounterRow[]);
  return counters;
}

type CounterRow = { operation: string } & CounterState;

function counterMap(rows: CounterRow[]): Map<string, CounterState> {
  const counters = new Map<string, CounterState>();
  for (const row of rows) counters.set(row.operation, { used: row.used, reserved: row.reserved });
  return counters;
}

/**
 * Adds `change` to a counter, guarded so it can never pass `limit` (null: no guard, for changes
 * that only give units back). The caller holds the row lock, so the guard failing means a bug or a
 * lost race: retry from the start.
 */
export function* bumpCounter(
  runner: StatementRunner,
  key: CounterKey,
  change: CounterState,
  limit: number | null,
): Steps<void> {
  const s = compiledOnce(runner, compileCounterStatements);
  const guarded = limit !== null && limit !== UNLIMITED;
  const args: BumpArgs = {
    accountId: key.accountId,
    operation: key.operation,
    period: key.period,
    used: change.used,
    reserved: change.reserved,
    limit: limit ?? UNLIMITED,
  };
  const changed = (yield runner.changes(guarded ? s.bumpWithinLimit : s.bumpUnguarded, args)) as number;
  if (changed !== 1) throw new RetryTransaction('usage counter changed under its lock');
}
