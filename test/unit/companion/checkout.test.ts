import { describe, expect, it } from 'vitest';
import { completeCheckoutIfPaid } from '../../../src-main/checkout.ts';
import type { Subscription } from '../../../src-shared/api.ts';
import { defaultCatalog, findTier, type TierId } from '../../../src-shared/catalog.ts';
import type { CompanionState } from '../../../src-shared/contract.ts';

type Checkout = CompanionState['checkout'];

const waiting: Checkout = { status: 'waiting', tier: 'professional', cycle: 'yearly', error: null };

function subscription(tier: TierId, cycle: Subscription['cycle'], patch: Partial<Subscription> = {}): Subscription {
  const plan = findTier(defaultCatalog, tier);
  return {
    tier,
    status: 'active',
    cycle,
    access: true,
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    pendingTier: null,
    pastDueGraceEndsAt: null,
    supportLevel: plan.support_level,
    features: plan.features,
    limits: plan.limits,
    ...patch,
  };
}

describe('checkout completion after a sync', () => {
  it('completes once the subscription is on the tier and cycle that were bought', () => {
    expect(completeCheckoutIfPaid(waiting, subscription('professional', 'yearly'))).toEqual({
      status: 'completed',
      tier: 'professional',
      cycle: 'yearly',
      error: null,
    });
  });

  it('keeps waiting while the old plan, the other cycle or no access is all the sync shows', () => {
    expect(completeCheckoutIfPaid(waiting, subscription('free', null))).toBe(waiting);
    expect(completeCheckoutIfPaid(waiting, subscription('professional', 'monthly'))).toBe(waiting);
    expect(
      completeCheckoutIfPaid(waiting, subscription('professional', 'yearly', { status: 'incomplete', access: false })),
    ).toBe(waiting);
    expect(completeCheckoutIfPaid(waiting, null)).toBe(waiting);
  });

  it('leaves checkouts that are not waiting alone', () => {
    for (const status of ['idle', 'opening', 'completed', 'failed'] as const) {
      const checkout: Checkout = { ...waiting, status };
      expect(completeCheckoutIfPaid(checkout, subscription('professional', 'yearly'))).toBe(checkout);
    }
  });
});
