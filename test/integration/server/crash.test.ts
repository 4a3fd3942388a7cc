import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endConnections, testDialects } from '../../support/databases.ts';
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

for (const dialect of testDialects()) {
  describe(`a server killed during a stream of consumes (${dialect})`, () => {
    let owner: TestServer;
    let account: TestAccount;
    beforeAll(async () => {
      // The in-process server owns the database and is used to set up the account; the one that
      // is killed runs as its own process on the same database.
      owner = await startTestServer({ dialect });
      account = await signUp(owner.url);
      await setPlan(owner.db, account.id, { tier: 'custom', limits: testLimits(-1) });
    });
    afterAll(() => owner.stop());

    it('keeps every acknowledged consume, counted once, after SIGKILL and restart', async () => {
      const victim = await spawnTestServer({ database: owner.database });
      const acknowledged = new Set<string>();
      const sent: string[] = [];
      let stop = false;
      const stream = async (lane: number) => {
        for (let i = 0; !stop; i += 1) {
          const key = `crash-${lane}-${i.toString().padStart(5, '0')}`;
          sent.push(key);
          try {
            const response = await request(
              victim.url,
              'POST',
              '/v1/usage/consume',
              {
                operation: 'ai_operations',
                units: 1,
                idempotencyKey: key,
              },
              { token: account.token },
            );
            if (response.status === 200) acknowledged.add(key);
          } catch {
            return; // the connection died with the process
          }
        }
      };
      const lanes = [0, 1, 2, 3].map(stream);
      while (acknowledged.size < 150) await new Promise((resolve) => setTimeout(resolve, 20));
      await victim.kill('SIGKILL');
      stop = true;
      await Promise.all(lanes);

      const restarted = await spawnTestServer({ database: owner.database });
      try {
        const me = await request(restarted.url, 'GET', '/v1/me', undefined, { token: account.token });
        const usedAfterCrash = me.body.usage.operations.ai_operations.used;
        // Every acknowledged consume survived; a consume in flight may have been stored too.
        expect(usedAfterCrash).toBeGreaterThanOrEqual(acknowledged.size);
        expect(usedAfterCrash).toBeLessThanOrEqual(sent.length);

        // The client retries everything it sent: nothing already stored is counted again.
        const retries = await Promise.all(
          sent.map((key) =>
            request(
              restarted.url,
              'POST',
              '/v1/usage/consume',
              {
                operation: 'ai_operations',
                units: 1,
                idempotencyKey: key,
              },
              { token: account.token },
            ),
          ),
        );
        expect(retries.every((r) => r.status === 200)).toBe(true);
        for (const [index, retry] of retries.entries()) {
          if (acknowledged.has(sent[index]!)) expect(retry.body.replayed).toBe(true);
        }
        const final = await request(restarted.url, 'GET', '/v1/me', undefined, { token: account.token });
        expect(final.body.usage.operations.ai_operations.used).toBe(sent.length);
        const events = await owner.db
          .selectFrom('usage_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('account_id', '=', account.id)
          .executeTakeFirstOrThrow();
        expect(Number(events.n)).toBe(sent.length);
      } finally {
        await restarted.stop();
      }
    });
  });
}

// A PostgreSQL restart or failover ends every connection, idle ones included. The server must log
// it and carry on with new connections, not crash on an 'error' event nobody handled.
for (const dialect of testDialects().filter((name) => name === 'postgres')) {
  describe(`a server whose database connections are ended under it (${dialect})`, () => {
    it('logs the lost connections, stays up and keeps answering', async () => {
      const server = await spawnTestServer({ dialect, env: { TOLLGATE_LOG_LEVEL: 'warn' } });
      try {
        const account = await signUp(server.url);
        const consume = () =>
          account.post('/v1/usage/consume', { operation: 'ai_operations', units: 1, idempotencyKey: randomUUID() });
        // Several at once, so the pool holds more than one connection, idle afterwards.
        for (const response of await Promise.all([consume(), consume(), consume()])) expect(response.status).toBe(200);

        expect(await endConnections(server.database)).toBeGreaterThan(0);

        await expect.poll(() => server.output()).toContain('PostgreSQL closed an idle connection');
        expect((await consume()).status).toBe(200);
        expect((await account.get('/v1/me')).status).toBe(200);
      } finally {
        await server.stop();
      }
    });
  });
}
