import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TollgateClient } from '../../../sdk/typescript/src/index.ts';
import { deviceIdFor } from '../../../src-main/device-id.ts';
import { request, setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { closeAfterEach, listenHostSocket, openTestCompanion, RawClient, tempDir, VENDOR_TRUST } from './harness.ts';

const folder = tempDir('tollgate-devices-');
const closing = closeAfterEach();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  folder.remove();
});

async function companionOn(machine: string, account: { email: string; password: string }) {
  const companion = closing(
    await openTestCompanion({ home: `${folder.path}/${machine}`, serverUrl: server.url, machineIdentity: machine }),
    (opened) => opened.close(),
  );
  const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
  expect(signedIn.ok).toBe(true);
  return companion;
}

describe('devices, seen from the companion', () => {
  it('registers the device under its computer name, OS and app version when it first asks for a license', async () => {
    const account = await signUp(server.url);
    await companionOn('machine-named', account);
    const listed = await account.get('/v1/devices');
    expect(listed.body.devices).toEqual([
      expect.objectContaining({
        deviceId: deviceIdFor('machine-named', VENDOR_TRUST.appId),
        name: expect.stringMatching(/.+/),
        os: expect.stringMatching(/.+/),
        appVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      }),
    ]);
  });

  it('stops honouring a device released on the server at its next sync, and host apps get DEVICE_RELEASED', async () => {
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional' });
    const laptop = await companionOn('machine-laptop', account);
    await companionOn('machine-desk', account);
    expect(laptop.dispatch('gate.check', { feature: 'compliance_check' })).toMatchObject({
      ok: true,
      value: { allowed: true },
    });

    const laptopId = deviceIdFor('machine-laptop', VENDOR_TRUST.appId);
    const released = await request(server.url, 'DELETE', `/v1/devices/${laptopId}`, undefined, {
      token: account.token,
    });
    expect(released.status).toBe(204);
    // Until it syncs, the laptop still holds its signed license (it may be offline).
    expect(laptop.dispatch('gate.check', { feature: 'compliance_check' })).toMatchObject({ value: { allowed: true } });

    await laptop.dispatch('sync.now', {});
    expect(laptop.dispatch('gate.check', { feature: 'compliance_check' })).toMatchObject({
      ok: true,
      value: { allowed: false, code: 'DEVICE_RELEASED' },
    });
    expect(await laptop.dispatch('usage.consume', { operation: 'ai_operations', units: 1 })).toMatchObject({
      ok: true,
      value: { decision: { allowed: false, code: 'DEVICE_RELEASED' } },
    });
    expect(laptop.state.getState().standing.code).toBe('DEVICE_RELEASED');
  });

  it('shows DEVICE_LIMIT_REACHED on a device beyond the plan', async () => {
    const account = await signUp(server.url);
    await companionOn('machine-first', account);
    const second = await companionOn('machine-second', account);
    expect(second.state.getState().standing.code).toBe('DEVICE_LIMIT_REACHED');
    expect(second.dispatch('gate.check', { feature: 'basic_processing' })).toMatchObject({
      value: { allowed: false, code: 'DEVICE_LIMIT_REACHED' },
    });
  });

  it('lists the devices to host apps on the host socket, this one marked, and lets them release none', async () => {
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional' });
    await companionOn('machine-other', account);
    const companion = await companionOn('machine-here', account);
    const socketPath = `${folder.path}/host-${Date.now()}.sock`;
    closing(await listenHostSocket(companion, socketPath), (opened) => opened.close());
    const client = closing(await RawClient.connect(socketPath), (opened) => opened.close());
    const answer = (await client.request('devices.list', {})) as {
      result: { devices: { deviceId: string; thisDevice: boolean }[]; maxDevices: number };
    };
    expect(answer.result.maxDevices).toBe(3);
    expect(answer.result.devices.map((d) => [d.deviceId, d.thisDevice]).sort()).toEqual(
      [
        [deviceIdFor('machine-here', VENDOR_TRUST.appId), true],
        [deviceIdFor('machine-other', VENDOR_TRUST.appId), false],
      ].sort(),
    );
    // Releasing is the user's, in the window: the host socket does not offer it.
    const refused = (await client.request('devices.release', { deviceId: 'x' }, 2)) as { error: { code: number } };
    expect(refused.error.code).toBe(-32601);
    const sdk = closing(new TollgateClient({ path: socketPath }), (opened) => opened.close());
    const fromSdk = await sdk.devices();
    expect(fromSdk.devices.find((device) => device.thisDevice)?.deviceId).toBe(
      deviceIdFor('machine-here', VENDOR_TRUST.appId),
    );
  });

  it("releases another device from the window, which frees the plan's place for a new one", async () => {
    const account = await signUp(server.url);
    await companionOn('machine-old', account);
    const here = await companionOn('machine-new', account);
    expect(here.state.getState().standing.code).toBe('DEVICE_LIMIT_REACHED');
    const released = await here.dispatch('devices.release', {
      deviceId: deviceIdFor('machine-old', VENDOR_TRUST.appId),
    });
    expect(released).toEqual({ ok: true, value: {} });
    await here.dispatch('sync.now', {});
    expect(here.state.getState().standing.code).toBe('OK');
    const listed = await here.dispatch('devices.list', {});
    expect(listed).toMatchObject({ ok: true, value: { maxDevices: 1, devices: [{ thisDevice: true }] } });
  });
});
