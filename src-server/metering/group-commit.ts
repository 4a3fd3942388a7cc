import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { onSqliteFile, postgresPoolOf } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { groupCommitSizes } from '../http/metrics.ts';
import type { UsageOutcome } from './decision.ts';
import { type MeterAnswer, type MeterEvent, meterOnPostgres, storageLost } from './pg-meter.ts';

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
  event: MeterEvent;
  /** Decides the consume in TypeScript, in a transaction of its own: for what tollgate_meter leaves. */
  alone: () => Promise<UsageOutcome[]>;
  resolve: (value: UsageOutcome[]) => void;
  reject: (error: unknown) => void;
}
interface PostgresQueue {
  jobs: PostgresJob[];
  inFlight: number;
  scheduled: boolean;
}
const postgresQueues = new WeakMap<Kysely<Database>, PostgresQueue>();
/** Consumes one statement takes at most, so one group never holds its locks for long. */
const JOBS_PER_GROUP = 256;

/**
 * Group commit on PostgreSQL: the single consumes waiting when a statement can start are metered
 * together by one call of tollgate_meter (pg-meter.ts) — one round trip and one commit for the
 * group; synchronous_commit stays on and nobody is answered before the commit. Each consume's
 * outcome is its own: the function decides the ones that fit and cross no notification threshold
 * and leaves the rest (refusals, thresholds) untouched, and those are decided one by one in
 * transactions of their own by the TypeScript path, as if they had arrived just after the group.
 * If the statement fails as a whole (a key stored concurrently), nothing of it was stored and every
 * consume is decided again alone; a lost connection fails them all (503). At most two groups run
 * at once (never more than half the pool; the rest stays free for sign-in lookups and reads).
 */
export function groupCommitPostgres(
  db: Kysely<Database>,
  event: MeterEvent,
  alone: () => Promise<UsageOutcome[]>,
): Promise<UsageOutcome[]> {
  let queue = postgresQueues.get(db);
  if (!queue) {
    queue = { jobs: [], inFlight: 0, scheduled: false };
    postgresQueues.set(db, queue);
  }
  const found = queue;
  return new Promise<UsageOutcome[]>((resolve, reject) => {
    found.jobs.push({ event, alone, resolve, reject });
    schedule(db, found);
  });
}

/**
 * Groups in flight per process. Each locks all its counters until it commits, so groups running
 * side by side over the same accounts queue behind each other: measured with two processes on one
 * database (bench/server.bench.ts), five at once per process made the pair slower than one process
 * and two at once did not; while two are in flight the next group simply grows.
 */
const MAX_GROUPS_AT_ONCE = 2;

function groupsAtOnce(db: Kysely<Database>): number {
  return Math.max(1, Math.min(MAX_GROUPS_AT_ONCE, Math.floor((postgresPoolOf(db)?.options.max ?? 2) / 2)));
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

function runAlone(job: PostgresJob): Promise<void> {
  return job.alone().then(job.resolve, job.reject);
}

async function runGroup(db: Kysely<Database>, jobs: PostgresJob[]): Promise<void> {
  groupCommitSizes.observe({ dialect: 'postgres' }, jobs.length);
  const pool = postgresPoolOf(db) as pg.Pool;
  let answers: MeterAnswer[];
  try {
    answers = await meterOnPostgres(
      pool,
      jobs.map((job) => job.event),
      false,
    );
  } catch (error) {
    if (storageLost(error)) {
      // The database went away: nothing of the group was committed; each is answered 503.
      for (const job of jobs) job.reject(error);
    } else {
      await oneByOne(jobs);
    }
    return;
  }
  const slow: PostgresJob[] = [];
  jobs.forEach((job, i) => {
    const answer = answers[i];
    if (answer) job.resolve([answer]);
    else slow.push(job);
  });
  await oneByOne(slow);
}

/**
 * The jobs tollgate_meter left, one transaction after another. They are mostly refusals racing for
 * the same counter, so running them side by side would only park connections on its lock (the rest
 * of the pool's callers would wait past the connect timeout) without deciding any faster.
 */
async function oneByOne(jobs: PostgresJob[]): Promise<void> {
  for (const job of jobs) await runAlone(job);
}
