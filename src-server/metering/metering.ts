import type { ConsumeResult, UsageEventResult } from '../../src-shared/api.ts';
import type { Catalog } from '../../src-shared/catalog.ts';
import { periodOf } from '../../src-shared/period.ts';
import { postgresPoolOf, sqliteFileOf } from '../db/connection.ts';
import {
  runAsync,
  runSync,
  type StatementRunner,
  type Steps,
  sqliteRunner,
  transactionRunner,
} from '../db/statements.ts';
import { inTransaction, RetryTransaction, retrying } from '../db/transactions.ts';
import type { EntitledPlan } from '../plans/subscriptions.ts';
import { bumpCounter, type CounterState, lockCounters } from './counters.ts';
import { decideUsage, limitOf, type StoredAnswer, type UsageOutcome, type UsageRequest } from './decision.ts';
import { groupCommit, groupCommitPostgres } from './group-commit.ts';
import { expireLeases, spendFromLeases } from './leases.ts';
import { insertEvents, seenKeys } from './ledger.ts';
import { recordThresholds } from './notifications.ts';
import { type MeterEvent, meterBatchOnPostgres } from './pg-meter.ts';
import { expireHolds, type MeteringStore } from './reservations.ts';

/**
 * Exactly-once usage metering. For a batch of events (a single consume is a batch of one), one
 * transaction: locks the account's counters for the operations involved, finds which idempotency
 * keys were seen before (their first answer is returned again), decides the new events in order
 * against `used + reserved + units <= limit`, stores each new event with its answer, and applies the
 * accepted units with a conditional UPDATE guarded by the same inequality. Nothing can be counted
 * twice (the key is the events table's primary key) and no interleaving can push `used` past the
 * limit (the guard fails and the transaction is retried).
 *
 * The statements are written once (counters.ts, ledger.ts, reservations.ts, notifications.ts) and
 * run synchronously on SQLite inside a group commit (group-commit.ts). On PostgreSQL the common case
 * — events that fit and cross no notification threshold, and replays — is decided by one statement
 * per group of consumes or per batch (pg-meter.ts, the function of migration 006_pg_metering); what
 * it leaves (refusals, thresholds, a device's batch) runs through the same steps in a transaction
 * of its own.
 */

function* meter(
  runner: StatementRunner,
  catalog: Catalog,
  accountId: string,
  plan: EntitledPlan,
  requests: readonly UsageRequest[],
  now: number,
  deviceId: string | undefined,
): Steps<UsageOutcome[]> {
  const period = periodOf(now);
  // A device's events spend the units its leases hold first (held → used, in this transaction).
  if (deviceId !== undefined) yield* spendFromLeases(runner, accountId, deviceId, requests, now);
  const operations = requests.map((r) => r.operation);
  let counters = yield* lockCounters(runner, accountId, period, operations);
  const seen = yield* seenKeys(runner, accountId, [...new Set(requests.map((r) => r.idempotencyKey))]);
  const requestByKey = new Map(requests.map((r) => [r.idempotencyKey, r]));

  let decided = decideUsage(catalog, plan, requests, counters, seen, period);
  // Units held by reservations that have run out are only worth reclaiming when they are in the
  // way; then expire them and decide again.
  const blockedByHolds = decided.outcomes.some(
    (o) =>
      o.fresh &&
      o.eventStatus === 'rejected' &&
      (counters.get((requestByKey.get(o.idempotencyKey) as UsageRequest).operation)?.reserved ?? 0) > 0,
  );
  if (
    blockedByHolds &&
    (yield* expireHolds(runner, now, accountId)) + (yield* expireLeases(runner, now, accountId)) > 0
  ) {
    counters = yield* lockCounters(runner, accountId, period, operations);
    decided = decideUsage(catalog, plan, requests, counters, seen, period);
  }

  const rows = decided.outcomes
    .filter((o) => o.fresh)
    .map((o) => {
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
    });
  // A concurrent transaction stored one of these keys first (only possible on PostgreSQL when the
  // racers' operations differ, so they held different counter locks): decide again.
  if (rows.length > 0 && (yield* insertEvents(runner, rows)) !== rows.length) {
    throw new RetryTransaction('idempotency key stored concurrently');
  }

  for (const [operation, units] of decided.acceptedUnits) {
    const limit = limitOf(plan, operation);
    yield* bumpCounter(runner, { accountId, operation, period }, { used: units, reserved: 0 }, limit);
    const before = counters.get(operation) as CounterState;
    yield* recordThresholds(runner, {
      accountId,
      operation,
      period,
      limit,
      usedBefore: before.used,
      usedAfter: before.used + units,
      now,
    });
  }
  return decided.outcomes;
}

export async function recordUsage(
  store: MeteringStore,
  accountId: string,
  plan: EntitledPlan,
  requests: readonly UsageRequest[],
  now: number,
  /** The companion device sending the batch: its leases' held units are spent first. */
  deviceId?: string,
): Promise<UsageOutcome[]> {
  const file = sqliteFileOf(store.db);
  if (file) {
    const runner = sqliteRunner(store.db, file);
    const work = file.transaction(() =>
      runSync(meter(runner, store.catalog, accountId, plan, requests, now, deviceId)),
    );
    return retrying(() => groupCommit(store.db, file, work));
  }
  const alone = () =>
    inTransaction(store.db, (trx) =>
      runAsync(
        meter(transactionRunner(store.db, 'postgres', trx), store.catalog, accountId, plan, requests, now, deviceId),
      ),
    );
  const pool = postgresPoolOf(store.db);
  // A device's batch first spends what its leases hold, which only the TypeScript path does.
  if (!pool || deviceId !== undefined) return alone();
  const period = periodOf(now);
  const events = requests.map((request) => ({
    accountId,
    request,
    limit: limitOf(plan, request.operation),
    period,
    now,
  }));
  if (events.length === 1) return groupCommitPostgres(store.db, events[0] as MeterEvent, alone);
  return meterBatchOnPostgres(pool, events, alone);
}

/** The answer to a single consume: the first answer, marked as a replay when the key was seen. */
export function consumeAnswer(outcome: UsageOutcome): StoredAnswer & { replayed: boolean } {
  const replayed = !outcome.fresh;
  if (outcome.answer.status === 200) {
    return { status: 200, body: { ...(outcome.answer.body as ConsumeResult), replayed }, replayed };
  }
  return { ...outcome.answer, replayed };
}

/** An outcome as a batch reports it, and as the usage-outcome metric counts it. */
export function eventStatus(outcome: UsageOutcome): UsageEventResult['status'] {
  if (outcome.eventStatus !== 'accepted') return 'rejected';
  return outcome.fresh ? 'accepted' : 'duplicate';
}

/** How a batch reports one event, the `index`-th it sent. */
export function eventResult(outcome: UsageOutcome, index: number): UsageEventResult {
  const body = outcome.answer.body as { used?: number; limit?: number; code?: string };
  const accepted = outcome.eventStatus === 'accepted';
  return {
    index,
    idempotencyKey: outcome.idempotencyKey,
    status: eventStatus(outcome),
    code: accepted ? 'OK' : 'LIMIT_REACHED',
    used: body.used ?? 0,
    limit: body.limit ?? 0,
  };
}
