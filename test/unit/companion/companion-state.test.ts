import { describe, expect, it } from 'vitest';
import { type DerivedStateInputs, deriveCompanionState, syncAfterStatus } from '../../../src-main/companion-state.ts';
import { DEFAULT_BRANDING } from '../../../src-shared/branding.ts';
import { type Catalog, defaultCatalog } from '../../../src-shared/catalog.ts';
import type { CompanionState } from '../../../src-shared/contract.ts';

// What the window and the host apps are shown, derived from what the services hold — without a
// companion, a data folder or a server.

const NOW = Date.parse('2026-11-26T12:00:00Z');
const IDLE: CompanionState['sync'] = {
  status: 'idle',
  lastSyncAt: null,
  offlineSince: null,
  pendingEvents: 0,
  lastError: null,
};
const ACME = { productName: 'Acme Studio', accentColor: '#0b6e4f', logoUrl: null };

function inputs(overrides: Partial<DerivedStateInputs> = {}): DerivedStateInputs {
  return {
    now: NOW,
    catalog: defaultCatalog,
    plan: { tier: 'free', standing: 'ok' },
    license: { kind: 'none' },
    licenseProblem: null,
    serverUsage: { period: '2026-11', used: {}, apiCalls: null },
    pendingUnits: () => 0,
    pendingEvents: 0,
    whiteLabelAllowed: false,
    whiteLabel: ACME,
    sync: IDLE,
    ...overrides,
  };
}

const withMonthly = (catalog: Catalog, limitOf: (tier: Catalog['tiers'][number]) => number): Catalog => ({
  ...catalog,
  tiers: catalog.tiers.map((tier) => ({
    ...tier,
    limits: { ...tier.limits, monthly: { ...tier.limits.monthly, ai_operations: limitOf(tier) } },
  })),
});

