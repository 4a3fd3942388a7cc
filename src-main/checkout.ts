import type { Subscription } from '../src-shared/api.ts';
import type { CompanionState } from '../src-shared/contract.ts';

type Checkout = CompanionState['checkout'];

/**
 * A checkout waiting for payment is completed once a sync shows the subscription on the tier and
 * billing cycle it was for, with access: the payment went through and the server applied it.
 * Anything else (still the old plan, the same tier on the other cycle, past due) keeps it waiting.
 */
export function completeCheckoutIfPaid(checkout: Checkout, subscription: Subscription | null): Checkout {
  if (checkout.status !== 'waiting' || subscription === null) return checkout;
  const arrived = subscription.access && subscription.tier === checkout.tier && subscription.cycle === checkout.cycle;
  return arrived ? { ...checkout, status: 'completed', error: null } : checkout;
}

/** The user came back from a cancelled checkout (tollgate://checkout/cancel): stop waiting for it. */
export function cancelCheckout(checkout: Checkout): Checkout {
  return checkout.status === 'waiting' || checkout.status === 'opening'
    ? { status: 'idle', tier: null, cycle: null, error: null }
    : checkout;
}
