import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../../../src-server/accounts/accounts.ts';
import { createDatabase, type DatabaseHandle, postgresPoolOf } from '../../../src-server/db/connection.ts';
import { type MeterEvent, meterOnPostgres } from '../../../src-server/metering/pg-meter.ts';
import { createTestDatabase, type TestDatabase, testDialects } from '../../support/databases.ts';

/**
 * tollgate_meter's parameters are array literals written by pg-meter.ts, not by node-postgres. The
 * routes only let through keys and names of a safe alphabet, but the statement must store whatever
 * text it is given exactly as given: quotes, backslashes, braces, commas, the word NULL.
 */

if (testDialects().includes('postgres')) {
  describe('metering parameters on PostgreSQL', () => {
    let database: TestDatabase;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      handle = await createDatabase({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
    });
    afterAll(async () => {
      await handle.destroy();
      await database.cleanup();
    });

    it('stores keys with quotes, backslashes, braces, commas and NULL exactly as given', async () => {
      const outcome = await signUp(handle.db, handle.dialect, 'literal@example.test', 'a long test password', 1);
      if (!('session' in outcome)) throw new Error('a fresh e-mail must sign up');
      const account = outcome.session.account;
      const pool = postgresPoolOf(handle.db) as NonNullable<ReturnType<typeof postgresPoolOf>>;
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
      const event = (idempotencyKey: string, occurredAt: number | null): MeterEvent => ({
        accountId: account.id,
        request: { idempotencyKey, operation: 'ai_operations', units: 2, occurredAt },
        limit: -1,
        period: '2026-06',
        now: 1_780_000_000_000,
      });
      const events = keys.map((key, i) => event(key, i % 2 === 0 ? null : 1_770_000_000_000 + i));
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
        .where('account_id', '=', account.id)
        .execute();
      expect(
        new Map(stored.map((row) => [row.idempotency_key, row.occurred_at === null ? null : Number(row.occurred_at)])),
      ).toEqual(new Map(events.map((e) => [e.request.idempotencyKey, e.request.occurredAt])));
      // Sent again, every key is found as stored.
      const again = await meterOnPostgres(pool, events, true);
      expect(again.map((a) => [a?.idempotencyKey, a?.fresh])).toEqual(keys.map((key) => [key, false]));
    });
  });
}
