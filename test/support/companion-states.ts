import { operationState } from '../../src-main/companion-state.ts';
import { NO_LICENSE } from '../../src-main/state.ts';
import type { PlansResponse } from '../../src-shared/api.ts';
import { defaultCatalog, effectiveFeatures, findTier, type TierId } from '../../src-shared/catalog.ts';
import type { CompanionState } from '../../src-shared/contract.ts';
import { plansView } from '../../src-shared/plans-view.ts';

/**
 * Companion states as main would push them, built from the default catalog. Shared by the
 * renderer's unit tests and its browser tests (through a stand-in bridge). The price list is the
 * server's own answer to GET /v1/plans for that catalog, not a copy of how it is made.
 */

export const NOW = Date.parse('2026-11-26T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const PLANS: PlansResponse = plansView(defaultCatalog);

function usageFor(tier: TierId, used: Record<string, number>, pending: Record<string, number> = {}) {
  const limits = findTier(defaultCatalog, tier).limits;
  return {
    period: '2026-11',
    resetsAt: '2026-12-01T00:00:00.000Z',
    operations: Object.fromEntries(
      Object.entries(defaultCatalog.operations).map(([operation, { label }]) => [
        operation,
        operationState(defaultCatalog, tier, limits, operation, label, used[operation] ?? 0, pending[operation] ?? 0),
      ]),
    ),
    apiCalls: { limit: limits.api_calls_per_hour, windowSeconds: 3600, used: 0, resetsAt: null },
  };
}

export function signedOut(): CompanionState {
  return {
    serverUrl: 'http://127.0.0.1:8787',
    branding: { productName: 'Tollgate', accentColor: '#2457d6', logoUrl: null },
    account: null,
    subscription: null,
    license: { ...NO_LICENSE },
    effectiveTier: 'free',
    standing: { code: 'NOT_SIGNED_IN', message: 'Not signed in' },
    usage: usageFor('free', {}),
    sync: { status: 'idle', lastSyncAt: null, offlineSince: null, pendingEvents: 0, lastError: null },
    notifications: [],
    trial: null,
    plans: PLANS,
    checkout: { status: 'idle', tier: null, cycle: null, error: null },
    lastDenial: null,
    tokenStorage: 'encrypted',
    dataProblems: [],
    deviceLimit: null,
  };
}

/** Signed in on `tier`, synced just now, with `used` units per operation on the server. */
export function signedIn(
  tier: TierId = 'free',
  used: Record<string, number> = {},
  pending: Record<string, number> = {},
): CompanionState {
  const catalogTier = findTier(defaultCatalog, tier);
  const paid = tier !== 'free';
  const features = effectiveFeatures(defaultCatalog, tier);
  return {
    ...signedOut(),
    account: { id: 'acc_1', email: 'ada@example.com' },
    subscription: {
      tier,
      status: 'active',
      cycle: paid ? 'monthly' : null,
      access: true,
      currentPeriodEnd: paid ? '2026-12-26T12:00:00.000Z' : null,
      cancelAtPeriodEnd: false,
      pendingTier: null,
      pastDueGraceEndsAt: null,
      supportLevel: catalogTier.support_level,
      features,
      limits: catalogTier.limits,
    },
    license: {
      status: 'valid',
      problem: null,
      tier,
      subscriptionStatus: 'active',
      features,
      limits: catalogTier.limits,
      issuedAt: NOW - HOUR,
      offlineValidUntil: NOW + 7 * DAY,
      accessEndsAt: null,
    },
    effectiveTier: tier,
    standing: { code: 'OK', message: 'In good standing' },
    usage: usageFor(tier, used, pending),
    sync: {
      status: 'idle',
      lastSyncAt: NOW - 60_000,
      offlineSince: null,
      pendingEvents: Object.values(pending).reduce((sum, units) => sum + units, 0),
      lastError: null,
    },
  };
}

/** The same account, offline for two hours, running on its cached license. */
export function offline(tier: TierId = 'professional'): CompanionState {
  const state = signedIn(tier, { ai_operations: 40, data_processing: 3 }, { ai_operations: 2 });
  return { ...state, sync: { ...state.sync, status: 'offline', offlineSince: NOW - 2 * HOUR } };
}

/**
 * The state with a standing problem. `message` is main's sentence for it (without one, the code
 * stands in, and the window falls back to its own words). A lapsed plan (SUBSCRIPTION_INACTIVE,
 * LICENSE_EXPIRED) keeps a valid license; the others make it invalid, or absent for "no license".
 */
export function withStanding(
  state: CompanionState,
  code: CompanionState['standing']['code'],
  message: string = code,
): CompanionState {
  const lapsed = code === 'SUBSCRIPTION_INACTIVE' || code === 'LICENSE_EXPIRED';
  return {
    ...state,
    effectiveTier: 'free',
    standing: { code, message },
    // Main has no license at all (status "none") when it says there is none; else it holds one it refused.
    license: lapsed
      ? state.license
      : message === LICENSE_PROBLEMS.noLicense
        ? { ...NO_LICENSE }
        : { ...state.license, status: 'invalid', problem: { code, message } },
  };
}

/**
 * What main derives while nothing is granted (an untrusted standing): every limit 0, so each bar
 * is "0 of 0" (src-shared/decisions.ts grantedPlan), and the API allowance 0.
 */
export function nothingGranted(state: CompanionState): CompanionState {
  const none = { monthly: {}, max_project_size_mb: 0, api_calls_per_hour: 0, max_devices: 0 };
  const operations = Object.fromEntries(
    Object.entries(state.usage.operations).map(([operation, view]) => [
      operation,
      operationState(defaultCatalog, 'free', none, operation, view.label, view.serverUsed, view.pending),
    ]),
  );
  return { ...state, usage: { ...state.usage, operations, apiCalls: { ...state.usage.apiCalls, limit: 0 } } };
}

/** Just signed up: the account is known, its license is still on its way (main's words for that). */
export function awaitingLicense(): CompanionState {
  const state = nothingGranted(signedIn('free'));
  return {
    ...state,
    license: { ...NO_LICENSE },
    standing: { code: 'LICENSE_INVALID', message: LICENSE_PROBLEMS.noLicense },
    sync: { ...state.sync, status: 'syncing', lastSyncAt: null },
  };
}

/** Main's sentences for each way a license is refused (src-main/license-cache.ts, src-shared/license.ts). */
export const LICENSE_PROBLEMS = {
  anotherAccount: 'The stored license belongs to another account; connect to the billing server to fetch yours.',
  anotherComputer:
    'The stored license was issued to another computer; connect to the billing server to fetch one for this one.',
  noLicense: 'There is no license from the billing server on this computer yet; connect to it to fetch one.',
  foreignKey: 'The license signature does not match this server; sign in again to fetch a new one.',
} as const;

/** Main's sentences for a time it cannot trust (src-main/license-cache.ts). */
export const CLOCK_PROBLEMS = {
  behind: "This computer's clock is earlier than a time the companion has already seen; check the date and time.",
  unconfirmed:
    "The companion's record of the time is missing or was changed; connect to the billing server to confirm the time.",
} as const;

export const TIME = { NOW, HOUR, DAY };
