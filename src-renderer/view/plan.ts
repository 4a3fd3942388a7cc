import type { CompanionState } from '../../src-shared/contract.ts';
import { awaitingLicense, grantsNothing } from '../../src-shared/decisions.ts';
import { formatDate } from '../../src-shared/format.ts';
import { humanize } from './format.ts';

/** The "Your plan" panel in words: what the user has, how it renews, and whether it is in good standing. */

export type Tone = 'ok' | 'warning' | 'danger';

export interface TierStatus {
  planName: string;
  status: { label: string; tone: Tone };
  cycle: string | null;
  /** "Renews on 1 Dec 2026", "Ends on …", "Changes to Free on …", or null (free plans do not renew). */
  dateLine: string | null;
  supportLevel: string;
  features: string[];
  /** Set when decisions use another tier than the subscription's (not in good standing). */
  effectiveNote: string | null;
}

export function planName(state: Pick<CompanionState, 'plans'>, tier: string): string {
  return state.plans?.plans.find((plan) => plan.id === tier)?.name ?? humanize(tier);
}

export function featureName(feature: string): string {
  return feature === 'all_features' ? 'Every feature' : humanize(feature);
}

const STATUS_WORDS: Record<string, { label: string; tone: Tone }> = {
  active: { label: 'Active', tone: 'ok' },
  trialing: { label: 'Trial', tone: 'ok' },
  past_due: { label: 'Payment overdue', tone: 'warning' },
  canceled: { label: 'Canceled', tone: 'danger' },
  unpaid: { label: 'Unpaid', tone: 'danger' },
  incomplete: { label: 'Payment not completed', tone: 'danger' },
  incomplete_expired: { label: 'Payment not completed', tone: 'danger' },
  paused: { label: 'Paused', tone: 'danger' },
};

export function tierStatus(state: CompanionState, timeZone?: string): TierStatus | null {
  const subscription = state.subscription;
  const license = state.license;
  const tier = subscription?.tier ?? license.tier;
  if (!tier) return null;
  const rawStatus = subscription?.status ?? license.subscriptionStatus ?? 'active';
  const status = { ...(STATUS_WORDS[rawStatus] ?? { label: humanize(rawStatus), tone: 'danger' as const }) };
  const graceEnd = subscription?.pastDueGraceEndsAt ?? null;
  if (rawStatus === 'past_due' && graceEnd) {
    status.label = `Payment overdue — access until ${formatDate(graceEnd, timeZone)}`;
  }

  let dateLine: string | null = null;
  const periodEnd = subscription?.currentPeriodEnd ?? null;
  const trialEnd = state.trial?.status === 'running' ? state.trial.endsAt : null;
  if (trialEnd) {
    // The cardless trial: its tier until the end, then Free (nothing renews).
    status.label = 'Free trial';
    dateLine = `Trial ends on ${formatDate(trialEnd, timeZone)}`;
  } else if (periodEnd && rawStatus !== 'canceled') {
    if (subscription?.cancelAtPeriodEnd) dateLine = `Ends on ${formatDate(periodEnd, timeZone)}`;
    else if (subscription?.pendingTier && subscription.pendingTier !== tier) {
      dateLine = `Changes to ${planName(state, subscription.pendingTier)} on ${formatDate(periodEnd, timeZone)}`;
    } else dateLine = `Renews on ${formatDate(periodEnd, timeZone)}`;
  } else if (!subscription && license.accessEndsAt) {
    dateLine = `Access ends on ${formatDate(license.accessEndsAt, timeZone)}`;
  }

  const cycle = subscription?.cycle ?? null;
  const features = subscription?.features ?? license.features;
  return {
    planName: planName(state, tier),
    status,
    cycle: cycle === null ? null : cycle === 'yearly' ? 'Billed yearly' : 'Billed monthly',
    dateLine,
    supportLevel: `${humanize(subscription?.supportLevel ?? supportOf(state, tier))} support`,
    features: features.map(featureName),
    effectiveNote: awaitingLicense(state)
      ? 'Until its license arrives no features or usage are unlocked: apps are refused.'
      : grantsNothing(state.standing.code)
        ? 'Until this is resolved no features or usage are unlocked: apps are refused.'
        : state.effectiveTier !== tier
          ? `Until this is resolved you have the ${planName(state, state.effectiveTier)} plan's features and limits.`
          : null,
  };
}

function supportOf(state: CompanionState, tier: string): string {
  return state.plans?.plans.find((plan) => plan.id === tier)?.supportLevel ?? 'standard';
}
