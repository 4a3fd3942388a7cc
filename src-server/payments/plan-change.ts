import type { BillingCycle } from '../../src-shared/api.ts';
import { type Catalog, type TierId, tiersByPrice } from '../../src-shared/catalog.ts';

export interface Plan {
  tier: TierId;
  cycle: BillingCycle;
}

type PlanChangeKind = 'upgrade' | 'downgrade' | 'cycle_change' | 'none';

export interface PlanChange {
  kind: PlanChangeKind;
  /**
   * `now` when the customer gets more (charged now, prorated); `period_end` when they get less, so
   * what they already paid for is never taken away early.
   */
  effective: 'now' | 'period_end';
}

/** Position of a tier from cheapest (0) to dearest; negotiated tiers rank last. */
export function tierRank(catalog: Catalog, tier: TierId): number {
  return tiersByPrice(catalog).findIndex((candidate) => candidate.id === tier);
}

export function classifyPlanChange(catalog: Catalog, from: Plan, to: Plan): PlanChange {
  const delta = tierRank(catalog, to.tier) - tierRank(catalog, from.tier);
  if (delta > 0) return { kind: 'upgrade', effective: 'now' };
  if (delta < 0) return { kind: 'downgrade', effective: 'period_end' };
  if (from.cycle === to.cycle) return { kind: 'none', effective: 'now' };
  // Monthly → yearly is paying more up front: charge now. Yearly → monthly waits for the year to end.
  return { kind: 'cycle_change', effective: to.cycle === 'yearly' ? 'now' : 'period_end' };
}

interface ProrationInput {
  oldPriceCents: number;
  newPriceCents: number;
  /** The paid period the change happens in (UTC ms). */
  periodStart: number;
  periodEnd: number;
  now: number;
  /** A cycle change starts a new period now, so the new price is due in full. */
  restartsPeriod: boolean;
}

/**
 * What an immediate change costs now, as Stripe prorates it: the new price for what is left of the
 * period (or in full when a new period starts) less the unused part of the old price. A negative
 * result is a credit the customer is owed, never a payout, so the charge is at least zero.
 */
export function prorationCents(input: ProrationInput): number {
  const length = input.periodEnd - input.periodStart;
  const left = length <= 0 ? 0 : Math.min(1, Math.max(0, (input.periodEnd - input.now) / length));
  const credit = Math.round(input.oldPriceCents * left);
  const charge = input.restartsPeriod ? input.newPriceCents : Math.round(input.newPriceCents * left);
  return Math.max(0, charge - credit);
}
