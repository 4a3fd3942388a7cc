import { createStore, type StoreApi } from 'zustand/vanilla';
import { DEFAULT_BRANDING } from '../src-shared/branding.ts';
import type { CompanionState, LicenseView } from '../src-shared/contract.ts';
import { periodEnd, periodOf } from '../src-shared/period.ts';

/**
 * Main's single source of truth. Services write into it; transports (the renderer over IPC or
 * server-sent events, host sockets) subscribe to it. Nothing else keeps a second copy of the truth.
 */
export type MainStore = StoreApi<CompanionState>;

/** The license view before any license is known (or after one was refused). */
export const NO_LICENSE: LicenseView = {
  status: 'none',
  problem: null,
  tier: null,
  subscriptionStatus: null,
  features: [],
  limits: null,
  issuedAt: null,
  offlineValidUntil: null,
  accessEndsAt: null,
};

export function createMainStore(serverUrl: string, now: number) {
  const period = periodOf(now);
  const initial: CompanionState = {
    serverUrl,
    branding: DEFAULT_BRANDING,
    account: null,
    subscription: null,
    license: NO_LICENSE,
    effectiveTier: 'free',
    standing: { code: 'NOT_SIGNED_IN', message: 'Sign in to use your plan.' },
    usage: {
      period,
      resetsAt: new Date(periodEnd(period)).toISOString(),
      operations: {},
      apiCalls: { limit: 0, windowSeconds: 3600, used: null, resetsAt: null },
    },
    sync: { status: 'idle', lastSyncAt: null, offlineSince: null, pendingEvents: 0, lastError: null },
    notifications: [],
    trial: null,
    plans: null,
    checkout: { status: 'idle', tier: null, cycle: null, error: null },
    lastDenial: null,
    tokenStorage: 'plaintext',
    dataProblems: [],
    deviceLimit: null,
  };
  return createStore<CompanionState>()(() => initial);
}

/**
 * Calls `listener` with the state at most once per `intervalMs` (and once more after the last
 * change): a burst of 10,000 consumes must not become 10,000 pushes to every subscriber.
 */
export function subscribeThrottled(
  store: MainStore,
  listener: (state: CompanionState) => void,
  intervalMs = 50,
): () => void {
  let timer: NodeJS.Timeout | null = null;
  let last = 0;
  const fire = () => {
    timer = null;
    last = Date.now();
    listener(store.getState());
  };
  const unsubscribe = store.subscribe(() => {
    if (timer) return;
    const wait = Math.max(0, last + intervalMs - Date.now());
    timer = setTimeout(fire, wait);
  });
  return () => {
    if (timer) clearTimeout(timer);
    unsubscribe();
  };
}
