import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { Kysely, Transaction } from 'kysely';
import type { LeaseResponse } from '../../src-shared/api.ts';
import { UNLIMITED } from '../../src-shared/catalog.ts';
import { signLease } from '../../src-shared/lease.ts';
import { periodOf } from '../../src-shared/period.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
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
import type { EntitledPlan } from '../plans/subscriptions.ts';
import { bumpCounter, type CounterState, lockCounters } from './counters.ts';
import type { UsageRequest } from './decision.ts';
import { limitOf } from './decision.ts';
import { seenKeys } from './ledger.ts';
import type { MeteringStore } from './reservations.ts';

/**
 * Quota leases: while online, a device holds, per limited operation, units it may spend offline.
 * They are held on the server exactly like a reservation (in usage_counters.reserved), so no other
 * device — online or offline — can spend them, and no lease can hold more than what remains.
 *
 * - Granted and renewed by POST /v1/leases on each sync (grantLeases), sized by leaseSize.
 * - Spent: a synced event of the device takes its units from the lease first (spendFromLeases, in
 *   the same transaction as recordUsage), moving them from held to used: counted once under the
 *   event's idempotency key, and never past the limit because they were already counted as taken.
 * - Returned: held units go back when the lease is not renewed by its hold end (expireLeases), or
 *   when the device is released (returnDeviceLeases, for the device registry).
 *
 * Every change to a lease is made while its (account, operation, period) counter row is locked, so
 * leases, consumes and reservations of one operation are serialized against each other.
 */

/** A lease may hold at most this share of the monthly limit: no device can take it all. */
const LEASE_SHARE_OF_LIMIT = 0.25;
/**
 * The server keeps the units held this long past the signed expiry (when the device stops spending
 * them), so units a device spent just before the expiry and syncs a little later are still covered.
 */
const LEASE_SETTLE_MS = 24 * 3600 * 1000;

/**
 * How many units a device's lease holds after a renewal: a fair share of what remains unheld
 * (what is left after the usage and the other devices' holds, split between this device and each
 * other device holding a lease), capped at a quarter of the limit, never more than what remains.
 */
function leaseSize(input: { limit: number; available: number; otherHolders: number }): number {
  const { limit, available, otherHolders } = input;
  if (available <= 0) return 0;
  const cap = Math.max(1, Math.ceil(limit * LEASE_SHARE_OF_LIMIT));
  const share = Math.ceil(available / (otherHolders + 1));
  return Math.min(available, cap, share);
}

interface DeviceArgs {
  accountId: string;
  deviceId: string;
  period: string;
}

interface LeaseRow {
  id: string;
  operation: string;
  period: string;
  held: number;
  spent: number;
  status: string;
  expires_at: number;
}

interface SetArgs {
  id: string;
  held: number;
  spent: number;
  status: string;
  expiresAt: number;
  now: number;
}

interface ExpiredArgs {
  now: number;
  accountId?: string;
}

type ExpiredRow = { id: string; account_id: string; operation: string; period: string };

function compileLeaseStatements(db: Kysely<Database>) {
  const expired = (ofAccount: boolean) =>
    statement<ExpiredArgs, ExpiredRow>(
      db
        .selectFrom('leases')
        .select(['id', 'account_id', 'operation', 'period'])
        .where('status', '=', 'held')
        .where(
          'expires_at',
          '<=',
          slot((a: ExpiredArgs) => a.now),
        )
        .$if(ofAccount, (q) =>
          q.where(
            'account_id',
            '=',
            slot((a: ExpiredArgs) => a.accountId),
          ),
        )
        // One lock order for every sweep, as counters.ts keeps within an account.
        .orderBy('account_id')
        .orderBy('period')
        .orderBy('operation'),
    );
  return {
    ofDevice: statement<DeviceArgs, LeaseRow>(
      db
        .selectFrom('leases')
        .select(['id', 'operation', 'period', 'held', 'spent', 'status', 'expires_at'])
        .where(
          'account_id',
          '=',
          slot((a: DeviceArgs) => a.accountId),
        )
        .where(
          'device_id',
          '=',
          slot((a: DeviceArgs) => a.deviceId),
        )
        .where(
          'period',
          '=',
          slot((a: DeviceArgs) => a.period),
        )
        .where('status', '=', 'held'),
    ),
    byId: statement<{ id: string }, LeaseRow>(
      db
        .selectFrom('leases')
        .select(['id', 'operation', 'period', 'held', 'spent', 'status', 'expires_at'])
        .where(
          'id',
          '=',
          slot((a: { id: string }) => a.id),
        ),
    ),
    set: statement<SetArgs>(
      db
        .updateTable('leases')
        .set({
          held: slot((a: SetArgs) => a.held),
          spent: slot((a: SetArgs) => a.spent),
          status: slot((a: SetArgs) => a.status),
          expires_at: slot((a: SetArgs) => a.expiresAt),
          updated_at: slot((a: SetArgs) => a.now),
        })
        .where(
          'id',
          '=',
          slot((a: SetArgs) => a.id),
        ),
    ),
    expiredOfAccount: expired(true),
    expiredAll: expired(false),
  };
}

