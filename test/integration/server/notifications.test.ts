import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import {
  setPlan,
  signUp,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

for (const dialect of testDialects()) {
  describe(`usage notifications (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 0, 20, 9);
    beforeAll(async () => {
      server = await startTestServer({ dialect, now: () => clock });
    });
    afterAll(() => server.stop());

    async function account(limit: number): Promise<TestAccount> {
      const created = await signUp(server.url);
      await setPlan(server.db, created.id, { tier: 'custom', limits: testLimits(limit) });
      return created;
    }
    const consume = (a: TestAccount, key: string, units = 1) =>
      a.post('/v1/usage/consume', { operation: 'ai_operations', units, idempotencyKey: key });
    const thresholds = async (a: TestAccount) =>
      (await a.get('/v1/notifications')).body.notifications.map((n: { threshold: number; period: string }) => [
        n.threshold,
        n.period,
      ]);

    it('notifies at 80 % and at 100 %, once each, even when many consumes cross together', async () => {
      const a = await account(20);
      expect((await consume(a, 'warm-up-0001', 15)).status).toBe(200);
      expect(await thresholds(a)).toEqual([]);
      // 16/20 = 80 %: four concurrent consumes cross it together; one notification.
      await Promise.all([1, 2, 3, 4].map((i) => consume(a, `cross-80-${i}xx`)));
      expect(await thresholds(a)).toEqual([[80, '2026-01']]);
      await Promise.all(Array.from({ length: 8 }, (_, i) => consume(a, `cross-100-${i}x`)));
      expect(await thresholds(a)).toEqual([
        [100, '2026-01'],
        [80, '2026-01'],
      ]);
      const [full] = (await a.get('/v1/notifications')).body.notifications;
      expect(full).toMatchObject({ used: 20, limit: 20, readAt: null, kind: 'usage_threshold' });
      expect(full.message).toContain('20');
    });

    it('marks a notification read once and keeps the first time', async () => {
      const a = await account(5);
      await consume(a, 'all-at-once-1', 5);
      const [first] = (await a.get('/v1/notifications')).body.notifications;
      const read = await a.post(`/v1/notifications/${first.id}/read`, {});
      expect(read.status).toBe(200);
      expect(read.body.readAt).not.toBeNull();
      clock += 1000;
      const again = await a.post(`/v1/notifications/${first.id}/read`);
      expect(again.body.readAt).toBe(read.body.readAt);
    });

    it('starts again in the next period', async () => {
      const a = await account(5);
      await consume(a, 'jan-key-0001', 5);
      clock = Date.UTC(2026, 1, 2, 9);
      await a.refresh();
      const feb = await consume(a, 'feb-key-0001', 4);
      expect(feb.body).toMatchObject({ period: '2026-02', used: 4 });
      expect(await thresholds(a)).toEqual([
        [80, '2026-02'],
        [100, '2026-01'],
        [80, '2026-01'],
      ]);
    });

    it('notifies from batch sync and reservation commits too', async () => {
      const a = await account(10);
      await a.post('/v1/usage/events', {
        events: [{ idempotencyKey: 'batch-note-1', operation: 'ai_operations', units: 8 }],
      });
      expect((await thresholds(a)).map(([t]: [number]) => t)).toEqual([80]);
      const hold = await a.post('/v1/usage/reservations', {
        operation: 'ai_operations',
        units: 2,
        idempotencyKey: 'hold-note-01',
      });
      await a.post(`/v1/usage/reservations/${hold.body.id}/commit`);
      expect((await thresholds(a)).map(([t]: [number]) => t)).toEqual([100, 80]);
    });
  });
}
