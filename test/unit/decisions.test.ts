import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCatalog, effectiveFeatures, findTier, TIER_IDS, tiersByPrice } from '../../src-shared/catalog.ts';
import { decide, type PlanState, REASON_CODES, type StandingProblem } from '../../src-shared/decisions.ts';

const catalog = defaultCatalog;
const plan = (tier: PlanState['tier'], standing: PlanState['standing'] = 'ok'): PlanState => ({ tier, standing });
const allFeatures = [...new Set(catalog.tiers.flatMap((tier) => tier.features)), 'unheard_of_feature'];
const operations = Object.keys(catalog.operations);

describe('feature access', () => {
  it('nobody signed in gets NOT_SIGNED_IN', () => {
    expect(decide({ catalog, plan: null }, { kind: 'feature', feature: 'basic_processing' })).toEqual({
      allowed: false,
      code: 'NOT_SIGNED_IN',
    });
  });

  it('free has its own features and is told the cheapest plan for the rest', () => {
    expect(decide({ catalog, plan: plan('free') }, { kind: 'feature', feature: 'simple_validation' })).toEqual({
      allowed: true,
      code: 'OK',
    });
    expect(decide({ catalog, plan: plan('free') }, { kind: 'feature', feature: 'compliance_check' })).toEqual({
      allowed: false,
      code: 'FEATURE_NOT_IN_PLAN',
      upgrade: {
        tier: 'professional',
        name: 'Professional',
        monthlyPriceCents: 4900,
        yearlyPriceCents: 49000,
        contactSales: false,
      },
    });
    expect(decide({ catalog, plan: plan('free') }, { kind: 'feature', feature: 'sso' }).upgrade?.tier).toBe(
      'enterprise',
    );
  });

  it('professional keeps the free features', () => {
    expect(
      decide({ catalog, plan: plan('professional') }, { kind: 'feature', feature: 'basic_processing' }).allowed,
    ).toBe(true);
  });

  it('all_features grants every feature, even ones no tier lists', () => {
    for (const feature of allFeatures) {
      expect(decide({ catalog, plan: plan('enterprise') }, { kind: 'feature', feature })).toEqual({
        allowed: true,
        code: 'OK',
      });
    }
  });

  it('a custom contract brings its own features', () => {
    const custom: PlanState = { tier: 'custom', standing: 'ok', features: ['basic_processing', 'sso'] };
    expect(decide({ catalog, plan: custom }, { kind: 'feature', feature: 'sso' }).allowed).toBe(true);
    expect(decide({ catalog, plan: custom }, { kind: 'feature', feature: 'white_label' }).allowed).toBe(false);
  });

  it.each<StandingProblem>(['SUBSCRIPTION_INACTIVE', 'LICENSE_EXPIRED'])(
    'a verified license without paid access (%s) grants the free tier it carries and names the problem',
    (standing) => {
      const free = findTier(catalog, 'free');
      const lapsed: PlanState = {
        tier: 'enterprise',
        standing,
        features: effectiveFeatures(catalog, 'free'),
        limits: free.limits,
      };
      expect(decide({ catalog, plan: lapsed }, { kind: 'feature', feature: 'sso' })).toMatchObject({
        allowed: false,
        code: standing,
      });
      expect(decide({ catalog, plan: lapsed }, { kind: 'feature', feature: 'basic_processing' })).toEqual({
        allowed: true,
        code: 'OK',
      });
    },
  );

  it.each<StandingProblem>(['SUBSCRIPTION_INACTIVE', 'LICENSE_EXPIRED'])(
    'without paid access (%s) the catalog is never read for the free tier: a widened one grants nothing more',
    (standing) => {
      const widened = {
        ...catalog,
        tiers: catalog.tiers.map((tier) =>
          tier.id === 'free'
            ? {
                ...tier,
                features: ['all_features'],
                limits: { ...tier.limits, monthly: { ai_operations: -1, data_processing: -1 } },
              }
            : tier,
        ),
      };
      const free = findTier(catalog, 'free');
      const lapsed: PlanState = { tier: 'enterprise', standing, features: ['basic_processing'], limits: free.limits };
      expect(decide({ catalog: widened, plan: lapsed }, { kind: 'feature', feature: 'sso' })).toMatchObject({
        allowed: false,
        code: standing,
      });
      expect(decide({ catalog: widened, plan: lapsed }, usage('ai_operations', 6))).toMatchObject({
        allowed: false,
        code: standing,
        limit: free.limits.monthly.ai_operations,
      });
      // Carrying no features or limits at all, it grants nothing.
      for (const feature of ['sso', 'basic_processing']) {
        expect(
          decide({ catalog: widened, plan: plan('enterprise', standing) }, { kind: 'feature', feature }),
        ).toMatchObject({
          allowed: false,
          code: standing,
        });
      }
      expect(decide({ catalog: widened, plan: plan('enterprise', standing) }, usage('ai_operations', 1)).allowed).toBe(
        false,
      );
    },
  );

  it.each<StandingProblem>(['OFFLINE_GRACE_EXPIRED', 'CLOCK_TAMPERED', 'LICENSE_INVALID'])(
    'without a license that can be honoured (%s) nothing is granted, not even the free tier',
    (standing) => {
      for (const feature of ['sso', 'basic_processing']) {
        expect(decide({ catalog, plan: plan('enterprise', standing) }, { kind: 'feature', feature })).toMatchObject({
          allowed: false,
          code: standing,
        });
      }
      expect(decide({ catalog, plan: plan('enterprise', standing) }, usage('ai_operations', 1))).toMatchObject({
        allowed: false,
        code: standing,
      });
    },
  );
});

