import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRequest } from '../../../src-server/metering/decision.ts';
import { recordUsage } from '../../../src-server/metering/metering.ts';
import { entitledPlan, loadSubscription } from '../../../src-server/plans/subscriptions.ts';
import { testDialects } from '../../support/databases.ts';
import { setPlan, signUp, startTestServer, type TestServer, testLimits } from '../../support/server.ts';

// Consumes that arrive together share one transaction (group commit, on both databases): one of them
// failing must roll back only itself, and the others must be stored and counted.
for (const dialect of testDialects()) {
  describe(`consumes arriving together (${dialect})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
    });
    afterAll(() => server.stop());

    it('stores the others when one of them fails', async () => {
      const account = await signUp(server.url);
      await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(100) });
      const { db, dialect: storeDialect, catalog, config } = server.app.tollgate;
      const store = { db, dialect: storeDialect, catalog };
      const now = Date.now();
      const plan = entitledPlan(catalog, await loadSubscription(db, account.id), now, config.pastDueGraceMs);
      const consume = (...requests: UsageRequest[]) => recordUsage(store, account.id, plan, requests, now);

      const results = await Promise.allSettled([
        consume({ idempotencyKey: 'together-1', operation: 'ai_operations', units: 2 }),
        // A batch whose second key the database refuses (NOT NULL): it fails inside the shared
        // transaction after storing its first event, which must be rolled back with it.
        consume(
          { idempotencyKey: 'together-2', operation: 'ai_operations', units: 4 },
          { idempotencyKey: null as unknown as string, operation: 'ai_operations', units: 5 },
        ),
        consume({ idempotencyKey: 'together-3', operation: 'ai_operations', units: 3 }),
        // Over the limit beside accepted ones: refused and stored as refused, nothing else changes.
        consume({ idempotencyKey: 'together-4', operation: 'ai_operations', units: 1000 }),
        // A single consume the database refuses, in the same group as the others (on PostgreSQL the
        // one statement that meters them all fails with it): it alone fails.
        consume({ idempotencyKey: null as unknown as string, operation: 'ai_operations', units: 7 }),
        consume({ idempotencyKey: 'together-5', operation: 'data_processing', units: 1 }),
      ]);

      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      const refused = results[3] as PromiseFulfilledResult<Awaited<ReturnType<typeof consume>>>;
      expect(refused.value[0]?.eventStatus).toBe('rejected');
      const me = await account.get('/v1/me');
      expect(me.body.usage.operations.ai_operations.used).toBe(5);
      const stored = await db
        .selectFrom('usage_events')
        .select('idempotency_key')
        .where('account_id', '=', account.id)
        .orderBy('idempotency_key')
        .execute();
      expect(stored.map((row) => row.idempotency_key)).toEqual([
        'together-1',
        'together-3',
        'together-4',
        'together-5',
      ]);
      expect(me.body.usage.operations.data_processing.used).toBe(1);
    });
  });
}
