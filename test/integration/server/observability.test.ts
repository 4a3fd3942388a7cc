import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
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
