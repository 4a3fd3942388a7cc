import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import type { Config } from '../config.ts';
import { watchPool } from '../http/metrics.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  destroy(): Promise<void>;
  /**
   * Where a pooled PostgreSQL connection that broke while idle is reported (the database restarted,
   * failed over, or an administrator ended it). The pool drops it and opens another when needed;
   * the default report is a line on stderr. SQLite has no such connections.
   */
  onIdleConnectionError(report: (error: Error) => void): void;
}

export const SQLITE_FILE = 'tollgate.sqlite';

const sqliteFiles = new WeakMap<Kysely<Database>, SqliteDatabase.Database>();

/**
 * The better-sqlite3 connection under a SQLite Kysely instance (undefined on PostgreSQL), for hot
 * paths that run one synchronous transaction of prepared statements. Reach it through
 * `onSqliteFile`, never while a Kysely transaction is open on it.
 */
export function sqliteFileOf(db: Kysely<Database>): SqliteDatabase.Database | undefined {
  return sqliteFiles.get(db);
}

const PG_INT8 = 20;

const postgresPools = new WeakMap<Kysely<Database>, pg.Pool>();

/**
 * The pg pool under a PostgreSQL Kysely instance (undefined on SQLite), for the metering hot path
 * (metering/pg-meter.ts) and the access-token lookup, which run named prepared statements.
 */
export function postgresPoolOf(db: Kysely<Database>): pg.Pool | undefined {
  return postgresPools.get(db);
}

/** Connections each server process opens at most (docs/operations.md, "PostgreSQL sizing"). */
const DEFAULT_POOL_SIZE = 10;
const CONNECT_TIMEOUT_MS = 5000;

/** `?pool_max=N` in TOLLGATE_DATABASE_URL sets the pool size; the rest of the URL goes to pg. */
function poolSettings(url: string): { connectionString: string; max: number } {
  const parsed = new URL(url);
  const given = parsed.searchParams.get('pool_max');
  if (given === null) return { connectionString: url, max: DEFAULT_POOL_SIZE };
  const max = Number(given);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new Error(`TOLLGATE_DATABASE_URL: pool_max=${given} must be a whole number from 1 to 1000`);
  }
  parsed.searchParams.delete('pool_max');
  return { connectionString: parsed.toString(), max };
}

/**
 * Opens the configured database (PostgreSQL when TOLLGATE_DATABASE_URL is set, else the SQLite
 * file in the data folder) and brings its schema up to date.
 */
export async function createDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<DatabaseHandle> {
  const handle = config.databaseUrl ? openPostgres(config.databaseUrl) : openSqlite(config.dataDir);
  try {
    await migrate(handle.db);
  } catch (error) {
    await handle.destroy();
    throw error;
  }
  return handle;
}

/**
 * Runs synchronous `work` on the SQLite connection outside any Kysely transaction: at once when none
 * is open (nothing can interleave with synchronous work), else once Kysely's connection is free.
 */
export function onSqliteFile<T>(db: Kysely<Database>, file: SqliteDatabase.Database, work: () => T): Promise<T> {
  if (!file.inTransaction) {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return db.connection().execute(async () => work());
}

function openSqlite(dataDir: string): DatabaseHandle {
  // The database holds password hashes and the license signing key: only this user may read it.
  // SQLite gives its -wal and -shm files the database file's permissions.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SQLITE_FILE);
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const file = new SqliteDatabase(path);
  // WAL lets readers run beside the writer and makes a commit one sequential append.
  file.pragma('journal_mode = WAL');
  // Another process (a second server, a CLI) holding the write lock is waited for, not an error.
  file.pragma('busy_timeout = 5000');
  // NORMAL in WAL mode: a committed transaction survives the process being killed (the WAL is in
  // the OS page cache), and only an OS crash or power cut can lose the last commits before the next
  // checkpoint — never corrupt the file. For a usage ledger that loss under-counts (the customer's
  // favour) and never counts twice; FULL would add an fsync to every consume and cap a
  // single-connection server near the ~4,000 fsyncs/s this disk does. Use PostgreSQL where every
  // commit must reach the disk.
  file.pragma('synchronous = NORMAL');
  file.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) });
  sqliteFiles.set(db, file);
  return { db, dialect: 'sqlite', destroy: () => db.destroy(), onIdleConnectionError: () => undefined };
}

function openPostgres(url: string): DatabaseHandle {
  // int8 (bigint) columns hold UTC ms and counters, always far below 2^53: read them as numbers.
  // The parser is set on this pool only, so other pg users in the process are unaffected.
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === PG_INT8
        ? (value: string) => Number(value)
        : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const { connectionString, max } = poolSettings(url);
  const pool = new pg.Pool({
    connectionString,
    max,
    types,
    // While the database is unreachable a request waits this long for a connection, then is answered
    // 503 (http/errors.ts) instead of hanging until the client gives up.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A failover that drops packets instead of closing the socket is noticed by TCP keepalive.
    keepAlive: true,
  });
  watchPool(pool);
  // pg re-emits an idle client's error on the pool, and an 'error' event nobody listens to ends the
  // process: one PostgreSQL restart would otherwise take every server process down with it.
  let report = (error: Error) => {
    process.stderr.write(
      `tollgate: PostgreSQL closed an idle connection (${error.message}); a new one will be opened\n`,
    );
  };
  pool.on('error', (error) => report(error));
  // A connection in use (checked out for a query or a transaction) is off the pool's listener, and
  // pg emits its 'error' on the client too (57P01 when the server shuts down): without a listener of
  // its own that event ends the process. The query in flight already fails with the same error
  // (answered 503) and the pool discards the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  postgresPools.set(db, pool);
  return {
    db,
    dialect: 'postgres',
    destroy: () => db.destroy(),
    onIdleConnectionError: (listener) => {
      report = listener;
    },
  };
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Numbers are reserved per domain and land in any order (006 after 013): a database that ran
    // the later ones still runs an earlier-numbered migration it has not seen.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message}`);
  }
}
