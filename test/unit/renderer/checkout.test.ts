import { describe, expect, it } from 'vitest';
import { checkoutView } from '../../../src-renderer/view/checkout.ts';
import type { CompanionState } from '../../../src-shared/contract.ts';
import { signedIn } from '../../support/companion-states.ts';

function during(state: CompanionState, checkout: CompanionState['checkout']): CompanionState {
  return { ...state, checkout };
}

describe('checkout status', () => {
  it('shows nothing when no checkout is under way', () => {
    expect(checkoutView(signedIn('free'))).toEqual({ kind: 'none' });
  });

  it('waits for payment while the subscription is still on the old plan', () => {
    const state = during(signedIn('free'), { status: 'waiting', tier: 'professional', cycle: 'yearly', error: null });
    expect(checkoutView(state)).toEqual({ kind: 'waiting', plan: 'Professional', cycle: 'yearly' });
  });

  it('is done as soon as the synced subscription is on the paid plan', () => {
    const state = during(signedIn('professional'), {
      status: 'waiting',
      tier: 'professional',
      cycle: 'monthly',
      error: null,
    });
    expect(checkoutView(state)).toEqual({ kind: 'completed', plan: 'Professional' });
  });

  it('keeps waiting when the plan arrived without access (payment still failing)', () => {
    const state = during(signedIn('professional'), {
      status: 'waiting',
      tier: 'professional',
      cycle: 'monthly',
      error: null,
    });
    state.subscription = { ...state.subscription!, status: 'incomplete', access: false };
    expect(checkoutView(state).kind).toBe('waiting');
  });

  it('says why a checkout failed', () => {
    const state = during(signedIn('free'), {
      status: 'failed',
      tier: 'enterprise',
      cycle: 'monthly',
      error: 'Card declined',
    });
    expect(checkoutView(state)).toEqual({ kind: 'failed', plan: 'Enterprise', reason: 'Card declined' });
  });
});
