import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFor, machineIdentity } from '../../../src-main/device-id.ts';
import { generateLicenseKeyPair, type LicensePayload, publicJwks, signLicense } from '../../../src-shared/license.ts';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { closeAfterEach, openTestCompanion, tempDir, VENDOR_TRUST } from './harness.ts';

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

describe('a server whose licenses are signed by a key the companion does not pin', () => {
  it('reports LICENSE_INVALID and stops using the cached license', async () => {
    // A server without TOLLGATE_LICENSE_SIGNING_KEY signs with a key of its own.
    const rogue = await startTestServer({ env: { TOLLGATE_LICENSE_SIGNING_KEY: '' } });
    try {
      const account = await signUp(rogue.url);
      await setPlan(rogue.db, account.id, { tier: 'professional' });
      const copy = copyOfGenuine();
      const companion = closing(await openTestCompanion({ home: copy.home, serverUrl: rogue.url }), (opened) =>
        opened.close(),
      );
      const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
      expect(signedIn.ok).toBe(true);
      await companion.dispatch('sync.now', {});
      const state = companion.state.getState();
      expect(state.standing.code).toBe('LICENSE_INVALID');
      expect(state.license.status).toBe('invalid');
      expect(companion.dispatch('gate.check', { feature: 'basic_processing' })).toMatchObject({
        ok: true,
        value: { allowed: false, code: 'LICENSE_INVALID' },
      });
      expect(JSON.parse(readFileSync(join(copy.home, 'companion.json'), 'utf8')).license?.token).toBeUndefined();
    } finally {
      await rogue.stop();
    }
  });
});
