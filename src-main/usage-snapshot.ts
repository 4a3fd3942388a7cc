import type { UsageSnapshot as ServerUsageSnapshot } from '../src-shared/api.ts';
import type { ServerUsage } from './gate.ts';
import type { SettingsStore } from './settings-store.ts';

/**
 * What the server last said this account used, per operation, kept for offline decisions. Answers
 * arrive out of order (a /v1/me that left before a usage batch may land after it), and usage never
 * goes down within a period, so within a period the larger count wins.
 */

export interface StoredUsage extends ServerUsage {
  resetsAt: string | null;
  limits: Record<string, number>;
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

  constructor(
    private readonly store: SettingsStore,
    currentPeriod: string,
  ) {
    const stored = store.get(KEY) as StoredUsage | undefined;
    this.snapshot = stored ?? { period: currentPeriod, used: {}, resetsAt: null, limits: {}, apiCalls: null };
  }

  get current(): StoredUsage {
    return this.snapshot;
  }

  /** A full snapshot from /v1/me. */
  mergeSnapshot(usage: ServerUsageSnapshot): void {
    const used = Object.fromEntries(Object.entries(usage.operations).map(([op, { used }]) => [op, used]));
    const limits = Object.fromEntries(Object.entries(usage.operations).map(([op, { limit }]) => [op, limit]));
    this.merge(usage.period, used, { resetsAt: usage.resetsAt, limits, apiCalls: usage.apiCalls });
  }

  /** Counts from a usage batch answer or a license's snapshot. */
  mergeCounts(period: string, used: Record<string, number>): void {
    this.merge(period, used, {});
  }

  private merge(period: string, used: Record<string, number>, extra: Partial<StoredUsage>): void {
    const current = this.snapshot;
    if (period < current.period) return;
    const base = period === current.period ? current : { period, used: {}, resetsAt: null, limits: {}, apiCalls: null };
    const merged: Record<string, number> = { ...base.used };
    let changed = base !== current || extra.resetsAt !== undefined;
    for (const [operation, count] of Object.entries(used)) {
      if (count > (merged[operation] ?? 0)) {
        merged[operation] = count;
        changed = true;
      }
    }
    if (!changed) return;
    this.snapshot = { ...base, ...extra, period, used: merged };
    this.saveTimer ??= setTimeout(() => this.save(), SAVE_EVERY_MS);
    this.saveTimer.unref?.();
  }

  /** Writes the snapshot now (the companion calls it when it closes). */
  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    this.store.set(KEY, this.snapshot);
  }
}
