import {
  type Catalog,
  effectiveFeatures,
  findTier,
  type Limits,
  monthlyPriceCents,
  type Tier,
  type TierId,
  tiersByPrice,
  UNLIMITED,
} from './catalog.ts';

/**
 * The one place that decides "may this user use feature F / spend N units of operation O now?".
 * Pure: the caller brings the plan (from a verified license or the database), the usage already
 * spent this period, and the catalog. The server and the companion both call it.
 */

export const REASON_CODES = [
  'OK',
  'NOT_SIGNED_IN',
  'FEATURE_NOT_IN_PLAN',
  'LIMIT_REACHED',
  'SIZE_LIMIT_EXCEEDED',
  'SUBSCRIPTION_INACTIVE',
  'LICENSE_EXPIRED',
  'OFFLINE_GRACE_EXPIRED',
  'CLOCK_TAMPERED',
  'LICENSE_INVALID',
  /**
   * Offline (or the server could not renew it), a device spends only the units its signed quota
   * lease holds for it; past them: connect to continue (the lease is renewed on the next sync).
   */
  'LEASE_EXHAUSTED',
  /** The user released this device from the account: it is refused until reactivated. */
  'DEVICE_RELEASED',
  /** The plan's max_devices are all in use: release one or upgrade. */
  'DEVICE_LIMIT_REACHED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** Why a plan is not in good standing; while it is not, at most the free tier its license signs applies. */
export type StandingProblem = Extract<
  ReasonCode,
  | 'SUBSCRIPTION_INACTIVE'
  | 'LICENSE_EXPIRED'
  | 'OFFLINE_GRACE_EXPIRED'
  | 'CLOCK_TAMPERED'
  | 'LICENSE_INVALID'
  | 'DEVICE_RELEASED'
  | 'DEVICE_LIMIT_REACHED'
>;

const ALL_FEATURES = 'all_features';

export interface PlanState {
  tier: TierId;
  /** A custom contract's own limits; otherwise the catalog's limits for the tier apply. */
  limits?: Limits;
  /** A custom contract's own features; otherwise the catalog's (cumulative) features apply. */
  features?: readonly string[];
  /** `ok`, or the reason the plan cannot be honoured right now. */
  standing: 'ok' | StandingProblem;
}

export interface UpgradeSuggestion {
  tier: TierId;
  name: string;
  /** null for a negotiated (custom) tier: contact sales. */
  monthlyPriceCents: number | null;
  yearlyPriceCents: number | null;
  contactSales: boolean;
}

export interface Decision {
  allowed: boolean;
  code: ReasonCode;
  /** Units still available this period before this request; absent when unlimited. */
  remaining?: number;
  /** The limit that applied; absent when unlimited. */
  limit?: number;
  /** On the companion: units its quota lease still lets this device spend (offline too); absent when none is needed. */
  leaseRemaining?: number;
  upgrade?: UpgradeSuggestion;
}

export interface DecisionInput {
  catalog: Catalog;
  /** null when nobody is signed in. */
  plan: PlanState | null;
  /** Units already used this period, per operation (server snapshot plus pending local usage). */
  usage?: Readonly<Record<string, number>>;
}

export type DecisionRequest =
  | { kind: 'feature'; feature: string }
  | { kind: 'usage'; operation: string; units: number }
  | { kind: 'size'; sizeMb: number };

export interface EffectivePlan {
  limits: Limits;
  features: readonly string[];
  tier: TierId;
}

const NOTHING_GRANTED: EffectivePlan = {
  tier: 'free',
  limits: { monthly: {}, max_project_size_mb: 0, api_calls_per_hour: 0, max_devices: 0 },
  features: [],
};

/** Standings without a license that can be honoured: nothing is granted (the catalog is for display only). */
const UNTRUSTED_STANDINGS: ReadonlySet<string> = new Set([
  'LICENSE_INVALID',
  'CLOCK_TAMPERED',
  'OFFLINE_GRACE_EXPIRED',
  'DEVICE_RELEASED',
  'DEVICE_LIMIT_REACHED',
]);

/** Whether a standing grants nothing at all (no license that can be honoured), not even the free tier. */
export function grantsNothing(standing: PlanState['standing'] | ReasonCode): boolean {
  return UNTRUSTED_STANDINGS.has(standing);
}

/**
 * Signed in, and the billing server has not sent this account's license yet (just after sign-in):
 * the companion's gate says LICENSE_INVALID meanwhile, though no license was refused. The window
 * and the tray say the license is on its way rather than that it failed.
 */
export function awaitingLicense(state: {
  account: unknown;
  license: { status: string };
  standing: { code: string };
}): boolean {
  return state.account !== null && state.license.status === 'none' && state.standing.code === 'LICENSE_INVALID';
}

/**
 * The features and limits a plan grants now. In good standing: the plan's own (a custom contract's,
 * or the catalog's for its tier — the server's catalog, or a verified license's claims on the
 * companion). Not in good standing (`SUBSCRIPTION_INACTIVE`, `LICENSE_EXPIRED`): only what the plan
 * itself carries — on the companion what the license signs for that case (the free tier) — and
 * never the catalog's free tier, which on the companion is a cached, user-editable copy; without
 * them, nothing. Untrusted standings grant nothing.
 */
export function grantedPlan(catalog: Catalog, plan: PlanState): EffectivePlan {
  if (grantsNothing(plan.standing)) return NOTHING_GRANTED;
  if (plan.standing !== 'ok') {
    return {
      tier: 'free',
      limits: plan.limits ?? NOTHING_GRANTED.limits,
      features: plan.features ?? NOTHING_GRANTED.features,
    };
  }
  const tier = findTier(catalog, plan.tier);
  return {
    tier: tier.id,
    limits: plan.limits ?? tier.limits,
    features: plan.features ?? effectiveFeatures(catalog, tier.id),
  };
}

function grantsFeature(features: readonly string[], feature: string): boolean {
  return features.includes(ALL_FEATURES) || features.includes(feature);
}

/**
 * The monthly limit a plan sets for an operation. An operation the plan does not name gets 0, not
 * unlimited: nothing can be spent of it. Failing closed is the safe side: a catalog edit that
 * drops an operation from a tier, or a custom contract that forgets one, must never hand out free
 * unlimited use. Every runtime (metering, the companion's gate, analytics) reads limits through here.
 */
export function monthlyLimit(limits: Limits, operation: string): number {
  return limits.monthly[operation] ?? 0;
}

/** Whether `units` more fit under `limit` when `used` (spent and held) are already taken. */
export function fitsLimit(limit: number, used: number, units: number): boolean {
  return limit === UNLIMITED || used + units <= limit;
}

function allows(catalog: Catalog, tier: Tier, request: DecisionRequest, usage: Readonly<Record<string, number>>) {
  switch (request.kind) {
    case 'feature':
      return grantsFeature(effectiveFeatures(catalog, tier.id), request.feature);
    case 'usage':
      // A tier that does not name the operation allows none of it, not even zero units.
      return (
        request.operation in tier.limits.monthly &&
        fitsLimit(monthlyLimit(tier.limits, request.operation), usage[request.operation] ?? 0, request.units)
      );
    case 'size':
      return fitsLimit(tier.limits.max_project_size_mb, 0, request.sizeMb);
  }
}

/**
 * The cheapest tier above `currentTier` that would allow the request, or undefined when none
 * would. `ordered` is `tiersByPrice(catalog)`, for callers that ask many times.
 */
export function cheapestTierAllowing(
  catalog: Catalog,
  request: DecisionRequest,
  usage: Readonly<Record<string, number>> = {},
  currentTier?: TierId,
  ordered: readonly Tier[] = tiersByPrice(catalog),
): Tier | undefined {
  const currentIndex = currentTier === undefined ? -1 : ordered.findIndex((tier) => tier.id === currentTier);
  return ordered.slice(currentIndex + 1).find((tier) => allows(catalog, tier, request, usage));
}

/** The cheapest tier that would allow the request, with its price; undefined when none would. */
export function suggestUpgrade(
  catalog: Catalog,
  request: DecisionRequest,
  usage: Readonly<Record<string, number>> = {},
  currentTier?: TierId,
): UpgradeSuggestion | undefined {
  const candidate = cheapestTierAllowing(catalog, request, usage, currentTier);
  return candidate ? suggestionFor(candidate) : undefined;
}

/**
 * The cheapest tier above `currentTier` that allows more than `activeDevices` devices at once, with
 * its price; undefined when none does. The server's DEVICE_LIMIT_REACHED answer carries it.
 */
export function suggestDeviceUpgrade(
  catalog: Catalog,
  activeDevices: number,
  currentTier?: TierId,
): UpgradeSuggestion | undefined {
  const ordered = tiersByPrice(catalog);
  const currentIndex = currentTier === undefined ? -1 : ordered.findIndex((tier) => tier.id === currentTier);
  const candidate = ordered
    .slice(currentIndex + 1)
    .find((tier) => fitsLimit(tier.limits.max_devices, activeDevices, 1));
  return candidate ? suggestionFor(candidate) : undefined;
}

function suggestionFor(candidate: Tier): UpgradeSuggestion {
  const negotiated = candidate.prices === 'negotiated';
  return {
    tier: candidate.id,
    name: candidate.name,
    monthlyPriceCents: monthlyPriceCents(candidate),
    yearlyPriceCents: candidate.prices === 'negotiated' ? null : candidate.prices.yearly_cents,
    contactSales: negotiated,
  };
}

export function decide(input: DecisionInput, request: DecisionRequest): Decision {
  const { catalog, plan } = input;
  const usage = input.usage ?? {};
  if (plan === null) {
    return { allowed: false, code: 'NOT_SIGNED_IN' };
  }
  const effective = grantedPlan(catalog, plan);
  // When the plan is not in good standing the free tier answers; a denial then names the
  // standing problem, since that (not the plan) is what the user has to fix.
  const denialCode = (planCode: ReasonCode): ReasonCode => (plan.standing === 'ok' ? planCode : plan.standing);
  const deny = (planCode: ReasonCode, extra: Partial<Decision> = {}): Decision => {
    const upgrade = suggestUpgrade(catalog, request, usage, effective.tier);
    return { allowed: false, code: denialCode(planCode), ...extra, ...(upgrade ? { upgrade } : {}) };
  };

  switch (request.kind) {
    case 'feature':
      return grantsFeature(effective.features, request.feature)
        ? { allowed: true, code: 'OK' }
        : deny('FEATURE_NOT_IN_PLAN');
    case 'usage': {
      if (!(request.operation in effective.limits.monthly)) {
        // An operation the plan does not name has a limit of 0 (monthlyLimit); no tier is
        // suggested, since the plan, not the tier, leaves it out.
        return { allowed: false, code: denialCode('LIMIT_REACHED'), limit: 0, remaining: 0 };
      }
      const limit = monthlyLimit(effective.limits, request.operation);
      if (limit === UNLIMITED) return { allowed: true, code: 'OK' };
      const used = usage[request.operation] ?? 0;
      const remaining = Math.max(0, limit - used);
      return fitsLimit(limit, used, request.units)
        ? { allowed: true, code: 'OK', limit, remaining }
        : deny('LIMIT_REACHED', { limit, remaining });
    }
    case 'size': {
      const limit = effective.limits.max_project_size_mb;
      if (limit === UNLIMITED) return { allowed: true, code: 'OK' };
      return request.sizeMb <= limit ? { allowed: true, code: 'OK', limit } : deny('SIZE_LIMIT_EXCEEDED', { limit });
    }
  }
}
