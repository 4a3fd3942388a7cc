import type SqliteDatabase from 'better-sqlite3';
import { type Compilable, CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from './connection.ts';
import type { Database } from './schema.ts';

/**
 * Statements written once as Kysely queries, compiled once per database, run on either dialect.
 *
 * A hot path cannot afford to build and compile a Kysely query per call (about 15 µs each, several
 * per consume), so a statement is compiled once with slots where its values go and each run only
 * fills the slots in. On SQLite the prepared better-sqlite3 statement is cached by its SQL text and
 * runs synchronously; on PostgreSQL (and inside a Kysely transaction on SQLite) the same compiled
 * text runs through Kysely. So the SQLite test run executes the very SQL PostgreSQL is given, in
 * each dialect's spelling.
 */

type ValueOrPromise<T> = T | Promise<T>;

class Slot<A> {
  constructor(readonly read: (args: A) => unknown) {}
}

/**
 * Where a run's value goes in a statement being compiled: `where('id', '=', slot((a) => a.id))`.
 * Typed `never` so it fits any column; only `statement()` ever sees it.
 */
export function slot<A>(read: (args: A) => unknown): never {
  return new Slot(read) as never;
}

export interface Statement<A, R = unknown> {
  readonly sql: string;
  bind(args: A): unknown[];
  /** Phantom: the row type the statement returns. */
  readonly row?: R;
}

export function statement<A, R = unknown>(query: Compilable<R>): Statement<A, R> {
  const { sql, parameters } = query.compile();
  const reads = parameters.map((value) => (value instanceof Slot ? value.read : () => value));
  const count = reads.length;
  return {
    sql,
    bind: (args) => {
      const values = new Array<unknown>(count);
      for (let i = 0; i < count; i += 1) values[i] = (reads[i] as (args: A) => unknown)(args);
      return values;
    },
  };
}

/** A list of slots for a list of `size` values (an `in (…)` list), read from `list(args)`. */
export function slotList<A>(size: number, list: (args: A) => readonly unknown[]): never[] {
  // A shorter list repeats its last value: `in (a, b, b, b)` means `in (a, b)`, so one compiled
  // statement serves every length up to `size`.
  return Array.from({ length: size }, (_, i) =>
    slot((args: A) => {
      const values = list(args);
      return values[Math.min(i, values.length - 1)];
    }),
  );
}

/** The compiled size an `in` list of `n` values uses: the next power of two, so few shapes exist. */
export function listShape(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/** Runs compiled statements: synchronously on a SQLite connection, as promises through Kysely. */
export interface StatementRunner {
  /** The database the statements are compiled for (its dialect decides their spelling). */
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  rows<A, R>(statement: Statement<A, R>, args: A): ValueOrPromise<R[]>;
  /** Rows inserted, updated or deleted. */
  changes<A>(statement: Statement<A>, args: A): ValueOrPromise<number>;
}

/**
 * The SQLite connection's runner. Preparing costs more than running, so each SQL text is prepared
 * once per connection. Use it only where no Kysely transaction is open on the connection.
 */
export function sqliteRunner(db: Kysely<Database>, file: SqliteDatabase.Database): StatementRunner {
  let runner = sqliteRunners.get(file);
  if (!runner) {
    runner = newSqliteRunner(db, file);
    sqliteRunners.set(file, runner);
  }
  return runner;
}

const sqliteRunners = new WeakMap<SqliteDatabase.Database, StatementRunner>();

function newSqliteRunner(db: Kysely<Database>, file: SqliteDatabase.Database): StatementRunner {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const prepare = (sql: string) => {
    let found = cache.get(sql);
    if (!found) {
      found = file.prepare(sql);
      cache.set(sql, found);
    }
    return found;
  };
  return {
    db,
    dialect: 'sqlite',
    rows: <A, R>(s: Statement<A, R>, args: A) => prepare(s.sql).all(s.bind(args)) as R[],
    changes: (s, args) => prepare(s.sql).run(s.bind(args)).changes,
  };
}

/** A runner inside a Kysely transaction (either dialect). */
export function transactionRunner(db: Kysely<Database>, dialect: Dialect, trx: Transaction<Database>): StatementRunner {
  return {
    db,
    dialect,
    rows: async <A, R>(s: Statement<A, R>, args: A) =>
      (await trx.executeQuery(CompiledQuery.raw(s.sql, s.bind(args)))).rows as R[],
    changes: async (s, args) =>
      Number((await trx.executeQuery(CompiledQuery.raw(s.sql, s.bind(args)))).numAffectedRows ?? 0n),
  };
}

const compiledByDb = new WeakMap<Kysely<Database>, Map<unknown, unknown>>();

/**
 * The statements `compile` builds, compiled once per database: `compile` is the cache key, so pass
 * a module-level function.
 */
export function compiledOnce<T>(runner: StatementRunner, compile: (db: Kysely<Database>, dialect: Dialect) => T): T {
  let compiled = compiledByDb.get(runner.db);
  if (!compiled) {
    compiled = new Map();
    compiledByDb.set(runner.db, compiled);
  }
  let found = compiled.get(compile) as T | undefined;
  if (found === undefined) {
    found = compile(runner.db, runner.dialect);
    compiled.set(compile, found);
  }
  return found;
}

/**
 * A sequence of statements written once for both kinds of runner: it yields each runner answer
 * (plain or a promise) and receives it resolved — `const rows = (yield runner.rows(s, args)) as
 * Row[]` — and returns its result. runSync and runAsync drive it.
 */
export type Steps<T> = Generator<unknown, T, unknown>;

/** Runs steps whose statements answer synchronously (a SQLite runner). */
export function runSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) next = steps.next(next.value);
  return next.value;
}

/** Runs steps whose statements answer with promises (a transaction runner). */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await next.value);
  return next.value;
}
