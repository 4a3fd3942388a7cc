import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../../../src-server/accounts/accounts.ts';
import { createDatabase, type DatabaseHandle, sqliteFileOf } from '../../../src-server/db/connection.ts';
import {
  runAsync,
  runSync,
  type StatementRunner,
  sqliteRunner,
  transactionRunner,
} from '../../../src-server/db/statements.ts';
import { lockCounters } from '../../../src-server/metering/counters.ts';
import { insertEvents, seenKeys, type UsageEventRow } from '../../../src-server/metering/ledger.ts';
import { createTestDatabase, type TestDatabase, testDialects } from '../../support/databases.ts';

/**
 * The metering statements are compiled once with slots and run by two runners: SQLite's
 * synchronous one (the hot path) and the Kysely transaction one (PostgreSQL, and reservations on
 * SQLite). Both must give the same answers for every list size the slots are padded to.
 */

const SIZES = [1, 2, 3, 5, 255, 256, 257, 1000, 1500];

function rows(accountId: string, prefix: string, count: number): UsageEventRow[] {
  return Array.from({ length: count }, (_, i) => ({
    account_id: accountId,
    idempotency_key: `${prefix}-${i}`,
    operation: 'ai_operations',
    units: 1,
    period: '2026-06',
    status: 'accepted',
    result_json: JSON.stringify({ status: 200, body: { n: i } }),
    occurred_at: i % 2 === 0 ? null : i,
    created_at: 1,
  }));
}

for (const dialect of testDialects()) {
  describe(`compiled statements (${dialect})`, () => {
    let database: TestDatabase;
    let handle: DatabaseHandle;
    let accountId: string;

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      handle = await createDatabase({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
      const outcome = await signUp(handle.db, handle.dialect, 'statements@example.test', 'a long test password', 1);
      if (!('session' in outcome)) throw new Error('a fresh e-mail must sign up');
      accountId = outcome.session.account.id;
    });
    afterAll(async () => {
      await handle.destroy();
      await database.cleanup();
    });

    /** Runs the steps with every runner this dialect has, each in its own transaction. */
    async function withEachRunner<T>(steps: (runner: StatementRunner) => Generator<unknown, T, unknown>): Promise<T[]> {
      const results: T[] = [];
      const file = sqliteFileOf(handle.db);
      if (file) results.push(file.transaction(() => runSync(steps(sqliteRunner(handle.db, file))))());
      results.push(
        await handle.db
          .transaction()
          .execute((trx) => runAsync(steps(transactionRunner(handle.db, handle.dialect, trx)))),
      );
      return results;
    }

    it('stores a batch of any size once per key and finds exactly the keys stored', async () => {
      for (const size of SIZES) {
        const batch = rows(accountId, `size-${size}`, size);
        const [first, ...repeats] = await withEachRunner((runner) => insertEvents(runner, batch));
        expect(first).toBe(size);
        for (const repeat of repeats) expect(repeat).toBe(0);

        const asked = [...batch.map((row) => row.idempotency_key), `size-${size}-missing`];
        const found = await withEachRunner((runner) => seenKeys(runner, accountId, asked));
        for (const seen of found) {
          expect([...seen.keys()].sort()).toEqual(batch.map((row) => row.idempotency_key).sort());
          expect(seen.get(`size-${size}-0`)).toEqual({
            eventStatus: 'accepted',
            answer: { status: 200, body: { n: 0 } },
          });
        }
      }
      const stored = await handle.db.selectFrom('usage_events').select(['occurred_at']).execute();
      expect(stored).toHaveLength(SIZES.reduce((sum, n) => sum + n, 0));
    });

    it('creates and reads the counters of any set of operations, in one lock order', async () => {
      const operations = ['data_processing', 'ai_operations', 'ai_operations', 'exports'];
      for (const counters of await withEachRunner((runner) => lockCounters(runner, accountId, '2026-06', operations))) {
        expect([...counters.keys()]).toEqual(['ai_operations', 'data_processing', 'exports']);
        expect(counters.get('exports')).toEqual({ used: 0, reserved: 0 });
      }
    });
  });
}
