import type { Plan } from './plan-change.ts';
import type { ProviderSubscription } from './subscription-state.ts';
import type { InvoiceRecord } from './subscription-store.ts';

/**
 * The history of one Stripe subscription as a sequence of states, each dated when Stripe says it
 * happened, so `npm run stripe:import` can apply them in order through SubscriptionStore.apply —
 * the path every webhook takes — and analytics sees the start, every plan change, the cancel
 * request and the end in the months they happened. Pure: the caller reads Stripe.
 *
 * Stripe keeps only a subscription's present state plus a few dates; the rest is read from its
 * paid invoices: each names the plan it billed, so a plan that differs from the one before is a
 * change made when that invoice was paid.
 */

/** The dates Stripe keeps on a subscription (UTC ms). */
export interface SubscriptionDates {
  /** `start_date`: when it began (Stripe's `created` may be earlier for a backdated start). */
  startedAt: number;
  /** `canceled_at`: when the cancel was asked for (equal to `endedAt` for an immediate cancel). */
  canceledAt: number | null;
  /** `ended_at`: when it stopped. */
  endedAt: number | null;
}

export interface HistoryStep {
  /**
   * Names the step within its subscription, so a second import recognises it and applies nothing;
   * null for the present state, which is applied like a provider's answer (a no-op when the row
   * already says it, and news when it changed since).
   */
  key: string | null;
  at: number;
  subscription: ProviderSubscription;
}

/** Statuses of a subscription that was never paid for: it has no history worth importing. */
const NEVER_PAID = new Set(['incomplete', 'incomplete_expired']);

const samePlan = (a: Plan, b: Plan) => a.tier === b.tier && a.cycle === b.cycle;

/**
 * The states `current` went through, oldest first. `invoices` are the subscription's paid invoices
 * (any order). Empty when there is nothing to import: a price the catalog did not make, or a
 * subscription that never got paid.
 */
export function subscriptionHistory(
  current: ProviderSubscription,
  dates: SubscriptionDates,
  invoices: readonly InvoiceRecord[],
): HistoryStep[] {
  const paid = [...invoices].sort((a, b) => a.paidAt - b.paidAt || a.id.localeCompare(b.id));
  const firstPlan: Plan | null = paid[0] ? { tier: paid[0].tier, cycle: paid[0].cycle ?? 'monthly' } : current.plan;
  if (firstPlan === null || current.plan === null || (NEVER_PAID.has(current.status) && paid.length === 0)) {
    return [];
  }
  const endAt = dates.endedAt ?? Number.POSITIVE_INFINITY;
  // A cancel asked for before the end (at period end); an immediate cancel is only the end.
  const cancelAt =
    dates.canceledAt !== null && dates.canceledAt < endAt && (dates.endedAt !== null || current.cancelAtPeriodEnd)
      ? dates.canceledAt
      : null;

  let state: ProviderSubscription = {
    ...current,
    status: current.status === 'trialing' ? 'trialing' : 'active',
    plan: firstPlan,
    cancelAtPeriodEnd: false,
    pending: null,
    pastDueSince: null,
    currentPeriodStart: paid[0]?.periodStart ?? dates.startedAt,
    currentPeriodEnd: paid[0]?.periodEnd ?? current.currentPeriodEnd,
  };
  const steps: HistoryStep[] = [{ key: 'start', at: dates.startedAt, subscription: state }];
  const push = (key: string, at: number, next: ProviderSubscription) => {
    state = next;
    steps.push({ key, at: Math.max(at, steps[steps.length - 1]?.at ?? at), subscription: next });
  };

  let cancelPending = cancelAt !== null;
  for (const invoice of paid.slice(1)) {
    if (invoice.paidAt >= endAt) break;
    if (cancelPending && invoice.paidAt > (cancelAt as number)) {
      push('cancel', cancelAt as number, { ...state, cancelAtPeriodEnd: true });
      cancelPending = false;
    }
    const plan: Plan = { tier: invoice.tier, cycle: invoice.cycle ?? (state.plan as Plan).cycle };
    const period = { currentPeriodStart: invoice.periodStart, currentPeriodEnd: invoice.periodEnd };
    if (!samePlan(plan, state.plan as Plan)) push(`plan:${invoice.id}`, invoice.paidAt, { ...state, ...period, plan });
    else state = { ...state, ...period };
  }
  if (cancelPending) push('cancel', cancelAt as number, { ...state, cancelAtPeriodEnd: true });

  if (dates.endedAt !== null) push('end', dates.endedAt, current);
  else steps.push(presentStep(current, (steps[steps.length - 1] as HistoryStep).at));
  return steps;
}

/**
 * A live subscription as it is now, dated no earlier than `after`: past due since its unpaid
 * invoice was issued, otherwise as of the latest change Stripe's record shows.
 */
export function presentStep(current: ProviderSubscription, after: number): HistoryStep {
  const at = current.pastDueSince ?? current.lastChangedAt ?? after;
  return { key: null, at: Math.max(at, after), subscription: current };
}
