import type { JSONWebKeySet } from 'jose';
import type { Lease } from '../src-shared/api.ts';
import { type LeaseClaims, verifyLease } from '../src-shared/lease.ts';
import { periodOf } from '../src-shared/period.ts';
import type { SettingsStore } from './settings-store.ts';

/**
 * This device's quota leases (one per limited operation), as the server signed them on the last
 * sync: the only units it may spend without the server. Verified with the vendor's pinned keys
 * when loaded and when received, and honoured only for the signed-in account, this machine, the
 * operation and the current period, until the lease expires — so an edited or copied lease file
 * grants nothing.
 *
 * What is left of a lease: its units (held for this device when signed) less the units recorded
 * here since and not yet synced (the journal's pending units, durable before any "yes") less the
 * units the server has settled since the lease arrived (`settled`, saved before the journal
 * records the verdicts, so a crash between the two only ever under-counts what is left).
 */

const KEY = 'leases';

interface StoredLease {
  token: string;
  settled: number;
}

interface HeldLease {
  token: string;
  claims: LeaseClaims;
  settled: number;
}

export interface LeaseAllowance {
  /** Units this device may still spend of the operation. */
  units: number;
  /** Why nothing can be spent, when that is so (no lease, expired, damaged, another period). */
  problem: string | null;
}

export interface LeaseBookOptions {
  store: SettingsStore;
  keys: JSONWebKeySet;
  deviceId: string;
  /** The signed-in account's id, or null. */
  account(): string | null;
  /** Units recorded on this device and not yet synced, of the signed-in account. */
  pendingUnits(operation: string): number;
}

export class LeaseBook {
  private leases = new Map<string, HeldLease>();
  /** A stored lease that failed verification when loaded (edited, copied, or another vendor's). */
  private damaged: string | null = null;

  constructor(private readonly options: LeaseBookOptions) {}

  async load(): Promise<void> {
    const stored = this.options.store.get(KEY);
    this.leases = new Map();
    this.damaged = null;
    if (typeof stored !== 'object' || stored === null) return;
    for (const [operation, entry] of Object.entries(stored as Record<string, StoredLease>)) {
      const verified = await verifyLease(entry?.token, this.options.keys);
      if (!verified.ok || verified.value.op !== operation) {
        this.damaged = verified.ok ? 'the stored lease names another operation' : verified.error;
        continue;
      }
      const settled = Number.isSafeInteger(entry.settled) && entry.settled >= 0 ? entry.settled : 0;
      this.leases.set(operation, { token: entry.token, claims: verified.value, settled });
    }
  }

  /** The server's renewal: every lease replaces the one held before (the server's count now holds). */
  async accept(leases: readonly Lease[]): Promise<void> {
    const next = new Map<string, HeldLease>();
    for (const lease of leases) {
      const verified = await verifyLease(lease.token, this.options.keys);
      if (verified.ok && verified.value.op === lease.operation) {
        next.set(lease.operation, { token: lease.token, claims: verified.value, settled: 0 });
      }
    }
    this.leases = next;
    this.damaged = null;
    this.save();
  }

  /** Units the server settled (counted or refused) per operation: no longer pending, still spent. */
  noteSettled(units: Readonly<Record<string, number>>): void {
    let changed = false;
    for (const [operation, n] of Object.entries(units)) {
      const lease = this.leases.get(operation);
      if (lease && n > 0) {
        lease.settled += n;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** Units recorded and not yet synced of each leased operation: a renewal keeps them covered. */
  pendingReport(): Record<string, number> {
    return Object.fromEntries([...this.leases.keys()].map((op) => [op, this.options.pendingUnits(op)]));
  }

  clear(): void {
    this.leases = new Map();
    this.options.store.delete(KEY);
  }

  /** What this device may spend of `operation` at `now` without the server. */
  allowance(operation: string, now: number): LeaseAllowance {
    const lease = this.leases.get(operation);
    if (!lease) {
      return {
        units: 0,
        problem: this.damaged
          ? `The stored quota lease could not be verified (${this.damaged}); connect to the billing server to continue.`
          : 'This device holds no quota lease for offline use yet; connect to the billing server to continue.',
      };
    }
    const { claims } = lease;
    const account = this.options.account();
    if (claims.sub !== account || claims.dev !== this.options.deviceId || claims.period !== periodOf(now)) {
      return {
        units: 0,
        problem:
          'The quota lease is for another account, computer or month; connect to the billing server to continue.',
      };
    }
    if (now >= claims.exp * 1000) {
      return { units: 0, problem: 'The quota lease has expired; connect to the billing server to continue.' };
    }
    const left = claims.units - this.options.pendingUnits(operation) - lease.settled;
    return {
      units: Math.max(0, left),
      problem:
        left > 0
          ? null
          : `The ${claims.units} units this device may use offline are spent; connect to the billing server to continue.`,
    };
  }

  private save(): void {
    const stored: Record<string, StoredLease> = {};
    for (const [operation, lease] of this.leases) stored[operation] = { token: lease.token, settled: lease.settled };
    this.options.store.set(KEY, stored);
  }
}
