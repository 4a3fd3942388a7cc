import type { Kysely } from 'kysely';
import type { Database } from '../../../src-server/db/schema.ts';
import { type Catalog, findTier, type TierId, UNLIMITED } from '../../../src-shared/catalog.ts';
import { addMonths, periodEnd, periodStart } from '../../../src-shared/period.ts';

/**
 * The admin reports recomputed the slow, obvious way — whole tables in memory, every account
 * searched for every question — straight from the definitions in docs/analytics.md and without
 * any of src-server/analytics. The tests compare the API with this on a seeded database.
 */

interface EventRow {
  id: string;
  account_id: string;
  at: number;
  to_tier: string;
  mrr_after_cents: number;
  mrr_ends_at: number | null;
}

export interface World {
  accounts: { id: string; email: string; created_at: number }[];
  events: EventRow[];
  invoices: Database['invoices'][];
  usage: Database['usage_counters'][];
}

export async function loadWorld(db: Kysely<Database>): Promise<World> {
  const [accounts, events, invoices, usage] = await Promise.all([
    db.selectFrom('accounts').select(['id', 'email', 'created_at']).execute(),
    db
      .selectFrom('subscription_events')
      .select(['id', 'account_id', 'at', 'to_tier', 'mrr_after_cents', 'mrr_ends_at'])
      .execute(),
    db.selectFrom('invoices').selectAll().execute(),
    db.selectFrom('usage_counters').selectAll().execute(),
  ]);
  const numbers = <T extends object>(row: T, keys: (keyof T)[]) => {
    for (const key of keys) (row[key] as unknown) = Number(row[key]);
    return row;
  };
  return {
    accounts: accounts.map((row) => numbers(row, ['created_at'])),
    events: events.map((row) => ({
      ...numbers(row, ['at', 'mrr_after_cents']),
      mrr_ends_at: row.mrr_ends_at === null ? null : Number(row.mrr_ends_at),
    })),
    invoices: invoices.map((row) =>
      numbers(row, ['amount_paid_cents', 'setup_fee_cents', 'amount_refunded_cents', 'paid_at']),
    ),
    usage: usage.map((row) => numbers(row, ['used'])),
  };
}

/** The account's last event before `instant`: latest `at`, then greatest id. */
function lastEventBefore(world: World, accountId: string, instant: number): EventRow | undefined {
  let last: EventRow | undefined;
  for (const event of world.events) {
    if (event.account_id !== accountId || event.at >= instant) continue;
    if (!last || event.at > last.at || (event.at === last.at && event.id > last.id)) last = event;
  }
  return last;
}

export function mrrOf(world: World, accountId: string, instant: number): { mrr: number; tier: TierId } {
  const event = lastEventBefore(world, accountId, instant);
  // A past-due subscription's MRR is gone once its grace ended before the instant.
  const ended = event?.mrr_ends_at != null && event.mrr_ends_at < instant;
  const mrr = ended ? 0 : (event?.mrr_after_cents ?? 0);
  return { mrr, tier: mrr > 0 ? (event?.to_tier as TierId) : 'free' };
}

function paidBefore(world: World, accountId: string, instant: number): boolean {
  return world.events.some(
    (event) => event.account_id === accountId && event.at < instant && event.mrr_after_cents > 0,
  );
}

