import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Gate } from '../../../src-main/gate.ts';
import { LicenseCache } from '../../../src-main/license-cache.ts';
import { plaintextCipher } from '../../../src-main/secrets.ts';
import { openNodeStore, type SettingsStore } from '../../../src-main/settings-store.ts';
import { CLOCK_DRIFT_MS, TrustedClock } from '../../../src-main/trusted-clock.ts';
import { defaultCatalog, findTier } from '../../../src-shared/catalog.ts';
import {
  generateLicenseKeyPair,
  type LicenseKeyPair,
  type LicensePayload,
  publicJwks,
  signLicense,
} from '../../../src-shared/license.ts';

const NOW = Date.UTC(2026, 10, 15, 12);
const DAY = 86_400_000;
const GRACE_SECONDS = 7 * 86_400;
/** The nonce a license request carried (the server signs it back in as `nonce`). */
const NONCE = 'nonce-of-this-request-0001';

let server: LicenseKeyPair;
let stranger: LicenseKeyPair;
let dir: string;
let store: SettingsStore;

const enterprise: LicensePayload = {
  sub: 'acct_1',
  dev: 'dev-1',
  email: 'ada@example.com',
  tier: 'enterprise',
  status: 'active',
  access: true,
  accessEndsAt: null,
  features: findTier(defaultCatalog, 'enterprise').features,
  limits: findTier(defaultCatalog, 'enterprise').limits,
  period: '2026-11',
  usage: { ai_operations: 3 },
};

