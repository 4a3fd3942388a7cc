import type { BillingCycle } from '../../src-shared/api.ts';
import { type Catalog, findTier, type TierId } from '../../src-shared/catalog.ts';

/**
 * Monthly recurring revenue of one subscription, in cents: the monthly price, or a twelfth of the
 * yearly price (the seed counted yearly plans at their monthly price, overstating MRR). The setup
 * fee is one-time revenue and never part of MRR. Free and negotiated tiers contribute nothing here.
 */
export function mrrCents(catalog: Catalog, tier: TierId, cycle: BillingCycle | null): number {
  const found = findTier(catalog, tier);
  if (found.id !== tier || found.prices === 'negotiated' || cycle === null) return 0;
  return cycle === 'yearly' ? Math.round(found.prices.yearly_cents / 12) : found.prices.monthly_cents;
}
