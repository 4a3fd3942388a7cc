import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { PoolClient } from 'pg';
import { onSqliteFile, postgresPoolOf } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { postgresRunner, runAsync, type StatementRunner, type Steps, transactionRunner } from '../db/statements.ts';
import { inTransaction } from '../db/transactions.ts';
import { storageUnavailable } from '../http/errors.ts';
import { groupCommitSizes } from '../http/metrics.ts';

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
        groupCommitSizes.observe({ dialect: 'sqlite' }, jobs.length);
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
/** Batches with more events than this run in a transaction of their own. */
const GROUPED_EVENTS_MAX = 64;

/**
 * Group commit on PostgreSQL: the consumes and batches waiting when a transaction can start run in
 * one transaction, one after another on one connection, and share one COMMIT (synchronous_commit
 * stays on: nobody is answered before it). The jobs run in account order and each locks its
 * counters in operation order, so two groups always take their row locks in the same order and
 * never deadlock on each other. Failing is rare (a race lost to another process, a bad row), so no
 * savepoint is paid for on the way: when any job fails, the whole group is rolled back and every
 * job runs again alone in a transaction of its own — the one that fails fails by itself, the others
 * are stored as if it never happened. A lost connection fails them all (503), since nothing of
 * theirs was committed. A batch of more than 64 events keeps a transaction of its own. Half the
 * pool may run groups at once; the rest stays free for sign-in
 * lookups and reads.
 */
export function groupCommitPostgres<T>(
  db: Kysely<Database>,
  accountId: string,
  events: number,
  steps: (runner: StatementRunner) => Steps<T>,
): Promise<T> {
  let queue = postgresQueues.get(db);
  if (!queue) {
    queue = { jobs: [], inFlight: 0, scheduled: false };
    postgresQueues.set(db, queue);
  }
  const found = queue;
  return new Promise<T>((resolve, reject) => {
    const job = { accountId, steps, resolve: resolve as (value: unknown) => void, reject };
    // A large batch already spreads one commit over many events; grouped, it would only make the
    // consumes beside it wait for its statements.
    if (events > GROUPED_EVENTS_MAX) {
      runAlone(db, job);
      return;
    }
    found.jobs.push(job);
    schedule(db, found);
  });
}

/** The connection itself is gone or the database cannot serve: running the jobs again would not help. */
function storageLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return storageUnavailable(error) !== null && code !== '40001' && code !== '40P01';
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
  groupCommitSizes.observe({ dialect: 'postgres' }, jobs.length);
  const pool = postgresPoolOf(db);
  if (jobs.length === 1 || !pool) {
    for (const job of jobs) await runAlone(db, job);
    return;
  }
  const ordered = [...jobs].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  const values: unknown[] = [];
  let client: PoolClient | undefined;
  try {
    client = await pool.connect();
    const runner = postgresRunner(db, client);
    await client.query('BEGIN');
    for (const job of ordered) values.push(await runAsync(job.steps(runner)));
    await client.query('COMMIT');
  } catch (error) {
    const lost = storageLost(error);
    if (client) {
      if (!lost) await client.query('ROLLBACK').catch(() => undefined);
      client.release(lost ? (error as Error) : undefined);
      client = undefined;
    }
    if (lost) {
      // The database went away: nothing of the group was committed; each is answered 503.
      for (const job of ordered) job.reject(error);
    } else {
      // A job failed or lost a race, and with it the whole transaction: run each job again alone,
      // so the one that fails fails by itself and the others are stored as if it never happened.
      await Promise.all(ordered.map((job) => runAlone(db, job)));
    }
    return;
  } finally {
    client?.release();
  }
  ordered.forEach((job, i) => {
    job.resolve(values[i]);
  });
}
