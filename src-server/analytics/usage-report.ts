import type { UpsellCandidate, UsageCell, UsageResponse } from '../../src-shared/admin-api.ts';
import { type Catalog, findTier, type Tier, type TierId, tiersByPrice } from '../../src-shared/catalog.ts';
import { cheapestTierAllowing, monthlyLimit } from '../../src-shared/decisions.ts';
import { NOTICE_THRESHOLDS } from '../../src-shared/notices.ts';

/**
 * Usage per operation and tier for one month, and the accounts pressing against their limits (the
 * upsell candidates). Each account is judged against the limit of the tier it held at the end of
 * the month — the limit it is on now for the current month — so an account that upgraded mid-month
 * is measured against its new, larger allowance.
 */

export interface UsageRecord {
  accountId: string;
  operation: string;
  used: number;
}

/** "Near the limit": the share at which the server sends its first usage notice (80 %). */
const NEAR_LIMIT = NOTICE_THRESHOLDS[0] / 100;

function limitOf(catalog: Catalog, tier: TierId, operation: string): number {
  return monthlyLimit(findTier(catalog, tier).limits, operation);
}

export function usageReport(
  catalog: Catalog,
  month: string,
  usage: readonly UsageRecord[],
  tierOf: (accountId: string) => TierId,
): UsageResponse {
  const tiers = catalog.tiers.map((tier) => tier.id);
  const cells = new Map<string, Map<TierId, UsageCell>>();
  for (const operation of Object.keys(catalog.operations)) {
    cells.set(
      operation,
      new Map(
        tiers.map((tier) => [
          tier,
          { tier, limit: limitOf(catalog, tier, operation), accounts: 0, used: 0, atLeast80: 0, atLimit: 0 },
        ]),
      ),
    );
  }
  for (const row of usage) {
    if (row.used <= 0) continue;
    const cell = cells.get(row.operation)?.get(tierOf(row.accountId));
    if (!cell) continue;
    cell.accounts += 1;
    cell.used += row.used;
    if (cell.limit >= 0 && row.used >= cell.limit * NEAR_LIMIT) cell.atLeast80 += 1;
    if (cell.limit >= 0 && row.used >= cell.limit) cell.atLimit += 1;
  }
  return {
    month,
    operations: [...cells].map(([operation, byTier]) => {
      const list = [...byTier.values()];
      return {
        operation,
        label: catalog.operations[operation]?.label ?? operation,
        used: list.reduce((sum, cell) => sum + cell.used, 0),
        byTier: list,
      };
    }),
  };
}

/**
 * The tier to suggest to an account that has used `used` of `operation`: the cheapest one above
 * `current` that would let it spend one more unit — the same rule the 402's upgrade follows.
 */
export function suggestTier(
  catalog: Catalog,
  current: TierId,
  operation: string,
  used: number,
  ordered: readonly Tier[] = tiersByPrice(catalog),
): TierId | null {
  const request = { kind: 'usage', operation, units: 1 } as const;
  return cheapestTierAllowing(catalog, request, { [operation]: used }, current, ordered)?.id ?? null;
}

/** A candidate before its e-mail address is looked up (only for the rows shown). */
type UnaddressedCandidate = Omit<UpsellCandidate, 'email'>;

/**
 * Every (account, operation) at 80 % or more of a finite limit, fullest first (then most used, then
 * account id so the order is stable across calls and pages).
 */
export function upsellCandidates(
  catalog: Catalog,
  usage: readonly UsageRecord[],
  tierOf: (accountId: string) => TierId,
): UnaddressedCandidate[] {
  // Tens of thousands of rows at 100,000 accounts: look limits and the price order up once.
  const ordered = tiersByPrice(catalog);
  const limits = new Map(catalog.tiers.map((tier) => [tier.id, tier.limits]));
  const candidates: UnaddressedCandidate[] = [];
  for (const row of usage) {
    const tier = tierOf(row.accountId);
    const tierLimits = limits.get(tier) ?? limits.get('free');
    const limit = tierLimits ? monthlyLimit(tierLimits, row.operation) : 0;
    if (limit <= 0 || row.used < limit * NEAR_LIMIT) continue;
    candidates.push({
      accountId: row.accountId,
      tier,
      operation: row.operation,
      used: row.used,
      limit,
      ratio: row.used / limit,
      suggestedTier: suggestTier(catalog, tier, row.operation, row.used, ordered),
    });
  }
  return candidates.sort(
    (a, b) =>
      b.ratio - a.ratio ||
      b.used - a.used ||
      (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0) ||
      (a.operation < b.operation ? -1 : 1),
  );
}
