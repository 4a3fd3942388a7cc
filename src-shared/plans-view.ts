import type { PlansResponse } from './api.ts';
import { type Catalog, effectiveFeatures, parseCatalog, tiersByPrice, yearlySavingCents } from './catalog.ts';

/**
 * The catalog and its public price list (GET /v1/plans), both directions in one place: the server
 * publishes `plansView(catalog)`, the companion reads it back with `catalogFromPlans` so its upgrade
 * prompts and decisions use the vendor's catalog, not the built-in one.
 */

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
    trial: catalog.trial ?? null,
  };
}

/** The price list back in the shape decide() takes; throws CatalogError when it is not a valid catalog. */
export function catalogFromPlans(plans: PlansResponse): Catalog {
  return parseCatalog(
    {
      currency: plans.currency,
      operations: plans.operations,
      tiers: plans.plans.map((plan) => ({
        id: plan.id,
        name: plan.name,
        limits: plan.limits,
        support_level: plan.supportLevel,
        features: plan.features,
        prices: plan.negotiated || plan.prices === null ? 'negotiated' : plan.prices,
      })),
      ...(plans.trial ? { trial: plans.trial } : {}),
    },
    'the server catalog',
  );
}
