import { randomUUID } from 'node:crypto';
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely';
import type { ConsumeResult, UsageEventResult, UsageSnapshot } from '../../src-shared/api.ts';
import { type Catalog, UNLIMITED } from '../../src-shared/catalog.ts';
import { suggestUpgrade } from '../../src-shared/decisions.ts';
import { periodEnd, periodOf } from '../../src-shared/period.ts';
import { type Dialect, onSqliteFile, sqliteFileOf } from '../db/connection.ts';
import type { Database, NotificationsTable, UsageEventStatus, UsageEventsTable } from '../db/schema.ts';
import { inTransaction, RetryTransaction, retrying } from '../db/transactions.ts';
import { type ProblemBody, problemBody } from '../http/errors.ts';
import type { EntitledPlan } from '../plans/subscriptions.ts';
import { thresholdNotifications } from './notifications.ts';
import { expireHeldReservations } from './reservations.ts';

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

type Maybe<T> = T | Promise<T>;
type CounterKey = { accountId: string; operation: string; period: string };

/**
 * The statements one metering transaction runs. On PostgreSQL they are Kysely queries (async);
 * on SQLite, prepared better-sqlite3 statements run synchronously in a savepoint of a shared
 * BEGIN IMMEDIATE transaction (see groupCommit). The decisions around them are written once, in
 * `meter`.
 */
interface Ledger {
  lockCounters(accountId: string, period: string, operations: string[]): Maybe<Map<string, CounterState>>;
  seenKeys(accountId: string, keys: string[]): Maybe<Map<string, FirstAnswer>>;
  /** Expires the account's held reservations that have run out; how many there were. */
  expireHolds(accountId: string, now: number): Maybe<number>;
  /** Stores events whose keys are new; how many were stored. */
  insertEvents(rows: Insertable<UsageEventsTable>[]): Maybe<number>;
  addUsed(key: CounterKey, units: number, limit: number): Maybe<void>;
  notify(rows: Insertable<NotificationsTable>[]): Maybe<void>;
}

/** One step of `meter`: yields a ledger call's value (plain or a promise) and receives it resolved. */
function* step<T>(value: Maybe<T>): Generator<unknown, T, unknown> {
  return (yield value) as T;
}

function runSync<T>(steps: Generator<unknown, T, unknown>): T {
  let next = steps.next();
  while (!next.done) next = steps.next(next.value);
  return next.value;
}

async function runAsync<T>(steps: Generator<unknown, T, unknown>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await next.value);
  return next.value;
}

