import { describe, expect, it } from 'vitest';
import { defaultCatalog, effectiveFeatures, findTier, TIER_IDS } from '../../src-shared/catalog.ts';
import { catalogFromPlans, plansView } from '../../src-shared/plans-view.ts';

// The server publishes its catalog as a price list; the companion reads it back to decide and to
// offer upgrades. Both directions live together, so reading back what was published loses nothing
// a decision or a prompt uses.

describe('catalog ↔ price list', () => {
  it('reads back the published catalog: same tiers, limits, prices and features', () => {
    const roundTrip = catalogFromPlans(plansView(defaultCatalog));
    expect(roundTrip.currency).toBe(defaultCatalog.currency);
    expect(roundTrip.operations).toEqual(defaultCatalog.operations);
    for (const id of TIER_IDS) {
      const original = findTier(defaultCatalog, id);
      const read = findTier(roundTrip, id);
      expect(read).toMatchObject({ name: original.name, limits: original.limits, prices: original.prices });
      expect(effectiveFeatures(roundTrip, id)).toEqual(effectiveFeatures(defaultCatalog, id));
    }
  });

  it('lists the tiers cheapest first, negotiated last', () => {
    expect(plansView(defaultCatalog).plans.map((plan) => plan.id)).toEqual([
      'free',
      'professional',
      'enterprise',
      'custom',
    ]);
  });

  it('refuses a price list that is not a catalog', () => {
    const broken = plansView(defaultCatalog);
    expect(() => catalogFromPlans({ ...broken, plans: broken.plans.filter((plan) => plan.id !== 'free') })).toThrow();
  });
});
