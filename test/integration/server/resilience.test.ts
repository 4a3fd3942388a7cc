import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, SQLITE_FILE } from '../../../src-server/db/connection.ts';
import { type TestDatabase, testDialects } from '../../support/databases.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../../support/private-postgres.ts';
import {
  type ApiResponse,
  request,
  setPlan,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  testLimits,
} from '../../support/server.ts';

/** A consume, or the network error that stands for "no answer at all" (the server died). */
async function consume(url: string, account: TestAccount, idempotencyKey: string): Promise<ApiResponse | 'no answer'> {
  try {
    return await request(
      url,
      'POST',
      '/v1/usage/consume',
      { operation: 'ai_operations', units: 1, idempotencyKey },
      { token: account.token },
    );
  } catch {
    return 'no answer';
  }
}

function expectUnavailable(response: ApiResponse): void {
  expect(response.status).toBe(503);
  expect(response.body.code).toBe('UNAVAILABLE');
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
}

// A real restart of a PostgreSQL cluster the test owns (the shared one serves everyone else's tests).
for (const dialect of testDialects().filter((name) => name === 'postgres')) {
  describe(`PostgreSQL restarted under load (${dialect})`, () => {
    let cluster: PrivatePostgres;
    beforeAll(async () => {
      cluster = await startPrivatePostgres();
    });
    afterAll(() => cluster.destroy());

    it('keeps the server up, answers 503 only while the database is down, and loses nothing', async () => {
      const server = await spawnTestServer({ database: cluster.database, env: { TOLLGATE_LOG_LEVEL: 'warn' } });
      try {
        const account = await signUp(server.url);
        const handle = await createDatabase({
          dataDir: cluster.database.dataDir,
          databaseUrl: cluster.database.databaseUrl,
        });
        await setPlan(handle.db, account.id, { tier: 'custom', limits: testLimits(-1) });
        await handle.destroy();
        const sent: string[] = [];
        const acknowledged = new Set<string>();
        const unavailable: { startedAt: number; endedAt: number; response: ApiResponse }[] = [];
        const others: unknown[] = [];
        /** When the database was down: from just before the stop to when it accepts connections again. */
        const downs: { from: number; to: number }[] = [];
        let stop = false;
        const lane = async (n: number) => {
          for (let i = 0; !stop; i += 1) {
            const key = `restart-${n}-${i}`;
            sent.push(key);
            const startedAt = performance.now();
            const response = await consume(server.url, account, key);
            const endedAt = performance.now();
            if (response !== 'no answer' && response.status === 200) acknowledged.add(key);
            else if (response !== 'no answer' && response.status === 503) {
              unavailable.push({ startedAt, endedAt, response });
              // A client honouring Retry-After waits; a short pause keeps the test quick.
              await new Promise((resolve) => setTimeout(resolve, 50));
            } else others.push(response === 'no answer' ? { key, response } : { key, status: response.status });
          }
        };
        const lanes = Array.from({ length: 8 }, (_, n) => lane(n));
        const acknowledgedAfter = async (count: number) => {
          const target = acknowledged.size + count;
          await expect.poll(() => acknowledged.size, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(target);
        };
        await acknowledgedAfter(50);
        for (let round = 0; round < 3; round += 1) {
          downs.push({ from: performance.now(), to: Number.POSITIVE_INFINITY });
          await cluster.stop();
          await new Promise((resolve) => setTimeout(resolve, 700));
          await cluster.start();
          (downs.at(-1) as { from: number; to: number }).to = performance.now();
          // Consumes go through again after each restart, on new connections.
          await acknowledgedAfter(50);
        }
        stop = true;
        await Promise.all(lanes);

        expect(others).toEqual([]);
        expect(unavailable.length).toBeGreaterThan(0);
        for (const { startedAt, endedAt, response } of unavailable) {
          expectUnavailable(response);
          // Only a request in flight while the database was down failed.
          expect(downs.some((down) => startedAt <= down.to && endedAt >= down.from)).toBe(true);
        }
        // The server process lived through it all.
        expect(() => process.kill(server.pid, 0)).not.toThrow();
        expect(server.output()).not.toMatch(/Unhandled 'error' event|uncaught/i);

        // Every key is sent again: the acknowledged ones are replays, and each is counted once.
        for (let i = 0; i < sent.length; i += 64) {
          const retries = await Promise.all(sent.slice(i, i + 64).map((key) => consume(server.url, account, key)));
          retries.forEach((retry, j) => {
            const key = sent[i + j] as string;
            expect(retry === 'no answer' ? retry : retry.status).toBe(200);
            if (acknowledged.has(key) && retry !== 'no answer') expect(retry.body.replayed).toBe(true);
          });
        }
        const me = await account.get('/v1/me');
        expect(me.body.usage.operations.ai_operations.used).toBe(sent.length);
      } finally {
        await server.stop();
      }
    });
  });
}

// A small filesystem of its own (tmpfs) for the SQLite file, filled to the last byte.
describe('SQLite on a full disk', () => {
  let mountPoint: string;
  let database: TestDatabase;
  beforeAll(() => {
    mountPoint = mkdtempSync(join(tmpdir(), 'tollgate-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mountPoint]);
    const dataDir = join(mountPoint, 'data');
    database = {
      dialect: 'sqlite',
      env: { TOLLGATE_DATA_DIR: dataDir },
      dataDir,
      databaseUrl: null,
      cleanup: async () => undefined,
    };
  });
  afterAll(() => {
    // Lazy: the server's closed database may still be released by the kernel a moment later.
    execFileSync('umount', ['--lazy', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers 503 while full, keeps the file intact, and writes again once space is freed', async () => {
    const server = await startTestServer({ database });
    const filler = join(mountPoint, 'filler');
    try {
      const account = await signUp(server.url);
      await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(-1, -1) });
      const batch = (prefix: string) =>
        account.post('/v1/usage/events', {
          events: Array.from({ length: 1000 }, (_, i) => ({
            idempotencyKey: `disk-${prefix}-${i}`,
            operation: 'data_processing',
            units: 1,
          })),
        });
      expect((await batch('before')).status).toBe(200);

      // Fill every free byte.
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
      for (;;) {
        // The last bytes too, a few at a time.
        try {
          const small = openSync(join(mountPoint, `crumb-${Math.random()}`), 'w');
          writeSync(small, Buffer.alloc(512, 1));
          closeSync(small);
        } catch {
          break;
        }
      }

      // Writes that still fit in pages SQLite already owns may succeed; none is a 500, and soon
      // every one is refused with a 503 that says to retry.
      const statuses: number[] = [];
      let refused: ApiResponse | undefined;
      for (let n = 0; n < 200 && !refused; n += 1) {
        const response = await batch(`full-${n}`);
        statuses.push(response.status);
        if (response.status === 503) refused = response;
      }
      expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
      expect(refused).toBeDefined();
      expectUnavailable(refused as ApiResponse);
      const single = await consume(server.url, account, 'single-while-full');
      expect(single === 'no answer' ? single : single.status).toBe(503);
      // Reads need no space: the account still sees its usage.
      expect((await account.get('/v1/me')).status).toBe(200);

      await withDatabase(database, async (db) => {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      });

      unlinkSync(filler);
      const after = await consume(server.url, account, 'after-space-freed');
      expect(after === 'no answer' ? after : after.status).toBe(200);
      expect((await batch('after')).status).toBe(200);
      const accepted = statuses.filter((status) => status === 200).length;
      const me = await account.get('/v1/me');
      expect(me.body.usage.operations.data_processing.used).toBe(1000 * (accepted + 2));
      expect(me.body.usage.operations.ai_operations.used).toBe(1);
      await withDatabase(database, async (db) => {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      });
    } finally {
      await server.stop();
    }
  });
});

/** Runs `work` on a connection of its own to a SQLite test database. */
async function withDatabase<T>(database: TestDatabase, work: (db: SqliteDatabase.Database) => Promise<T>): Promise<T> {
  const db = new SqliteDatabase(join(database.dataDir, SQLITE_FILE));
  try {
    return await work(db);
  } finally {
    db.close();
  }
}
