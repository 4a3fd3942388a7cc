import type { PlansResponse } from '../../src-shared/api.ts';
import { type Catalog, effectiveFeatures, tiersByPrice, yearlySavingCents } from '../../src-shared/catalog.ts';

/** The public price list (transparent pricing): every tier, cheapest first. */
export function plansView(catalog: Catalog): PlansResponse {
  return {
    currency: catalog.currency,
    operations: catalog.operations,
    plans: tiersByPrice(catalog).map((tier) => ({
      id: tier.id,
      name: tier.name,
      limits: tier.limits,
      supportLevel: tier.support_level,
      features: effectiveFeatures(catalog, tier.id),
      prices: tier.prices === 'negotiated' ? null : tier.prices,
      negotiated: tier.prices === 'negotiated',
      yearlySavingCents: yearlySavingCents(tier),
    })),
  };
}
