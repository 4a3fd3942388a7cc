import type { JSONWebKeySet } from 'jose';
import { type LicenseClaims, type LicenseProblem, verifyLicense } from '../src-shared/license.ts';
import type { SettingsStore } from './settings-store.ts';
import type { TrustedClock } from './trusted-clock.ts';

/**
 * The signed license the server issued, kept in the settings store and verified with the vendor's
 * pinned keys (vendor.config.json, built in) every time it is loaded or received — a stored token is
 * never trusted because it is stored, and nothing in the data folder or a server answer can change
 * the keys. It is honoured only for the signed-in account (`sub`) and this machine (`dev`), and only
 * while the trusted clock (trusted-clock.ts) has not been turned back. Only a license signed for the
 * request just made (its `nonce` is the one sent) confirms the time, with its signed `iat`.
 */

export type LicenseStatus =
  | { kind: 'none' }
  | { kind: 'valid'; token: string; claims: LicenseClaims }
  | { kind: 'invalid'; token: string; problem: LicenseProblem };

/** What became of a license the server sent. */
export type LicenseAnswer =
  /** Verified or not, it now decides; `timeConfirmed`: it carried our nonce and its `iat` set the trusted time. */
  | { kind: 'taken'; status: LicenseStatus; timeConfirmed: boolean }
  /** Genuine, but signed for another request: a replay by whatever answered; nothing was changed. */
  | { kind: 'replayed' };

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
  /** False once the server sent a license without our nonce: it cannot confirm the time (it is older). */
  private serverConfirmsTime = true;

  constructor(private readonly options: LicenseCacheOptions) {}

  get current(): LicenseStatus {
    return this.status;
  }

  /**
   * A time the server stated without signing it for this request (/v1/me's and the license answer's
   * `serverTime`): anyone answering in the server's place can replay one, so it may only raise the mark.
   */
  noteServerTime(serverTime: number): void {
    this.options.time.raise(serverTime);
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
   * A token fresh from the server, answering a request that carried `nonce`: kept when it verifies;
   * otherwise the cached license stops being used too (the server's answer is what holds now) and
   * the problem is what the companion shows. A verified license carrying `nonce` was signed for
   * this request, so its `iat` is the server's time now: that confirms the trusted clock, even
   * backwards. One carrying another nonce is a genuine license replayed; it changes nothing. One
   * without a nonce (a server older than this companion) is honoured but confirms no time.
   */
  async accept(token: string, nonce: string): Promise<LicenseAnswer> {
    const status = await this.verify(token);
    if (status.kind === 'valid' && status.claims.nonce !== undefined && status.claims.nonce !== nonce) {
      return { kind: 'replayed' };
    }
    let timeConfirmed = false;
    if (status.kind === 'valid') {
      this.options.store.set(TOKEN_KEY, token);
      timeConfirmed = status.claims.nonce === nonce;
      if (timeConfirmed) this.options.time.confirm(status.claims.iat * 1000, this.options.clock());
      else this.options.time.raise(status.claims.iat * 1000);
      this.serverConfirmsTime = timeConfirmed;
    } else {
      this.options.store.delete(TOKEN_KEY);
    }
    this.status = status;
    return { kind: 'taken', status, timeConfirmed };
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
    // A server older than this companion signs no nonce, so it cannot confirm the time: say so.
    const oldServer = this.serverConfirmsTime
      ? ''
      : ' This billing server cannot confirm the time (its licenses carry no nonce: it is older than this companion); the vendor needs to update it.';
    if (timeProblem === 'behind') {
      return {
        code: 'CLOCK_TAMPERED',
        message: `This computer's clock is earlier than a time the companion has already seen; check the date and time.${oldServer}`,
      };
    }
    if (timeProblem === 'unconfirmed') {
      return {
        code: 'CLOCK_TAMPERED',
        message: `The companion's record of the time is missing or was changed; connect to the billing server to confirm the time.${oldServer}`,
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
