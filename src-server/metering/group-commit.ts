import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { onSqliteFile } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
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
