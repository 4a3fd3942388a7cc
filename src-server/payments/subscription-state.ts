import type { BillingCycle } from '../../src-shared/api.ts';
import type { Catalog, TierId } from '../../src-shared/catalog.ts';
import type { SubscriptionStatus } from '../../src-shared/license.ts';
import { mrrCents } from './mrr.ts';
import { type Plan, tierRank } from './plan-change.ts';

/**
 * Pure translation between what a payment provider says about a subscription and the account's
 * subscription row, plus the analytics event kind of a change. The effectful side (reading the
 * provider, writing the row) lives in subscription-store.ts.
 */

export type ProviderName = 'local' | 'stripe';

/** A provider's subscription, normalized: the same shape whether Stripe or the local provider said it. */
export interface ProviderSubscription {
  provider: ProviderName;
  /** The account the subscription was bought for (Stripe: subscription metadata), when known. */
  accountId: string | null;
  customerId: string;
  subscriptionId: string;
  status: SubscriptionStatus;
  /** The plan of the subscription's price; null when the price is not one the catalog made. */
  plan: Plan | null;
  /** UTC ms. */
  currentPeriodStart: number;
  currentPeriodEnd: number;
  cancelAtPeriodEnd: boolean;
  /** A change scheduled for the end of the period (a downgrade, or yearly → monthly). */
  pending: Plan | null;
  /** When the unpaid invoice that made it past due was issued (UTC ms); null unless past due. */
  pastDueSince: number | null;
  /**
   * The latest change the provider's record itself shows (Stripe: the subscription ending, a
   * cancel being asked for, its latest invoice issued or paid), UTC ms, when known. A change read
   * because of an older event cannot have happened before it.
   */
  lastChangedAt?: number;
}

/** The columns of the account's subscription row that the payments code decides. */
export interface SubscriptionFields {
  tier: TierId;
  status: SubscriptionStatus;
  cycle: BillingCycle | null;
  current_period_start: number | null;
  current_period_end: number | null;
  cancel_at_period_end: boolean;
  pending_tier: TierId | null;
  pending_cycle: BillingCycle | null;
  past_due_since: number | null;
  provider: ProviderName | 'none';
  provider_customer_id: string | null;
  provider_subscription_id: string | null;
}

/**
 * Statuses in which the subscription still exists and may come back to good standing, so the row
 * keeps its tier and the status decides access. Canceled, incomplete (never paid) and
 * incomplete_expired subscriptions leave the account on free.
 */
const LIVE_STATUSES: readonly SubscriptionStatus[] = ['active', 'trialing', 'past_due', 'unpaid', 'paused'];

function isLive(subscription: ProviderSubscription): boolean {
  return subscription.plan !== null && LIVE_STATUSES.includes(subscription.status);
}

function freeFields(provider: SubscriptionFields['provider'], customerId: string | null): SubscriptionFields {
  return {
    tier: 'free',
    status: 'active',
    cycle: null,
    current_period_start: null,
    current_period_end: null,
    cancel_at_period_end: false,
    pending_tier: null,
    pending_cycle: null,
    past_due_since: null,
    provider,
    provider_customer_id: customerId,
    provider_subscription_id: null,
  };
}

/**
 * The row a provider's subscription amounts to. `previous` is the row before: an account already
 * past due on this subscription keeps its original `past_due_since`, so a second unpaid invoice
 * never extends the grace.
 */
