import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

/** Per-customer overrides an administrator sets: extra units of an operation, or an extra feature, until an expiry. */

export type Override =
  | { id: string; kind: 'units'; operation: string; extraUnits: number; expiresAt: number }
  | { id: string; kind: 'feature'; feature: string; expiresAt: number };

type Db = Kysely<Database> | Transaction<Database>;

/** The account's overrides that have not expired at `now`. */
export async function readOverrides(db: Db, accountId: string, now: number): Promise<Override[]> {
  const rows = await db
    .selectFrom('account_overrides')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .execute();
  return rows.map((row): Override => {
    const expiresAt = Number(row.expires_at);
    if (row.operation !== null) {
      return { id: row.id, kind: 'units', operation: row.operation, extraUnits: Number(row.extra_units), expiresAt };
    }
    return { id: row.id, kind: 'feature', feature: row.feature ?? '', expiresAt };
  });
}

export async function addOverride(db: Db, accountId: string, override: Override, now: number): Promise<void> {
  await db
    .insertInto('account_overrides')
    .values({
      id: override.id,
      account_id: accountId,
      operation: override.kind === 'units' ? override.operation : null,
      extra_units: override.kind === 'units' ? override.extraUnits : null,
      feature: override.kind === 'feature' ? override.feature : null,
      expires_at: override.expiresAt,
      created_at: now,
    })
    .execute();
}
