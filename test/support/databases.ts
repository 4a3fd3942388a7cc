import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Databases for server tests. Every suite that touches storage runs once per `testDialects()`:
 * always SQLite, and PostgreSQL too when TOLLGATE_TEST_DATABASE_URL names a server (CI sets it to
 * postgres://postgres@127.0.0.1:5432/postgres). Each test database is fresh and private: a SQLite
 * file in a new temp folder, or a PostgreSQL database with a random name, dropped on cleanup.
 *
 *   for (const dialect of testDialects()) describe(`… (${dialect})`, () => { … });
 */

export type TestDialect = 'sqlite' | 'postgres';

export function testDialects(): TestDialect[] {
  return process.env.TOLLGATE_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestDatabase {
  dialect: TestDialect;
  /** The server environment that selects this database (TOLLGATE_DATA_DIR, TOLLGATE_DATABASE_URL). */
  env: Record<string, string>;
  /** A private temp folder (the SQLite file lives here; on PostgreSQL it is the server's data dir). */
  dataDir: string;
  /** The PostgreSQL URL of this database, or null on SQLite. */
  databaseUrl: string | null;
  /** Drops the database and deletes the folder. */
  cleanup(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TOLLGATE_TEST_DATABASE_URL;
  if (!url) throw new Error('TOLLGATE_TEST_DATABASE_URL is not set: PostgreSQL tests cannot run');
  return url;
}

async function onAdminConnection<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Ends every connection to a test database, as a PostgreSQL restart or failover would; returns how
 * many there were.
 */
export async function endConnections(database: TestDatabase): Promise<number> {
  if (!database.databaseUrl) throw new Error('endConnections: a SQLite database has no connections to end');
  const name = new URL(database.databaseUrl).pathname.slice(1);
  const result = await onAdminConnection((client) =>
    client.query<{ ended: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity WHERE datname = $1',
      [name],
    ),
  );
  return result.rows[0]?.ended ?? 0;
}

export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-test-'));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') {
    return { dialect, env: { TOLLGATE_DATA_DIR: dataDir }, dataDir, databaseUrl: null, cleanup: removeDir };
  }
  const name = `tollgate_test_${randomBytes(6).toString('hex')}`;
  await onAdminConnection((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    dialect,
    env: { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_DATABASE_URL: databaseUrl },
    dataDir,
    databaseUrl,
    cleanup: async () => {
      // FORCE ends connections a killed server process may have left behind.
      await onAdminConnection((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await removeDir();
    },
  };
}
