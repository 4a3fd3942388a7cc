import { describe, expect, it } from 'vitest';
import type { SubscriptionRow } from '../../../src-server/db/schema.ts';
import { adjustPlan } from '../../../src-server/plans/adjustments.ts';
import { accessEndsAt, entitledPlan, freeSubscription } from '../../../src-server/plans/subscriptions.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 5, 15);
const catalog = defaultCatalog;

function planOf(patch: Partial<SubscriptionRow> = {}) {
  return entitledPlan(catalog, { ...freeSubscription('acct_1', NOW), ...patch } as SubscriptionRow, NOW, 7 * DAY);
}

describe('admin adjustments to the plan an account gets', () => {
  it('a running trial gives a free account the tier’s limits and features, and its end as the access end', () => {
    const trial = { tier: 'professional', endsAt: NOW + DAY, grantedAt: NOW };
    const plan = adjustPlan(catalog, planOf(), trial, [], NOW);
    const professional = catalog.tiers.find((tier) => tier.id === 'professional');
    expect(plan).toMatchObject({ tier: 'professional', access: true, limits: professional?.limits });
    expect(accessEndsAt(freeSubscription('acct_1', NOW) as SubscriptionRow, plan)).toBe(NOW + DAY);
  });

  it('an ended trial, or one on an account that already pays, changes nothing', () => {
    const ended = { tier: 'enterprise', endsAt: NOW, grantedAt: NOW - DAY };
    expect(adjustPlan(catalog, planOf(), ended, [], NOW)).toEqual(planOf());
    const paying = planOf({ tier: 'professional', cycle: 'monthly' });
    const running = { tier: 'enterprise', endsAt: NOW + DAY, grantedAt: NOW };
    expect(adjustPlan(catalog, paying, running, [], NOW).tier).toBe('professional');
  });

  it('overrides add units to a limited operation, leave an unlimited one unlimited, and add features', () => {
    const free = planOf();
    const plan = adjustPlan(
      catalog,
      { ...free, limits: { ...free.limits, monthly: { ...free.limits.monthly, data_processing: -1 } } },
      null,
      [
        { id: 'o1', kind: 'units', operation: 'ai_operations', extraUnits: 5, expiresAt: NOW + DAY },
        { id: 'o2', kind: 'units', operation: 'data_processing', extraUnits: 5, expiresAt: NOW + DAY },
        { id: 'o3', kind: 'feature', feature: 'priority_export', expiresAt: NOW + DAY },
      ],
      NOW,
    );
    expect(plan.limits.monthly.ai_operations).toBe((free.limits.monthly.ai_operations ?? 0) + 5);
    expect(plan.limits.monthly.data_processing).toBe(-1);
    expect(plan.features).toContain('priority_export');
  });
});
