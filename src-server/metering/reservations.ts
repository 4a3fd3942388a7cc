import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Reservation } from '../../src-shared/api.ts';
import type { Catalog } from '../../src-shared/catalog.ts';
import { periodOf } from '../../src-shared/period.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database, ReservationRow } from '../db/schema.ts';
import {
  compiledOnce,
  runAsync,
  type StatementRunner,
  type Steps,
  slot,
  statement,
  transactionRunner,
} from '../db/statements.ts';
import { inTransaction, RetryTransaction } from '../db/transactions.ts';
import { ApiError } from '../http/errors.ts';
import type { EntitledPlan } from '../plans/subscriptions.ts';
import { bumpCounter, lockCounters } from './counters.ts';
import { fits, limitOf, limitReachedError } from './decision.ts';
import { recordThresholds } from './notifications.ts';

/**
 * Reservations for long operations: reserve holds units against the limit (they count as used for
 * every other request), then commit turns them into usage or release gives them back. A hold that
 * is neither by its expiry is released by itself, so a crashed client never locks quota away.
 */

const DEFAULT_RESERVATION_TTL_SECONDS = 15 * 60;

/** What reservations need of the server: storage and the catalog (for the upgrade suggestion). */
export interface MeteringStore {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
}

/** What reservations need of the server: storage and the catalog (for the upgrade suggestion). */
export interface MeteringStore {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
}

interface ReserveRequest {
  operation: string;
  units: number;
  idempotencyKey: string;
  ttlSeconds?: number;
}

export function reservationView(row: ReservationRow): Reservation {
  return {
    id: row.id,
    operation: row.operation,
    units: row.units,
    status: row.status,
    expiresAt: new Date(row.expires_at).toISOString(),
    period: row.period,
  };
}

interface ExpireArgs {
  now: number;
  accountId?: string;
}

type ExpiredHold = { account_id: string; operation: string; period: string; units: number };

function compileReservationStatements(db: Kysely<Database>) {
  const expire = (ofAccount: boolean) =>
    statement<ExpireArgs, ExpiredHold>(
      db
        .updateTable('reservations')
        .set({ status: 'expired', settled_at: slot((a: ExpireArgs) => a.now) })
        .where('status', '=', 'held')
        .where(
          'expires_at',
          '<=',
          slot((a: ExpireArgs) => a.now),
        )
        .$if(ofAccount, (query) =>
          query.where(
            'account_id',
            '=',
            slot((a: ExpireArgs) => a.accountId),
          ),
        )
        .returning(['account_id', 'operation', 'period', 'units']),
    );
  return { expireOfAccount: expire(true), expireAll: expire(false) };
}

/**
 * Expires every held reservation past its expiry (of one account, or all), giving its units back.
 * The status change is one UPDATE … RETURNING, so two sweepers never release the same hold twice.
 */
export function* expireHolds(runner: StatementRunner, now: number, accountId?: string): Steps<number> {
  const s = compiledOnce(runner, compileReservationStatements);
  const expired = (yield accountId === undefined
    ? runner.rows(s.expireAll, { now })
    : runner.rows(s.expireOfAccount, { now, accountId })) as ExpiredHold[];
  for (const row of expired) {
    const key = { accountId: row.account_id, operation: row.operation, period: row.period };
    yield* lockCounters(runner, key.accountId, key.period, [key.operation]);
    yield* bumpCounter(runner, key, { used: 0, reserved: -row.units }, null);
  }
  return expired.length;
}

/** The housekeeping sweep: expires every account's held reservations that have run out. */
export function expireHeldReservations(
  database: { db: Kysely<Database>; dialect: Dialect },
  now: number,
): Promise<number> {
  return inTransaction(database.db, (trx) =>
    runAsync(expireHolds(transactionRunner(database.db, database.dialect, trx), now)),
  );
}

