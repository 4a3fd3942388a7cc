import type { JSONWebKeySet, JWK } from 'jose';
import { type LicenseClaims, type LicenseProblem, verifyLicense } from '../src-shared/license.ts';
import type { SettingsStore } from './settings-store.ts';

/**
 * The signed license the server issued, kept in the settings store and verified with the pinned
 * public key every time it is loaded or received — a stored token is never trusted because it is
 * stored. The clock is checked against the last time the server told us (rolling the clock back to
 * stretch an offline grace gives CLOCK_TAMPERED).
 */

export type LicenseStatus =
  | { kind: 'none' }
  | { kind: 'valid'; token: string; claims: LicenseClaims }
  | { kind: 'invalid'; token: string; problem: LicenseProblem };

export type PinnedKey = JWK | JSONWebKeySet;

const KEYS = {
  token: 'license.token',
  serverTime: 'license.lastServerTime',
  pinnedKey: 'license.pinnedKey',
} as const;

/** How far this clock may run behind the last server time before it counts as rolled back. */
export const CLOCK_DRIFT_MS = 5 * 60_000;

export interface LicenseCacheOptions {
  store: SettingsStore;
  clock: () => number;
  /** A key pinned in the companion's configuration; otherwise the first key fetched is pinned. */
  configuredKey?: PinnedKey;
}

export class LicenseCache {
  private status: LicenseStatus = { kind: 'none' };
  /** Kept in memory too: decisions read it on every call, and the settings store reads its file. */
  private serverTime: number | null;

  constructor(private readonly options: LicenseCacheOptions) {
    const stored = options.store.get(KEYS.serverTime);
    this.serverTime = typeof stored === 'number' ? stored : null;
  }

  get current(): LicenseStatus {
    return this.status;
  }

  get pinnedKey(): PinnedKey | undefined {
    return this.options.configuredKey ?? (this.options.store.get(KEYS.pinnedKey) as PinnedKey | undefined);
  }

  /** Trust on first use when no key is configured: later keys never replace the pinned one. */
  pinKey(key: PinnedKey): void {
    if (!this.pinnedKey) this.options.store.set(KEYS.pinnedKey, key);
  }

  get lastServerTime(): number | null {
    return this.serverTime;
  }

  /** Records the server's clock from a response we trust (HTTPS from the configured server). */
  trustServerTime(serverTime: number): void {
    if (serverTime > (this.serverTime ?? 0)) {
      this.serverTime = serverTime;
      this.options.store.set(KEYS.serverTime, serverTime);
    }
  }

  /** Verifies the stored token again. */
  async load(): Promise<LicenseStatus> {
    const token = this.options.store.get(KEYS.token);
    if (token === undefined) {
      this.status = { kind: 'none' };
      return this.status;
    }
    this.status = await this.verify(typeof token === 'string' ? token : '');
    return this.status;
  }

  /** Verifies a token fresh from the server and keeps it only when it verifies. */
  async accept(token: string): Promise<LicenseStatus> {
    const status = await this.verify(token);
    if (status.kind === 'valid') {
      this.options.store.set(KEYS.token, token);
      this.status = status;
    }
    return status;
  }

  clear(): void {
    this.options.store.delete(KEYS.token);
    this.status = { kind: 'none' };
  }

  /**
   * Why the verified license cannot be honoured at `now`, if it cannot: re-checked on every decision
   * because the grace can end, or the clock be turned back, while the companion runs.
   */
  problemAt(now: number): LicenseProblem | null {
    if (this.status.kind === 'invalid') return this.status.problem;
    if (this.status.kind === 'none') return null;
    const rolledBack = this.clockProblem(now);
    if (rolledBack) return rolledBack;
    if (now >= this.status.claims.exp * 1000) {
      return {
        code: 'OFFLINE_GRACE_EXPIRED',
        message: 'The offline grace period of this license has ended; connect to the internet to renew it.',
      };
    }
    return null;
  }

  private clockProblem(now: number): LicenseProblem | null {
    const serverTime = this.lastServerTime;
    if (serverTime !== null && now < serverTime - CLOCK_DRIFT_MS) {
      return {
        code: 'CLOCK_TAMPERED',
        message: "This computer's clock is earlier than the billing server's last answer; check the date and time.",
      };
    }
    return null;
  }

  private async verify(token: string): Promise<LicenseStatus> {
    const key = this.pinnedKey;
    if (!key) {
      return {
        kind: 'invalid',
        token,
        problem: { code: 'LICENSE_INVALID', message: 'No license key is pinned yet; connect to the billing server.' },
      };
    }
    const now = this.options.clock();
    const rolledBack = this.clockProblem(now);
    if (rolledBack) return { kind: 'invalid', token, problem: rolledBack };
    const verified = await verifyLicense(token, key, { now });
    return verified.ok
      ? { kind: 'valid', token, claims: verified.value }
      : { kind: 'invalid', token, problem: verified.error };
  }
}
