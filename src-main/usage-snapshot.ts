import { isDeepStrictEqual } from 'node:util';
import type { UsageSnapshot as ServerUsageSnapshot } from '../src-shared/api.ts';
import type { ServerUsage } from './gate.ts';
import type { SettingsStore } from './settings-store.ts';

/**
 * What the server last said this account used, per operation, kept for offline decisions. Answers
 * arrive out of order (a /v1/me that left before a usage batch may land after it), and usage never
 * goes down within a period, so within a period the larger count wins.
 */

export interface StoredUsage extends ServerUsage {
  apiCalls: ServerUsageSnapshot['apiCalls'] | null;
}

const KEY = 'usage.snapshot';
/**
 * The settings store rewrites (and fsyncs) its whole file on every write, on the main thread; usage
 * answers arrive several times a second under load, so the snapshot is saved at most this often.
 * It is a cache: after a crash the next sync brings the server's count again.
 */
const SAVE_EVERY_MS = 2_000;

export class UsageSnapshotCache {
  private snapshot: StoredUsage;
  private saveTimer: NodeJS.Timeout | null = null;
  private unsaved = false;

  constructor(
    private readonly store: SettingsStore,
    currentPeriod: string,
  ) {
    const stored = store.get(KEY) as StoredUsage | undefined;
    // An edited or damaged snapshot is not read: the server's next answer brings the counts back.
    this.snapshot = isStoredUsage(stored)
      ? { period: stored.period, used: stored.used, apiCalls: stored.apiCalls ?? null }
      : { period: currentPeriod, used: {}, apiCalls: null };
  }

  get current(): StoredUsage {
    return this.snapshot;
  }

  /** A full snapshot from /v1/me. */
  mergeSnapshot(usage: ServerUsageSnapshot): void {
    const used = Object.fromEntries(Object.entries(usage.operations).map(([op, { used }]) => [op, used]));
    this.merge(usage.period, used, usage.apiCalls ?? null);
  }

  /** Counts from a usage batch answer or a license's snapshot. */
  mergeCounts(period: string, used: Record<string, number>): void {
    this.merge(period, used, undefined);
  }

  /** `apiCalls` undefined: the answer does not report the hourly window (keep what we have). */
  private merge(period: string, used: Record<string, number>, apiCalls: StoredUsage['apiCalls'] | undefined): void {
    const current = this.snapshot;
    if (period < current.period) return;
    const base: StoredUsage = period === current.period ? current : { period, used: {}, apiCalls: null };
    const merged: Record<string, number> = { ...base.used };
    // Saved only when something changed: a /v1/me that says what we knew rewrites nothing.
    let changed = base !== current || (apiCalls !== undefined && !isDeepStrictEqual(apiCalls, base.apiCalls));
    for (const [operation, count] of Object.entries(used)) {
      if (count > (merged[operation] ?? 0)) {
        merged[operation] = count;
        changed = true;
      }
    }
    if (!changed) return;
    this.snapshot = { period, used: merged, apiCalls: apiCalls === undefined ? base.apiCalls : apiCalls };
    this.unsaved = true;
    this.saveTimer ??= setTimeout(() => this.save(), SAVE_EVERY_MS);
    this.saveTimer.unref?.();
  }

  /** Writes the snapshot now if it changed since it was last written (the companion calls it when it closes). */
  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (!this.unsaved) return;
    this.unsaved = false;
    this.store.set(KEY, this.snapshot);
  }
}

function isStoredUsage(value: StoredUsage | undefined): value is StoredUsage {
  if (typeof value !== 'object' || value === null || typeof value.period !== 'string') return false;
  const { used } = value;
  if (typeof used !== 'object' || used === null || Array.isArray(used)) return false;
  if (!Object.values(used).every((count) => Number.isSafeInteger(count) && count >= 0)) return false;
  return value.apiCalls === undefined || value.apiCalls === null || typeof value.apiCalls === 'object';
}