describe('usage', () => {
  it('allows up to the limit and reports what remains', () => {
    expect(decide({ catalog, plan: plan('free'), usage: { ai_operations: 3 } }, usage('ai_operations', 2))).toEqual({
      allowed: true,
      code: 'OK',
      limit: 5,
      remaining: 2,
    });
  });

  it('denies past the limit with the cheapest plan that fits', () => {
    expect(decide({ catalog, plan: plan('free'), usage: { ai_operations: 5 } }, usage('ai_operations', 1))).toEqual({
      allowed: false,
      code: 'LIMIT_REACHED',
      limit: 5,
      remaining: 0,
      upgrade: {
        tier: 'professional',
        name: 'Professional',
        monthlyPriceCents: 4900,
        yearlyPriceCents: 49000,
        contactSales: false,
      },
    });
  });

  it('suggests enterprise when professional would not fit either', () => {
    const decision = decide({ catalog, plan: plan('free'), usage: { ai_operations: 50 } }, usage('ai_operations', 60));
    expect(decision.upgrade?.tier).toBe('enterprise');
  });

  it('unlimited never denies and reports no limit', () => {
    expect(decide({ catalog, plan: plan('enterprise') }, usage('data_processing', 10 ** 9))).toEqual({
      allowed: true,
      code: 'OK',
    });
  });

  it('an operation the catalog does not meter is refused', () => {
    expect(decide({ catalog, plan: plan('enterprise') }, usage('teleportation', 1))).toMatchObject({
      allowed: false,
      code: 'LIMIT_REACHED',
    });
  });

  it('a custom contract brings its own limits', () => {
    const custom: PlanState = {
      tier: 'custom',
      standing: 'ok',
      limits: {
        monthly: { ai_operations: 7, data_processing: 0 },
        max_project_size_mb: 10,
        api_calls_per_hour: 5,
        max_devices: 2,
      },
    };
    expect(decide({ catalog, plan: custom, usage: { ai_operations: 6 } }, usage('ai_operations', 1)).allowed).toBe(
      true,
    );
    expect(decide({ catalog, plan: custom, usage: { ai_operations: 7 } }, usage('ai_operations', 1)).allowed).toBe(
      false,
    );
  });
});

describe('project size', () => {
  it('gates size by tier', () => {
    expect(decide({ catalog, plan: plan('free') }, { kind: 'size', sizeMb: 50 })).toEqual({
      allowed: true,
      code: 'OK',
      limit: 50,
    });
    expect(decide({ catalog, plan: plan('free') }, { kind: 'size', sizeMb: 51 })).toMatchObject({
      allowed: false,
      code: 'SIZE_LIMIT_EXCEEDED',
      limit: 50,
      upgrade: { tier: 'professional' },
    });
    expect(decide({ catalog, plan: plan('enterprise') }, { kind: 'size', sizeMb: 10 ** 6 }).allowed).toBe(true);
  });
});

