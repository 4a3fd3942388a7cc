import { randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ConsumeResult, UsageEventResult, UsageSnapshot } from '../src-shared/api.ts';
import { type Catalog, UNLIMITED } from '../src-shared/catalog.ts';
import { suggestUpgrade } from '../src-shared/decisions.ts';
import { periodEnd, periodOf } from '../src-shared/period.ts';
import type { Dialect } from './db/index.ts';
import type { Database, UsageEventStatus } from './db/schema.ts';
import { type ProblemBody, problemBody } from './errors.ts';
import { recordThresholds } from './notifications.ts';
import { expireHeldReservations } from './reservations.ts';
import type { EntitledPlan } from './subscriptions.ts';
import { inTransaction, RetryTransaction } from './transactions.ts';

/**
 * Exactly-once usage metering. For a batch of events (a single consume is a batch of one), one
 * transaction: locks the account's counters for the operations involved, finds which idempotency
 * keys were seen before (their first answer is returned again), decides the new events in order
 * against `used + reserved + units <= limit`, stores each new event with its answer, and applies the
 * accepted units with a conditional UPDATE guarded by the same inequality. Nothing can be counted
 * twice (the key is the events table's primary key) and no interleaving can push `used` past the
 * limit (the guard fails and the transaction is retried).
 */

export interface MeteringStore {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
}

export interface UsageRequest {
  idempotencyKey: string;
  operation: string;
  units: number;
  occurredAt?: number | null;
}

/** The first answer to a key, as stored: an HTTP status and its body. */
export interface StoredAnswer {
  status: number;
  body: Omit<ConsumeResult, 'replayed'> | ProblemBody;
}

export interface UsageOutcome {
  idempotencyKey: string;
  /** False when the key was seen before and its first answer is returned. */
  fresh: boolean;
  eventStatus: UsageEventStatus;
  answer: StoredAnswer;
}

interface FirstAnswer {
  eventStatus: UsageEventStatus;
  answer: StoredAnswer;
}

export interface CounterState {
  used: number;
  reserved: number;
}

/** The limit a plan sets for an operation; 0 for one it does not meter (nothing can be spent). */
export function limitOf(plan: EntitledPlan, operation: string): number {
  return plan.limits.monthly[operation] ?? 0;
}

export function fits(limit: number, counter: CounterState, units: number): boolean {
  return limit === UNLIMITED || counter.used + counter.reserved + units <= limit;
}

/**
 * Reads the account's counters for these operations — locked until commit on PostgreSQL —
 * creating the missing ones first. (On SQLite the whole transaction holds the database's write
 * lock from its first write, which comes right after.)
 */
export async function lockCounters(
  trx: Transaction<Database>,
  dialect: Dialect,
  accountId: string,
  period: string,
  operations: string[],
): Promise<Map<string, CounterState>> {
  const sorted = [...new Set(operations)].sort();
  const read = async () => {
    let query = trx
      .selectFrom('usage_counters')
      .select(['operation', 'used', 'reserved'])
      .where('account_id', '=', accountId)
      .where('period', '=', period)
      .where('operation', 'in', sorted)
      // One lock order for every transaction, so two batches never deadlock on each other's rows.
      .orderBy('operation');
    if (dialect === 'postgres') query = query.forUpdate();
    const rows = await query.execute();
    return new Map(rows.map((row) => [row.operation, { used: row.used, reserved: row.reserved }]));
  };
  const counters = await read();
  if (counters.size === sorted.length) return counters;
  // The first use of an operation this period: create its counter (a concurrent creator wins
  // harmlessly), then read again so every counter is locked.
  await trx
    .insertInto('usage_counters')
    .values(
      sorted
        .filter((operation) => !counters.has(operation))
        .map((operation) => ({ account_id: accountId, operation, period, used: 0, reserved: 0 })),
    )
    .onConflict((oc) => oc.columns(['account_id', 'operation', 'period']).doNothing())
    .execute();
  return read();
}

/**
 * Adds `delta` to a counter column, guarded so the counter can never pass the limit. The caller
 * holds the row lock, so the guard failing means a bug or a lost race: retry from the start.
 */
