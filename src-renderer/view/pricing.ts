import type { BillingCycle, PlansResponse, PlanView } from '../../src-shared/api.ts';
import { monthlyLimit } from '../../src-shared/decisions.ts';
import { formatLimit, formatMoney } from '../../src-shared/format.ts';
import { featureName } from './plan.ts';
import { plansByPrice } from './prompt.ts';

/** The plans table: one column per plan, limits and features as rows, so plans compare side by side. */

/**
 * `start_free`: signed out, the free plan's "Start free" (opens the sign-up form); `none`: signed
 * out, a paid plan (chosen after signing up).
 */
type PlanAction = 'current' | 'checkout' | 'contact_sales' | 'manage' | 'start_free' | 'none';

export interface PlanColumn {
  tier: PlanView['id'];
  name: string;
  /** "$49" or "Let's talk" */
  price: string;
  /** "/ month", "/ year", or "" for negotiated plans. */
  per: string;
  /** "Save $98 a year" when paying yearly is cheaper, else null. */
  saving: string | null;
  setupFee: string;
  current: boolean;
  action: PlanAction;
  /** "Try it free for 14 days, no card" on the catalog's trial tier, for a newcomer or a free account. */
  trial: string | null;
}

export interface PricingTable {
  columns: PlanColumn[];
  limitRows: { label: string; cells: string[] }[];
  featureRows: { label: string; included: boolean[] }[];
  /** "save up to 17 %" for the yearly switch, or null when no plan is cheaper yearly. */
  bestYearlySaving: string | null;
}

function column(
  plan: PlanView,
  cycle: BillingCycle,
  currency: string,
  rank: number,
  currentRank: number,
  trial: string | null,
): PlanColumn {
  const current = rank === currentRank;
  const action: PlanAction = current
    ? 'current'
    : plan.negotiated || plan.prices === null
      ? 'contact_sales'
      : rank > currentRank
        ? 'checkout'
        : 'manage';
  return { ...priced(plan, cycle, currency), current, action, trial };
}

function priced(plan: PlanView, cycle: BillingCycle, currency: string) {
  if (plan.prices === null) {
    return {
      tier: plan.id,
      name: plan.name,
      price: "Let's talk",
      per: '',
      saving: null,
      setupFee: 'Negotiated',
    };
  }
  const yearly = cycle === 'yearly';
  const cents = yearly ? plan.prices.yearly_cents : plan.prices.monthly_cents;
  return {
    tier: plan.id,
    name: plan.name,
    price: formatMoney(cents, currency),
    per: yearly ? '/ year' : '/ month',
    saving:
      yearly && plan.yearlySavingCents > 0 ? `Save ${formatMoney(plan.yearlySavingCents, currency)} a year` : null,
    setupFee:
      plan.prices.setup_fee_cents > 0
        ? `${formatMoney(plan.prices.setup_fee_cents, currency)} one-time setup fee`
        : 'No setup fee',
  };
}

/** `currentTier` null: nobody is signed in (the newcomer's view: "Start free", the trial offer). */
export function pricingTable(response: PlansResponse, cycle: BillingCycle, currentTier: string | null): PricingTable {
  const plans = plansByPrice(response.plans);
  const currentRank = plans.findIndex((plan) => plan.id === currentTier);
  const offer = response.trial;
  const trialFor = (plan: PlanView) =>
    offer && offer.tier === plan.id && (currentTier === null || currentTier === 'free')
      ? `Try it free for ${offer.days} days, no card`
      : null;
  const columns = plans.map((plan, rank) => {
    const shown = column(plan, cycle, response.currency, rank, currentRank, trialFor(plan));
    if (currentTier !== null) return shown;
    const free = plan.prices !== null && plan.prices.monthly_cents === 0 && plan.prices.yearly_cents === 0;
    return { ...shown, action: free ? ('start_free' as const) : ('none' as const) };
  });

  const limitRows = [
    ...Object.entries(response.operations).map(([operation, { label }]) => ({
      label: `${label} per month`,
      cells: plans.map((plan) => formatLimit(monthlyLimit(plan.limits, operation))),
    })),
    {
      label: 'API calls per hour',
      cells: plans.map((plan) => formatLimit(plan.limits.api_calls_per_hour)),
    },
    { label: 'Devices', cells: plans.map((plan) => formatLimit(plan.limits.max_devices)) },
    { label: 'Largest project', cells: plans.map((plan) => formatLimit(plan.limits.max_project_size_mb, ' MB')) },
    { label: 'Support', cells: plans.map((plan) => featureName(plan.supportLevel)) },
  ];

  const features: string[] = [];
  for (const plan of plans) {
    for (const feature of plan.features) if (!features.includes(feature)) features.push(feature);
  }
  const featureRows = features.map((feature) => ({
    label: featureName(feature),
    included: plans.map((plan) => plan.features.includes(feature) || plan.features.includes('all_features')),
  }));

  let best = 0;
  for (const plan of plans) {
    if (plan.prices && plan.prices.monthly_cents > 0) {
      best = Math.max(best, plan.yearlySavingCents / (plan.prices.monthly_cents * 12));
    }
  }
  return {
    columns,
    limitRows,
    featureRows,
    bestYearlySaving: best > 0 ? `save up to ${Math.round(best * 100)} %` : null,
  };
}
