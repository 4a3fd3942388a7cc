import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import {
  type Json,
  request,
  setPlan,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../../support/server.ts';

const DAY_MS = 86_400_000;

function licenseFor(account: TestAccount, deviceId: string, extra: Record<string, string> = {}, baseUrl?: string) {
  const query = new URLSearchParams({
    deviceId,
    deviceName: `Laptop ${deviceId}`,
    os: 'linux',
    appVersion: '1.2.3',
    ...extra,
  });
  const path = `/v1/license?${query}`;
  return baseUrl ? request<Json>(baseUrl, 'GET', path, undefined, { token: account.token }) : account.get(path);
}

function release(server: { url: string }, account: TestAccount, deviceId: string) {
  return request(server.url, 'DELETE', `/v1/devices/${deviceId}`, undefined, { token: account.token });
}

async function professional(server: TestServer): Promise<TestAccount> {
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'professional' });
  return account;
}

function expectLimitReached(response: { status: number; body: Json; headers: Headers }, active: number) {
  expect(response.status).toBe(409);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(response.body.code).toBe('DEVICE_LIMIT_REACHED');
  expect(response.body.devices).toHaveLength(active);
  expect(response.body.upgrade).toMatchObject({ tier: 'enterprise', name: 'Enterprise' });
}

for (const dialect of testDialects()) {
  describe(`device registry (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.now();
    beforeAll(async () => {
      server = await startTestServer({ dialect, now: () => clock });
    });
    afterAll(() => server.stop());

    it('lets exactly 3 of 200 racing activations of distinct devices through on professional (max_devices 3)', async () => {
      const account = await professional(server);
      const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => licenseFor(account, `race-${i}`)));
      const granted = responses.filter((r) => r.status === 200);
      expect(granted).toHaveLength(3);
      const refused = responses.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(197);
      for (const response of refused) expectLimitReached(response, 3);
      const listed = await account.get('/v1/devices');
      expect(listed.body.maxDevices).toBe(3);
      expect(listed.body.devices).toHaveLength(3);
    });

    it('lists devices with their name, OS and version, renames one, and keeps seeing an active one', async () => {
      const account = await professional(server);
      expect((await licenseFor(account, 'desk')).status).toBe(200);
      clock += 1000;
      expect((await licenseFor(account, 'desk', { appVersion: '1.2.4' })).status).toBe(200);
      const renamed = await request(
        server.url,
        'PATCH',
        '/v1/devices/desk',
        { name: 'Office desk' },
        { token: account.token },
      );
      expect(renamed.status).toBe(200);
      const listed = await account.get('/v1/devices');
      expect(listed.body.devices).toEqual([
        expect.objectContaining({
          deviceId: 'desk',
          name: 'Office desk',
          os: 'linux',
          appVersion: '1.2.4',
          lastSeenAt: new Date(clock).toISOString(),
        }),
      ]);
      const other = await signUp(server.url);
      expect((await release(server, other, 'desk')).status).toBe(404);
    });

    it('refuses a released device at its next license request until it asks to be reactivated', async () => {
      const account = await signUp(server.url);
      expect((await licenseFor(account, 'old-laptop')).status).toBe(200);
      const refusedNew = await licenseFor(account, 'new-laptop');
      expect(refusedNew.status).toBe(409);
      expect(refusedNew.body.upgrade.tier).toBe('professional');
      expect((await release(server, account, 'old-laptop')).status).toBe(204);
      expect((await licenseFor(account, 'new-laptop')).status).toBe(200);
      const released = await licenseFor(account, 'old-laptop');
      expect(released.status).toBe(409);
      expect(released.body.code).toBe('DEVICE_RELEASED');
      // Reactivating counts against the limit like any new device.
      expect((await licenseFor(account, 'old-laptop', { reactivate: 'true' })).body.code).toBe('DEVICE_LIMIT_REACHED');
      expect((await release(server, account, 'new-laptop')).status).toBe(204);
      expect((await licenseFor(account, 'old-laptop', { reactivate: 'true' })).status).toBe(200);
    });

    it('keeps every device active after a downgrade below the count, and activates no new one until enough are released', async () => {
      const account = await professional(server);
      for (const id of ['a', 'b', 'c']) expect((await licenseFor(account, id)).status).toBe(200);
      await setPlan(server.db, account.id, { tier: 'free' });
      for (const id of ['a', 'b', 'c']) expect((await licenseFor(account, id)).status).toBe(200);
      expect((await account.get('/v1/devices')).body).toMatchObject({ maxDevices: 1 });
      expectLimitReached(await licenseFor(account, 'd'), 3);
      await release(server, account, 'a');
      await release(server, account, 'b');
      expect((await licenseFor(account, 'd')).body.code).toBe('DEVICE_LIMIT_REACHED');
      await release(server, account, 'c');
      expect((await licenseFor(account, 'd')).status).toBe(200);
    });

    it('documents the device routes in OpenAPI', async () => {
      const { body } = await request(server.url, 'GET', '/openapi.json');
      expect(Object.keys(body.paths['/v1/devices'])).toContain('get');
      expect(Object.keys(body.paths['/v1/devices/{deviceId}']).sort()).toEqual(['delete', 'patch']);
    });

    it('expires a device not seen for 60 days, freeing its place', async () => {
      const account = await signUp(server.url);
      expect((await licenseFor(account, 'forgotten')).status).toBe(200);
      const lastSeen = (daysAgo: number) =>
        server.db
          .updateTable('devices')
          .set({ last_seen_at: clock - daysAgo * DAY_MS })
          .where('account_id', '=', account.id)
          .execute();
      await lastSeen(59);
      expect((await licenseFor(account, 'fresh')).status).toBe(409);
      await lastSeen(61);
      expect((await licenseFor(account, 'fresh')).status).toBe(200);
      expect((await account.get('/v1/devices')).body.devices.map((d: Json) => d.deviceId)).toEqual(['fresh']);
      // An expired device was not released by the user: it comes back when there is room.
      await release(server, account, 'fresh');
      expect((await licenseFor(account, 'forgotten')).status).toBe(200);
    });
  });
}

if (testDialects().includes('postgres')) {
  describe('device activation across two server processes (postgres)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect: 'postgres' });
    });
    afterAll(() => server.stop());

    it('lets exactly 3 of 200 racing activations split over two processes through', async () => {
      const [first, second] = await Promise.all([
        spawnTestServer({ database: server.database }),
        spawnTestServer({ database: server.database }),
      ]);
      try {
        const account = await professional(server);
        const urls = [first!.url, second!.url];
        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, i) => licenseFor(account, `two-proc-${i}`, {}, urls[i % 2])),
        );
        expect(responses.filter((r) => r.status === 200)).toHaveLength(3);
        const refused = responses.filter((r) => r.status !== 200);
        expect(refused).toHaveLength(197);
        for (const response of refused) expectLimitReached(response, 3);
      } finally {
        await Promise.all([first!.kill('SIGTERM'), second!.kill('SIGTERM')]);
      }
    });
  });
}
