import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../../../src-server/accounts/accounts.ts';
import { createDatabase, type DatabaseHandle, postgresPoolOf } from '../../../src-server/db/connection.ts';
import { type MeterEvent, meterOnPostgres } from '../../../src-server/metering/pg-meter.ts';
import { createTestDatabase, type TestDatabase, testDialects } from '../../support/databases.ts';

/**
 * tollgate_meter as pg-meter.ts calls it. Its parameters are array literals written by pg-meter.ts,
 * not by node-postgres: the routes only let through keys and names of a safe alphabet, but the
 * statement must store whatever text it is given exactly as given. And it must stay a few index
 * probes per event whatever the planner's statistics say (migration 020_pg_meter_set_based).
 */

if (testDialects().includes('postgres')) {
  describe('tollgate_meter on PostgreSQL', () => {
    let database: TestDatabase;
    let handle: DatabaseHandle;
    let pool: pg.Pool;
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      handle = await createDatabase({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
      pool = postgresPoolOf(handle.db) as pg.Pool;
    });
    afterAll(async () => {
      await handle.destroy();
      await database.cleanup();
    });

    /** A new account's id. */
    async function accountId(email: string): Promise<string> {
      const outcome = await signUp(handle.db, handle.dialect, email, 'a long test password', 1);
      if (!('session' in outcome)) throw new Error('a fresh e-mail must sign up');
      return outcome.session.account.id;
    }

    /** One event of `accountId`'s for tollgate_meter, on an unlimited plan. */
    const event = (
      accountId: string,
      idempotencyKey: string,
      operation: string,
      units: number,
      occurredAt: number | null = null,
    ): MeterEvent => ({
      accountId,
      request: { idempotencyKey, operation, units, occurredAt },
      limit: -1,
      period: '2026-06',
      now: 1_780_000_000_000,
    });

    it('stores keys with quotes, backslashes, braces, commas and NULL exactly as given', async () => {
      const account = await accountId('literal@example.test');
      const keys = [
        'plain-key-1',
        'a"quote"',
        'back\\slash\\',
        '{braces}',
        'comma,key',
        'NULL',
        ' spaced ',
        'ünï-cödé',
      ];
      const events = keys.map((key, i) =>
        event(account, key, 'ai_operations', 2, i % 2 === 0 ? null : 1_770_000_000_000 + i),
      );
      const answers = await meterOnPostgres(pool, events, true);
      expect(answers.map((a) => [a?.idempotencyKey, a?.fresh, a?.answer.body])).toEqual(
        keys.map((key, i) => [
          key,
          true,
          {
            idempotencyKey: key,
            operation: 'ai_operations',
            units: 2,
            period: '2026-06',
            used: 2 * (i + 1),
            limit: -1,
          },
        ]),
      );
      const stored = await handle.db
        .selectFrom('usage_events')
        .select(['idempotency_key', 'occurred_at'])
        .where('account_id', '=', account)
        .execute();
      expect(
        new Map(stored.map((row) => [row.idempotency_key, row.occurred_at === null ? null : Number(row.occurred_at)])),
      ).toEqual(new Map(events.map((e) => [e.request.idempotencyKey, e.request.occurredAt])));
      // Sent again, every key is found as stored.
      const again = await meterOnPostgres(pool, events, true);
      expect(again.map((a) => [a?.idempotencyKey, a?.fresh])).toEqual(keys.map((key) => [key, false]));
    });

    it('reads counters and events by key even when the statistics say the tables are empty', async () => {
      const accounts = await Promise.all([1, 2, 3].map((n) => accountId(`plans-${n}@example.test`)));
      // Statistics of empty tables make a sequential scan look cheaper than any index probe.
      await pool.query('ANALYZE usage_counters; ANALYZE usage_events');
      const client = await pool.connect();
      const plans: string[] = [];
      client.on('notice', (notice) => plans.push(notice.message ?? ''));
      try {
        // auto_explain reports the plan of every statement the function runs, as a notice.
        await client.query(`LOAD 'auto_explain'`);
        await client.query('SET auto_explain.log_min_duration = 0');
        await client.query('SET auto_explain.log_nested_statements = on');
        await client.query('SET auto_explain.log_level = notice');
        const one = { query: client.query.bind(client) } as unknown as pg.Pool;
        const group = accounts.flatMap((id, n) => [
          event(id, `plan-group-${n}-a`, 'ai_operations', 1),
          event(id, `plan-group-${n}-b`, 'data_processing', 1),
        ]);
        // A group of fresh consumes (the set-based path), then the same keys again with a new one
        // (the one-at-a-time path, which looks the stored keys up).
        expect((await meterOnPostgres(one, group, false)).every((a) => a?.fresh)).toBe(true);
        const replay = await meterOnPostgres(
          one,
          [...group, event(accounts[0] as string, 'plan-group-new', 'ai_operations', 1)],
          false,
        );
        expect(replay.map((a) => a?.fresh)).toEqual([...group.map(() => false), true]);
      } finally {
        client.release(true);
      }
      const read = plans.filter((plan) => /usage_counters|usage_events/.test(plan));
      expect(read.some((plan) => /Index Scan using \w+ on usage_counters/.test(plan))).toBe(true);
      expect(read.some((plan) => /Index Scan using \w+ on usage_events/.test(plan))).toBe(true);
      expect(read.filter((plan) => /Seq Scan on usage_(counters|events)/.test(plan))).toEqual([]);
    });
  });
}
