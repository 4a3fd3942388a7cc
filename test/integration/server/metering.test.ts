import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumeResult, MeResponse, Problem, UsageEventsResponse } from '../../../src-shared/api.ts';
import { testDialects } from '../../support/databases.ts';
import {
  type ApiResponse,
  setPlan,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

const consume = (account: TestAccount, idempotencyKey: string, units = 1, baseUrl?: string) =>
  baseUrl
    ? fetch(new URL('/v1/usage/consume', baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${account.token}` },
        body: JSON.stringify({ operation: 'ai_operations', units, idempotencyKey }),
      }).then(async (r) => ({ status: r.status, body: await r.json(), headers: r.headers }) as ApiResponse)
    : account.post('/v1/usage/consume', { operation: 'ai_operations', units, idempotencyKey });

async function usedOf(account: TestAccount): Promise<number> {
  const me = MeResponse.parse((await account.get('/v1/me')).body);
  return me.usage.operations.ai_operations?.used ?? 0;
}

/** An account whose AI-operation limit is `limit`, with `limit - room` already used. */
async function accountWithRoom(server: TestServer, limit: number, room: number): Promise<TestAccount> {
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(limit) });
  if (limit - room > 0) {
    const prefill = await consume(account, `prefill-${account.id}`, limit - room);
    expect(prefill.status).toBe(200);
  }
  return account;
}

for (const dialect of testDialects()) {
  describe(`usage metering (${dialect})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
    });
    afterAll(() => server.stop());

    it('lets exactly 10 of 200 concurrent consumes through when 10 units are left', async () => {
      const account = await accountWithRoom(server, 50, 10);
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => consume(account, `race-${i.toString().padStart(4, '0')}`)),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.filter((s) => s === 402)).toHaveLength(190);
      expect(await usedOf(account)).toBe(50);
      const rejected = responses.find((r) => r.status === 402);
      expect(Problem.parse(rejected?.body)).toMatchObject({ code: 'LIMIT_REACHED', limit: 50, remaining: 0 });
    });

    it('counts a key replayed three times in parallel once', async () => {
      const account = await accountWithRoom(server, 100, 100);
      const keys = Array.from({ length: 20 }, (_, i) => `parallel-${i.toString().padStart(3, '0')}`);
      const responses = await Promise.all(keys.flatMap((key) => [1, 2, 3].map(() => consume(account, key, 2))));
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(responses.filter((r) => ConsumeResult.parse(r.body).replayed === false)).toHaveLength(20);
      expect(await usedOf(account)).toBe(40);
    });

    it('counts a key replayed three times in sequence once and answers with the first answer', async () => {
      const account = await accountWithRoom(server, 100, 100);
      const answers = [];
      for (let i = 0; i < 3; i += 1) answers.push(await consume(account, 'sequential-key-1', 3));
      const bodies = answers.map((a) => ConsumeResult.parse(a.body));
      expect(bodies.map((b) => b.used)).toEqual([3, 3, 3]);
      expect(bodies.map((b) => b.replayed)).toEqual([false, true, true]);
      expect(await usedOf(account)).toBe(3);
    });

    it('replays a first 402 as a 402 even after room appears', async () => {
      const account = await accountWithRoom(server, 5, 0);
      const first = await consume(account, 'refused-key-1');
      expect(first.status).toBe(402);
      await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(50) });
      const again = await consume(account, 'refused-key-1');
      expect(again.status).toBe(402);
      expect(Problem.parse(again.body)).toEqual(Problem.parse(first.body));
      expect((await consume(account, 'fresh-key-01')).status).toBe(200);
    });

    it('applies a batch once per key, in order, up to the limit', async () => {
      const account = await accountWithRoom(server, 5, 5);
      const events = ['b1', 'b2', 'b1', 'b3'].map((k) => ({
        idempotencyKey: `batch-key-${k}`,
        operation: 'ai_operations',
        units: 2,
      }));
      const first = await account.post('/v1/usage/events', { events });
      expect(first.status).toBe(200);
      expect(UsageEventsResponse.parse(first.body).results.map((r) => r.status)).toEqual([
        'accepted',
        'accepted',
        'duplicate',
        'rejected',
      ]);
      const replays = await Promise.all([1, 2, 3].map(() => account.post('/v1/usage/events', { events })));
      for (const replay of replays) {
        expect(UsageEventsResponse.parse(replay.body).results.map((r) => r.status)).toEqual([
          'duplicate',
          'duplicate',
          'duplicate',
          'rejected',
        ]);
      }
      expect(await usedOf(account)).toBe(4);
    });

    it('counts each key once when overlapping batches race on one account', async () => {
      // On PostgreSQL a batch stores its events with a plain insert, without looking its keys up
      // first: one whose key a racer stored meanwhile must be decided again, never count it twice.
      const account = await accountWithRoom(server, -1, 0);
      const batches = Array.from({ length: 6 }, (_, j) =>
        Array.from({ length: 200 }, (_, i) => ({
          idempotencyKey: `race-key-${j * 100 + i}`,
          operation: 'ai_operations',
          units: 1,
        })),
      );
      const answers = await Promise.all(batches.map((events) => account.post('/v1/usage/events', { events })));
      const acceptedTimes = new Map<string, number>();
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        for (const result of UsageEventsResponse.parse(answer.body).results) {
          expect([result.idempotencyKey, result.status, result.code]).toEqual([
            result.idempotencyKey,
            expect.stringMatching(/^(accepted|duplicate)$/),
            'OK',
          ]);
          if (result.status === 'accepted') {
            acceptedTimes.set(result.idempotencyKey, (acceptedTimes.get(result.idempotencyKey) ?? 0) + 1);
          }
        }
      }
      expect(acceptedTimes.size).toBe(700);
      expect([...acceptedTimes.values()].every((times) => times === 1)).toBe(true);
      expect(await usedOf(account)).toBe(700);
    });

    it('answers keys stored before with their first answers when a batch mixes them with new ones', async () => {
      const account = await accountWithRoom(server, 1000, 1000);
      const event = (n: number) => ({ idempotencyKey: `mixed-old-${n}`, operation: 'ai_operations', units: n });
      const first = await account.post('/v1/usage/events', { events: [1, 2, 3].map(event) });
      const firstResults = UsageEventsResponse.parse(first.body).results;
      expect(firstResults.map((r) => [r.status, r.used])).toEqual([
        ['accepted', 1],
        ['accepted', 3],
        ['accepted', 6],
      ]);
      // New keys around the stored ones: the stored ones answer as they did, the new ones count on.
      const mixed = await account.post('/v1/usage/events', { events: [4, 2, 5, 3, 6].map(event) });
      expect(UsageEventsResponse.parse(mixed.body).results.map((r) => [r.status, r.used, r.limit])).toEqual([
        ['accepted', 10, 1000],
        ['duplicate', 3, 1000],
        ['accepted', 15, 1000],
        ['duplicate', 6, 1000],
        ['accepted', 21, 1000],
      ]);
      const replayed = ConsumeResult.parse((await consume(account, 'mixed-old-5', 5)).body);
      expect(replayed).toMatchObject({ replayed: true, used: 15, limit: 1000, remaining: 985 });
      expect(await usedOf(account)).toBe(21);
    });

    it('rejects only the malformed event of a batch and counts the others', async () => {
      const account = await accountWithRoom(server, 100, 100);
      const good = (n: number) => ({ idempotencyKey: `mixed-key-${n}`, operation: 'ai_operations', units: 2 });
      const events = [good(1), { idempotencyKey: 'mixed-key-bad', operation: 'ai_operations', units: 'lots' }, good(2)];
      events.push({ idempotencyKey: 'mixed-key-op', operation: 'teleportation', units: 1 }, good(3));
      const answer = await account.post('/v1/usage/events', { events });
      expect(answer.status).toBe(200);
      const results = UsageEventsResponse.parse(answer.body).results;
      expect(results.map((r) => [r.index, r.idempotencyKey, r.status, r.code])).toEqual([
        [0, 'mixed-key-1', 'accepted', 'OK'],
        [1, 'mixed-key-bad', 'rejected', 'EVENT_INVALID'],
        [2, 'mixed-key-2', 'accepted', 'OK'],
        [3, 'mixed-key-op', 'rejected', 'UNKNOWN_OPERATION'],
        [4, 'mixed-key-3', 'accepted', 'OK'],
      ]);
      expect(await usedOf(account)).toBe(6);
    });

    it('shares the same keys between consume and batch sync', async () => {
      const account = await accountWithRoom(server, 100, 100);
      expect((await consume(account, 'shared-key-1', 4)).status).toBe(200);
      const batch = await account.post('/v1/usage/events', {
        events: [{ idempotencyKey: 'shared-key-1', operation: 'ai_operations', units: 4 }],
      });
      expect(UsageEventsResponse.parse(batch.body).results[0]).toMatchObject({ status: 'duplicate', used: 4 });
      expect(await usedOf(account)).toBe(4);
    });
  });
}

if (testDialects().includes('postgres')) {
  describe('usage metering across two server processes (postgres)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect: 'postgres' });
    });
    afterAll(() => server.stop());

    it('lets exactly 10 of 200 consumes split over two processes through', async () => {
      const [first, second] = await Promise.all([
        spawnTestServer({ database: server.database }),
        spawnTestServer({ database: server.database }),
      ]);
      try {
        const account = await accountWithRoom(server, 30, 10);
        const urls = [first!.url, second!.url];
        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, i) => consume(account, `two-proc-${i}`, 1, urls[i % 2])),
        );
        expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
        expect(responses.filter((r) => r.status === 402)).toHaveLength(190);
        // Replays through the other process get the first answer and count nothing.
        const replays = await Promise.all(
          Array.from({ length: 200 }, (_, i) => consume(account, `two-proc-${i}`, 1, urls[(i + 1) % 2])),
        );
        expect(replays.map((r) => r.status)).toEqual(responses.map((r) => r.status));
        expect(await usedOf(account)).toBe(30);
      } finally {
        await Promise.all([first?.stop(), second?.stop()]);
      }
    });
  });
}