function usage(operation: string, units: number) {
  return { kind: 'usage' as const, operation, units };
}

const pricedTiers = tiersByPrice(catalog).filter((tier) => tier.prices !== 'negotiated');
const arbitraryRequest = fc.oneof(
  fc.record({ kind: fc.constant('feature' as const), feature: fc.constantFrom(...allFeatures) }),
  fc.record({
    kind: fc.constant('usage' as const),
    operation: fc.constantFrom(...operations),
    units: fc.integer({ min: 1, max: 10_000 }),
  }),
  fc.record({ kind: fc.constant('size' as const), sizeMb: fc.integer({ min: 0, max: 100_000 }) }),
);
const arbitraryUsage = fc.record(
  Object.fromEntries(operations.map((operation) => [operation, fc.integer({ min: 0, max: 10_000 })])),
);

describe('properties', () => {
  it('a tier never allows less than a cheaper tier', () => {
    fc.assert(
      fc.property(arbitraryRequest, arbitraryUsage, (request, used) => {
        let previousAllowed = false;
        for (const tier of tiersByPrice(catalog)) {
          const allowed = decide({ catalog, plan: plan(tier.id), usage: used }, request).allowed;
          if (previousAllowed) expect(allowed).toBe(true);
          previousAllowed = allowed;
        }
      }),
    );
  });

  it('unlimited never denies for quantity', () => {
    fc.assert(
      fc.property(fc.constantFrom(...operations), fc.nat(), fc.nat(), (operation, used, units) => {
        expect(
          decide({ catalog, plan: plan('enterprise'), usage: { [operation]: used } }, usage(operation, units)),
        ).toEqual({ allowed: true, code: 'OK' });
      }),
    );
  });

  it('the suggestion always allows what was denied, and is the cheapest that does', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TIER_IDS), arbitraryRequest, arbitraryUsage, (tierId, request, used) => {
        const decision = decide({ catalog, plan: plan(tierId), usage: used }, request);
        if (decision.allowed || !decision.upgrade) return;
        const suggested = decision.upgrade.tier;
        expect(decide({ catalog, plan: plan(suggested), usage: used }, request).allowed).toBe(true);
        const ordered = tiersByPrice(catalog).map((tier) => tier.id);
        for (const cheaper of ordered.slice(ordered.indexOf(tierId) + 1, ordered.indexOf(suggested))) {
          expect(decide({ catalog, plan: plan(cheaper), usage: used }, request).allowed).toBe(false);
        }
      }),
    );
  });

  it('allowed is OK and denied is never OK; codes are from the documented set', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(...TIER_IDS), { nil: null }),
        arbitraryRequest,
        arbitraryUsage,
        (tierId, request, used) => {
          const decision = decide({ catalog, plan: tierId === null ? null : plan(tierId), usage: used }, request);
          expect(REASON_CODES).toContain(decision.code);
          expect(decision.allowed).toBe(decision.code === 'OK');
        },
      ),
    );
  });

  it('a usage denial happens exactly when used + units exceeds a finite limit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...pricedTiers),
        fc.constantFrom(...operations),
        fc.nat(500),
        fc.nat(500),
        (tier, op, used, units) => {
          const limit = findTier(catalog, tier.id).limits.monthly[op]!;
          const decision = decide({ catalog, plan: plan(tier.id), usage: { [op]: used } }, usage(op, units));
          expect(decision.allowed).toBe(limit === -1 || used + units <= limit);
        },
      ),
    );
  });

  it('every feature a tier grants is granted by the decision', () => {
    for (const tier of catalog.tiers) {
      for (const feature of effectiveFeatures(catalog, tier.id)) {
        expect(decide({ catalog, plan: plan(tier.id) }, { kind: 'feature', feature }).allowed).toBe(true);
      }
    }
  });
});
