import { describe, expect, it } from 'vitest';
import { offerPrice } from '../../../src-renderer/view/offer.ts';

const professional = {
  tier: 'professional' as const,
  name: 'Professional',
  monthlyPriceCents: 4900,
  yearlyPriceCents: 49000,
  contactSales: false,
};

describe('offer price', () => {
  it('follows the billing cycle the user chose', () => {
    expect(offerPrice(professional, 'monthly', 'usd')).toBe('$49 / month');
    expect(offerPrice(professional, 'yearly', 'usd')).toBe('$490 / year');
  });

  it('says "price on request" for a negotiated plan', () => {
    const custom = {
      ...professional,
      tier: 'custom' as const,
      monthlyPriceCents: null,
      yearlyPriceCents: null,
      contactSales: true,
    };
    expect(offerPrice(custom, 'monthly', 'usd')).toBe('price on request');
  });
});
