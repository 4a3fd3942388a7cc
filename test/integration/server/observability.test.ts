import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { startPrivatePostgres } from '../../support/private-postgres.ts';
import {
  request,
  setPlan,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';
import { startWorld } from '../payments/world.ts';

/** One sample of a Prometheus text exposition, 0 when the series has not been written yet. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] as string).split(',');
    if (wanted.every((label) => present.includes(label))) return Number(match[3]);
  }
  return 0;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(new URL('/metrics', url));
  expect(response.status).toBe(200);
  return response.text();
}

/** How much each series moved between two scrapes. */
const mover = (before: string, after: string) => (name: string, labels: Record<string, string>) =>
  sample(after, name, labels) - sample(before, name, labels);

const consume = (url: string, account: TestAccount, key: string) =>
  request(
    url,
    'POST',
    '/v1/usage/consume',
    { operation: 'ai_operations', units: 1, idempotencyKey: key },
    {
      token: account.token,
    },
  );

for (const dialect of testDialects()) {
  describe(`observability (${dialect})`, () => {
    let server: TestServer;
    let account: TestAccount;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
      account = await signUp(server.url);
      await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(-1) });
    });
    afterAll(() => server.stop());

    it('/metrics counts a scripted run of consumes, their outcomes and latencies', async () => {
      const scrape = async () => {
        const response = await fetch(new URL('/metrics', server.url));
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        return response.text();
      };
      const before = await scrape();
      const N = 7;
      for (let i = 0; i < N; i += 1) expect((await consume(server.url, account, `metrics-${i}`)).status).toBe(200);
      expect((await consume(server.url, account, 'metrics-0')).status).toBe(200); // a retry
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) =>
        sample(after, name, labels) - sample(before, name, labels);
      expect(delta('tollgate_http_requests_total', { route: '/v1/usage/consume', status: '200' })).toBe(N + 1);
      expect(delta('tollgate_usage_events_total', { kind: 'consume', outcome: 'accepted' })).toBe(N);
      expect(delta('tollgate_usage_events_total', { kind: 'consume', outcome: 'duplicate' })).toBe(1);
      expect(delta('tollgate_usage_request_seconds_count', { kind: 'consume', status: '200' })).toBe(N + 1);
      if (dialect === 'sqlite')
        expect(delta('tollgate_group_commit_size_count', { dialect: 'sqlite' })).toBeGreaterThan(0);
      expect(after).toMatch(/^tollgate_db_pool_connections\{state="total"\} \d+$/m);
    });

    it('/metrics asks for TOLLGATE_METRICS_TOKEN when it is set', async () => {
      const token = 'metrics-token-0123456789';
      const guarded = await startTestServer({ database: server.database, env: { TOLLGATE_METRICS_TOKEN: token } });
      try {
        expect((await fetch(new URL('/metrics', guarded.url))).status).toBe(401);
        const wrong = await fetch(new URL('/metrics', guarded.url), { headers: { authorization: 'Bearer nope' } });
        expect(wrong.status).toBe(401);
        const right = await fetch(new URL('/metrics', guarded.url), { headers: { authorization: `Bearer ${token}` } });
        expect(right.status).toBe(200);
        expect(await right.text()).toContain('tollgate_http_requests_total');
      } finally {
        await guarded.stop();
      }
    });

    it('/metrics times each batch and counts every event of it by outcome, invalid ones included', async () => {
      const before = await scrape(server.url);
      const events = [
        { idempotencyKey: 'metrics-batch-1', operation: 'ai_operations', units: 1 },
        { idempotencyKey: 'metrics-batch-2', operation: 'ai_operations', units: 2 },
        { idempotencyKey: 'metrics-batch-3', operation: 'ai_operations', units: 0 }, // invalid
        { idempotencyKey: 'metrics-batch-4', operation: 'no_such_operation', units: 1 },
      ];
      const statuses: string[] = [];
      for (let round = 0; round < 2; round += 1) {
        const batch = await account.post<{ results: { status: string }[] }>('/v1/usage/events', { events });
        expect(batch.status).toBe(200);
        statuses.push(...batch.body.results.map((result) => result.status));
      }
      expect(statuses).toEqual([
        'accepted',
        'accepted',
        'rejected',
        'rejected',
        'duplicate',
        'duplicate',
        'rejected',
        'rejected',
      ]);
      const delta = mover(before, await scrape(server.url));
      expect(delta('tollgate_usage_request_seconds_count', { kind: 'batch', status: '200' })).toBe(2);
      expect(delta('tollgate_usage_request_seconds_sum', { kind: 'batch', status: '200' })).toBeGreaterThan(0);
      for (const outcome of ['accepted', 'duplicate', 'rejected']) {
        expect(delta('tollgate_usage_events_total', { kind: 'batch', outcome }), outcome).toBe(
          statuses.filter((status) => status === outcome).length,
        );
      }
      expect(delta('tollgate_http_requests_total', { route: '/v1/usage/events', status: '200' })).toBe(2);
    });

    it('/metrics counts 429 refusals by budget, the per-e-mail sign-in throttle included', async () => {
      // The server's clock stands still, so the throttle's growing wait is certainly not over.
      const frozen = Date.now();
      const throttled = await startTestServer({ database: server.database, now: () => frozen });
      try {
        const victim = await signUp(throttled.url);
        const before = await scrape(throttled.url);
        const signIn = (password: string) =>
          request<{ code: string; detail: string }>(throttled.url, 'POST', '/v1/auth/sign-in', {
            email: victim.email,
            password,
          });
        for (let i = 0; i < 6; i += 1) expect((await signIn('not the password')).status).toBe(401);
        const refused = [await signIn('not the password'), await signIn(victim.password)];
        for (const answer of refused) {
          expect(answer.status).toBe(429);
          expect(answer.body).toMatchObject({ code: 'RATE_LIMITED', detail: expect.stringMatching(/for this e-mail/) });
        }
        const delta = mover(before, await scrape(throttled.url));
        expect(delta('tollgate_rate_limit_refusals_total', { budget: 'signInEmail' })).toBe(2);
        expect(delta('tollgate_http_requests_total', { route: '/v1/auth/sign-in', status: '429' })).toBe(2);
      } finally {
        await throttled.stop();
      }
    });

    it('/metrics counts Stripe webhook events by type and result', async () => {
      const world = await startWorld(dialect);
      try {
        const before = await scrape(world.server.url);
        const session = await world.signUp('metrics-webhooks@example.com');
        const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
          tier: 'professional',
          cycle: 'monthly',
        });
        world.fake.billing.completeCheckout(checkout.body.sessionId);
        const delivered = world.fake.billing.pending.map((event) => event as { type: string });
        expect(delivered.length).toBeGreaterThan(0);
        expect(await world.fake.flush()).toEqual(delivered.map(() => 200));
        // Stripe delivers the first event again: a duplicate, counted as one.
        expect(await world.fake.deliver(delivered[0] as never)).toBe(200);
        const delta = mover(before, await scrape(world.server.url));
        for (const type of new Set(delivered.map((event) => event.type))) {
          const count = delivered.filter((event) => event.type === type).length;
          expect(delta('tollgate_webhook_events_total', { type, result: 'applied' }), type).toBe(count);
        }
        expect(
          delta('tollgate_webhook_events_total', { type: delivered[0]?.type as string, result: 'duplicate' }),
        ).toBe(1);
      } finally {
        await world.close();
      }
    });

    it('/readyz says the database answers and every migration ran', async () => {
      const ready = await request(server.url, 'GET', '/readyz');
      expect(ready).toMatchObject({ status: 200, body: { ok: true } });
    });

    it('SIGTERM during a stream of consumes loses nothing acknowledged', async () => {
      const victim = await spawnTestServer({ database: server.database });
      const acknowledged = new Set<string>();
      let stop = false;
      const stream = async (lane: number) => {
        for (let i = 0; !stop; i += 1) {
          const key = `term-${lane}-${i}`;
          try {
            const response = await consume(victim.url, account, key);
            if (response.status === 200) acknowledged.add(key);
            // Once stopping, the server refuses new work (503) instead of half-doing it.
            else expect(response.status).toBe(503);
          } catch {
            return; // the listener closed
          }
        }
      };
      const usedBefore = (await account.get('/v1/me')).body.usage.operations.ai_operations.used as number;
      const lanes = [0, 1, 2, 3].map(stream);
      while (acknowledged.size < 100) await new Promise((resolve) => setTimeout(resolve, 10));
      await victim.kill('SIGTERM');
      stop = true;
      await Promise.all(lanes);
      expect(victim.output()).toMatch(/SIGTERM, finishing requests in flight/);
      expect(victim.output()).not.toMatch(/"level":50/);

      const usedAfter = (await account.get('/v1/me')).body.usage.operations.ai_operations.used as number;
      expect(usedAfter - usedBefore).toBeGreaterThanOrEqual(acknowledged.size);
      // Every acknowledged key is stored: retried, each is a duplicate and the count does not move.
      for (const key of acknowledged) {
        const retry = await consume(server.url, account, key);
        expect(retry.status).toBe(200);
      }
      const usedRetried = (await account.get('/v1/me')).body.usage.operations.ai_operations.used as number;
      expect(usedRetried).toBe(usedAfter);
    });

    it("SIGTERM with a browser's preconnected socket open stops at once instead of waiting it out", async () => {
      const victim = await spawnTestServer({ database: server.database });
      const { port, hostname } = new URL(victim.url);
      // A browser opens sockets ahead of the requests it may send; this one never sends any.
      const preconnected = connect(Number(port), hostname);
      await once(preconnected, 'connect');
      let received = '';
      preconnected.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      const closedByServer = once(preconnected, 'close');
      // An idle keep-alive connection beside it, after a real request.
      expect((await request(victim.url, 'GET', '/healthz')).status).toBe(200);

      await victim.kill('SIGTERM');
      await closedByServer;
      // Node's own headers timeout would close it with a 408 a minute and a half later; the
      // stopping server closes it with nothing to say, as soon as no request is left.
      expect(received).toBe('');
      expect(victim.output()).toMatch(/stopped \(closed [0-9]+ connections? no request was using\)/);
      expect(victim.exitCode()).toBe(0);
    });
  });
}

// The database of a cluster the test owns goes away (the shared one serves everyone else's tests).
for (const dialect of testDialects().filter((name) => name === 'postgres')) {
  describe(`readiness without the database (${dialect})`, () => {
    it('/readyz answers 503 while PostgreSQL is down and 200 again once it is back; /healthz stays 200', async () => {
      const cluster = await startPrivatePostgres();
      try {
        const server = await startTestServer({ database: cluster.database });
        try {
          expect(await request(server.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { ok: true } });
          await cluster.stop();
          const down = await request<{ code: string }>(server.url, 'GET', '/readyz');
          expect(down.status).toBe(503);
          expect(down.body.code).toBe('UNAVAILABLE');
          expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);
          await cluster.start();
          let ready = await request(server.url, 'GET', '/readyz');
          for (let i = 0; i < 100 && ready.status !== 200; i += 1) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            ready = await request(server.url, 'GET', '/readyz');
          }
          expect(ready).toMatchObject({ status: 200, body: { ok: true } });
        } finally {
          await server.stop();
        }
      } finally {
        await cluster.destroy();
      }
    }, 60_000);
  });
}
