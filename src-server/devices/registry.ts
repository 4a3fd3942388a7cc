import type { Kysely, Transaction } from 'kysely';
import type { Device } from '../../src-shared/api.ts';
import { fitsLimit } from '../../src-shared/decisions.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database, DeviceRow } from '../db/schema.ts';
import { runAsync, transactionRunner } from '../db/statements.ts';
import { inTransaction } from '../db/transactions.ts';
import { returnDeviceLeasesIn } from '../metering/leases.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';

/**
 * The device registry: which machines hold a license for an account. A device is activated by its
 * first license request, seen again on every one after (the companion asks on each full sync),
 * and stops counting against max_devices when the user releases it or it is not seen for the
 * configured inactivity. Activation locks the account (PostgreSQL: its `accounts` row; SQLite: one
 * writer at a time), so racing activations never exceed the limit.
 */

export interface DeviceStore {
  db: Kysely<Database>;
  dialect: Dialect;
  /** A device not seen for this long expires. */
  inactivityMs: number;
}

export interface DeviceInfo {
  deviceId: string;
  name: string;
  os: string;
  appVersion: string;
}

export type Activation =
  | { outcome: 'active'; device: Device }
  | { outcome: 'released' }
  | { outcome: 'limit_reached'; active: Device[] };

/**
 * The one place a device leaves the account (released by the user or expired), inside the
 * transaction that marks it: its quota leases give their unspent units back to the account, and
 * the vendor's systems hear of it (`device.released`, docs/webhooks.md).
 */
async function deviceDeparted(
  store: DeviceStore,
  trx: Transaction<Database>,
  accountId: string,
  deviceId: string,
  reason: 'released' | 'expired',
  now: number,
): Promise<void> {
  await returnDeviceLeasesIn(store, trx, accountId, deviceId, now);
  await runAsync(
    enqueueEvent(transactionRunner(store.db, store.dialect, trx), {
      accountId,
      type: 'device.released',
      data: { deviceId, reason },
      now,
    }),
  );
}

/** A device started counting against the account's max_devices (`device.activated`). */
function deviceActivated(
  store: DeviceStore,
  trx: Transaction<Database>,
  device: Device,
  accountId: string,
  now: number,
) {
  return runAsync(
    enqueueEvent(transactionRunner(store.db, store.dialect, trx), {
      accountId,
      type: 'device.activated',
      data: { device },
      now,
    }),
  );
}

function deviceView(row: DeviceRow): Device {
  return {
    deviceId: row.device_id,
    name: row.name,
    os: row.os,
    appVersion: row.app_version,
    activatedAt: new Date(row.activated_at).toISOString(),
    lastSeenAt: new Date(row.last_seen_at).toISOString(),
  };
}

async function lockAccount(trx: Transaction<Database>, dialect: Dialect, accountId: string): Promise<void> {
  // SQLite runs one write transaction at a time; PostgreSQL needs the row lock to serialize.
  if (dialect !== 'postgres') return;
  await trx.selectFrom('accounts').select('id').where('id', '=', accountId).forUpdate().executeTakeFirst();
}

/** Marks the account's devices not seen since the inactivity cut-off as expired. */
async function expireInactive(trx: Transaction<Database>, store: DeviceStore, accountId: string, now: number) {
  const stale = await trx
    .selectFrom('devices')
    .select('device_id')
    .where('account_id', '=', accountId)
    .where('released_at', 'is', null)
    .where('last_seen_at', '<', now - store.inactivityMs)
    .execute();
  for (const { device_id } of stale) {
    await trx
      .updateTable('devices')
      .set({ released_at: now, release_reason: 'expired' })
      .where('account_id', '=', accountId)
      .where('device_id', '=', device_id)
      .execute();
    await deviceDeparted(store, trx, accountId, device_id, 'expired', now);
  }
}

function activeRows(trx: Transaction<Database>, accountId: string) {
  return trx
    .selectFrom('devices')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('released_at', 'is', null)
    .orderBy('last_seen_at', 'desc')
    .orderBy('device_id')
    .execute();
}

/**
 * Activates the device, or sees it again. An active device always stays active, even when the
 * plan now allows fewer devices than are active (a downgrade): only new activations are refused,
 * so nobody is locked out of every device; the user releases the ones to drop.
 */
export async function activateDevice(
  store: DeviceStore,
  accountId: string,
  maxDevices: number,
  info: DeviceInfo,
  options: { now: number; reactivate: boolean },
): Promise<Activation> {
  const { now } = options;
  return inTransaction(store.db, async (trx) => {
    await lockAccount(trx, store.dialect, accountId);
    await expireInactive(trx, store, accountId, now);
    const existing = await trx
      .selectFrom('devices')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('device_id', '=', info.deviceId)
      .executeTakeFirst();
    const seen = { name: info.name, os: info.os, app_version: info.appVersion, last_seen_at: now };
    if (existing && existing.released_at === null) {
      await trx
        .updateTable('devices')
        .set(seen)
        .where('account_id', '=', accountId)
        .where('device_id', '=', info.deviceId)
        .execute();
      return { outcome: 'active', device: deviceView({ ...existing, ...seen }) };
    }
    if (existing?.release_reason === 'released' && !options.reactivate) return { outcome: 'released' };
    const active = await activeRows(trx, accountId);
    if (!fitsLimit(maxDevices, active.length, 1)) return { outcome: 'limit_reached', active: active.map(deviceView) };
    const row: DeviceRow = {
      account_id: accountId,
      device_id: info.deviceId,
      ...seen,
      activated_at: now,
      released_at: null,
      release_reason: null,
    };
    if (existing) {
      await trx
        .updateTable('devices')
        .set(row)
        .where('account_id', '=', accountId)
        .where('device_id', '=', info.deviceId)
        .execute();
    } else {
      await trx.insertInto('devices').values(row).execute();
    }
    const device = deviceView(row);
    await deviceActivated(store, trx, device, accountId, now);
    return { outcome: 'active', device };
  });
}

/** The account's active devices, most recently seen first. */
export async function listDevices(store: DeviceStore, accountId: string, now: number): Promise<Device[]> {
  return inTransaction(store.db, async (trx) => {
    await lockAccount(trx, store.dialect, accountId);
    await expireInactive(trx, store, accountId, now);
    return (await activeRows(trx, accountId)).map(deviceView);
  });
}

/** Renames an active device; false when the account has no such active device. */
export async function renameDevice(
  store: DeviceStore,
  accountId: string,
  deviceId: string,
  name: string,
): Promise<Device | null> {
  const row = await store.db
    .updateTable('devices')
    .set({ name })
    .where('account_id', '=', accountId)
    .where('device_id', '=', deviceId)
    .where('released_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return row ? deviceView(row) : null;
}

/** Releases an active device: it stops counting at once and its next license request is refused. */
export async function releaseDevice(
  store: DeviceStore,
  accountId: string,
  deviceId: string,
  now: number,
): Promise<boolean> {
  return inTransaction(store.db, async (trx) => {
    await lockAccount(trx, store.dialect, accountId);
    const released = await trx
      .updateTable('devices')
      .set({ released_at: now, release_reason: 'released' })
      .where('account_id', '=', accountId)
      .where('device_id', '=', deviceId)
      .where('released_at', 'is', null)
      .executeTakeFirst();
    if (released.numUpdatedRows === 0n) return false;
    await deviceDeparted(store, trx, accountId, deviceId, 'released', now);
    return true;
  });
}