export function bruteSummary(world: World, month: string, currency: string) {
  const start = periodStart(month);
  const end = periodEnd(month);
  let mrr = 0;
  let opening = 0;
  let subscribers = 0;
  let openingSubscribers = 0;
  const byTier: Record<string, number> = {};
  const movement = { newCents: 0, expansionCents: 0, contractionCents: 0, churnedCents: 0, reactivationCents: 0 };
  let churnedAccounts = 0;
  let converted = 0;
  let eligible = 0;
  let accounts = 0;
  for (const account of world.accounts) {
    const before = mrrOf(world, account.id, start).mrr;
    const after = mrrOf(world, account.id, end);
    if (account.created_at < end) accounts += 1;
    mrr += after.mrr;
    opening += before;
    if (after.mrr > 0) {
      subscribers += 1;
      byTier[after.tier] = (byTier[after.tier] ?? 0) + 1;
    }
    if (before > 0) openingSubscribers += 1;
    const paidEarlier = paidBefore(world, account.id, start);
    if (before === 0 && after.mrr > 0) {
      if (paidEarlier) movement.reactivationCents += after.mrr;
      else movement.newCents += after.mrr;
    } else if (before > 0 && after.mrr === 0) {
      movement.churnedCents += before;
      churnedAccounts += 1;
    } else if (after.mrr > before) movement.expansionCents += after.mrr - before;
    else movement.contractionCents += before - after.mrr;
    if (account.created_at < end && !paidEarlier) {
      eligible += 1;
      if (paidBefore(world, account.id, end)) converted += 1;
    }
  }
  const revenueChurn = opening === 0 ? null : (movement.churnedCents + movement.contractionCents) / opening;
  const arpu = subscribers === 0 ? null : Math.round(mrr / subscribers);
  const revenueNet = world.invoices
    .filter((row) => row.currency === currency && row.paid_at >= start && row.paid_at < end)
    .reduce((sum, row) => sum + row.amount_paid_cents - row.amount_refunded_cents, 0);
  return {
    mrrCents: mrr,
    openingMrrCents: opening,
    subscribers,
    byTier,
    movement,
    churnedAccounts,
    accounts,
    freeAccounts: accounts - subscribers,
    conversion: { converted, eligible },
    logoChurnRate: openingSubscribers === 0 ? null : churnedAccounts / openingSubscribers,
    revenueChurnRate: revenueChurn,
    arpuCents: arpu,
    ltvCents: arpu === null || !revenueChurn ? null : Math.round(arpu / revenueChurn),
    revenueNetCents: revenueNet,
  };
}

export function bruteRevenue(world: World, month: string, currency: string) {
  const byTier: Record<string, { invoices: number; gross: number; setup: number; refunded: number }> = {};
  for (const row of world.invoices) {
    if (row.currency !== currency || row.paid_at < periodStart(month) || row.paid_at >= periodEnd(month)) continue;
    const line = byTier[row.tier] ?? { invoices: 0, gross: 0, setup: 0, refunded: 0 };
    byTier[row.tier] = line;
    line.invoices += 1;
    line.gross += row.amount_paid_cents;
    line.setup += row.setup_fee_cents;
    line.refunded += row.amount_refunded_cents;
  }
  return byTier;
}

export function bruteUsage(world: World, catalog: Catalog, month: string) {
  const end = periodEnd(month);
  const cells: Record<string, { accounts: number; used: number; atLeast80: number; atLimit: number }> = {};
  const upsell: { accountId: string; operation: string; ratio: number }[] = [];
  for (const row of world.usage) {
    if (row.period !== month || row.used <= 0) continue;
    const { tier } = mrrOf(world, row.account_id, end);
    const limit = findTier(catalog, tier).limits.monthly[row.operation] ?? UNLIMITED;
    const key = `${row.operation}/${tier}`;
    const cell = cells[key] ?? { accounts: 0, used: 0, atLeast80: 0, atLimit: 0 };
    cells[key] = cell;
    cell.accounts += 1;
    cell.used += row.used;
    if (limit !== UNLIMITED && row.used >= 0.8 * limit) cell.atLeast80 += 1;
    if (limit !== UNLIMITED && row.used >= limit) cell.atLimit += 1;
    if (limit > 0 && row.used >= 0.8 * limit) {
      upsell.push({ accountId: row.account_id, operation: row.operation, ratio: row.used / limit });
    }
  }
  return { cells, upsell };
}

export function bruteAccountPaid(world: World, accountId: string, month: string, currency: string) {
  const rows = world.invoices.filter(
    (row) => row.account_id === accountId && row.currency === currency && row.paid_at < periodEnd(month),
  );
  return {
    invoices: rows.length,
    totalPaidCents: rows.reduce((sum, row) => sum + row.amount_paid_cents - row.amount_refunded_cents, 0),
    setupFeeCents: rows.reduce((sum, row) => sum + row.setup_fee_cents, 0),
    refundedCents: rows.reduce((sum, row) => sum + row.amount_refunded_cents, 0),
  };
}

export function monthsBefore(last: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => addMonths(last, index - count + 1));
}
