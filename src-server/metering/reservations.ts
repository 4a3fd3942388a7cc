import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Reservation } from '../../src-shared/api.ts';
import { periodOf } from '../../src-shared/period.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database, ReservationRow } from '../db/schema.ts';
import { inTransaction, RetryTransaction } from '../db/transactions.ts';
import { ApiError } from '../http/errors.ts';
import type { EntitledPlan } from '../plans/subscriptions.ts';
import { bumpCounter, fits, limitOf, lockCounters, type MeteringStore } from './metering.ts';
import { recordThresholds } from './notifications.ts';

/**
 * Reservations for long operations: reserve holds units against the limit (they count as used for
 * every other request), then commit turns them into usage or release gives them back. A hold that
 * is neither by its expiry is released by itself, so a crashed client never locks quota away.
 */

export const DEFAULT_RESERVATION_TTL_SECONDS = 15 * 60;

export interface ReserveRequest {
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

/**
 * Expires every held reservation past its expiry (of one account, or all), giving its units back.
 * The status change is one UPDATE … RETURNING, so two sweepers never release the same hold twice.
 */
export async function expireHeldReservations(
  trx: Transaction<Database>,
  dialect: Dialect,
  now: number,
  accountId?: string,
): Promise<number> {
  let query = trx
    .updateTable('reservations')
    .set({ status: 'expired', settled_at: now })
    .where('status', '=', 'held')
    .where('expires_at', '<=', now);
  if (accountId) query = query.where('account_id', '=', accountId);
  const expired = await query.returning(['account_id', 'operation', 'period', 'units']).execute();
  for (const row of expired) {
    await lockCounters(trx, dialect, row.account_id, row.period, [row.operation]);
    await bumpCounter(
      trx,
      { accountId: row.account_id, operation: row.operation, period: row.period },
      { used: 0, reserved: -row.units },
      null,
    );
  }
  return expired.length;
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
    let counter = (await lockCounters(trx, store.dialect, accountId, period, [request.operation])).get(
      request.operation,
    ) ?? { used: 0, reserved: 0 };
    const existing = await trx
      .selectFrom('reservations')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('idempotency_key', '=', request.idempotencyKey)
      .executeTakeFirst();
    if (existing) return { reservation: reservationView(existing), fresh: false };
    if (!fits(limit, counter, request.units) && counter.reserved > 0) {
      if ((await expireHeldReservations(trx, store.dialect, now, accountId)) > 0) {
        counter = (await lockCounters(trx, store.dialect, accountId, period, [request.operation])).get(
          request.operation,
        ) ?? { used: 0, reserved: 0 };
      }
    }
    if (!fits(limit, counter, request.units)) {
      const remaining = Math.max(0, limit - counter.used - counter.reserved);
      throw new ApiError('LIMIT_REACHED', `${request.units} units needed; ${remaining} of ${limit} left this month.`, {
        limit,
        remaining,
      });
    }
    await bumpCounter(
      trx,
      { accountId, operation: request.operation, period },
      { used: 0, reserved: request.units },
      limit,
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
    const before = (await lockCounters(trx, store.dialect, accountId, row.period, [row.operation])).get(row.operation);
    const used = status === 'committed' ? row.units : 0;
    await bumpCounter(trx, key, { used, reserved: -row.units }, null);
    await trx.updateTable('reservations').set({ status, settled_at: now }).where('id', '=', row.id).execute();
    if (used > 0 && before) {
      await recordThresholds(trx, {
        ...key,
        limit: limitOf(plan, row.operation),
        usedBefore: before.used,
        usedAfter: before.used + used,
        now,
      });
    }
    // The expiry is stored even though the commit is refused: its units are free again either way.
    return expired && settlement === 'commit'
      ? { error: new ApiError('RESERVATION_EXPIRED') }
      : { reservation: reservationView({ ...row, status }) };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.reservation;
}