export async function bumpCounter(
  trx: Transaction<Database>,
  key: { accountId: string; operation: string; period: string },
  change: { used: number; reserved: number },
  limit: number | null,
): Promise<void> {
  let query = trx
    .updateTable('usage_counters')
    .set((eb) => ({ used: eb('used', '+', change.used), reserved: eb('reserved', '+', change.reserved) }))
    .where('account_id', '=', key.accountId)
    .where('operation', '=', key.operation)
    .where('period', '=', key.period);
  if (limit !== null && limit !== UNLIMITED) {
    const growth = change.used + change.reserved;
    query = query.where(sql<boolean>`used + reserved + ${growth} <= ${limit}`);
  }
  const result = await query.executeTakeFirst();
  if (result.numUpdatedRows !== 1n) throw new RetryTransaction('usage counter changed under its lock');
}

function limitProblem(
  catalog: Catalog,
  plan: EntitledPlan,
  request: UsageRequest,
  counter: CounterState,
  limit: number,
): ProblemBody {
  const remaining = Math.max(0, limit - counter.used - counter.reserved);
  const upgrade = suggestUpgrade(
    catalog,
    { kind: 'usage', operation: request.operation, units: request.units },
    { [request.operation]: counter.used + counter.reserved },
    plan.tier,
  );
  const label = catalog.operations[request.operation]?.label ?? request.operation;
  return problemBody('LIMIT_REACHED', `${request.units} ${label} needed; ${remaining} of ${limit} left this month.`, {
    limit,
    remaining,
    used: counter.used,
    operation: request.operation,
    ...(upgrade ? { upgrade } : {}),
  });
}

// Rows per statement: 1,000 events × 9 columns stays under SQLite's 32,766 bound parameters.
const CHUNK = 1000;
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export async function recordUsage(
  store: MeteringStore,
  accountId: string,
  plan: EntitledPlan,
  requests: UsageRequest[],
  now: number,
): Promise<UsageOutcome[]> {
  const period = periodOf(now);
  return inTransaction(store.db, async (trx) => {
    let counters = await lockCounters(
      trx,
      store.dialect,
      accountId,
      period,
      requests.map((r) => r.operation),
    );
    const seen = new Map<string, FirstAnswer>();
    for (const keys of chunks([...new Set(requests.map((r) => r.idempotencyKey))])) {
      const rows = await trx
        .selectFrom('usage_events')
        .select(['idempotency_key', 'status', 'result_json'])
        .where('account_id', '=', accountId)
        .where('idempotency_key', 'in', keys)
        .execute();
      for (const row of rows) {
        seen.set(row.idempotency_key, { eventStatus: row.status, answer: JSON.parse(row.result_json) as StoredAnswer });
      }
    }

    let decided = decide(store.catalog, plan, requests, counters, seen, period);
    // Units held by reservations that have run out are only worth reclaiming when they are in the
    // way; then expire them and decide again.
    const blockedByHolds = decided.outcomes.some(
      (o) =>
        o.fresh && o.eventStatus === 'rejected' && (counters.get(requestOf(requests, o).operation)?.reserved ?? 0) > 0,
    );
    if (blockedByHolds && (await expireHeldReservations(trx, store.dialect, now, accountId)) > 0) {
      counters = await lockCounters(
        trx,
        store.dialect,
        accountId,
        period,
        requests.map((r) => r.operation),
      );
      decided = decide(store.catalog, plan, requests, counters, seen, period);
    }

    const fresh = decided.outcomes.filter((o) => o.fresh);
    const requestByKey = new Map(requests.map((r) => [r.idempotencyKey, r]));
    for (const batch of chunks(fresh)) {
      const inserted = await trx
        .insertInto('usage_events')
        .values(
          batch.map((o) => {
            const r = requestByKey.get(o.idempotencyKey) as UsageRequest;
            return {
              account_id: accountId,
              idempotency_key: o.idempotencyKey,
              operation: r.operation,
              units: r.units,
              period,
              status: o.eventStatus,
              result_json: JSON.stringify(o.answer),
              occurred_at: r.occurredAt ?? null,
              created_at: now,
            };
          }),
        )
        .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
        .returning('idempotency_key')
        .execute();
      // A concurrent transaction stored one of these keys first (only possible on PostgreSQL when
      // the racers' operations differ, so they held different counter locks): decide again.
      if (inserted.length !== batch.length) throw new RetryTransaction('idempotency key stored concurrently');
    }

    for (const [operation, units] of decided.acceptedUnits) {
      await bumpCounter(trx, { accountId, operation, period }, { used: units, reserved: 0 }, limitOf(plan, operation));
      const before = counters.get(operation) as CounterState;
      await recordThresholds(trx, {
        accountId,
        operation,
        period,
        limit: limitOf(plan, operation),
        usedBefore: before.used,
        usedAfter: before.used + units,
        now,
      });
    }
    return decided.outcomes;
  });
}

