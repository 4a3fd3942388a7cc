import { describe, expect, it } from 'vitest';
import { tierStatus } from '../../../src-renderer/view/plan.ts';
import { signedIn, signedOut, withStanding } from '../../support/companion-states.ts';

describe('tier status', () => {
  it('shows a free plan with its support and features, and no renewal', () => {
    expect(tierStatus(signedIn('free'), 'UTC')).toEqual({
      planName: 'Free',
      status: { label: 'Active', tone: 'ok' },
      cycle: null,
      dateLine: null,
      supportLevel: 'Community support',
      features: ['Basic processing', 'Simple validation'],
      effectiveNote: null,
    });
  });

  it('shows a paid plan with its cycle and renewal date', () => {
    const status = tierStatus(signedIn('professional'), 'UTC');
    expect(status).toMatchObject({
      planName: 'Professional',
      cycle: 'Billed monthly',
      dateLine: 'Renews on 26 Dec 2026',
      supportLevel: 'Email support',
    });
    expect(status?.features).toContain('Export formats');
    expect(status?.features).toContain('Basic processing');
  });

  it('shows the end date of a plan canceled at period end', () => {
    const state = signedIn('professional');
    state.subscription = { ...state.subscription!, cancelAtPeriodEnd: true };
    expect(tierStatus(state, 'UTC')?.dateLine).toBe('Ends on 26 Dec 2026');
  });

  it('shows a scheduled downgrade', () => {
    const state = signedIn('enterprise');
    state.subscription = { ...state.subscription!, pendingTier: 'professional' };
    expect(tierStatus(state, 'UTC')?.dateLine).toBe('Changes to Professional on 26 Dec 2026');
  });

  it('shows past due with the end of the grace period', () => {
    const state = signedIn('professional');
    state.subscription = { ...state.subscription!, status: 'past_due', pastDueGraceEndsAt: '2026-12-03T12:00:00.000Z' };
    expect(tierStatus(state, 'UTC')?.status).toEqual({
      label: 'Payment overdue — access until 3 Dec 2026',
      tone: 'warning',
    });
  });

  it('shows a canceled plan without a renewal date', () => {
    const state = signedIn('professional');
    state.subscription = { ...state.subscription!, status: 'canceled' };
    expect(tierStatus(state, 'UTC')).toMatchObject({ status: { label: 'Canceled', tone: 'danger' }, dateLine: null });
  });

  it('says which plan applies while the paid one is not in good standing', () => {
    expect(tierStatus(withStanding(signedIn('professional'), 'SUBSCRIPTION_INACTIVE'), 'UTC')?.effectiveNote).toBe(
      "Until this is resolved you have the Free plan's features and limits.",
    );
  });

  it('says nothing is unlocked while no license can be honoured, never the free plan', () => {
    for (const code of ['CLOCK_TAMPERED', 'LICENSE_INVALID', 'OFFLINE_GRACE_EXPIRED'] as const) {
      expect(tierStatus(withStanding(signedIn('professional'), code), 'UTC')?.effectiveNote).toBe(
        'Until this is resolved no features or usage are unlocked: apps are refused.',
      );
    }
  });

  it('falls back to the cached license before the first sync', () => {
    const state = { ...signedIn('enterprise'), subscription: null };
    state.license = { ...state.license, accessEndsAt: Date.parse('2027-01-05T00:00:00Z') };
    expect(tierStatus(state, 'UTC')).toMatchObject({
      planName: 'Enterprise',
      dateLine: 'Access ends on 5 Jan 2027',
      supportLevel: 'Priority support',
    });
    expect(tierStatus(state, 'UTC')?.features).toContain('Every feature');
  });

  it('has nothing to show before a plan is known', () => {
    expect(tierStatus(signedOut(), 'UTC')).toBeNull();
  });
});