function* setLease(runner: StatementRunner, args: SetArgs): Steps<void> {
  const s = compiledOnce(runner, compileLeaseStatements);
  if ((yield runner.changes(s.set, args)) !== 1) throw new RetryTransaction('lease changed under its lock');
}

/**
 * Gives back the held units of every lease (of one account, or all) past its hold end. Each is
 * re-read under its counter's lock, so a lease renewed or spent meanwhile is left alone.
 */
export function* expireLeases(runner: StatementRunner, now: number, accountId?: string): Steps<number> {
  const s = compiledOnce(runner, compileLeaseStatements);
  const candidates = (yield accountId === undefined
    ? runner.rows(s.expiredAll, { now })
    : runner.rows(s.expiredOfAccount, { now, accountId })) as ExpiredRow[];
  let expired = 0;
  for (const candidate of candidates) {
    yield* lockCounters(runner, candidate.account_id, candidate.period, [candidate.operation]);
    const [lease] = (yield runner.rows(s.byId, { id: candidate.id })) as LeaseRow[];
    if (lease?.status !== 'held' || Number(lease.expires_at) > now) continue;
    yield* giveBack(runner, candidate.account_id, lease, 'expired', now);
    expired += 1;
  }
  return expired;
}

function* giveBack(
  runner: StatementRunner,
  accountId: string,
  lease: LeaseRow,
  status: 'expired' | 'returned',
  now: number,
): Steps<void> {
  const held = Number(lease.held);
  if (held > 0) {
    const key = { accountId, operation: lease.operation, period: lease.period };
    yield* bumpCounter(runner, key, { used: 0, reserved: -held }, null);
  }
  yield* setLease(runner, {
    id: lease.id,
    held: 0,
    spent: Number(lease.spent),
    status,
    expiresAt: Number(lease.expires_at),
    now,
  });
}

/**
 * Before a device's batch is metered (same transaction): the new events take their units from the
 * device's leases, in batch order, moving them out of `reserved` so the metering that follows
 * counts them as used. Keys seen before take nothing (their units were counted the first time).
 */
export function* spendFromLeases(
  runner: StatementRunner,
  accountId: string,
  deviceId: string,
  requests: readonly UsageRequest[],
  now: number,
): Steps<void> {
  const s = compiledOnce(runner, compileLeaseStatements);
  const period = periodOf(now);
  yield* lockCounters(
    runner,
    accountId,
    period,
    requests.map((r) => r.operation),
  );
  const leases = (yield runner.rows(s.ofDevice, { accountId, deviceId, period })) as LeaseRow[];
  const byOperation = new Map(leases.map((lease) => [lease.operation, { ...lease, taken: 0 }]));
  if (byOperation.size === 0) return;
  const seen = yield* seenKeys(runner, accountId, [...new Set(requests.map((r) => r.idempotencyKey))]);
  const counted = new Set<string>();
  for (const request of requests) {
    if (seen.has(request.idempotencyKey) || counted.has(request.idempotencyKey)) continue;
    counted.add(request.idempotencyKey);
    const lease = byOperation.get(request.operation);
    if (!lease) continue;
    lease.taken += Math.min(request.units, Number(lease.held) - lease.taken);
  }
  for (const lease of byOperation.values()) {
    if (lease.taken === 0) continue;
    yield* bumpCounter(
      runner,
      { accountId, operation: lease.operation, period },
      { used: 0, reserved: -lease.taken },
      null,
    );
    yield* setLease(runner, {
      id: lease.id,
      held: Number(lease.held) - lease.taken,
      spent: Number(lease.spent) + lease.taken,
      status: 'held',
      expiresAt: Number(lease.expires_at),
      now,
    });
  }
}

interface LeaseStore extends MeteringStore {
  licenseKey: { privateJwk: JWK };
}

interface GrantRequest {
  deviceId: string;
  pending?: Readonly<Record<string, number>> | undefined;
  /** When the device must stop spending the lease (the license's offline grace). */
  ttlMs: number;
}

/**
 * Renews (or first grants) the device's lease of every limited operation of the plan, each resized
 * to leaseSize, but never below what the device reports spent and not yet synced (still within
 * what it holds), and signs one lease per operation.
 */
