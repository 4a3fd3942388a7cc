import type { CompanionState } from '../../src-shared/contract.ts';
import { planName } from './plan.ts';

/** Where a checkout stands, in the words the window shows. */
export type CheckoutView =
  | { kind: 'none' }
  | { kind: 'opening'; plan: string }
  | { kind: 'waiting'; plan: string; cycle: string | null }
  | { kind: 'completed'; plan: string }
  | { kind: 'failed'; plan: string; reason: string };

/**
 * A checkout is finished from the user's point of view as soon as the synced subscription is on
 * the plan they paid for, whether or not main has moved its checkout status on yet.
 */
export function checkoutView(state: CompanionState): CheckoutView {
  const { status, tier, cycle, error } = state.checkout;
  const plan = tier ? planName(state, tier) : 'the new plan';
  // The cycle too, as main's completeCheckoutIfPaid: a trial shows its tier with no cycle, unpaid.
  const arrived =
    tier !== null &&
    state.subscription?.tier === tier &&
    state.subscription.cycle === cycle &&
    state.subscription.access;
  switch (status) {
    case 'idle':
      return { kind: 'none' };
    case 'opening':
      return { kind: 'opening', plan };
    case 'waiting':
      return arrived ? { kind: 'completed', plan } : { kind: 'waiting', plan, cycle };
    case 'completed':
      return { kind: 'completed', plan };
    case 'failed':
      return { kind: 'failed', plan, reason: error ?? 'unknown error' };
  }
}
