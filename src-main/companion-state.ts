import type { UsageSnapshot } from '../src-shared/api.ts';
import { type Branding, DEFAULT_BRANDING } from '../src-shared/branding.ts';
import { type Catalog, findTier, type Limits, type TierId } from '../src-shared/catalog.ts';
import type { CompanionState, LicenseView, OperationState, ProblemView } from '../src-shared/contract.ts';
import { grantedPlan, monthlyLimit, type PlanState, type ReasonCode, suggestUpgrade } from '../src-shared/decisions.ts';
import { periodEnd, periodOf } from '../src-shared/period.ts';
import type { LicenseStatus } from './license-cache.ts';
import { NO_LICENSE } from './state.ts';

/**
 * What the window, the tray and the host apps see, derived from what the services hold. Pure: the
 * companion reads its services into `DerivedStateInputs` and writes the answer into its store, so
 * every rule here is tested without opening a companion.
 */

export interface DerivedStateInputs {
  now: number;
  catalog: Catalog;
  /** The plan decisions use (gate.ts); null when signed out. */
  plan: PlanState | null;
  license: LicenseStatus;
  /** Why the license cannot be honoured right now, if it cannot. */
  licenseProblem: ProblemView | null;
  /** What the server last counted (usage-snapshot.ts). */
  serverUsage: { period: string; used: Record<string, number>; apiCalls: UsageSnapshot['apiCalls'] | null };
  /** Units recorded on this device and not yet acknowledged by the server, per operation. */
  pendingUnits(operation: string): number;
  pendingEvents: number;
  /** Whether the plan grants `white_label` (decided like any feature gate). */
  whiteLabelAllowed: boolean;
  whiteLabel: Branding;
  sync: CompanionState['sync'];
}

type DerivedState = Pick<CompanionState, 'branding' | 'license' | 'effectiveTier' | 'standing' | 'usage' | 'sync'>;

const STANDING_MESSAGES: Partial<Record<ReasonCode, string>> = {
  OK: 'Your plan is active.',
  NOT_SIGNED_IN: 'Sign in to use your plan.',
  SUBSCRIPTION_INACTIVE: 'Your subscription is not active: the free tier applies until it is.',
  LICENSE_EXPIRED: 'Your paid access has ended: the free tier applies.',
};

/** One operation's line in the state: its counts, its limit, and the plan to offer when it runs short. */
export function operationState(
  catalog: Catalog,
  tier: TierId,
  limits: Limits,
  operation: string,
  label: string,
  serverUsed: number,
  pending: number,
): OperationState {
  // The plan to offer when this operation runs short: room for one more unit beyond what is used.
  const upgrade = suggestUpgrade(
    catalog,
    { kind: 'usage', operation, units: 1 },
    { [operation]: serverUsed + pending },
    tier,
  );
  return { label, serverUsed, pending, limit: monthlyLimit(limits, operation), upgrade: upgrade ?? null };
}

export function deriveCompanionState(inputs: DerivedStateInputs): DerivedState {
  const { now, catalog, plan, licenseProblem: problem, serverUsage: snapshot } = inputs;
  const standingCode: ReasonCode = plan === null ? 'NOT_SIGNED_IN' : plan.standing === 'ok' ? 'OK' : plan.standing;
  const standingMessage =
    problem && problem.code === standingCode ? problem.message : (STANDING_MESSAGES[standingCode] ?? standingCode);
  const effectiveTier = plan === null || plan.standing !== 'ok' ? 'free' : plan.tier;
  const limits = effectiveLimits(catalog, plan);
  const period = periodOf(now);
  const operations: CompanionState['usage']['operations'] = {};
  for (const [operation, { label }] of Object.entries(catalog.operations)) {
    const serverUsed = snapshot.period === period ? (snapshot.used[operation] ?? 0) : 0;
    const pending = inputs.pendingUnits(operation);
    operations[operation] = operationState(catalog, effectiveTier, limits, operation, label, serverUsed, pending);
  }
  const apiWindowOpen = snapshot.apiCalls?.resetsAt != null && Date.parse(snapshot.apiCalls.resetsAt) > now;
  return {
    branding: inputs.whiteLabelAllowed ? inputs.whiteLabel : DEFAULT_BRANDING,
    license: licenseViewOf(inputs.license, problem),
    effectiveTier,
    standing: { code: standingCode, message: standingMessage },
    usage: {
      period,
      resetsAt: new Date(periodEnd(period)).toISOString(),
      operations,
      apiCalls: {
        limit: limits.api_calls_per_hour,
        windowSeconds: snapshot.apiCalls?.windowSeconds ?? 3600,
        // null: the server does not report it; 0 once the window it reported has reset.
        used: snapshot.apiCalls?.used === undefined ? null : apiWindowOpen ? snapshot.apiCalls.used : 0,
        resetsAt: apiWindowOpen ? (snapshot.apiCalls?.resetsAt ?? null) : null,
      },
    },
    sync: { ...inputs.sync, pendingEvents: inputs.pendingEvents },
  };
}

/** The sync view after a sync status report (sync.ts `status` event). */
export function syncAfterStatus(
  previous: CompanionState['sync'],
  update: { status: CompanionState['sync']['status']; error: string | null; at: number },
): CompanionState['sync'] {
  const { status, error, at } = update;
  return {
    ...previous,
    status,
    lastError: error,
    lastSyncAt: status === 'idle' ? at : previous.lastSyncAt,
    // Still offline while a retry is under way: only a successful sync ends the outage.
    offlineSince:
      status === 'offline' ? (previous.offlineSince ?? at) : status === 'syncing' ? previous.offlineSince : null,
  };
}

/** The limits shown are the ones decisions use (grantedPlan): never the cached catalog's for a lapsed plan. */
function effectiveLimits(catalog: Catalog, plan: PlanState | null): Limits {
  if (plan === null) return findTier(catalog, 'free').limits;
  return grantedPlan(catalog, plan).limits;
}

function licenseViewOf(status: LicenseStatus, problem: ProblemView | null): LicenseView {
  if (status.kind !== 'valid') {
    return { ...NO_LICENSE, status: status.kind, problem: status.kind === 'invalid' ? status.problem : null };
  }
  const { claims } = status;
  return {
    status: problem ? 'invalid' : 'valid',
    problem,
    tier: claims.tier,
    subscriptionStatus: claims.status,
    features: claims.features,
    limits: claims.limits,
    issuedAt: claims.iat * 1000,
    offlineValidUntil: claims.exp * 1000,
    accessEndsAt: claims.accessEndsAt,
  };
}
