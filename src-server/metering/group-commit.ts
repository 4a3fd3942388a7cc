import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { PoolClient } from 'pg';
import { onSqliteFile, postgresPoolOf } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { postgresRunner, runAsync, type StatementRunner, type Steps, transactionRunner } from '../db/statements.ts';
import { inTransaction, retryable } from '../db/transactions.ts';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
const pendingByFile = new WeakMap<SqliteDatabase.Database, { jobs: Pending[]; scheduled: boolean }>();

/**
 * Group commit on SQLite: the consumes and batches that arrive in the same turn of the event loop
 * run in one BEGIN IMMEDIATE transaction, each in its own savepoint (so one failing rolls back only
 * itself), and share its commit — the commit, not the statements, is most of a consume's cost.
 * Nobody gets an answer before the commit that stores it. The work is synchronous, so the jobs
 * run one after another exactly as if each had its own transaction. `work` must open its own
 * savepoint (a better-sqlite3 `transaction()` function nests as one).
 */
export function groupCommit<T>(db: Kysely<Database>, file: SqliteDatabase.Database, work: () => T): Promise<T> {
  let pending = pendingByFile.get(file);
  if (!pending) {
    pending = { jobs: [], scheduled: false };
    pendingByFile.set(file, pending);
  }
  const queue = pending;
  return new Promise<T>((resolve, reject) => {
    queue.jobs.push({ work, resolve: resolve as (value: unknown) => void, reject });
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      const answers: (() => void)[] = [];
      onSqliteFile(db, file, () => {
        queue.scheduled = false;
        const jobs = queue.jobs.splice(0);
        try {
          // IMMEDIATE takes the write lock at BEGIN, so the transaction never has to upgrade a
          // read snapshot that another process outdated.
          file
            .transaction(() => {
              for (const job of jobs) {
                try {
                  const value = job.work();
                  answers.push(() => job.resolve(value));
                } catch (error) {
                  // SQLite itself rolled the whole transaction back (disk full, I/O error): fail
                  // them all rather than run the rest outside any transaction.
                  if (!file.inTransaction) throw error;
                  answers.push(() => job.reject(error));
                }
              }
            })
            .immediate();
        } catch (error) {
          answers.length = 0;
          for (const job of jobs) answers.push(() => job.reject(error));
        }
      }).then(
        () => {
          for (const answer of answers) answer();
        },
        (error: unknown) => {
          // No connection (the database is closing): nothing ran.
          queue.scheduled = false;
          for (const job of queue.jobs.splice(0)) job.reject(error);
        },
      );
    });
  });
}

interface PostgresJob {
  accountId: string;
  steps: (runner: StatementRunner) => Steps<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
interface PostgresQueue {
  jobs: PostgresJob[];
  inFlight: number;
  scheduled: boolean;
}
const postgresQueues = new WeakMap<Kysely<Database>, PostgresQueue>();
/** Jobs one shared transaction takes at most, so one group never holds its locks for long. */
const JOBS_PER_GROUP = 128;

/**
 * Group commit on PostgreSQL: the consumes and batches waiting when a transaction can start run in
 * one transaction, one after another, each in its own savepoint — one that fails rolls back only
 * itself — and share one COMMIT (synchronous_commit stays on: nobody is answered before it). The
 * jobs run in account order and each locks its counters in operation order, so two groups always
 * take their row locks in the same order and never deadlock on each other. A job that lost a race
 * (a deadlock or serialization failure of its own, a guard that failed) is run again alone, in a
 * transaction of its own, after the group commits. Half the pool may run groups at once; the rest
 * stays free for sign-in lookups and reads.
 */
export function groupCommitPostgres<T>(
  db: Kysely<Database>,
  accountId: string,
  steps: (runner: StatementRunner) => Steps<T>,
): Promise<T> {
  let queue = postgresQueues.get(db);
  if (!queue) {
    queue = { jobs: [], inFlight: 0, scheduled: false };
    postgresQueues.set(db, queue);
  }
  const found = queue;
  return new Promise<T>((resolve, reject) => {
    found.jobs.push({ accountId, steps, resolve: resolve as (value: unknown) => void, reject });
    schedule(db, found);
  });
}

function groupsAtOnce(db: Kysely<Database>): number {
  return Math.max(1, Math.floor((postgresPoolOf(db)?.options.max ?? 2) / 2));
}

function schedule(db: Kysely<Database>, queue: PostgresQueue): void {
  if (queue.scheduled || queue.jobs.length === 0 || queue.inFlight >= groupsAtOnce(db)) return;
  queue.scheduled = true;
  // Wait for the rest of this turn of the event loop: whatever arrived with this job joins it.
  setImmediate(() => {
    queue.scheduled = false;
    const jobs = queue.jobs.splice(0, JOBS_PER_GROUP);
    if (jobs.length === 0) return;
    queue.inFlight += 1;
    runGroup(db, jobs).finally(() => {
      queue.inFlight -= 1;
      schedule(db, queue);
    });
    schedule(db, queue);
  });
}

/** One job in a transaction of its own (retried as transactions.ts does). */
function runAlone(db: Kysely<Database>, job: PostgresJob): Promise<void> {
  return inTransaction(db, (trx) => runAsync(job.steps(transactionRunner(db, 'postgres', trx)))).then(
    job.resolve,
    job.reject,
  );
}

async function runGroup(db: Kysely<Database>, jobs: PostgresJob[]): Promise<void> {
  const pool = postgresPoolOf(db);
  if (jobs.length === 1 || !pool) {
    for (const job of jobs) await runAlone(db, job);
    return;
  }
  const ordered = [...jobs].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  const answers: (() => void)[] = [];
  const again: PostgresJob[] = [];
  let client: PoolClient | undefined;
  let broken: Error | undefined;
  try {
    client = await pool.connect();
    const connection = client;
    const runner = postgresRunner(db, connection);
    await connection.query('BEGIN');
    for (const job of ordered) {
      await connection.query('SAVEPOINT tollgate_job');
      let value: unknown;
      try {
        value = await runAsync(job.steps(runner));
      } catch (error) {
        // If the connection itself is gone this throws too, and the whole group fails below.
        await connection.query('ROLLBACK TO SAVEPOINT tollgate_job');
        if (retryable(error)) again.push(job);
        else answers.push(() => job.reject(error));
        continue;
      }
      await connection.query('RELEASE SAVEPOINT tollgate_job');
      answers.push(() => job.resolve(value));
    }
    await connection.query('COMMIT');
  } catch (error) {
    broken = error as Error;
    await client?.query('ROLLBACK').catch(() => undefined);
    // Nothing of the group was committed. A race lost at commit is run again job by job; anything
    // else (the database went away) fails them all, each answered 503 by the error handler.
    client?.release(retryable(error) ? undefined : broken);
    client = undefined;
    if (retryable(error)) {
      await Promise.all(ordered.map((job) => runAlone(db, job)));
    } else {
      for (const job of ordered) job.reject(error);
    }
    return;
  } finally {
    client?.release();
  }
  for (const answer of answers) answer();
  for (const job of again) await runAlone(db, job);
}
