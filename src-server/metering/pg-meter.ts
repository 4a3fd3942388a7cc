import type pg from 'pg';
import { NOTICE_THRESHOLDS } from '../../src-shared/notices.ts';
import type { UsageEventStatus } from '../db/schema.ts';
import { storageUnavailable } from '../http/errors.ts';
import type { StoredAnswer, UsageOutcome, UsageRequest } from './decision.ts';

/**
 * The PostgreSQL side of metering's common case: one statement, `tollgate_meter`, for a whole
 * group of consumes or a whole batch. Migration 006_pg_metering created it and says what it
 * decides; 018_pg_meter_prepared and 020_pg_meter_set_based made it cheaper without changing what
 * it decides. It runs as its own transaction: the statement commits before PostgreSQL reports it done
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

const QUOTED = /["\\]/;
const QUOTED_ALL = /["\\]/g;

/**
 * The parameters are sent as PostgreSQL array literals written here in one pass: node-postgres
 * would quote each element with two regular-expression replaces (for a 1,000-event batch, eight
 * arrays of 1,000: about a tenth of the server's time per batch). Every element is quoted; `"` and
 * `\` are escaped with a backslash, which is all a quoted element needs.
 */
class ArrayLiteral {
  private text = '{';

  add(value: string | number | null): void {
    if (this.text.length > 1) this.text += ',';
    if (value === null) this.text += 'NULL';
    else if (typeof value === 'number') this.text += String(value);
    else this.text += `"${QUOTED.test(value) ? value.replace(QUOTED_ALL, '\\$&') : value}"`;
  }

  toString(): string {
    return `${this.text}}`;
  }
}

interface Counter {
  account: string;
  operation: string;
  period: string;
  /** Where it stands in the list sent (1-based). */
  index: number;
}

/** `map.get(key)`, or `fresh()` stored under it. */
function entry<K, V>(map: Map<K, V>, key: K, fresh: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = fresh();
    map.set(key, value);
  }
  return value;
}

/**
 * The statement's parameters for `events`: one array per column, and what tollgate_meter needs
 * besides (migration 018_pg_meter_prepared), computed in the same pass: for each event the first
 * event of the call with its account and key (1-based; itself when none came before) and its
 * counter's place in the list of distinct counters, which is sent in lock order.
 */
function meterParameters(events: readonly MeterEvent[], whole: boolean): unknown[] {
  const column = () => new ArrayLiteral();
  const accounts = column();
  const operations = column();
  const units = column();
  const keys = column();
  const limits = column();
  const periods = column();
  const occurred = column();
  const created = column();
  const first = column();
  // Repeated keys are found through a map per account, so no string is built per event.
  const firstByKey = new Map<string, Map<string, number>>();
  const counters = new Map<string, Counter>();
  const ofEvent = new Array<Counter>(events.length);
  let previous: Counter | undefined;
  events.forEach((event, i) => {
    const { accountId, request } = event;
    accounts.add(accountId);
    operations.add(request.operation);
    units.add(request.units);
    keys.add(request.idempotencyKey);
    limits.add(event.limit);
    periods.add(event.period);
    occurred.add(request.occurredAt ?? null);
    created.add(event.now);
    const byKey = entry(firstByKey, accountId, () => new Map<string, number>());
    const seenAt = byKey.get(request.idempotencyKey);
    if (seenAt === undefined) byKey.set(request.idempotencyKey, i + 1);
    first.add(seenAt ?? i + 1);
    // Events of a batch mostly share the one before's counter: its name is built only when it changes.
    if (
      previous?.account !== accountId ||
      previous.operation !== request.operation ||
      previous.period !== event.period
    ) {
      previous = entry(counters, `${accountId}\u0000${request.operation}\u0000${event.period}`, () => ({
        account: accountId,
        operation: request.operation,
        period: event.period,
        index: 0,
      }));
    }
    ofEvent[i] = previous;
  });
  // Sent in lock order, so that the rows the function creates are created in that order too.
  const list = [...counters.values()].sort(
    (x, y) => byteOrder(x.account, y.account) || byteOrder(x.operation, y.operation) || byteOrder(x.period, y.period),
  );
  const counterColumns = [column(), column(), column()] as const;
  list.forEach((counter, i) => {
    counter.index = i + 1;
    counterColumns[0].add(counter.account);
    counterColumns[1].add(counter.operation);
    counterColumns[2].add(counter.period);
  });
  const counterOf = column();
  for (const counter of ofEvent) counterOf.add(counter.index);
  return [
    ...[accounts, operations, units, keys, limits, periods, occurred, created].map(String),
    THRESHOLDS,
    whole,
    String(first),
    String(counterOf),
    ...counterColumns.map(String),
  ];
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
  const { rows } = await pool.query<MeterRow>({
    name: 'tollgate_meter',
    text: METER_SQL,
    values: meterParameters(events, whole),
  });
  return rows.map((row, i) => {
    if (row.outcome === 'slow') return null;
    return {
      idempotencyKey: (events[i] as MeterEvent).request.idempotencyKey,
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
