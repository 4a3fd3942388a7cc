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
