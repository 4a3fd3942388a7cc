import { describe, expect, it } from 'vitest';
import { catalogPriceSpecs, planOfLookupKey, priceLookupKey } from '../../../src-server/payments/catalog-prices.ts';
import { mrrCents } from '../../../src-server/payments/mrr.ts';
import { classifyPlanChange, prorationCents } from '../../../src-server/payments/plan-change.ts';
import { defaultCatalog, parseCatalog } from '../../../src-shared/catalog.ts';

describe('MRR of one subscription', () => {
  it('counts a monthly plan at its price and a yearly plan at a twelfth of its price', () => {
    expect(mrrCents(defaultCatalog, 'professional', 'monthly')).toBe(4900);
    expect(mrrCents(defaultCatalog, 'professional', 'yearly')).toBe(4083);
    expect(mrrCents(defaultCatalog, 'enterprise', 'yearly')).toBe(16583);
  });

  it('never counts the one-time setup fee', () => {
    expect(mrrCents(defaultCatalog, 'enterprise', 'monthly')).toBe(19900);
  });

  it('is zero for free, negotiated and cycle-less subscriptions', () => {
    expect(mrrCents(defaultCatalog, 'free', 'monthly')).toBe(0);
    expect(mrrCents(defaultCatalog, 'custom', 'monthly')).toBe(0);
    expect(mrrCents(defaultCatalog, 'professional', null)).toBe(0);
  });
});

describe('plan changes', () => {
  const change = (from: string, to: string) => {
    const [fromTier, fromCycle] = from.split('/') as ['free', 'monthly'];
    const [toTier, toCycle] = to.split('/') as ['free', 'monthly'];
    return classifyPlanChange(defaultCatalog, { tier: fromTier, cycle: fromCycle }, { tier: toTier, cycle: toCycle });
  };

  it('upgrades take effect now, whatever the cycles', () => {
    expect(change('professional/monthly', 'enterprise/monthly')).toEqual({ kind: 'upgrade', effective: 'now' });
    expect(change('professional/yearly', 'enterprise/monthly')).toEqual({ kind: 'upgrade', effective: 'now' });
  });

  it('downgrades wait for the end of the paid period', () => {
    expect(change('enterprise/monthly', 'professional/monthly')).toEqual({
      kind: 'downgrade',
      effective: 'period_end',
    });
    expect(change('enterprise/monthly', 'professional/yearly').effective).toBe('period_end');
  });

  it('monthly → yearly is charged now; yearly → monthly waits for the year to end', () => {
    expect(change('professional/monthly', 'professional/yearly')).toEqual({ kind: 'cycle_change', effective: 'now' });
    expect(change('professional/yearly', 'professional/monthly')).toEqual({
      kind: 'cycle_change',
      effective: 'period_end',
    });
  });

  it('the same plan is no change', () => {
    expect(change('enterprise/yearly', 'enterprise/yearly').kind).toBe('none');
  });
});

describe('catalog prices for a provider', () => {
  it('makes a monthly and a yearly price per paid tier and a one-time setup fee, none for free or custom', () => {
    const specs = catalogPriceSpecs(defaultCatalog);
    expect(specs.map((spec) => [spec.lookupKey, spec.unitAmountCents, spec.interval])).toEqual([
      ['tollgate_professional_monthly', 4900, 'month'],
      ['tollgate_professional_yearly', 49000, 'year'],
      ['tollgate_enterprise_monthly', 19900, 'month'],
      ['tollgate_enterprise_yearly', 199000, 'year'],
      ['tollgate_enterprise_setup_fee', 50000, null],
    ]);
    expect(new Set(specs.map((spec) => spec.currency))).toEqual(new Set(['usd']));
  });

  it('follows a vendor catalog: new prices, currency, no setup fee', () => {
    const data = structuredClone(defaultCatalog);
    data.currency = 'eur';
    const enterprise = data.tiers.find((tier) => tier.id === 'enterprise');
    if (enterprise && enterprise.prices !== 'negotiated') enterprise.prices.setup_fee_cents = 0;
    const specs = catalogPriceSpecs(parseCatalog(data));
    expect(specs.some((spec) => spec.kind === 'setup_fee')).toBe(false);
    expect(specs.every((spec) => spec.currency === 'eur')).toBe(true);
  });

  it('reads a plan back from a recurring lookup key and ignores keys it did not make', () => {
    expect(planOfLookupKey(priceLookupKey('enterprise', 'yearly'))).toEqual({ tier: 'enterprise', cycle: 'yearly' });
    expect(planOfLookupKey(priceLookupKey('enterprise', 'setup_fee'))).toBeNull();
    expect(planOfLookupKey('tollgate_platinum_monthly')).toBeNull();
    expect(planOfLookupKey('someone_else_monthly')).toBeNull();
    expect(planOfLookupKey(null)).toBeNull();
  });
});

describe('proration of an immediate change', () => {
  const month = { periodStart: 0, periodEnd: 30 * 86_400_000 };

  it('charges the difference for the rest of the period', () => {
    const halfway = { ...month, now: 15 * 86_400_000, restartsPeriod: false };
    expect(prorationCents({ ...halfway, oldPriceCents: 4900, newPriceCents: 19900 })).toBe(7500);
  });

  it('charges the new price in full, less the unused old one, when the period restarts', () => {
    const tenDaysIn = { ...month, now: 10 * 86_400_000, restartsPeriod: true };
    expect(prorationCents({ ...tenDaysIn, oldPriceCents: 4900, newPriceCents: 49000 })).toBe(49000 - 3267);
  });

  it('never charges a negative amount, and nothing is left after the period ends', () => {
    const late = { ...month, now: 40 * 86_400_000, restartsPeriod: false };
    expect(prorationCents({ ...late, oldPriceCents: 4900, newPriceCents: 19900 })).toBe(0);
    const early = { ...month, now: 0, restartsPeriod: false };
    expect(prorationCents({ ...early, oldPriceCents: 19900, newPriceCents: 4900 })).toBe(0);
  });
});