describe('deriveCompanionState', () => {
  it('is signed out and on free without a plan', () => {
    const state = deriveCompanionState(inputs({ plan: null }));
    expect(state.effectiveTier).toBe('free');
    expect(state.standing).toEqual({ code: 'NOT_SIGNED_IN', message: 'Sign in to use your plan.' });
    expect(state.license.status).toBe('none');
  });

  it('grants nothing without a license to honour, and names the standing problem with the license problem’s words', () => {
    const state = deriveCompanionState(
      inputs({
        plan: { tier: 'professional', standing: 'OFFLINE_GRACE_EXPIRED' },
        licenseProblem: { code: 'OFFLINE_GRACE_EXPIRED', message: 'Go online to renew.' },
      }),
    );
    expect(state.effectiveTier).toBe('free');
    expect(state.standing).toEqual({ code: 'OFFLINE_GRACE_EXPIRED', message: 'Go online to renew.' });
    // The limits shown are the ones decisions use: none, not the catalog's free tier.
    expect(state.usage.operations.ai_operations?.limit).toBe(0);
  });

  it('shows a lapsed plan the limits its license carries, not the catalog’s free tier', () => {
    const state = deriveCompanionState(
      inputs({
        plan: {
          tier: 'professional',
          standing: 'SUBSCRIPTION_INACTIVE',
          features: ['basic_processing'],
          limits: { monthly: { ai_operations: 3 }, max_project_size_mb: 1, api_calls_per_hour: 1, max_devices: 1 },
        },
      }),
    );
    expect(state.effectiveTier).toBe('free');
    expect(state.usage.operations.ai_operations?.limit).toBe(3);
  });

  it('adds pending local usage to what the server counted, this period only', () => {
    const state = deriveCompanionState(
      inputs({
        plan: { tier: 'professional', standing: 'ok' },
        serverUsage: { period: '2026-11', used: { ai_operations: 40 }, apiCalls: null },
        pendingUnits: (operation) => (operation === 'ai_operations' ? 2 : 0),
        pendingEvents: 2,
      }),
    );
    expect(state.usage.operations.ai_operations).toMatchObject({ serverUsed: 40, pending: 2, limit: 100 });
    expect(state.sync.pendingEvents).toBe(2);
    const lastMonth = deriveCompanionState(
      inputs({ serverUsage: { period: '2026-10', used: { ai_operations: 5 }, apiCalls: null } }),
    );
    expect(lastMonth.usage.operations.ai_operations?.serverUsed).toBe(0);
    expect(lastMonth.usage).toMatchObject({ period: '2026-11', resetsAt: '2026-12-01T00:00:00.000Z' });
  });

  it('offers the cheapest plan above the current one with room for one more unit', () => {
    const free = deriveCompanionState(
      inputs({ serverUsage: { period: '2026-11', used: { ai_operations: 5 }, apiCalls: null } }),
    );
    expect(free.usage.operations.ai_operations?.upgrade).toMatchObject({
      tier: 'professional',
      monthlyPriceCents: 4900,
    });
    const professional = deriveCompanionState(
      inputs({
        plan: { tier: 'professional', standing: 'ok' },
        serverUsage: { period: '2026-11', used: { ai_operations: 100 }, apiCalls: null },
      }),
    );
    expect(professional.usage.operations.ai_operations?.upgrade).toMatchObject({
      tier: 'enterprise',
      contactSales: false,
    });
  });

  it('offers no plan when every plan above is too small', () => {
    const tight = withMonthly(defaultCatalog, () => 10);
    const state = deriveCompanionState(
      inputs({ catalog: tight, serverUsage: { period: '2026-11', used: { ai_operations: 10 }, apiCalls: null } }),
    );
    expect(state.usage.operations.ai_operations?.upgrade).toBeNull();
  });

  it('offers contact sales when only the negotiated plan has room', () => {
    const catalog = withMonthly(defaultCatalog, (tier) => (tier.prices === 'negotiated' ? -1 : 5));
    const state = deriveCompanionState(
      inputs({ catalog, serverUsage: { period: '2026-11', used: { ai_operations: 5 }, apiCalls: null } }),
    );
    expect(state.usage.operations.ai_operations?.upgrade).toMatchObject({
      tier: 'custom',
      contactSales: true,
      monthlyPriceCents: null,
    });
  });

  it('reports API calls only inside the window the server reported', () => {
    const open = { limit: 10, windowSeconds: 3600, used: 3, resetsAt: new Date(NOW + 60_000).toISOString() };
    expect(
      deriveCompanionState(inputs({ serverUsage: { period: '2026-11', used: {}, apiCalls: open } })).usage.apiCalls,
    ).toEqual({
      limit: 10,
      windowSeconds: 3600,
      used: 3,
      resetsAt: open.resetsAt,
    });
    const reset = { ...open, resetsAt: new Date(NOW - 1).toISOString() };
    expect(
      deriveCompanionState(inputs({ serverUsage: { period: '2026-11', used: {}, apiCalls: reset } })).usage.apiCalls,
    ).toMatchObject({ used: 0, resetsAt: null });
    expect(deriveCompanionState(inputs()).usage.apiCalls).toMatchObject({ used: null, windowSeconds: 3600 });
  });

  it('shows the white label only when the plan grants it', () => {
    expect(deriveCompanionState(inputs({ whiteLabelAllowed: true })).branding).toEqual(ACME);
    expect(deriveCompanionState(inputs()).branding).toEqual(DEFAULT_BRANDING);
  });
});

describe('syncAfterStatus', () => {
  it('keeps the start of an outage through retries and ends it only with a successful sync', () => {
    const offline = syncAfterStatus(IDLE, { status: 'offline', error: 'unreachable', at: 1_000 });
    expect(offline).toMatchObject({ status: 'offline', offlineSince: 1_000, lastError: 'unreachable' });
    const retrying = syncAfterStatus(offline, { status: 'syncing', error: null, at: 2_000 });
    expect(retrying.offlineSince).toBe(1_000);
    const stillOffline = syncAfterStatus(retrying, { status: 'offline', error: 'unreachable', at: 3_000 });
    expect(stillOffline.offlineSince).toBe(1_000);
    const back = syncAfterStatus(stillOffline, { status: 'idle', error: null, at: 4_000 });
    expect(back).toMatchObject({ status: 'idle', offlineSince: null, lastSyncAt: 4_000, lastError: null });
  });

  it('records the last successful sync time only on success', () => {
    const failed = syncAfterStatus({ ...IDLE, lastSyncAt: 500 }, { status: 'error', error: 'refused', at: 1_000 });
    expect(failed).toMatchObject({ status: 'error', lastSyncAt: 500, offlineSince: null });
  });
});
