import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';

const consume = (a: TestAccount, i: number) =>
  a.post('/v1/usage/consume', { operation: 'data_processing', units: 1, idempotencyKey: `rate-key-${i}xx` });

describe('rate limits (in-process store)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ dialect: testDialects()[0] });
  });
  afterAll(() => server.stop());

  it("caps a free account's metered calls at 10 an hour with 429, Retry-After and rate-limit headers", async () => {
    const free = await signUp(server.url);
    const answers = [];
    for (let i = 0; i < 12; i += 1) answers.push(await consume(free, i));
    // 2 data-processing units a month: 2 successes, then 402s, until the 11th call is over the hour's 10.
    expect(answers.map((a) => a.status)).toEqual([200, 200, 402, 402, 402, 402, 402, 402, 402, 402, 429, 429]);
    const limited = answers[10]!;
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('10');
    expect(answers[0]!.headers.get('x-ratelimit-remaining')).toBe('9');
  });

  it('keeps housekeeping (me, license, notifications) open after the metered limit, but not usage sent as a batch', async () => {
    const free = await signUp(server.url);
    for (let i = 0; i < 11; i += 1) await consume(free, i);
    expect((await consume(free, 99)).status).toBe(429);
    for (let i = 0; i < 20; i += 1) {
      expect((await free.get('/v1/me')).status).toBe(200);
    }
    expect((await free.get('/v1/license?deviceId=dev-1')).status).toBe(200);
    expect((await free.get('/v1/notifications')).status).toBe(200);
    const sync = await free.post('/v1/usage/events', {
      events: [{ idempotencyKey: 'sync-after-limit', operation: 'ai_operations', units: 1 }],
    });
    // Usage in a batch is a call to the metered API like a consume (issue 17): the companion keeps
    // it in its journal and sends it once the hour's window resets.
    expect(sync.status).toBe(429);
  });

  it('counts each account separately and follows the tier', async () => {
    const [a, b] = await Promise.all([signUp(server.url), signUp(server.url)]);
    await setPlan(server.db, b.id, { tier: 'professional' });
    for (let i = 0; i < 10; i += 1) await consume(a, i);
    expect((await consume(a, 10)).status).toBe(429);
    const pro = await consume(b, 0);
    expect(pro.status).toBe(200);
    expect(pro.headers.get('x-ratelimit-limit')).toBe('100');
  });
});

const redisUrl = process.env.TOLLGATE_TEST_REDIS_URL;
if (redisUrl) {
  describe('rate limits shared through Redis', () => {
    let first: TestServer;
    let second: TestServer;
    beforeAll(async () => {
      first = await startTestServer({ dialect: testDialects()[0], env: { TOLLGATE_REDIS_URL: redisUrl } });
      second = await startTestServer({ database: first.database, env: { TOLLGATE_REDIS_URL: redisUrl } });
    });
    afterAll(async () => {
      await second.stop();
      await first.stop();
    });

    it('counts an account across two servers against one hourly budget', async () => {
      const free = await signUp(first.url);
      const statuses = [];
      for (let i = 0; i < 12; i += 1) {
        const server = i % 2 === 0 ? first : second;
        const response = await fetch(new URL('/v1/usage/consume', server.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${free.token}` },
          body: JSON.stringify({ operation: 'data_processing', units: 1, idempotencyKey: `redis-key-${i}x` }),
        });
        statuses.push(response.status);
      }
      expect(statuses.slice(10)).toEqual([429, 429]);
      expect(statuses.slice(0, 10).every((s) => s !== 429)).toBe(true);
    });
  });
}
