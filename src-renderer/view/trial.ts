import type { TierId } from '../../src-shared/catalog.ts';
import type { CompanionState } from '../../src-shared/contract.ts';
import { formatDate } from '../../src-shared/format.ts';
import { humanize } from './format.ts';

/**
 * The trial card: the catalog's cardless trial offered to a free account, the running trial with
 * its days left and the upgrade that keeps the tier, or the trial that ended. Display only: whether
 * the trial tier applies is the license's (main's) answer, which falls back to free at the end.
 */

const DAY_MS = 86_400_000;

export interface TrialCard {
  kind: 'offer' | 'running' | 'ended';
  tier: TierId;
  title: string;
  detail: string;
  /** Whole days left, rounded up (running only): "1 day left" on its last day. */
  daysLeft: number | null;
  action: string;
}

function tierName(state: CompanionState, tier: TierId): string {
  return state.plans?.plans.find((plan) => plan.id === tier)?.name ?? humanize(tier);
}

export function trialCard(state: CompanionState, now: number): TrialCard | null {
  const { trial, subscription } = state;
  if (state.account === null || trial === null || trial.tier === null) return null;
  // An account that pays has no use for a trial card (nor one for the trial it had before buying).
  if (subscription !== null && subscription.cycle !== null) return null;
  const name = tierName(state, trial.tier);
  const upgrade = `Upgrade to ${name}`;
  const endsAt = trial.endsAt === null ? null : Date.parse(trial.endsAt);
  if (trial.status === 'available') {
    return {
      kind: 'offer',
      tier: trial.tier,
      title: `Try ${name} free for ${trial.days} days`,
      detail: `No card needed. Its limits and features are yours at once; afterwards you are back on Free by yourself, unless you upgrade.`,
      daysLeft: null,
      action: `Start free ${name} trial`,
    };
  }
  if (trial.status === 'running' && endsAt !== null && now < endsAt) {
    const daysLeft = Math.ceil((endsAt - now) / DAY_MS);
    return {
      kind: 'running',
      tier: trial.tier,
      title: `${name} trial: ${daysLeft} ${daysLeft === 1 ? 'day' : 'days'} left`,
      detail: `Your trial ends on ${formatDate(endsAt)}, then you are back on Free. Upgrade to keep ${name}.`,
      daysLeft,
      action: upgrade,
    };
  }
  if (trial.status === 'running' || trial.status === 'used') {
    return {
      kind: 'ended',
      tier: trial.tier,
      title: `Your ${name} trial has ended`,
      detail: `You are on the Free plan${endsAt === null ? '' : ` since ${formatDate(endsAt)}`}. Upgrade to get ${name} back.`,
      daysLeft: null,
      action: upgrade,
    };
  }
  return null;
}