export function fieldsFromProvider(
  subscription: ProviderSubscription,
  previous?: { status: string; past_due_since: number | null; provider_subscription_id: string | null },
): SubscriptionFields {
  if (!isLive(subscription) || subscription.plan === null) {
    return freeFields(subscription.provider, subscription.customerId);
  }
  const stillPastDue =
    previous?.status === 'past_due' &&
    previous.past_due_since !== null &&
    previous.provider_subscription_id === subscription.subscriptionId;
  const pastDueSince =
    subscription.status !== 'past_due'
      ? null
      : stillPastDue
        ? Math.min(previous.past_due_since as number, subscription.pastDueSince ?? Number.POSITIVE_INFINITY)
        : subscription.pastDueSince;
  return {
    tier: subscription.plan.tier,
    status: subscription.status,
    cycle: subscription.plan.cycle,
    current_period_start: subscription.currentPeriodStart,
    current_period_end: subscription.currentPeriodEnd,
    cancel_at_period_end: subscription.cancelAtPeriodEnd,
    pending_tier: subscription.pending?.tier ?? null,
    pending_cycle: subscription.pending?.cycle ?? null,
    past_due_since: pastDueSince,
    provider: subscription.provider,
    provider_customer_id: subscription.customerId,
    provider_subscription_id: subscription.subscriptionId,
  };
}

/**
 * Whether a provider's word about a subscription may overwrite the row. An account that moved to a
 * new subscription must not be sent back to free by a late event about its old, ended one.
 */
export function shouldApply(
  current: Pick<SubscriptionFields, 'provider_subscription_id'>,
  incoming: ProviderSubscription,
) {
  if (current.provider_subscription_id === null || current.provider_subscription_id === incoming.subscriptionId) {
    return true;
  }
  return isLive(incoming);
}

const SUBSCRIPTION_EVENT_KINDS = [
  'start',
  'upgrade',
  'downgrade',
  'cycle_change',
  'cancel',
  'reactivation',
  'past_due',
  'recovered',
  'back_to_free',
] as const;
export type SubscriptionEventKind = (typeof SUBSCRIPTION_EVENT_KINDS)[number];

export type SubscriptionSummary = Pick<SubscriptionFields, 'tier' | 'status' | 'cycle' | 'cancel_at_period_end'>;

/** Paying (or owing) for a paid tier: the states that count towards MRR. */
function isPaying(row: SubscriptionSummary): boolean {
  return row.tier !== 'free' && (row.status === 'active' || row.status === 'trialing' || row.status === 'past_due');
}

interface SubscriptionEventFacts {
  kind: SubscriptionEventKind;
  mrrBeforeCents: number;
  mrrAfterCents: number;
}

/**
 * The analytics event a change of the row amounts to, or null when nothing a revenue report counts
 * changed (a renewal that only moves the period, a scheduled downgrade not yet applied). When several
 * things change at once — the provider collapsed them — the one that moves revenue most is named.
 */
export function classifySubscriptionChange(
  catalog: Catalog,
  before: SubscriptionSummary,
  after: SubscriptionSummary,
): SubscriptionEventFacts | null {
  const mrrBeforeCents = isPaying(before) ? mrrCents(catalog, before.tier, before.cycle) : 0;
  const mrrAfterCents = isPaying(after) ? mrrCents(catalog, after.tier, after.cycle) : 0;
  const facts = (kind: SubscriptionEventKind) => ({ kind, mrrBeforeCents, mrrAfterCents });
  const wasPaying = isPaying(before);
  const paying = isPaying(after);
  if (!wasPaying && paying) return facts(before.tier === after.tier && before.tier !== 'free' ? 'recovered' : 'start');
  if (wasPaying && !paying) return facts('back_to_free');
  if (!paying) return null;
  if (before.tier !== after.tier) {
    return facts(tierRank(catalog, after.tier) > tierRank(catalog, before.tier) ? 'upgrade' : 'downgrade');
  }
  if (before.cycle !== after.cycle) return facts('cycle_change');
  if (before.status !== 'past_due' && after.status === 'past_due') return facts('past_due');
  if (before.status === 'past_due' && after.status !== 'past_due') return facts('recovered');
  if (!before.cancel_at_period_end && after.cancel_at_period_end) return facts('cancel');
  if (before.cancel_at_period_end && !after.cancel_at_period_end) return facts('reactivation');
  return null;
}
