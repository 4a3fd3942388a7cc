import { type Catalog, effectiveFeatures, findTier, type Limits, TierId, UNLIMITED } from '../../src-shared/catalog.ts';
import type { Override } from './overrides.ts';
import type { EntitledPlan } from './subscriptions.ts';
import { type Trial, trialRunning } from './trials.ts';

/**
 * What an administrator added on top of the subscription: a running trial replaces a plan without
 * paid access (free, lapsed) with the trial's tier; overrides then add units and features. Pure: the
 * one seam (http/context.ts planOf) reads the trial and overrides and calls this, so the license,
 * /v1/me and every usage decision see the same plan, and an expired one simply stops applying.
 */
export function adjustPlan(
  catalog: Catalog,
  plan: EntitledPlan,
  trial: Trial | null,
  overrides: readonly Override[],
  now: number,
): EntitledPlan {
  let adjusted = plan;
  const trialTier = TierId.safeParse(trial?.tier);
  if (trialRunning(trial, now) && trialTier.success && plan.tier === 'free') {
    const tier = findTier(catalog, trialTier.data);
    adjusted = {
      ...plan,
      subscribedTier: tier.id,
      tier: tier.id,
      access: true,
      limits: tier.limits,
      features: effectiveFeatures(catalog, tier.id),
      supportLevel: tier.support_level,
      trialEndsAt: trial.endsAt,
    };
  }
  if (overrides.length === 0) return adjusted;
  const monthly: Limits['monthly'] = { ...adjusted.limits.monthly };
  const features = new Set(adjusted.features);
  for (const override of overrides) {
    if (override.kind === 'feature') {
      features.add(override.feature);
      continue;
    }
    const limit = monthly[override.operation] ?? 0;
    if (limit !== UNLIMITED) monthly[override.operation] = limit + override.extraUnits;
  }
  return { ...adjusted, limits: { ...adjusted.limits, monthly }, features: [...features] };
}