function requestOf(requests: UsageRequest[], outcome: UsageOutcome): UsageRequest {
  return requests.find((r) => r.idempotencyKey === outcome.idempotencyKey) as UsageRequest;
}

/** Pure: the answer to each request, in order, given the counters and the keys seen before. */
function decide(
  catalog: Catalog,
  plan: EntitledPlan,
  requests: UsageRequest[],
  counters: Map<string, CounterState>,
  seen: Map<string, FirstAnswer>,
  period: string,
): { outcomes: UsageOutcome[]; acceptedUnits: Map<string, number> } {
  const working = new Map([...counters].map(([op, c]) => [op, { ...c }]));
  const acceptedUnits = new Map<string, number>();
  const answered = new Map<string, FirstAnswer>();
  const outcomes: UsageOutcome[] = [];
  for (const request of requests) {
    const first = answered.get(request.idempotencyKey) ?? seen.get(request.idempotencyKey);
    if (first) {
      // Seen before (in the database, or earlier in this batch): the first answer stands.
      outcomes.push({ idempotencyKey: request.idempotencyKey, fresh: false, ...first });
      continue;
    }
    const counter = working.get(request.operation) ?? { used: 0, reserved: 0 };
    const limit = limitOf(plan, request.operation);
    let outcome: UsageOutcome;
    if (fits(limit, counter, request.units)) {
      counter.used += request.units;
      acceptedUnits.set(request.operation, (acceptedUnits.get(request.operation) ?? 0) + request.units);
      const body: Omit<ConsumeResult, 'replayed'> = {
        idempotencyKey: request.idempotencyKey,
        operation: request.operation,
        units: request.units,
        period,
        used: counter.used,
        limit,
        ...(limit === UNLIMITED ? {} : { remaining: Math.max(0, limit - counter.used - counter.reserved) }),
      };
      outcome = {
        idempotencyKey: request.idempotencyKey,
        fresh: true,
        eventStatus: 'accepted',
        answer: { status: 200, body },
      };
    } else {
      const body = limitProblem(catalog, plan, request, counter, limit);
      outcome = {
        idempotencyKey: request.idempotencyKey,
        fresh: true,
        eventStatus: 'rejected',
        answer: { status: 402, body },
      };
    }
    answered.set(request.idempotencyKey, { eventStatus: outcome.eventStatus, answer: outcome.answer });
    outcomes.push(outcome);
  }
  return { outcomes, acceptedUnits };
}

/** The answer to a single consume: the first answer, marked as a replay when the key was seen. */
export function consumeAnswer(outcome: UsageOutcome): StoredAnswer & { replayed: boolean } {
  const replayed = !outcome.fresh;
  if (outcome.answer.status === 200) {
    return { status: 200, body: { ...(outcome.answer.body as ConsumeResult), replayed }, replayed };
  }
  return { ...outcome.answer, replayed };
}

/** How a batch reports one event. */
export function eventResult(outcome: UsageOutcome): UsageEventResult {
  const body = outcome.answer.body as { used?: number; limit?: number; code?: string };
  const accepted = outcome.eventStatus === 'accepted';
  return {
    idempotencyKey: outcome.idempotencyKey,
    status: accepted ? (outcome.fresh ? 'accepted' : 'duplicate') : 'rejected',
    code: accepted ? 'OK' : 'LIMIT_REACHED',
    used: body.used ?? 0,
    limit: body.limit ?? 0,
  };
}

/** This period's usage of every operation the catalog or the plan meters. */
export async function usageSnapshot(
  db: Kysely<Database>,
  catalog: Catalog,
  accountId: string,
  plan: EntitledPlan,
  now: number,
): Promise<UsageSnapshot> {
  const period = periodOf(now);
  const rows = await db
    .selectFrom('usage_counters')
    .select(['operation', 'used', 'reserved'])
    .where('account_id', '=', accountId)
    .where('period', '=', period)
    .execute();
  const counters = new Map(rows.map((row) => [row.operation, row]));
  const operations: UsageSnapshot['operations'] = {};
  for (const operation of new Set([...Object.keys(catalog.operations), ...Object.keys(plan.limits.monthly)])) {
    const counter = counters.get(operation);
    operations[operation] = {
      used: counter?.used ?? 0,
      reserved: counter?.reserved ?? 0,
      limit: limitOf(plan, operation),
    };
  }
  return {
    period,
    resetsAt: new Date(periodEnd(period)).toISOString(),
    operations,
    apiCalls: { limit: plan.limits.api_calls_per_hour, windowSeconds: 3600 },
  };
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID()}`;
}
