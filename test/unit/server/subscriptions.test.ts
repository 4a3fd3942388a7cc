import { describe, expect, it } from 'vitest';
import type { SubscriptionRow } from '../../../src-server/db/schema.ts';
import { entitledPlan, freeSubscription, subscriptionAccess } from '../../../src-server/plans/subscriptions.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';
import { SUBSCRIPTION_STATUSES } from '../../../src-shared/license.ts';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 5, 15);
const GRACE = 7 * DAY;

function row(patch: Partial<SubscriptionRow>): SubscriptionRow {
  return { ...freeSubscription('acct_1', NOW), ...patch } as SubscriptionRow;
}

describe('subscription status → access', () => {
  it.each(SUBSCRIPTION_STATUSES)('%s', (status) => {
    const verdict = subscriptionAccess({ status, past_due_since: NOW - DAY }, NOW, GRACE);
    const expected = status === 'active' || status === 'trialing' || status === 'past_due';
    expect(verdict.access).toBe(expected);
  });

  it('ends past-due access exactly when the grace ends', () => {
    const since = NOW - GRACE;
    expect(subscriptionAccess({ status: 'past_due', past_due_since: since + 1 }, NOW, GRACE)).toEqual({
      access: true,
      pastDueGraceEndsAt: NOW + 1,
    });
    expect(subscriptionAccess({ status: 'past_due', past_due_since: since }, NOW, GRACE).access).toBe(false);
  });

  it('treats an unknown status as no access', () => {
    expect(subscriptionAccess({ status: 'mystery', past_due_since: null }, NOW, GRACE).access).toBe(false);
  });
});

describe('the plan a subscription entitles', () => {
  it('gives the tier while access lasts and the free tier after', () => {
    const pro = entitledPlan(defaultCatalog, row({ tier: 'professional' }), NOW, GRACE);
    expect(pro).toMatchObject({ tier: 'professional', subscribedTier: 'professional', access: true });
    expect(pro.limits.monthly.ai_operations).toBe(100);
    expect(pro.features).toContain('basic_processing');

    const lapsed = entitledPlan(defaultCatalog, row({ tier: 'professional', status: 'canceled' }), NOW, GRACE);
    expect(lapsed).toMatchObject({ tier: 'free', subscribedTier: 'professional', access: false });
    expect(lapsed.limits.monthly.ai_operations).toBe(5);
    expect(lapsed.features).not.toContain('compliance_check');
  });

  it("applies a custom contract's own limits and features only while it has access", () => {
    const limits = {
      monthly: { ai_operations: 12345, data_processing: 7 },
      max_project_size_mb: 1,
      api_calls_per_hour: 5,
      max_devices: 7,
    };
    const custom = row({
      tier: 'custom',
      custom_limits_json: JSON.stringify(limits),
      custom_features_json: JSON.stringify(['sso']),
    });
    expect(entitledPlan(defaultCatalog, custom, NOW, GRACE)).toMatchObject({ limits, features: ['sso'] });
    const { max_devices: _, ...olderContract } = limits;
    const older = row({ tier: 'custom', custom_limits_json: JSON.stringify(olderContract) });
    expect(entitledPlan(defaultCatalog, older, NOW, GRACE).limits.max_devices).toBe(-1);
    const unpaid = entitledPlan(defaultCatalog, { ...custom, status: 'unpaid' }, NOW, GRACE);
    expect(unpaid.limits.monthly.ai_operations).toBe(5);
  });
});
