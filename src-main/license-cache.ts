import type { JSONWebKeySet } from 'jose';
import { type LicenseClaims, type LicenseProblem, verifyLicense } from '../src-shared/license.ts';
import type { SettingsStore } from './settings-store.ts';
import type { TrustedClock } from './trusted-clock.ts';

/**
 * The signed license the server issued, kept in the settings store and verified with the vendor's
 * pinned keys (vendor.config.json, built in) every time it is loaded or received — a stored token is
 * never trusted because it is stored, and nothing in the data folder or a server answer can change
 * the keys. It is honoured only for the signed-in account (`sub`) and this machine (`dev`), and only
 * while the trusted clock (trusted-clock.ts) has not been turned back.
 */

export type LicenseStatus =
  | { kind: 'none' }
  | { kind: 'valid'; token: string; claims: LicenseClaims }
  | { kind: 'invalid'; token: string; problem: LicenseProblem };

const TOKEN_KEY = 'license.token';

export interface LicenseCacheOptions {
  store: SettingsStore;
  clock: () => number;
  /** The vendor's license public keys, pinned at build time. */
  keys: JSONWebKeySet;
  /** This machine's device id (device-id.ts). */
  deviceId: string;
  /** The signed-in account's id, or null. */
  account(): string | null;
  time: TrustedClock;
}

const invalid = (message: string): LicenseProblem => ({ code: 'LICENSE_INVALID', message });

export class LicenseCache {
  private status: LicenseStatus = { kind: 'none' };

  constructor(private readonly options: LicenseCacheOptions) {}

  get current(): LicenseStatus {
    return this.status;
  }

  /** Records the server's clock from an answer we trust (the configured server). */
  trustServerTime(serverTime: number): void {
    this.options.time.confirm(serverTime, this.options.clock());
  }

  /** Verifies the stored token again. */
  async load(): Promise<LicenseStatus> {
    const token = this.options.store.get(TOKEN_KEY);
    if (token === undefined) {
      this.status = { kind: 'none' };
      return this.status;
    }
    this.status = await this.verify(typeof token === 'string' ? token : '');
    return this.status;
  }

  /**
   * A token fresh from the server: kept when it verifies; otherwise the cached license stops being
   * used too (the server's answer is what holds now) and the problem is what the companion shows.
   */
  async accept(token: string): Promise<LicenseStatus> {
    const status = await this.verify(token);
    if (status.kind === 'valid') this.options.store.set(TOKEN_KEY, token);
    else this.options.store.delete(TOKEN_KEY);
    this.status = status;
    return status;
  }

  /** The server refused this device a license (released, or over max_devices): nothing cached is honoured. */
  refuse(problem: LicenseProblem): LicenseStatus {
    this.options.store.delete(TOKEN_KEY);
    this.status = { kind: 'invalid', token: '', problem };
    return this.status;
  }

  clear(): void {
    this.options.store.delete(TOKEN_KEY);
    this.status = { kind: 'none' };
  }

  /**
   * Why the license cannot be honoured at `now`, if it cannot: re-checked on every decision because
   * the grace can end, the clock be turned back or another account sign in while the companion runs.
   * Signed in without a verified license is a problem too: every decision comes from a license.
   */
  problemAt(now: number): LicenseProblem | null {
    const { time } = this.options;
    time.observe(now);
    if (this.status.kind === 'invalid') return this.status.problem;
    const account = this.options.account();
    if (this.status.kind === 'none') {
      return account === null
        ? null
        : invalid('There is no license from the billing server on this computer yet; connect to it to fetch one.');
    }
    const { claims } = this.status;
    if (account !== null && claims.sub !== account) {
      return invalid('The stored license belongs to another account; connect to the billing server to fetch yours.');
    }
    if (claims.dev !== this.options.deviceId) {
      return invalid(
        'The stored license was issued to another computer; connect to the billing server to fetch one for this one.',
      );
    }
    const timeProblem = time.problemAt(now);
    if (timeProblem === 'behind') {
      return {
        code: 'CLOCK_TAMPERED',
        message:
          "This computer's clock is earlier than a time the companion has already seen; check the date and time.",
      };
    }
    if (timeProblem === 'unconfirmed') {
      return {
        code: 'CLOCK_TAMPERED',
        message:
          "The companion's record of the time is missing or was changed; connect to the billing server to confirm the time.",
      };
    }
    if (now >= claims.exp * 1000) {
      return {
        code: 'OFFLINE_GRACE_EXPIRED',
        message: 'The offline grace period of this license has ended; connect to the internet to renew it.',
      };
    }
    return null;
  }

  private async verify(token: string): Promise<LicenseStatus> {
    const verified = await verifyLicense(token, this.options.keys, { now: this.options.clock() });
    return verified.ok
      ? { kind: 'valid', token, claims: verified.value }
      : { kind: 'invalid', token, problem: verified.error };
  }
}
