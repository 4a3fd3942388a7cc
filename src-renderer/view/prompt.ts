import type { PlanView, UpgradePromptReason, UpgradeSuggestion } from '../../src-shared/api.ts';
import type { CompanionState } from '../../src-shared/contract.ts';
import { formatCount, humanize } from './format.ts';
import { type UsageBar, usageBars, usageUnlocked } from './usage.ts';

/**
 * Which upgrade prompt the window shows, if any. This is presentation, not entitlement: whether a
 * host app may do something is main's answer (`lastDenial`); here we only pick what to say and
 * which of main's offers to show: main names the plan to offer per operation
 * (`usage.operations[op].upgrade`) and per denial (`lastDenial.decision.upgrade`).
 */

export interface UpgradePrompt {
  /** Stable per situation, so a dismissed prompt stays dismissed until the situation changes. */
  key: string;
  reason: UpgradePromptReason;
  headline: string;
  /** What is blocked (or about to be), in words. */
  blocked: string;
  offer: UpgradeSuggestion | null;
}

type Plans = NonNullable<CompanionState['plans']>['plans'];

/** Plans from cheapest to dearest monthly price; negotiated (contact sales) plans last. */
export function plansByPrice(plans: Plans): PlanView[] {
  const price = (plan: PlanView) => plan.prices?.monthly_cents ?? Number.POSITIVE_INFINITY;
  return plans
    .map((plan, index) => ({ plan, index }))
    .sort((a, b) => price(a.plan) - price(b.plan) || a.index - b.index)
    .map(({ plan }) => plan);
}

/** True when `tier` is the current tier or one the user would not upgrade to from it. */
function alreadyHas(plans: Plans | undefined, currentTier: string, tier: string): boolean {
  if (currentTier === tier) return true;
  if (!plans) return false;
  const ordered = plansByPrice(plans);
  return ordered.findIndex((plan) => plan.id === currentTier) >= ordered.findIndex((plan) => plan.id === tier);
}

function denialPrompt(state: CompanionState): UpgradePrompt | null {
  const denial = state.lastDenial;
  if (!denial || denial.decision.allowed) return null;
  // Main names the subject as "<method> <feature or operation>", e.g. "gate.check export_formats".
  const name = denial.subject.split(' ').at(-1) ?? denial.subject;
  const operation = state.usage.operations[name];
  const what = operation ? operation.label : humanize(name);
  if (denial.decision.code === 'LEASE_EXHAUSTED') {
    // The plan has room; this computer has spent what it may offline. Reaching the server fixes it.
    return {
      key: `denied:${denial.at}`,
      reason: 'denied',
      headline: `An app was blocked: ${what}`,
      blocked: `This computer has used the share of your plan it may spend offline. Connect to the internet to continue: the companion then gets more from the billing server.`,
      offer: null,
    };
  }
  if (!denial.decision.upgrade) return null;
  const offer = denial.decision.upgrade;
  if (alreadyHas(state.plans?.plans, state.effectiveTier, offer.tier)) return null;
  const blocked =
    denial.decision.code === 'LIMIT_REACHED'
      ? `${what}: this month's limit is used up`
      : denial.decision.code === 'SIZE_LIMIT_EXCEEDED'
        ? `${what}: larger than your plan allows`
        : `${what} is not included in your plan`;
  return { key: `denied:${denial.at}`, reason: 'denied', headline: `An app was blocked: ${what}`, blocked, offer };
}

function limitPrompt(state: CompanionState, bar: UsageBar): UpgradePrompt {
  const offer = state.usage.operations[bar.operation]?.upgrade ?? null;
  const limit = formatCount(bar.limit ?? 0);
  const full = bar.state === 'full';
  return {
    key: `limit:${bar.operation}:${bar.state}:${state.usage.period}`,
    reason: full ? 'limit_reached' : 'limit_near',
    headline: full ? `${bar.label}: limit reached` : `${bar.label}: ${bar.percent} % used`,
    blocked: full
      ? `Blocked: ${bar.label}, until the monthly limit resets or you upgrade`
      : `${formatCount(bar.used)} of ${limit} ${bar.label} used this month`,
    offer,
  };
}

/** The one prompt to show: a host app's denial first, then a full limit, then the fullest near-limit bar. */
export function selectPrompt(state: CompanionState, dismissed: ReadonlySet<string>): UpgradePrompt | null {
  if (state.account === null) return null;
  const candidates: UpgradePrompt[] = [];
  const denial = denialPrompt(state);
  if (denial) candidates.push(denial);
  // No limit prompts while nothing is granted: an upgrade would not unlock anything then.
  const bars = (usageUnlocked(state) ? usageBars(state.usage) : [])
    .filter((bar) => bar.state === 'full' || bar.state === 'warning')
    .sort((a, b) => b.percent - a.percent);
  for (const bar of bars) candidates.push(limitPrompt(state, bar));
  return candidates.find((prompt) => !dismissed.has(prompt.key)) ?? null;
}