beforeAll(async () => {
  server = await generateLicenseKeyPair();
  stranger = await generateLicenseKeyPair();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-license-'));
  store = openNodeStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A cache whose time record the server confirmed at NOW (as after an online sync). */
function cacheAt(now: { value: number }, account = 'acct_1', deviceId = 'dev-1') {
  const time = new TrustedClock(store, plaintextCipher);
  if (time.highWater === null) time.confirm(NOW, NOW);
  return new LicenseCache({
    store,
    clock: () => now.value,
    keys: publicJwks(server.publicJwk),
    deviceId,
    account: () => account,
    time,
  });
}

function gateFor(cache: LicenseCache, now: { value: number }) {
  return new Gate({
    catalog: () => defaultCatalog,
    license: cache,
    signedIn: () => true,
    serverUsage: () => ({ period: '2026-11', used: {} }),
    pendingUnits: () => 0,
    clock: () => now.value,
  });
}

const sign = (payload: LicensePayload, key = server.privateJwk, now = NOW) =>
  signLicense(payload, key, { now, offlineGraceSeconds: GRACE_SECONDS });

describe('license cache', () => {
  it('keeps a verified license and verifies it again on the next load', async () => {
    const now = { value: NOW };
    const cache = cacheAt(now);
    expect(await cache.accept(await sign(enterprise), NONCE)).toMatchObject({ status: { kind: 'valid' } });
    const reloaded = cacheAt(now);
    const status = await reloaded.load();
    expect(status.kind === 'valid' && status.claims.tier).toBe('enterprise');
    expect(gateFor(reloaded, now).checkFeature('sso')).toEqual({ allowed: true, code: 'OK' });
  });

  async function storedTokenGives(token: string, now = { value: NOW }) {
    store.set('license.token', token);
    const cache = cacheAt(now);
    const status = await cache.load();
    return { status, gate: gateFor(cache, now) };
  }

  it('refuses an edited token and grants nothing', async () => {
    const token = await sign({ ...enterprise, tier: 'professional' });
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...enterprise, iss: 'tollgate' })).toString('base64url');
    const { status, gate } = await storedTokenGives(`${header}.${forged}.${signature}`);
    expect(status.kind === 'invalid' && status.problem.code).toBe('LICENSE_INVALID');
    expect(gate.checkFeature('sso')).toMatchObject({ allowed: false, code: 'LICENSE_INVALID' });
    expect(gate.checkFeature('basic_processing')).toMatchObject({ allowed: false, code: 'LICENSE_INVALID' });
    expect(gate.checkUsage('ai_operations', 1)).toMatchObject({ allowed: false, code: 'LICENSE_INVALID' });
  });

  it('refuses a token re-signed with another key', async () => {
    const { status } = await storedTokenGives(await sign(enterprise, stranger.privateJwk));
    expect(status.kind === 'invalid' && status.problem.code).toBe('LICENSE_INVALID');
  });

  it('refuses a truncated or empty token', async () => {
    const token = await sign(enterprise);
    for (const damaged of [token.slice(0, token.length - 10), token.slice(0, 40), '', 'a.b', '...']) {
      const { status } = await storedTokenGives(damaged);
      expect(status.kind === 'invalid' && status.problem.code).toBe('LICENSE_INVALID');
    }
  });

  it('works offline until the grace ends, then gives OFFLINE_GRACE_EXPIRED', async () => {
    const token = await sign(enterprise);
    const now = { value: NOW + 6 * DAY };
    const { status, gate } = await storedTokenGives(token, now);
    expect(status.kind).toBe('valid');
    expect(gate.checkFeature('sso').allowed).toBe(true);
    // The grace can run out while the companion is running: every decision re-checks it.
    now.value = NOW + 8 * DAY;
    expect(gate.checkFeature('sso')).toMatchObject({ allowed: false, code: 'OFFLINE_GRACE_EXPIRED' });
    const later = await storedTokenGives(token, now);
    expect(later.status.kind === 'invalid' && later.status.problem.code).toBe('OFFLINE_GRACE_EXPIRED');
  });

  it('gives CLOCK_TAMPERED when the clock is turned back past the last server time', async () => {
    const now = { value: NOW };
    const cache = cacheAt(now);
    await cache.accept(await sign(enterprise), NONCE);
    cache.noteServerTime(NOW + 2 * DAY);
    now.value = NOW + 2 * DAY - CLOCK_DRIFT_MS + 1000;
    expect(gateFor(cache, now).checkFeature('sso').allowed).toBe(true);
    now.value = NOW + DAY;
    expect(gateFor(cache, now).checkFeature('sso')).toMatchObject({ allowed: false, code: 'CLOCK_TAMPERED' });
    // A restart does not forget it: the mark is kept (with its MAC) in the settings file.
    const reloaded = cacheAt(now);
    await reloaded.load();
    expect(reloaded.problemAt(now.value)?.code).toBe('CLOCK_TAMPERED');
  });

  it('honours a license only for its account and this device', async () => {
    const now = { value: NOW };
    await cacheAt(now).accept(await sign(enterprise), NONCE);
    const otherAccount = cacheAt(now, 'acct_2');
    await otherAccount.load();
    expect(gateFor(otherAccount, now).checkFeature('sso')).toMatchObject({ allowed: false, code: 'LICENSE_INVALID' });
    const otherDevice = cacheAt(now, 'acct_1', 'dev-2');
    await otherDevice.load();
    expect(gateFor(otherDevice, now).checkFeature('sso')).toMatchObject({ allowed: false, code: 'LICENSE_INVALID' });
  });

  it('stops using the cached license when the server sends one that does not verify', async () => {
    const now = { value: NOW };
    const cache = cacheAt(now);
    await cache.accept(await sign(enterprise), NONCE);
    const answer = await cache.accept(await sign(enterprise, stranger.privateJwk), NONCE);
    expect(answer).toMatchObject({ kind: 'taken', status: { kind: 'invalid', problem: { code: 'LICENSE_INVALID' } } });
    expect(gateFor(cache, now).checkFeature('sso')).toMatchObject({ allowed: false, code: 'LICENSE_INVALID' });
    expect(store.get('license.token')).toBeUndefined();
  });

  describe('time from the server', () => {
    /** A mark the companion's own clock pushed 8 days ahead, and that clock now back at NOW. */
    async function markEightDaysAhead() {
      const now = { value: NOW };
      const cache = cacheAt(now);
      await cache.accept(await sign({ ...enterprise, nonce: NONCE }), NONCE);
      now.value = NOW + 8 * DAY;
      expect(cache.problemAt(now.value)?.code).toBe('OFFLINE_GRACE_EXPIRED');
      now.value = NOW;
      expect(cache.problemAt(now.value)?.code).toBe('CLOCK_TAMPERED');
      return { cache, now };
    }

    it('is moved back only by a license signed for this request, with its signed iat', async () => {
      const { cache, now } = await markEightDaysAhead();
      const answer = await cache.accept(await sign({ ...enterprise, nonce: NONCE }), NONCE);
      expect(answer).toMatchObject({ kind: 'taken', timeConfirmed: true, status: { kind: 'valid' } });
      expect(cache.problemAt(now.value)).toBeNull();
    });

    it('is not moved back by unsigned server times, a replayed license or a license without a nonce', async () => {
      const { cache, now } = await markEightDaysAhead();
      cache.noteServerTime(NOW);
      expect(cache.problemAt(now.value)?.code).toBe('CLOCK_TAMPERED');
      // A genuine license made for an earlier request: not taken, nothing changes.
      const replayed = await sign({ ...enterprise, tier: 'professional', nonce: 'an-earlier-request-nonce' });
      expect(await cache.accept(replayed, NONCE)).toEqual({ kind: 'replayed' });
      expect(cache.current.kind === 'valid' && cache.current.claims.tier).toBe('enterprise');
      expect(cache.problemAt(now.value)?.code).toBe('CLOCK_TAMPERED');
      // A server older than the companion signs no nonce: honoured, but it confirms no time, and says so.
      const old = await cache.accept(await sign(enterprise), NONCE);
      expect(old).toMatchObject({ kind: 'taken', timeConfirmed: false, status: { kind: 'valid' } });
      expect(cache.problemAt(now.value)).toMatchObject({
        code: 'CLOCK_TAMPERED',
        message: expect.stringMatching(/cannot confirm the time/),
      });
    });

    it('confirms a missing time record only from a license signed for this request', async () => {
      const now = { value: NOW };
      const cache = new LicenseCache({
        store,
        clock: () => now.value,
        keys: publicJwks(server.publicJwk),
        deviceId: 'dev-1',
        account: () => 'acct_1',
        time: new TrustedClock(store, plaintextCipher),
      });
      await cache.accept(await sign(enterprise), NONCE);
      cache.noteServerTime(NOW);
      expect(cache.problemAt(now.value)?.code).toBe('CLOCK_TAMPERED');
      await cache.accept(await sign({ ...enterprise, nonce: NONCE }), NONCE);
      expect(cache.problemAt(now.value)).toBeNull();
    });
  });
});
