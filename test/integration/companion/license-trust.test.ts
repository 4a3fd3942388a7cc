import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFor, machineIdentity } from '../../../src-main/device-id.ts';
import { generateLicenseKeyPair, type LicensePayload, publicJwks, signLicense } from '../../../src-shared/license.ts';
import { createTestDatabase } from '../../support/databases.ts';
import { request, setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { closeAfterEach, listenHostSocket, openTestCompanion, RawClient, tempDir, VENDOR_TRUST } from './harness.ts';

// The attacks of issue 12, done the way a user with a text editor would: a real server gives a
// genuine Professional license, then is out of reach; the data folder is then edited or copied.

const UNREACHABLE = 'http://127.0.0.1:9';
const folder = tempDir('tollgate-trust-');
const closing = closeAfterEach();
let server: TestServer;
let genuineHome: string;
let accountId: string;

beforeAll(async () => {
  server = await startTestServer();
  const account = await signUp(server.url);
  accountId = account.id;
  await setPlan(server.db, account.id, { tier: 'professional' });
  genuineHome = join(folder.path, 'genuine');
  const companion = await openTestCompanion({ home: genuineHome, serverUrl: server.url });
  const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
  expect(signedIn.ok).toBe(true);
  expect(companion.state.getState().effectiveTier).toBe('professional');
  await companion.close();
});

afterAll(async () => {
  await server?.stop();
  folder.remove();
});

let copies = 0;
function copyOfGenuine(): {
  home: string;
  settings: Record<string, unknown>;
  license: Record<string, unknown>;
  save(): void;
} {
  const home = join(folder.path, `copy-${++copies}`);
  cpSync(genuineHome, home, { recursive: true });
  const file = join(home, 'companion.json');
  const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // conf keeps dotted keys nested: `license.token` is settings.license.token.
  const license = settings.license as Record<string, unknown>;
  return { home, settings, license, save: () => writeFileSync(file, JSON.stringify(settings)) };
}

async function offlineCompanion(home: string, machine?: string) {
  return closing(
    await openTestCompanion({ home, serverUrl: UNREACHABLE, ...(machine ? { machineIdentity: machine } : {}) }),
    (opened) => opened.close(),
  );
}

async function expectRefused(home: string, machine?: string) {
  const companion = await offlineCompanion(home, machine);
  const sso = companion.dispatch('gate.check', { feature: 'sso' });
  const basic = companion.dispatch('gate.check', { feature: 'basic_processing' });
  const consume = await companion.dispatch('usage.consume', { operation: 'ai_operations', units: 1 });
  expect(sso).toMatchObject({ ok: true, value: { allowed: false, code: 'LICENSE_INVALID' } });
  expect(basic).toMatchObject({ ok: true, value: { allowed: false, code: 'LICENSE_INVALID' } });
  expect(consume).toMatchObject({ ok: true, value: { decision: { allowed: false, code: 'LICENSE_INVALID' } } });
  const { standing, effectiveTier } = companion.state.getState();
  expect(effectiveTier).toBe('free');
  expect(standing.code).toBe('LICENSE_INVALID');
  return standing.message;
}

describe('a license the vendor did not sign for this account and machine is refused', () => {
  it('the untouched copy still works offline (the control)', async () => {
    const companion = await offlineCompanion(copyOfGenuine().home);
    expect(companion.dispatch('gate.check', { feature: 'priority_support' })).toMatchObject({ ok: true });
    expect(companion.state.getState()).toMatchObject({ effectiveTier: 'professional', standing: { code: 'OK' } });
  });

  it('the key replaced and the license re-signed as Enterprise by another key', async () => {
    const copy = copyOfGenuine();
    const foreign = await generateLicenseKeyPair();
    const claims = decodeJwt(String(copy.license.token)) as unknown as LicensePayload;
    const { sub, dev, email, status, access, accessEndsAt, period, usage } = claims;
    copy.license.token = await signLicense(
      {
        sub,
        dev,
        email,
        status,
        access,
        accessEndsAt,
        period,
        usage,
        tier: 'enterprise',
        features: ['all_features'],
        limits: {
          monthly: { ai_operations: -1, data_processing: -1 },
          max_project_size_mb: -1,
          api_calls_per_hour: -1,
          max_devices: -1,
        },
      },
      foreign.privateJwk,
      { now: Date.now(), offlineGraceSeconds: 30 * 86_400 },
    );
    // What used to be the pinned key's place in the settings file.
    copy.license.pinnedKey = publicJwks(foreign.publicJwk);
    copy.save();
    expect(await expectRefused(copy.home)).toMatch(/could not be verified|does not match|signature/i);
  });

  it('the license deleted and the cached plans widened', async () => {
    const copy = copyOfGenuine();
    delete copy.license.token;
    const plans = copy.settings.plans as { plans: Array<{ features: string[] }> };
    for (const plan of plans.plans) plan.features = ['all_features'];
    copy.save();
    expect(await expectRefused(copy.home)).toMatch(/no license/i);
  });

  it('a genuine license of another account copied in', async () => {
    const other = await signUp(server.url);
    await setPlan(server.db, other.id, { tier: 'enterprise' });
    const deviceId = deviceIdFor(machineIdentity(), VENDOR_TRUST.appId);
    const answer = await other.get(`/v1/license?deviceId=${deviceId}`);
    expect(answer.status).toBe(200);
    const copy = copyOfGenuine();
    copy.license.token = answer.body.token;
    copy.save();
    expect(decodeJwt(answer.body.token).sub).not.toBe(accountId);
    expect(await expectRefused(copy.home)).toMatch(/another account/i);
  });

  it('the data folder copied to another machine', async () => {
    expect(await expectRefused(copyOfGenuine().home, 'another-machine-identity')).toMatch(/another computer/i);
  });
});

describe("a lapsed plan's free tier is the one its license signs, not the cached plans", () => {
  const HOUR = 3_600_000;

  /** A data folder a real server filled for an account on `patch`, then the free tier widened in it by hand. */
  async function lapsedFolderWidened(name: string, patch: Parameters<typeof setPlan>[2]['patch']) {
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional', ...(patch ? { patch } : {}) });
    const home = join(folder.path, name);
    const online = await openTestCompanion({ home, serverUrl: server.url });
    expect((await online.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
    await online.close();
    const file = join(home, 'companion.json');
    const settings = JSON.parse(readFileSync(file, 'utf8')) as {
      plans: { plans: Array<{ id: string; features: string[]; limits: Record<string, unknown> }> };
    };
    const free = settings.plans.plans.find((plan) => plan.id === 'free');
    if (!free) throw new Error('no free tier in the cached plans');
    free.features = ['all_features', 'sso', 'basic_processing'];
    free.limits = {
      monthly: { ai_operations: -1, data_processing: -1 },
      max_project_size_mb: -1,
      api_calls_per_hour: -1,
      max_devices: -1,
    };
    writeFileSync(file, JSON.stringify(settings));
    return home;
  }

  /** What a host app is answered on the host socket by that folder's companion, offline. */
  async function askOffline(home: string, clock?: () => number) {
    const companion = closing(
      await openTestCompanion({ home, serverUrl: UNREACHABLE, ...(clock ? { clock } : {}) }),
      (opened) => opened.close(),
    );
    const socketPath = join(folder.path, `host-${++copies}.sock`);
    closing(await listenHostSocket(companion, socketPath), (opened) => opened.close());
    const client = closing(await RawClient.connect(socketPath), (opened) => opened.close());
    const ask = async (method: string, params: unknown) =>
      ((await client.request(method, params, ++copies)) as { result: Record<string, unknown> }).result;
    return {
      companion,
      sso: await ask('gate.check', { feature: 'sso' }),
      basic: await ask('gate.check', { feature: 'basic_processing' }),
      sixUnits: await ask('usage.check', { operation: 'ai_operations', units: 6 }),
    };
  }

  it('SUBSCRIPTION_INACTIVE: a canceled subscription keeps only the signed free tier', async () => {
    const home = await lapsedFolderWidened('inactive', { status: 'canceled' });
    const { companion, sso, basic, sixUnits } = await askOffline(home);
    expect(sso).toMatchObject({ allowed: false, code: 'SUBSCRIPTION_INACTIVE' });
    expect(sixUnits).toMatchObject({ allowed: false, code: 'SUBSCRIPTION_INACTIVE', limit: 5 });
    // What the server signed for free is still granted: back on free, not locked out.
    expect(basic).toMatchObject({ allowed: true, code: 'OK' });
    const state = companion.state.getState();
    expect(state.standing.code).toBe('SUBSCRIPTION_INACTIVE');
    expect(state.usage.operations.ai_operations?.limit).toBe(5);
  });

  it('LICENSE_EXPIRED: paid access that ended offline falls back to the signed free tier', async () => {
    const endsAt = Date.now() + HOUR;
    const home = await lapsedFolderWidened('expired', { cancel_at_period_end: 1, current_period_end: endsAt });
    // Offline, two hours later: past the paid access, well within the offline grace.
    const { companion, sso, basic, sixUnits } = await askOffline(home, () => Date.now() + 2 * HOUR);
    expect(sso).toMatchObject({ allowed: false, code: 'LICENSE_EXPIRED' });
    expect(sixUnits).toMatchObject({ allowed: false, code: 'LICENSE_EXPIRED', limit: 5 });
    expect(basic).toMatchObject({ allowed: true, code: 'OK' });
    const state = companion.state.getState();
    expect(state.standing.code).toBe('LICENSE_EXPIRED');
    expect(state.usage.operations.ai_operations?.limit).toBe(5);
  });
});

describe('a server whose licenses are signed by a key the companion does not pin', () => {
  it('reports LICENSE_INVALID and stops using the cached license: same account, same database, only the key changed', async () => {
    const database = await createTestDatabase('sqlite');
    let running: TestServer | null = await startTestServer({ database });
    try {
      const account = await signUp(running.url);
      await setPlan(running.db, account.id, { tier: 'professional' });
      const home = join(folder.path, 'rekeyed');
      const before = await openTestCompanion({ home, serverUrl: running.url });
      expect((await before.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(
        true,
      );
      expect(before.state.getState().effectiveTier).toBe('professional');
      await before.close();

      // The same server on the same database, restarted with a signing key of its own instead of
      // the vendor's (TOLLGATE_LICENSE_SIGNING_KEY takes a private JWK file).
      await running.stop();
      running = null;
      const foreign = await generateLicenseKeyPair();
      const keyFile = join(folder.path, 'foreign-signing.jwk.json');
      writeFileSync(keyFile, JSON.stringify(foreign.privateJwk));
      running = await startTestServer({ database, env: { TOLLGATE_LICENSE_SIGNING_KEY: keyFile } });

      const companion = closing(await openTestCompanion({ home, serverUrl: running.url }), (opened) => opened.close());
      // Before it syncs, the cached genuine license still works: nothing else about the folder is wrong.
      expect(companion.state.getState()).toMatchObject({
        account: { id: account.id },
        effectiveTier: 'professional',
        standing: { code: 'OK' },
      });
      // The server still knows the account and its session: what it signs is this account's license.
      const deviceId = deviceIdFor(machineIdentity(), VENDOR_TRUST.appId);
      const served = await request(running.url, 'GET', `/v1/license?deviceId=${deviceId}`, undefined, {
        token: account.token,
      });
      expect(served.status).toBe(200);
      expect(decodeJwt(served.body.token)).toMatchObject({ sub: account.id, dev: deviceId, tier: 'professional' });
      expect(decodeProtectedHeader(served.body.token).kid).toBe(foreign.publicJwk.kid);

      expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
      const state = companion.state.getState();
      expect(state.account?.id).toBe(account.id);
      expect(state.standing.code).toBe('LICENSE_INVALID');
      expect(state.license).toMatchObject({
        status: 'invalid',
        problem: { message: expect.stringMatching(/signature/) },
      });
      expect(companion.dispatch('gate.check', { feature: 'basic_processing' })).toMatchObject({
        ok: true,
        value: { allowed: false, code: 'LICENSE_INVALID' },
      });
      expect(JSON.parse(readFileSync(join(home, 'companion.json'), 'utf8')).license?.token).toBeUndefined();
    } finally {
      await running?.stop();
      await database.cleanup();
    }
  });
});
