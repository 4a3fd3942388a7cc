import { describe, expect, it } from 'vitest';
import { pricingTable } from '../../../src-renderer/view/pricing.ts';
import { trialCard } from '../../../src-renderer/view/trial.ts';
import type { CompanionState } from '../../../src-shared/contract.ts';
import { PLANS, signedIn, signedOut, TIME } from '../../support/companion-states.ts';

const { NOW, DAY } = TIME;

function withTrial(state: CompanionState, trial: CompanionState['trial']): CompanionState {
  return { ...state, trial };
}

describe('the trial card', () => {
  const offer = { status: 'available' as const, tier: 'professional' as const, days: 14, endsAt: null };

  it('offers the catalog trial to a free account, and nothing to a newcomer or a paying one', () => {
    const card = trialCard(withTrial(signedIn('free'), offer), NOW);
    expect(card).toMatchObject({
      kind: 'offer',
      title: 'Try Professional free for 14 days',
      action: 'Start free Professional trial',
    });
    expect(trialCard(withTrial(signedOut(), offer), NOW)).toBeNull();
    expect(trialCard(withTrial(signedIn('enterprise'), offer), NOW)).toBeNull();
    expect(trialCard(withTrial(signedIn('free'), { ...offer, status: 'unavailable' }), NOW)).toBeNull();
  });

  it('counts the days left up to the last, then says it ended', () => {
    const endsAt = new Date(NOW + 14 * DAY).toISOString();
    const running = withTrial(signedIn('free'), { ...offer, status: 'running', endsAt });
    expect(trialCard(running, NOW)).toMatchObject({
      kind: 'running',
      daysLeft: 14,
      title: 'Professional trial: 14 days left',
      action: 'Upgrade to Professional',
    });
    expect(trialCard(running, NOW + 13 * DAY + 1)?.title).toBe('Professional trial: 1 day left');
    // Past the end before the next sync: ended, whatever the last answer said.
    expect(trialCard(running, NOW + 14 * DAY)).toMatchObject({
      kind: 'ended',
      title: 'Your Professional trial has ended',
    });
    const used = withTrial(signedIn('free'), { ...offer, status: 'used', endsAt });
    expect(trialCard(used, NOW + 20 * DAY)?.detail).toContain('Upgrade to get Professional back.');
  });
});

describe('the plans before sign-in', () => {
  it('gives the free plan "Start free", marks the trial tier, and leaves paid plans to after sign-up', () => {
    const table = pricingTable(PLANS, 'monthly', null);
    expect(table.columns.map((c) => [c.name, c.action, c.trial])).toEqual([
      ['Free', 'start_free', null],
      ['Professional', 'none', 'Try it free for 14 days, no card'],
      ['Enterprise', 'none', null],
      ['Custom', 'none', null],
    ]);
  });

  it('does not offer the trial to a paying account', () => {
    const table = pricingTable(PLANS, 'monthly', 'professional');
    expect(table.columns.every((c) => c.trial === null)).toBe(true);
  });
});
