import type pg from 'pg';
import { NOTICE_THRESHOLDS } from '../../src-shared/notices.ts';
import type { UsageEventStatus } from '../db/schema.ts';
import { storageUnavailable } from '../http/errors.ts';
import type { StoredAnswer, UsageOutcome, UsageRequest } from './decision.ts';

/**
 * The PostgreSQL side of metering's common case: one statement, `tollgate_meter` (created by
 * migration 006_pg_metering, which says what it decides, and made cheaper by 018_pg_meter_prepared), for a whole group of consumes or a whole
 * batch. It runs as its own transaction: the statement commits before PostgreSQL reports it done
 * (node-postgres resolves a query on ReadyForQuery, after the commit; synchronous_commit stays on),
 * so nobody is answered before their usage is durable.
 */

/** One event to meter: a consume, or one of a batch. */
export interface MeterEvent {
  accountId: string;
  request: UsageRequest;
  /** The plan's monthly limit for the event's operation (-1 unlimited). */
  limit: number;
  period: string;
  now: number;
}

/** An event's outcome, or null when tollgate_meter left it to the TypeScript path (nothing of it stored). */
export type MeterAnswer = UsageOutcome | null;

const METER_SQL = `SELECT outcome, event_status, result_json FROM tollgate_meter(
  $1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[],
  $9::int[], $10::boolean, $11::int[], $12::int[], $13::text[], $14::text[], $15::text[])`;

const THRESHOLDS = [...NOTICE_THRESHOLDS];

interface MeterRow {
  outcome: 'fresh' | 'seen' | 'slow';
  event_status: UsageEventStatus | null;
  result_json: string | null;
}

/** Byte order of the UTF-8 encodings, as PostgreSQL's "C" collation orders text. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

interface Counter {
  account: string;
  operation: string;
  period: string;
  /** Where it stands in the list sent (1-based). */
  index: number;
}

/**
 * What tollgate_meter needs besides the events (migration 018_pg_meter_prepared), computed here in
 * one pass: for each event the first event of the call with its account and key (1-based; itself
 * when none came before) and its counter's place in the list of distinct counters.
 */
function callShape(events: readonly MeterEvent[]) {
  const n = events.length;
  const first = new Array<number>(n);
  const counterOf = new Array<number>(n);
  const firstByKey = new Map<string, number>();
  const counters = new Map<string, Counter>();
  const ofEvent = new Array<Counter>(n);
  for (let i = 0; i < n; i += 1) {
    const event = events[i] as MeterEvent;
    const key = `${event.accountId}\u0000${event.request.idempotencyKey}`;
    const seenAt = firstByKey.get(key);
    if (seenAt === undefined) firstByKey.set(key, i + 1);
    first[i] = seenAt ?? i + 1;
    const name = `${event.accountId}\u0000${event.request.operation}\u0000${event.period}`;
    let counter = counters.get(name);
    if (!counter) {
      counter = { account: event.accountId, operation: event.request.operation, period: event.period, index: 0 };
      counters.set(name, counter);
    }
    ofEvent[i] = counter;
  }
  // Sent in lock order, so that the rows the function creates are created in that order too.
  const list = [...counters.values()].sort(
    (x, y) => byteOrder(x.account, y.account) || byteOrder(x.operation, y.operation) || byteOrder(x.period, y.period),
  );
  list.forEach((counter, i) => {
    counter.index = i + 1;
  });
  for (let i = 0; i < n; i += 1) counterOf[i] = (ofEvent[i] as Counter).index;
  return {
    first,
    counterOf,
    accounts: list.map((c) => c.account),
    operations: list.map((c) => c.operation),
    periods: list.map((c) => c.period),
  };
}

/**
 * Meters `events` in one round trip. `whole`: all of them or none (a batch: one slow event makes
 * every answer null). Fails with the database's error (serialization_failure when a key was stored
 * concurrently), having stored nothing.
 */
export async function meterOnPostgres(
  pool: pg.Pool,
  events: readonly MeterEvent[],
  whole: boolean,
): Promise<MeterAnswer[]> {
  const n = events.length;
  const accounts = new Array<string>(n);
  const operations = new Array<string>(n);
  const units = new Array<number>(n);
  const keys = new Array<string>(n);
  const limits = new Array<number>(n);
  const periods = new Array<string>(n);
  const occurred = new Array<number | null>(n);
  const created = new Array<number>(n);
  for (let i = 0; i < n; i += 1) {
    const event = events[i] as MeterEvent;
    accounts[i] = event.accountId;
    operations[i] = event.request.operation;
    units[i] = event.request.units;
    keys[i] = event.request.idempotencyKey;
    limits[i] = event.limit;
    periods[i] = event.period;
    occurred[i] = event.request.occurredAt ?? null;
    created[i] = event.now;
  }
  const shape = callShape(events);
  const { rows } = await pool.query<MeterRow>({
    name: 'tollgate_meter',
    text: METER_SQL,
    values: [
      accounts,
      operations,
      units,
      keys,
      limits,
      periods,
      occurred,
      created,
      THRESHOLDS,
      whole,
      shape.first,
      shape.counterOf,
      shape.accounts,
      shape.operations,
      shape.periods,
    ],
  });
  return rows.map((row, i) => {
    if (row.outcome === 'slow') return null;
    return {
      idempotencyKey: keys[i] as string,
      fresh: row.outcome === 'fresh',
      eventStatus: row.event_status as UsageEventStatus,
      answer: JSON.parse(row.result_json as string) as StoredAnswer,
    };
  });
}

/** The connection itself is gone or the database cannot serve: deciding again would not help. */
export function storageLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return storageUnavailable(error) !== null && code !== '40001' && code !== '40P01';
}

/**
 * A batch of events for one account in one round trip, all or nothing; when tollgate_meter leaves
 * any of it to the TypeScript path (a refusal, a threshold) or fails as a whole, `alone` decides
 * the whole batch in a transaction of its own.
 */
export async function meterBatchOnPostgres(
  pool: pg.Pool,
  events: readonly MeterEvent[],
  alone: () => Promise<UsageOutcome[]>,
): Promise<UsageOutcome[]> {
  let answers: MeterAnswer[];
  try {
    answers = await meterOnPostgres(pool, events, true);
  } catch (error) {
    if (storageLost(error)) throw error;
    return alone();
  }
  if (answers.some((answer) => answer === null)) return alone();
  return answers as UsageOutcome[];
}