/** Holds units; the same idempotency key returns the same reservation (`fresh: false`). */
export async function reserve(
  store: MeteringStore,
  accountId: string,
  plan: EntitledPlan,
  request: ReserveRequest,
  now: number,
): Promise<{ reservation: Reservation; fresh: boolean }> {
  const period = periodOf(now);
  const limit = limitOf(plan, request.operation);
  return inTransaction(store.db, async (trx) => {
    const runner = transactionRunner(store.db, store.dialect, trx);
    const counterOf = async () =>
      (await runAsync(lockCounters(runner, accountId, period, [request.operation]))).get(request.operation) ?? {
        used: 0,
        reserved: 0,
      };
    let counter = await counterOf();
    const existing = await trx
      .selectFrom('reservations')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('idempotency_key', '=', request.idempotencyKey)
      .executeTakeFirst();
    if (existing) return { reservation: reservationView(existing), fresh: false };
    if (!fits(limit, counter, request.units) && counter.reserved > 0) {
      if ((await runAsync(expireHolds(runner, now, accountId))) > 0) counter = await counterOf();
    }
    if (!fits(limit, counter, request.units)) throw limitReachedError(store.catalog, plan, request, counter);
    await runAsync(
      bumpCounter(
        runner,
        { accountId, operation: request.operation, period },
        { used: 0, reserved: request.units },
        limit,
      ),
    );
    const row: ReservationRow = {
      id: `rsv_${randomUUID()}`,
      account_id: accountId,
      idempotency_key: request.idempotencyKey,
      operation: request.operation,
      units: request.units,
      period,
      status: 'held',
      expires_at: now + (request.ttlSeconds ?? DEFAULT_RESERVATION_TTL_SECONDS) * 1000,
      created_at: now,
      settled_at: null,
    };
    const inserted = await trx
      .insertInto('reservations')
      .values(row)
      .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) throw new RetryTransaction('reservation key stored concurrently');
    return { reservation: reservationView(row), fresh: true };
  });
}

export type Settlement = 'commit' | 'release';

/**
 * Commits or releases a held reservation. Repeating the same settlement answers the same; the
 * opposite one after a settlement is a conflict; a hold past its expiry cannot be committed.
 */
export async function settleReservation(
  store: MeteringStore,
  accountId: string,
  plan: EntitledPlan,
  id: string,
  settlement: Settlement,
  now: number,
): Promise<Reservation> {
  const outcome = await inTransaction(store.db, async (trx) => {
    let query = trx.selectFrom('reservations').selectAll().where('id', '=', id).where('account_id', '=', accountId);
    if (store.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) return { error: new ApiError('RESERVATION_NOT_FOUND') };
    const target = settlement === 'commit' ? 'committed' : 'released';
    if (row.status === target || (settlement === 'release' && row.status === 'expired')) {
      return { reservation: reservationView(row) };
    }
    if (row.status !== 'held') {
      return row.status === 'expired'
        ? { error: new ApiError('RESERVATION_EXPIRED') }
        : { error: new ApiError('RESERVATION_SETTLED', `The reservation is already ${row.status}.`) };
    }
    const expired = row.expires_at <= now;
    const status = expired ? 'expired' : target;
    const key = { accountId, operation: row.operation, period: row.period };
    const runner = transactionRunner(store.db, store.dialect, trx);
    const before = (await runAsync(lockCounters(runner, accountId, row.period, [row.operation]))).get(row.operation);
    const used = status === 'committed' ? row.units : 0;
    await runAsync(bumpCounter(runner, key, { used, reserved: -row.units }, null));
    await trx.updateTable('reservations').set({ status, settled_at: now }).where('id', '=', row.id).execute();
    if (used > 0 && before) {
      await runAsync(
        recordThresholds(runner, {
          ...key,
          limit: limitOf(plan, row.operation),
          usedBefore: before.used,
          usedAfter: before.used + used,
          now,
        }),
      );
    }
    // The expiry is stored even though the commit is refused: its units are free again either way.
    return expired && settlement === 'commit'
      ? { error: new ApiError('RESERVATION_EXPIRED') }
      : { reservation: reservationView({ ...row, status }) };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.reservation;
}
