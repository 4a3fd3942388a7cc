import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { returnDeviceLeases } from '../../../src-server/metering/leases.ts';
import { LeaseResponse } from '../../../src-shared/api.ts';
import { verifyLease } from '../../../src-shared/lease.ts';
import vendorFile from '../../../vendor.config.json' with { type: 'json' };
import { testDialects } from '../../support/databases.ts';
import {
  setPlan,
  signUp,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

const DAY = 24 * 3600 * 1000;

for (const dialect of testDialects()) {
  describe(`quota leases (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 4, 3, 12);
    beforeAll(async () => {
      server = await startTestServer({ dialect, now: () => clock, env: { TOLLGATE_OFFLINE_GRACE_DAYS: '1' } });
    });
    afterAll(() => server.stop());

    async function account(limit: number): Promise<TestAccount> {
      const created = await signUp(server.url);
      await setPlan(server.db, created.id, { tier: 'custom', limits: testLimits(limit) });
      return created;
    }
    const lease = async (a: TestAccount, deviceId: string, pending?: Record<string, number>) => {
      const answer = await a.post('/v1/leases', { deviceId, ...(pending ? { pending } : {}) });
      expect(answer.status).toBe(200);
      const parsed = LeaseResponse.parse(answer.body);
      return parsed.leases.find((l) => l.operation === 'ai_operations');
    };
    const units = async (a: TestAccount, deviceId: string) => (await lease(a, deviceId))?.units ?? 0;
    const usage = async (a: TestAccount) => (await a.get('/v1/me')).body.usage.operations.ai_operations;
    const sync = (a: TestAccount, deviceId: string, keys: string[]) =>
      a.post('/v1/usage/events', {
        deviceId,
        events: keys.map((key) => ({ idempotencyKey: `event-${key}`, operation: 'ai_operations', units: 1 })),
      });
    const consume = (a: TestAccount, key: string, n = 1) =>
      a.post('/v1/usage/consume', { operation: 'ai_operations', units: n, idempotencyKey: `consume-${key}` });

    it('signs a lease bound to the account, the device, the operation and the period', async () => {
      const a = await account(100);
      const granted = await lease(a, 'device-one');
      expect(granted?.units).toBe(25);
      const claims = await verifyLease(granted?.token, vendorFile.licenseKeys);
      expect(claims.ok && claims.value).toMatchObject({
        sub: a.id,
        dev: 'device-one',
        op: 'ai_operations',
        period: '2026-05',
        units: 25,
      });
      // The held units are what the account sees as taken: remaining for everyone else drops.
      expect(await usage(a)).toMatchObject({ used: 0, reserved: 25 });
      const blocked = await consume(a, 'online-big', 76);
      expect(blocked.status).toBe(402);
      expect(blocked.body.remaining).toBe(75);
    });

    it('never lets racing devices hold more than what remains', async () => {
      for (let round = 0; round < 5; round += 1) {
        const a = await account(40);
        expect((await consume(a, `before-${round}`, 10)).status).toBe(200);
        const devices = Array.from({ length: 12 }, (_, i) => `racer-${round}-${i}`);
        const held = await Promise.all(devices.map((d) => units(a, d)));
        const total = held.reduce((sum, n) => sum + n, 0);
        expect(total).toBeLessThanOrEqual(30);
        // No device takes more than a quarter of the limit.
        expect(Math.max(...held)).toBeLessThanOrEqual(10);
        expect(await usage(a)).toMatchObject({ used: 10, reserved: total });
        // Renewing all of them again, racing, still never holds more than remains.
        const renewed = await Promise.all(devices.map((d) => units(a, d)));
        expect(renewed.reduce((sum, n) => sum + n, 0)).toBeLessThanOrEqual(30);
        expect((await usage(a)).reserved).toBe(renewed.reduce((sum, n) => sum + n, 0));
      }
    });

    it('turns units spent from a lease from held into used, once per key, whatever order the syncs arrive in', async () => {
      const a = await account(100);
      expect(await units(a, 'laptop')).toBe(25);
      expect(await units(a, 'desktop')).toBe(25);
      const laptopKeys = Array.from({ length: 20 }, (_, i) => `laptop-${i}`);
      const desktopKeys = Array.from({ length: 25 }, (_, i) => `desktop-${i}`);
      // Other devices use everything that is not held meanwhile.
      expect((await consume(a, 'web-all', 50)).status).toBe(200);
      expect((await consume(a, 'web-more')).status).toBe(402);
      // Desktop's second half first, then laptop, then desktop's first half and a resend of all.
      const answers = [
        await sync(a, 'desktop', desktopKeys.slice(12)),
        await sync(a, 'laptop', laptopKeys),
        await sync(a, 'desktop', desktopKeys.slice(0, 12)),
      ];
      for (const answer of answers) {
        expect(answer.body.results.every((r: { status: string }) => r.status === 'accepted')).toBe(true);
      }
      expect(await usage(a)).toMatchObject({ used: 95, reserved: 5 });
      const resent = await sync(a, 'desktop', [...desktopKeys, ...laptopKeys]);
      expect(resent.body.results.every((r: { status: string }) => r.status === 'duplicate')).toBe(true);
      expect(await usage(a)).toMatchObject({ used: 95, reserved: 5 });
      // The laptop's unspent 5 are still its own: only it can spend them.
      expect((await consume(a, 'web-last')).status).toBe(402);
      expect((await sync(a, 'laptop', ['laptop-late-1'])).body.results[0].status).toBe('accepted');
    });

    it('gives an expired lease’s unspent units back, and counts units synced after it expired once, never over the limit', async () => {
      const start = clock;
      try {
        const a = await account(8);
        expect(await units(a, 'traveller')).toBe(2);
        expect(await units(a, 'stay-at-home')).toBe(2);
        expect((await usage(a)).reserved).toBe(4);
        // The traveller spends its 2 offline and stays away past its lease's hold end.
        clock += 3 * DAY;
        await a.refresh();
        expect(await units(a, 'stay-at-home')).toBe(2);
        // Its 2 units came back: the other device and the web can use them (and do).
        expect((await usage(a)).reserved).toBe(2);
        expect((await consume(a, 'web-rest', 6)).status).toBe(200);
        expect(await usage(a)).toMatchObject({ used: 6, reserved: 2 });
        // The traveller's late sync: nothing is free any more, so both are refused, not over the limit.
        const late = await sync(a, 'traveller', ['trip-1', 'trip-2']);
        expect(late.body.results.map((r: { status: string; code: string }) => [r.status, r.code])).toEqual([
          ['rejected', 'LIMIT_REACHED'],
          ['rejected', 'LIMIT_REACHED'],
        ]);
        expect(await usage(a)).toMatchObject({ used: 6, reserved: 2 });

        // With room left, a late sync is counted, and counted once.
        const b = await account(8);
        expect(await units(b, 'traveller')).toBe(2);
        clock += 3 * DAY;
        await b.refresh();
        const first = await sync(b, 'traveller', ['b-trip-1', 'b-trip-2']);
        expect(first.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted']);
        const again = await sync(b, 'traveller', ['b-trip-1', 'b-trip-2']);
        expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);
        expect(await usage(b)).toMatchObject({ used: 2, reserved: 0 });
      } finally {
        clock = start;
      }
    });

    it('never holds fewer units than the device reports spent and not yet synced', async () => {
      const a = await account(100);
      expect(await units(a, 'busy')).toBe(25);
      for (let i = 0; i < 10; i += 1) await units(a, `crowd-${i}`);
      const free = (await usage(a)).reserved;
      if (free < 100) expect((await consume(a, 'web-rest', 100 - free)).status).toBe(200);
      // Eleven holders share the busy device's 25: a fresh share would be 3, but it spent 10 already.
      expect((await lease(a, 'busy', { ai_operations: 10 }))?.units).toBe(10);
      const before = await usage(a);
      const synced = await sync(
        a,
        'busy',
        Array.from({ length: 10 }, (_, i) => `busy-${i}`),
      );
      expect(synced.body.results.every((r: { status: string }) => r.status === 'accepted')).toBe(true);
      expect(await usage(a)).toMatchObject({ used: before.used + 10, reserved: before.reserved - 10 });
      // The 15 it no longer holds went back to the account.
      expect(before.used + before.reserved).toBe(85);
    });

    it('returns a released device’s held units (returnDeviceLeases)', async () => {
      const a = await account(100);
      expect(await units(a, 'old-pc')).toBe(25);
      expect(await returnDeviceLeases({ db: server.db, dialect }, a.id, 'old-pc', clock)).toBe(25);
      expect((await usage(a)).reserved).toBe(0);
      // Its later events are metered like any other usage.
      expect((await sync(a, 'old-pc', ['old-1'])).body.results[0].status).toBe('accepted');
      expect(await usage(a)).toMatchObject({ used: 1, reserved: 0 });
    });

    it('grants no lease for an unlimited operation', async () => {
      const a = await account(-1);
      const answer = await a.post('/v1/leases', { deviceId: 'anywhere' });
      expect(LeaseResponse.parse(answer.body).leases).toEqual([]);
    });
  });
}