function* meter(
  ledger: Ledger,
  catalog: Catalog,
  accountId: string,
  plan: EntitledPlan,
  requests: UsageRequest[],
  now: number,
): Generator<unknown, UsageOutcome[], unknown> {
  const period = periodOf(now);
  const operations = requests.map((r) => r.operation);
  let counters = yield* step(ledger.lockCounters(accountId, period, operations));
  const seen = yield* step(ledger.seenKeys(accountId, [...new Set(requests.map((r) => r.idempotencyKey))]));
  const requestByKey = new Map(requests.map((r) => [r.idempotencyKey, r]));

  let decided = decide(catalog, plan, requests, counters, seen, period);
  // Units held by reservations that have run out are only worth reclaiming when they are in the
  // way; then expire them and decide again.
  const blockedByHolds = decided.outcomes.some(
    (o) =>
      o.fresh &&
      o.eventStatus === 'rejected' &&
      (counters.get((requestByKey.get(o.idempotencyKey) as UsageRequest).operation)?.reserved ?? 0) > 0,
  );
  if (blockedByHolds && (yield* step(ledger.expireHolds(accountId, now))) > 0) {
    counters = yield* step(ledger.lockCounters(accountId, period, operations));
    decided = decide(catalog, plan, requests, counters, seen, period);
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
  if (rows.length > 0 && (yield* step(ledger.insertEvents(rows))) !== rows.length) {
    throw new RetryTransaction('idempotency key stored concurrently');
  }

  for (const [operation, units] of decided.acceptedUnits) {
    const limit = limitOf(plan, operation);
    yield* step(ledger.addUsed({ accountId, operation, period }, units, limit));
    const before = counters.get(operation) as CounterState;
    const notifications = thresholdNotifications({
      accountId,
      operation,
      period,
      limit,
      usedBefore: before.used,
      usedAfter: before.used + units,
      now,
    });
    if (notifications.length > 0) yield* step(ledger.notify(notifications));
  }
  return decided.outcomes;
}

function kyselyLedger(trx: Transaction<Database>, dialect: Dialect): Ledger {
  return {
    lockCounters: (accountId, period, operations) => lockCounters(trx, dialect, accountId, period, operations),
    seenKeys: async (accountId, keys) => {
      const seen = new Map<string, FirstAnswer>();
      for (const batch of chunks(keys)) {
        const rows = await trx
          .selectFrom('usage_events')
          .select(['idempotency_key', 'status', 'result_json'])
          .where('account_id', '=', accountId)
          .where('idempotency_key', 'in', batch)
          .execute();
        for (const row of rows) seen.set(row.idempotency_key, firstAnswer(row));
      }
      return seen;
    },
    expireHolds: (accountId, now) => expireHeldReservations(trx, dialect, now, accountId),
    insertEvents: async (rows) => {
      let stored = 0;
      for (const batch of chunks(rows)) {
        const inserted = await trx
          .insertInto('usage_events')
          .values(batch)
          .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
          .returning('idempotency_key')
          .execute();
        stored += inserted.length;
      }
      return stored;
    },
    addUsed: (key, units, limit) => bumpCounter(trx, key, { used: units, reserved: 0 }, limit),
    notify: async (rows) => {
      await trx
        .insertInto('notifications')
        .values(rows)
        .onConflict((oc) => oc.columns(['account_id', 'operation', 'period', 'threshold']).doNothing())
        .execute();
    },
  };
}

function firstAnswer(row: { status: UsageEventStatus; result_json: string }): FirstAnswer {
  return { eventStatus: row.status, answer: JSON.parse(row.result_json) as StoredAnswer };
}

type SqliteFile = NonNullable<ReturnType<typeof sqliteFileOf>>;
type SqliteStatements = ReturnType<typeof prepareStatements>;
const statementCache = new WeakMap<SqliteFile, SqliteStatements>();

/** The SQLite statements, prepared once per connection (preparing costs more than running them). */
function prepareStatements(file: SqliteFile) {
  return {
    // json_each binds a whole list as one parameter, so one statement serves any batch size.
    selectCounters: file.prepare<[string, string, string], { operation: string } & CounterState>(
      `select operation, used, reserved from usage_counters
       where account_id = ? and period = ? and operation in (select value from json_each(?))`,
    ),
    insertCounter: file.prepare<[string, string, string]>(
      `insert into usage_counters (account_id, operation, period, used, reserved) values (?, ?, ?, 0, 0)
       on conflict (account_id, operation, period) do nothing`,
    ),
    selectSeen: file.prepare<
      [string, string],
      { idempotency_key: string; status: UsageEventStatus; result_json: string }
    >(
      `select idempotency_key, status, result_json from usage_events
       where account_id = ? and idempotency_key in (select value from json_each(?))`,
    ),
    insertEvent: file.prepare<[Insertable<UsageEventsTable>]>(
      `insert into usage_events
         (account_id, idempotency_key, operation, units, period, status, result_json, occurred_at, created_at)
       values (@account_id, @idempotency_key, @operation, @units, @period, @status, @result_json, @occurred_at,
         @created_at)
       on conflict (account_id, idempotency_key) do nothing`,
    ),
    // Guarded like bumpCounter; the write lock is held, so the guard failing means a bug.
    addUsedWithin: file.prepare<[{ units: number; account: string; operation: string; period: string; limit: number }]>(
      `update usage_counters set used = used + @units
       where account_id = @account and operation = @operation and period = @period
         and used + reserved + @units <= @limit`,
    ),
    addUsed: file.prepare<[{ units: number; account: string; operation: string; period: string }]>(
      `update usage_counters set used = used + @units
       where account_id = @account and operation = @operation and period = @period`,
    ),
    releaseHeld: file.prepare<[{ units: number; account: string; operation: string; period: string }]>(
      `update usage_counters set reserved = reserved - @units
       where account_id = @account and operation = @operation and period = @period`,
    ),
    expireHolds: file.prepare<[{ now: number; account: string }], { operation: string; period: string; units: number }>(
      `update reservations set status = 'expired', settled_at = @now
       where status = 'held' and expires_at <= @now and account_id = @account
       returning operation, period, units`,
    ),
    insertNotification: file.prepare<[Insertable<NotificationsTable>]>(
      `insert into notifications
         (id, account_id, kind, operation, period, threshold, used, limit_value, created_at, read_at)
       values (@id, @account_id, @kind, @operation, @period, @threshold, @used, @limit_value, @created_at, @read_at)
       on conflict (account_id, operation, period, threshold) do nothing`,
    ),
  };
}

function sqliteLedger(file: SqliteFile): Ledger {
  let statements = statementCache.get(file);
  if (!statements) {
    statements = prepareStatements(file);
    statementCache.set(file, statements);
  }
  const s = statements;
  const readCounters = (accountId: string, period: string, operations: string[]) =>
    new Map(
      s.selectCounters
        .all(accountId, period, JSON.stringify(operations))
        .map((row) => [row.operation, { used: row.used, reserved: row.reserved }]),
    );
  const ledger: Ledger = {
    // No row locks on SQLite: the BEGIN IMMEDIATE transaction holds the database's write lock.
    lockCounters: (accountId, period, operations) => {
      const unique = [...new Set(operations)];
      const counters = readCounters(accountId, period, unique);
      if (counters.size === unique.length) return counters;
      for (const operation of unique) {
        if (!counters.has(operation)) s.insertCounter.run(accountId, operation, period);
      }
      return readCounters(accountId, period, unique);
    },
    seenKeys: (accountId, keys) =>
      new Map(s.selectSeen.all(accountId, JSON.stringify(keys)).map((row) => [row.idempotency_key, firstAnswer(row)])),
    expireHolds: (accountId, now) => {
      const expired = s.expireHolds.all({ now, account: accountId });
      for (const row of expired) {
        ledger.lockCounters(accountId, row.period, [row.operation]);
        const released = s.releaseHeld.run({ account: accountId, ...row });
        if (released.changes !== 1) throw new RetryTransaction('usage counter changed under its lock');
      }
      return expired.length;
    },
    insertEvents: (rows) => {
      let stored = 0;
      for (const row of rows) stored += s.insertEvent.run(row).changes;
      return stored;
    },
    addUsed: (key, units, limit) => {
      const where = { units, account: key.accountId, operation: key.operation, period: key.period };
      const result = limit === UNLIMITED ? s.addUsed.run(where) : s.addUsedWithin.run({ ...where, limit });
      if (result.changes !== 1) throw new RetryTransaction('usage counter changed under its lock');
    },
    notify: (rows) => {
      for (const row of rows) s.insertNotification.run(row);
    },
  };
  return ledger;
}

interface Pending {
  work: () => UsageOutcome[];
  resolve: (outcomes: UsageOutcome[]) => void;
  reject: (error: unknown) => void;
}
const pendingByFile = new WeakMap<SqliteFile, { jobs: Pending[]; scheduled: boolean }>();

/**
 * Group commit on SQLite: the consumes and batches that arrive in the same turn of the event loop
 * run in one BEGIN IMMEDIATE transaction, each in its own savepoint (so one failing rolls back only
 * itself), and share its commit — the commit, not the statements, is most of a consume's cost.
 * Nobody gets an answer before the commit that stores it. The work is synchronous, so the jobs
 * run one after another exactly as if each had its own transaction.
 */
function groupCommit(db: Kysely<Database>, file: SqliteFile, work: () => UsageOutcome[]): Promise<UsageOutcome[]> {
  let pending = pendingByFile.get(file);
  if (!pending) {
    pending = { jobs: [], scheduled: false };
    pendingByFile.set(file, pending);
  }
  const queue = pending;
  return new Promise((resolve, reject) => {
    queue.jobs.push({ work, resolve, reject });
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      const settled: (() => void)[] = [];
      onSqliteFile(db, file, () => {
        queue.scheduled = false;
        const jobs = queue.jobs.splice(0);
        try {
          // IMMEDIATE takes the write lock at BEGIN, so the transaction never has to upgrade a
          // read snapshot that another process outdated.
          file
            .transaction(() => {
              for (const job of jobs) {
                try {
                  const outcomes = job.work();
                  settled.push(() => job.resolve(outcomes));
                } catch (error) {
                  // SQLite itself rolled the whole transaction back (disk full, I/O error): fail
                  // them all rather than run the rest outside any transaction.
                  if (!file.inTransaction) throw error;
                  settled.push(() => job.reject(error));
                }
              }
            })
            .immediate();
        } catch (error) {
          settled.length = 0;
          for (const job of jobs) settled.push(() => job.reject(error));
        }
      }).then(
        () => {
          for (const settle of settled) settle();
        },
        (error: unknown) => {
          // No connection (the database is closing): nothing ran.
          queue.scheduled = false;
          for (const job of queue.jobs.splice(0)) job.reject(error);
        },
      );
    });
  });
}

export async function recordUsage(
  store: MeteringStore,
  accountId: string,
  plan: EntitledPlan,
  requests: UsageRequest[],
  now: number,
): Promise<UsageOutcome[]> {
  const file = sqliteFileOf(store.db);
  if (file) {
    const ledger = sqliteLedger(file);
    const work = file.transaction(() => runSync(meter(ledger, store.catalog, accountId, plan, requests, now)));
    return retrying(() => groupCommit(store.db, file, work));
  }
  return inTransaction(store.db, (trx) =>
    runAsync(meter(kyselyLedger(trx, store.dialect), store.catalog, accountId, plan, requests, now)),
  );
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