export async function grantLeases(
  store: LeaseStore,
  accountId: string,
  plan: EntitledPlan,
  request: GrantRequest,
  now: number,
): Promise<LeaseResponse> {
  const period = periodOf(now);
  const operations = Object.keys(store.catalog.operations)
    .filter((op) => {
      const limit = limitOf(plan, op);
      return limit !== UNLIMITED && limit > 0;
    })
    .sort();
  const signedExpiry = now + request.ttlMs;
  const holdEnd = signedExpiry + LEASE_SETTLE_MS;
  const held = await inTransaction(store.db, async (trx) => {
    const runner = transactionRunner(store.db, store.dialect, trx);
    await runAsync(expireLeases(runner, now, accountId));
    if (operations.length === 0) return new Map<string, number>();
    const counters = await runAsync(lockCounters(runner, accountId, period, operations));
    const mine = await trx
      .selectFrom('leases')
      .select(['id', 'operation', 'held', 'spent', 'status'])
      .where('account_id', '=', accountId)
      .where('device_id', '=', request.deviceId)
      .where('period', '=', period)
      .execute();
    const holders = await trx
      .selectFrom('leases')
      .select(['operation'])
      .select((eb) => eb.fn.countAll<number>().as('devices'))
      .where('account_id', '=', accountId)
      .where('period', '=', period)
      .where('status', '=', 'held')
      .where('held', '>', 0)
      .where('device_id', '!=', request.deviceId)
      .groupBy('operation')
      .execute();
    const others = new Map(holders.map((row) => [row.operation, Number(row.devices)]));
    const result = new Map<string, number>();
    for (const operation of operations) {
      const limit = limitOf(plan, operation);
      const counter = counters.get(operation) as CounterState;
      const existing = mine.find((row) => row.operation === operation);
      const own = existing?.status === 'held' ? Number(existing.held) : 0;
      const available = limit - counter.used - (counter.reserved - own);
      const size = leaseSize({ limit, available, otherHolders: others.get(operation) ?? 0 });
      const next = Math.max(size, Math.min(own, request.pending?.[operation] ?? 0));
      if (next !== own) {
        await runAsync(
          bumpCounter(
            runner,
            { accountId, operation, period },
            { used: 0, reserved: next - own },
            next > own ? limit : null,
          ),
        );
      }
      if (existing) {
        await runAsync(
          setLease(runner, {
            id: existing.id,
            held: next,
            spent: Number(existing.spent),
            status: 'held',
            expiresAt: holdEnd,
            now,
          }),
        );
      } else {
        const inserted = await trx
          .insertInto('leases')
          .values({
            id: `lse_${randomUUID()}`,
            account_id: accountId,
            device_id: request.deviceId,
            operation,
            period,
            held: next,
            spent: 0,
            status: 'held',
            expires_at: holdEnd,
            created_at: now,
            updated_at: now,
          })
          .onConflict((oc) => oc.columns(['account_id', 'device_id', 'operation', 'period']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) throw new RetryTransaction('lease stored concurrently');
      }
      result.set(operation, next);
    }
    return result;
  });
  const leases = await Promise.all(
    [...held].map(async ([operation, units]) => ({
      operation,
      units,
      period,
      expiresAt: new Date(signedExpiry).toISOString(),
      token: await signLease(
        { sub: accountId, dev: request.deviceId, op: operation, period, units },
        store.licenseKey.privateJwk,
        { now, expiresAt: signedExpiry },
      ),
    })),
  );
  return { leases, serverTime: new Date(now).toISOString() };
}

/**
 * Gives back every unit the device's leases hold, of every period (the device was released or
 * expired by the device registry). Its events synced later are metered like any other usage.
 */
export function returnDeviceLeases(
  database: { db: Kysely<Database>; dialect: Dialect },
  accountId: string,
  deviceId: string,
  now = Date.now(),
): Promise<number> {
  return inTransaction(database.db, (trx) => returnDeviceLeasesIn(database, trx, accountId, deviceId, now));
}

/** returnDeviceLeases inside a transaction the caller holds (the device registry's release). */
export async function returnDeviceLeasesIn(
  database: { db: Kysely<Database>; dialect: Dialect },
  trx: Transaction<Database>,
  accountId: string,
  deviceId: string,
  now: number,
): Promise<number> {
  const runner = transactionRunner(database.db, database.dialect, trx);
  const s = compiledOnce(runner, compileLeaseStatements);
  const leases = await trx
    .selectFrom('leases')
    .select(['id', 'operation', 'period'])
    .where('account_id', '=', accountId)
    .where('device_id', '=', deviceId)
    .where('status', '=', 'held')
    .orderBy('period')
    .orderBy('operation')
    .execute();
  let returned = 0;
  for (const candidate of leases) {
    await runAsync(lockCounters(runner, accountId, candidate.period, [candidate.operation]));
    const [lease] = await runner.rows(s.byId, { id: candidate.id });
    if (lease?.status !== 'held') continue;
    returned += Number(lease.held);
    await runAsync(giveBack(runner, accountId, lease, 'returned', now));
  }
  return returned;
}

/** The housekeeping sweep: gives back the units of every lease past its hold end. */
export function expireHeldLeases(database: { db: Kysely<Database>; dialect: Dialect }, now: number): Promise<number> {
  return inTransaction(database.db, (trx) =>
    runAsync(expireLeases(transactionRunner(database.db, database.dialect, trx), now)),
  );
}
