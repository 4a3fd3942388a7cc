import type { Kysely, Transaction } from 'kysely';
import type { Subscription } from '../../src-shared/api.ts';
import {
  type Catalog,
  effectiveFeatures,
  findTier,
  Limits,
  type TierId,
  TierId as TierIdSchema,
} from '../../src-shared/catalog.ts';
import type { SubscriptionStatus } from '../../src-shared/license.ts';
import type { Database, NewSubscription, SubscriptionRow } from '../db/schema.ts';

/**
 * What a subscription row entitles its account to. The status → access mapping lives here once:
 * payments (webhooks), metering, /v1/me and the license all ask this module.
 */

interface AccessVerdict {
  access: boolean;
  /** UTC ms when access ends because payment is overdue; null when not past due. */
  pastDueGraceEndsAt: number | null;
}

/**
 * `active` and `trialing` grant the tier; `past_due` grants it until `past_due_since + grace`
 * (dunning has time to recover the payment); every other status falls back to free.
 */
export function subscriptionAccess(
  subscription: { status: string; past_due_since: number | null },
  now: number,
  pastDueGraceMs: number,
): AccessVerdict {
  const status = subscription.status as SubscriptionStatus;
  if (status === 'active' || status === 'trialing') return { access: true, pastDueGraceEndsAt: null };
  if (status === 'past_due') {
    const graceEndsAt = (subscription.past_due_since ?? now) + pastDueGraceMs;
    return { access: now < graceEndsAt, pastDueGraceEndsAt: graceEndsAt };
  }
  return { access: false, pastDueGraceEndsAt: null };
}

/** The row a new account gets: free, active, no payment provider. */
export function freeSubscription(accountId: string, now: number): NewSubscription {
  return {
    account_id: accountId,
    tier: 'free',
    status: 'active',
    cycle: null,
    current_period_start: null,
    current_period_end: null,
    cancel_at_period_end: 0,
    pending_tier: null,
    pending_cycle: null,
    past_due_since: null,
    provider: 'none',
    provider_customer_id: null,
    provider_subscription_id: null,
    custom_limits_json: null,
    custom_features_json: null,
    updated_at: now,
  };
}

/** The plan that applies now: the subscribed tier when it has access, else free. */
export interface EntitledPlan {
  /** The tier the account subscribes to (shown to the user even when access has lapsed). */
  subscribedTier: TierId;
  /** The tier whose limits and features apply now. */
  tier: TierId;
  access: boolean;
  pastDueGraceEndsAt: number | null;
  /** When an admin-granted trial that gives this plan ends (UTC ms); absent without one. */
  trialEndsAt?: number;
  limits: Limits;
  features: string[];
  supportLevel: string;
}

function parseJson<T>(text: string | null, parse: (value: unknown) => T): T | null {
  if (text === null) return null;
  return parse(JSON.parse(text));
}

export function entitledPlan(
  catalog: Catalog,
  row: SubscriptionRow,
  now: number,
  pastDueGraceMs: number,
): EntitledPlan {
  const verdict = subscriptionAccess(row, now, pastDueGraceMs);
  const subscribed = TierIdSchema.safeParse(row.tier);
  const subscribedTier: TierId = subscribed.success ? subscribed.data : 'free';
  const tier = findTier(catalog, verdict.access ? subscribedTier : 'free');
  const ownContract = verdict.access && tier.id === subscribedTier;
  // A contract stored before devices were limited names no max_devices: it keeps the tier's.
  const customLimits = ownContract
    ? parseJson(row.custom_limits_json, (value) =>
        Limits.parse({ max_devices: tier.limits.max_devices, ...(value as Record<string, unknown>) }),
      )
    : null;
  const customFeatures = ownContract
    ? parseJson(row.custom_features_json, (value) => (value as unknown[]).map(String))
    : null;
  return {
    subscribedTier,
    tier: tier.id,
    access: verdict.access,
    pastDueGraceEndsAt: verdict.pastDueGraceEndsAt,
    limits: customLimits ?? tier.limits,
    features: customFeatures ?? effectiveFeatures(catalog, tier.id),
    supportLevel: tier.support_level,
  };
}

export async function loadSubscription(
  db: Kysely<Database> | Transaction<Database>,
  accountId: string,
): Promise<SubscriptionRow> {
  return db.selectFrom('subscriptions').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
}

export function subscriptionView(row: SubscriptionRow, plan: EntitledPlan): Subscription {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const pending = row.pending_tier === null ? null : TierIdSchema.safeParse(row.pending_tier);
  return {
    tier: plan.subscribedTier,
    status: row.status as SubscriptionStatus,
    cycle: row.cycle,
    access: plan.access,
    currentPeriodEnd: iso(row.current_period_end),
    cancelAtPeriodEnd: row.cancel_at_period_end === 1,
    pendingTier: pending?.success ? pending.data : null,
    pastDueGraceEndsAt: iso(plan.pastDueGraceEndsAt),
    supportLevel: plan.supportLevel,
    features: plan.features,
    limits: plan.limits,
  };
}

/** When paid access ends without renewal (cancel at period end, past-due grace), or null. */
export function accessEndsAt(row: SubscriptionRow, plan: EntitledPlan): number | null {
  if (!plan.access) return null;
  if (plan.trialEndsAt !== undefined) return plan.trialEndsAt;
  if (plan.pastDueGraceEndsAt !== null) return plan.pastDueGraceEndsAt;
  if (row.cancel_at_period_end === 1 && row.current_period_end !== null) return row.current_period_end;
  return null;
}
