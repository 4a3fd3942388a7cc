import { describe, expect, it } from 'vitest';
import {
  classifySubscriptionChange,
  fieldsFromProvider,
  type ProviderSubscription,
  type SubscriptionSummary,
  shouldApply,
} from '../../../src-server/payments/subscription-state.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';
import type { SubscriptionStatus } from '../../../src-shared/license.ts';

const provided = (overrides: Partial<ProviderSubscription> = {}): ProviderSubscription => ({
  provider: 'stripe',
  accountId: 'acc_1',
  customerId: 'cus_1',
  subscriptionId: 'sub_1',
  status: 'active',
  plan: { tier: 'professional', cycle: 'monthly' },
  currentPeriodStart: 1_000,
  currentPeriodEnd: 2_000,
  cancelAtPeriodEnd: false,
  pending: null,
  pastDueSince: null,
  ...overrides,
});

describe('provider status → account subscription', () => {
  it.each<SubscriptionStatus>(['active', 'trialing', 'past_due', 'unpaid', 'paused'])(
    'keeps the paid tier while the subscription is %s (access is decided from the status)',
    (status) => {
      const fields = fieldsFromProvider(provided({ status, pastDueSince: 1_500 }));
      expect(fields.tier).toBe('professional');
      expect(fields.status).toBe(status);
      expect(fields.past_due_since).toBe(status === 'past_due' ? 1_500 : null);
    },
  );

  it.each<SubscriptionStatus>(['canceled', 'incomplete', 'incomplete_expired'])(
    'puts the account back on free when the subscription is %s, keeping the customer',
    (status) => {
      const fields = fieldsFromProvider(provided({ status }));
      expect(fields).toMatchObject({ tier: 'free', status: 'active', cycle: null, provider_subscription_id: null });
      expect(fields.provider_customer_id).toBe('cus_1');
    },
  );

  it('a second unpaid invoice never extends the past-due grace', () => {
    const previous = { status: 'past_due', past_due_since: 1_500, provider_subscription_id: 'sub_1' } as const;
    expect(fieldsFromProvider(provided({ status: 'past_due', pastDueSince: 1_900 }), previous).past_due_since).toBe(
      1_500,
    );
    const otherSubscription = { ...previous, provider_subscription_id: 'sub_0' };
    expect(
      fieldsFromProvider(provided({ status: 'past_due', pastDueSince: 1_900 }), otherSubscription).past_due_since,
    ).toBe(1_900);
    expect(fieldsFromProvider(provided({ status: 'active' }), previous).past_due_since).toBeNull();
  });

  it('a price the catalog did not make grants nothing', () => {
    expect(fieldsFromProvider(provided({ plan: null })).tier).toBe('free');
  });

  it('carries a scheduled downgrade and a scheduled cancel', () => {
    const fields = fieldsFromProvider(
      provided({ cancelAtPeriodEnd: true, pending: { tier: 'professional', cycle: 'yearly' } }),
    );
    expect(fields).toMatchObject({ cancel_at_period_end: true, pending_tier: 'professional', pending_cycle: 'yearly' });
  });

  it('a late word about an ended old subscription never overwrites the new one', () => {
    const current = { provider_subscription_id: 'sub_new' };
    expect(shouldApply(current, provided({ subscriptionId: 'sub_old', status: 'canceled' }))).toBe(false);
    expect(shouldApply(current, provided({ subscriptionId: 'sub_new', status: 'canceled' }))).toBe(true);
    expect(shouldApply({ provider_subscription_id: null }, provided({ status: 'canceled' }))).toBe(true);
  });
});

describe('subscription change → analytics event', () => {
  const free: SubscriptionSummary = { tier: 'free', status: 'active', cycle: null, cancel_at_period_end: false };
  const pro: SubscriptionSummary = {
    tier: 'professional',
    status: 'active',
    cycle: 'monthly',
    cancel_at_period_end: false,
  };
  const ent: SubscriptionSummary = { ...pro, tier: 'enterprise' };
  const classify = (before: SubscriptionSummary, after: SubscriptionSummary) =>
    classifySubscriptionChange(defaultCatalog, before, after);

  it('names starts, upgrades, downgrades and cycle changes with the MRR on each side', () => {
    expect(classify(free, pro)).toEqual({ kind: 'start', mrrBeforeCents: 0, mrrAfterCents: 4900 });
    expect(classify(pro, ent)).toEqual({ kind: 'upgrade', mrrBeforeCents: 4900, mrrAfterCents: 19900 });
    expect(classify(ent, pro)).toEqual({ kind: 'downgrade', mrrBeforeCents: 19900, mrrAfterCents: 4900 });
    expect(classify(pro, { ...pro, cycle: 'yearly' })).toEqual({
      kind: 'cycle_change',
      mrrBeforeCents: 4900,
      mrrAfterCents: 4083,
    });
  });

  it('a scheduled cancel keeps the MRR until the subscription ends; the end drops it', () => {
    const canceling = { ...pro, cancel_at_period_end: true };
    expect(classify(pro, canceling)).toEqual({ kind: 'cancel', mrrBeforeCents: 4900, mrrAfterCents: 4900 });
    expect(classify(canceling, pro)?.kind).toBe('reactivation');
    expect(classify(canceling, free)).toEqual({ kind: 'back_to_free', mrrBeforeCents: 4900, mrrAfterCents: 0 });
  });

  it('past due still owes the MRR; recovering or ending says so', () => {
    const pastDue = { ...pro, status: 'past_due' } satisfies SubscriptionSummary;
    expect(classify(pro, pastDue)).toEqual({ kind: 'past_due', mrrBeforeCents: 4900, mrrAfterCents: 4900 });
    expect(classify(pastDue, pro)?.kind).toBe('recovered');
    expect(classify(pastDue, free)?.kind).toBe('back_to_free');
    const unpaid = { ...pro, status: 'unpaid' } satisfies SubscriptionSummary;
    expect(classify(pastDue, unpaid)?.kind).toBe('back_to_free');
    expect(classify(unpaid, pro)?.kind).toBe('recovered');
  });

  it('a renewal or an unchanged state is no event', () => {
    expect(classify(pro, pro)).toBeNull();
    expect(classify(free, free)).toBeNull();
  });
});
