import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem, UpgradeSuggestion } from '../../../src-shared/api.ts';
import { testDialects } from '../../support/databases.ts';
import {
  setPlan,
  signUp,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

const MINUTE = 60_000;

for (const dialect of testDialects()) {
  describe(`reservations and billable routes (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 4, 10, 12);
    beforeAll(async () => {
      server = await startTestServer({ dialect, now: () => clock });
    });
    afterAll(() => server.stop());

    async function account(limit: number): Promise<TestAccount> {
      const created = await signUp(server.url);
      await setPlan(server.db, created.id, { tier: 'custom', limits: testLimits(limit) });
      return created;
    }
    const reserve = (a: TestAccount, key: string, units: number, ttlSeconds?: number) =>
      a.post('/v1/usage/reservations', { operation: 'ai_operations', units, idempotencyKey: key, ttlSeconds });
    const usage = async (a: TestAccount) => (await a.get('/v1/me')).body.usage.operations.ai_operations;

    it('holds units against the limit until committed (counted) or released (given back)', async () => {
      const a = await account(10);
      const held = await reserve(a, 'hold-0001', 6);
      expect(held.status).toBe(201);
      expect(held.body.status).toBe('held');
      expect(await usage(a)).toMatchObject({ used: 0, reserved: 6 });
      const blocked = await a.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 5,
        idempotencyKey: 'c-000001',
      });
      expect(blocked.status).toBe(402);
      expect(blocked.body.remaining).toBe(4);

      const committed = await a.post(`/v1/usage/reservations/${held.body.id}/commit`);
      expect(committed.body.status).toBe('committed');
      expect(await usage(a)).toMatchObject({ used: 6, reserved: 0 });
      // Committing again answers the same and counts nothing more; releasing now is a conflict.
      expect((await a.post(`/v1/usage/reservations/${held.body.id}/commit`)).body.status).toBe('committed');
      expect((await a.post(`/v1/usage/reservations/${held.body.id}/release`)).body.code).toBe('RESERVATION_SETTLED');

      const second = await reserve(a, 'hold-0002', 4);
      expect((await a.post(`/v1/usage/reservations/${second.body.id}/release`)).body.status).toBe('released');
      expect(await usage(a)).toMatchObject({ used: 6, reserved: 0 });
    });

    it('returns the same reservation for a repeated key, holding the units once', async () => {
      const a = await account(10);
      const answers = await Promise.all([1, 2, 3].map(() => reserve(a, 'hold-same-01', 3)));
      expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 201]);
      expect(await usage(a)).toMatchObject({ reserved: 3 });
    });

    it('releases an expired hold by itself and refuses to commit it', async () => {
      const a = await account(10);
      const held = await reserve(a, 'hold-expire-1', 8, 60);
      clock += 2 * MINUTE;
      // The room the expired hold took is available again.
      const consume = await a.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 9,
        idempotencyKey: 'after-exp-1',
      });
      expect(consume.status).toBe(200);
      const commit = await a.post(`/v1/usage/reservations/${held.body.id}/commit`);
      expect(commit.status).toBe(409);
      expect(commit.body.code).toBe('RESERVATION_EXPIRED');
      expect(await usage(a)).toMatchObject({ used: 9, reserved: 0 });
    });

    it('bills a successful operation, not a failed one, and refuses when the limit is reached', async () => {
      const a = await account(2);
      const ok = await a.post('/v1/operations/analyze', { text: 'The cat sat. The cat ran!' });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ words: 6, sentences: 2 });
      expect(await usage(a)).toMatchObject({ used: 1, reserved: 0 });

      const failed = await a.post('/v1/operations/analyze', { text: '   ' });
      expect(failed.status).toBe(422);
      expect(await usage(a)).toMatchObject({ used: 1, reserved: 0 });

      expect((await a.post('/v1/operations/analyze', { text: 'again' })).status).toBe(200);
      const over = await a.post('/v1/operations/analyze', { text: 'one more' });
      expect(over.status).toBe(402);
      expect(over.body.code).toBe('LIMIT_REACHED');
      expect(await usage(a)).toMatchObject({ used: 2, reserved: 0 });
    });

    it('refuses a project over the size limit before reserving anything, with an upgrade', async () => {
      const free = await signUp(server.url);
      const big = await free.post('/v1/operations/analyze', { text: 'hello', sizeMb: 51 });
      expect(big.status).toBe(402);
      expect(big.body).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', limit: 50, upgrade: { tier: 'professional' } });
      expect(await usage(free)).toMatchObject({ used: 0, reserved: 0 });
      const check = await free.post('/v1/usage/size-check', { sizeMb: 51 });
      expect(check.body).toMatchObject({ allowed: false, code: 'SIZE_LIMIT_EXCEEDED', limit: 50 });
      expect((await free.post('/v1/usage/size-check', { sizeMb: 50 })).body.allowed).toBe(true);
    });

    it('answers a reservation or billable route over the limit like a consume: 402 with the upgrade', async () => {
      // The free tier allows 5 AI operations a month; professional allows 100.
      const free = await signUp(server.url);
      const consume = (key: string) =>
        free.post('/v1/usage/consume', { operation: 'ai_operations', units: 1, idempotencyKey: key });
      for (let n = 0; n < 5; n += 1) expect((await consume(`spent-${n}-0001`)).status).toBe(200);
      const consumed = Problem.parse((await consume('spent-over-0001')).body);
      const reserved = await reserve(free, 'hold-over-0001', 1);
      const billed = await free.post('/v1/operations/analyze', { text: 'one more' });
      for (const refused of [reserved, billed]) {
        expect(refused.status).toBe(402);
        const problem = Problem.parse(refused.body);
        expect(problem).toMatchObject({ code: 'LIMIT_REACHED', limit: 5, remaining: 0 });
        expect(UpgradeSuggestion.parse(problem.upgrade)).toMatchObject({ tier: 'professional' });
        expect(problem.upgrade).toEqual(consumed.upgrade);
      }
      expect(await usage(free)).toMatchObject({ used: 5, reserved: 0 });
    });
  });
}
