import type { CompanionState, OperationUsageView } from '../../src-shared/contract.ts';
import { grantsNothing } from '../../src-shared/decisions.ts';
import { formatCount, formatLimit, formatRelative } from '../../src-shared/format.ts';
import { NOTICE_THRESHOLDS } from '../../src-shared/notices.ts';
import { formatWindow } from './format.ts';

/** A bar warns from the server's first notice (80 %), so the bar and the notice agree; at the limit it is full. */
const [WARNING_PERCENT] = NOTICE_THRESHOLDS;

type BarState = 'calm' | 'warning' | 'full' | 'unlimited';

export interface UsageBar {
  operation: string;
  label: string;
  /** Server count plus what this device recorded and has not synced yet. */
  used: number;
  pending: number;
  /** null when unlimited. */
  limit: number | null;
  /** 0–100, rounded down so "100 %" only shows when the limit is really reached. */
  percent: number;
  state: BarState;
  /** "4 of 5 used", "12 used" */
  summary: string;
  /** "2 recorded on this device, waiting to sync", or null when all is synced. */
  pendingNote: string | null;
}

export function usageBar(operation: string, view: OperationUsageView): UsageBar {
  const used = view.serverUsed + view.pending;
  const pendingNote = view.pending > 0 ? `${formatCount(view.pending)} recorded on this device, waiting to sync` : null;
  const base = { operation, label: view.label, used, pending: view.pending, pendingNote };
  if (view.limit < 0) {
    return {
      ...base,
      limit: null,
      percent: 0,
      state: 'unlimited',
      summary: `${formatCount(used)} used · ${formatLimit(view.limit)}`,
    };
  }
  const percent = view.limit === 0 ? 100 : Math.min(100, Math.floor((used / view.limit) * 100));
  const state: BarState = used >= view.limit ? 'full' : percent >= WARNING_PERCENT ? 'warning' : 'calm';
  return {
    ...base,
    limit: view.limit,
    percent,
    state,
    summary: `${formatCount(used)} of ${formatCount(view.limit)} used`,
  };
}

/**
 * Whether the usage bars mean anything: not while the standing grants nothing (no license yet, one
 * refused, a clock that cannot be trusted…). Then every limit is 0 and each bar would read "0 of 0
 * used, limit reached" and offer an upgrade that would not help.
 */
export function usageUnlocked(state: Pick<CompanionState, 'standing'>): boolean {
  return !grantsNothing(state.standing.code);
}

/** One bar per metered operation, in the order main lists them. */
export function usageBars(usage: CompanionState['usage']): UsageBar[] {
  return Object.entries(usage.operations).map(([operation, view]) => usageBar(operation, view));
}

type ApiCalls = CompanionState['usage']['apiCalls'];

/**
 * The hourly API allowance as a bar like the others, from the count the billing server's rate
 * limiter reported; null when the server does not report a count or the plan is unlimited (its
 * calls are not counted), and the window shows the allowance in words.
 */
export function apiCallsBar(apiCalls: ApiCalls): UsageBar | null {
  if (apiCalls.used === null || apiCalls.limit < 0) return null;
  const label =
    apiCalls.windowSeconds === 3600 ? 'API calls this hour' : `API calls per ${formatWindow(apiCalls.windowSeconds)}`;
  return usageBar('api_calls', { label, serverUsed: apiCalls.used, pending: 0, limit: apiCalls.limit });
}

/** "Resets in 23 minutes", or null when no calls were counted in an open window. */
export function apiCallsReset(apiCalls: ApiCalls, now: number): string | null {
  if (apiCalls.resetsAt === null || apiCalls.used === null || apiCalls.limit < 0) return null;
  const resetsAt = Date.parse(apiCalls.resetsAt);
  return resetsAt > now ? `Resets ${formatRelative(resetsAt, now)}` : null;
}
