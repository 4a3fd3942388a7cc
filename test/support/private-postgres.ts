import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestDatabase } from './databases.ts';

/**
 * A PostgreSQL cluster of the test's own — its own data folder, port and socket folder — for tests
 * that stop, restart or crash the database. The machine's shared PostgreSQL serves every other test
 * running at the same time, so it is never the one restarted.
 *
 *   const cluster = await startPrivatePostgres();
 *   await cluster.restart();            // what `pg_ctlcluster … restart` does to a production server
 *   await cluster.destroy();            // stops it and deletes its data folder
 */

const run = promisify(execFile);

/** The newest PostgreSQL installed from Debian's packages. */
const BIN = process.env.TOLLGATE_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** The cluster's `postgres` database, as a test database (cleanup stops the cluster). */
  database: TestDatabase;
  /** Stops it the way an administrator's restart does (sessions ended: 57P01). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stop(), a moment with no database at all, start(). */
  restart(downMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** initdb and postgres refuse to run as root: run them as the postgres user then. */
async function asClusterOwner(program: string, args: string[]): Promise<void> {
  const file = join(BIN, program);
  if (userInfo().uid === 0) await run('runuser', ['-u', 'postgres', '--', file, ...args]);
  else await run(file, args);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-pg-'));
  const dataDir = join(root, 'data');
  const serverDataDir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(root, Number(stdout.trim()), Number(gid.trim()));
  }
  const port = await freePort();
  const log = join(root, 'postgres.log');
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on`;
  await asClusterOwner('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const start = () => asClusterOwner('pg_ctl', ['-D', dataDir, '-l', log, '-o', options, '-w', 'start']);
  const stop = () => asClusterOwner('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  await start();
  let running = true;
  const databaseUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const destroy = async () => {
    if (running) await stop().catch(() => undefined);
    running = false;
    rmSync(root, { recursive: true, force: true });
    rmSync(serverDataDir, { recursive: true, force: true });
  };
  return {
    database: {
      dialect: 'postgres',
      env: { TOLLGATE_DATA_DIR: serverDataDir, TOLLGATE_DATABASE_URL: databaseUrl },
      dataDir: serverDataDir,
      databaseUrl,
      cleanup: destroy,
    },
    stop: async () => {
      await stop();
      running = false;
    },
    start: async () => {
      await start();
      running = true;
    },
    restart: async (downMs = 500) => {
      await stop();
      running = false;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
      running = true;
    },
    destroy,
  };
}
